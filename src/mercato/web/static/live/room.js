// The LIVE room page: the player (hls.js from npm; Safari plays HLS natively), and the room's WebSocket
// (docs/live.md, "The room"): a snapshot on join, then frames. Every text from the room is put in the
// page with textContent (el() never parses HTML). Reconnects with back-off; each new connection starts
// with a snapshot, so nothing is pieced together from stale state. Products open the same product sheet
// as For You (shop_sheet.js), over the playing video; a purchase made here carries the LIVE's id.

import { api, compact, el, prefersReducedMotion, problem, toast } from "../js/api.js";
import { openShop } from "../js/shop_sheet.js";

const room = document.getElementById("live-room");
const video = document.getElementById("live-video");
const liveId = Number(room.dataset.liveId);
const loggedIn = room.dataset.loggedIn === "1";
const status = document.getElementById("live-status");
const $ = (id) => document.getElementById(id);

const state = { bag: [], pinned: null, flash: null, coupon: null, you: null, settings: {} };

// --- the player -----------------------------------------------------------------------------------

let hls = null;
let retryTimer = 0;

function play(url) {
  if (!url) return;
  clearTimeout(retryTimer);
  // hls.js wherever Media Source Extensions exist (its documented order): a browser that also
  // claims native HLS may not parse every stream; native playback only where hls.js cannot run.
  if (window.Hls && window.Hls.isSupported()) {
    if (hls) hls.destroy();
    // No worker: the Content-Security-Policy allows scripts from this site only (not blob: workers).
    hls = new window.Hls({ liveSyncDurationCount: 2, lowLatencyMode: true, enableWorker: false });
    hls.on(window.Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      hls.destroy();
      hls = null;
      if (room.dataset.status !== "ended") retryTimer = setTimeout(() => play(url), 3000);  // not on air yet
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = url;
  } else {
    status.textContent = "This browser cannot play the stream.";
    return;
  }
  video.play().catch(() => {});
}

const unmute = $("live-unmute");
unmute.addEventListener("click", () => {
  video.muted = !video.muted;
  unmute.setAttribute("aria-pressed", String(!video.muted));
  unmute.hidden = !video.muted;
  if (video.paused) video.play().catch(() => {});
});

if (room.dataset.status !== "scheduled") play(room.dataset.playback);

// --- products: pinned card, bag, the product sheet ------------------------------------------------

function shop(productId) {
  openShop({ id: null, products: state.bag }, productId, { loggedIn, liveId, listTitle: "Products in this LIVE" });
}

function productCard(product) {
  if (!product) return [];
  return [
    product.image_url || product.thumb_url ? el("img", { src: product.image_url || product.thumb_url, alt: "" }) : null,
    el("span", { class: "pc-text" },
      el("span", { class: "pc-title", text: product.title }),
      el("span", { class: "pc-price" }, el("strong", { text: product.price_display || "" }),
        product.compare_at_display ? el("s", { text: product.compare_at_display }) : null)),
    el("span", { class: "btn btn-primary small", text: "Buy" }),
  ].filter(Boolean);
}

function showPinned(product) {
  state.pinned = product;
  const card = $("live-pinned");
  card.replaceChildren(...productCard(product));
  card.hidden = !product;
  if (product) card.dataset.productId = product.id;
}

function showBag(products) {
  state.bag = products || [];
  $("live-bag-count").textContent = state.bag.length ? String(state.bag.length) : "";
}

$("live-pinned")?.addEventListener("click", () => { if (state.pinned) shop(state.pinned.id); });
$("live-bag-btn")?.addEventListener("click", async () => {
  // The bag is read afresh when opened: the shop may have added or archived products since the snapshot.
  try {
    const response = await fetch(`/api/v1/lives/${liveId}/bag`, { headers: { Accept: "application/json" } });
    if (response.ok) showBag((await response.json()).items);
  } catch { /* offline: the snapshot's bag */ }
  if (!state.bag.length) { toast("No products in this LIVE yet."); return; }
  shop(null);
});

// --- flash deal and coupon ------------------------------------------------------------------------

let flashTimer = 0;

function showFlash(deal) {
  state.flash = deal;
  const banner = $("live-flash");
  clearInterval(flashTimer);
  if (!deal) { banner.hidden = true; banner.replaceChildren(); return; }
  const price = el("strong", { text: deal.deal_price_display || deal.price_display || "" });
  const clock = el("span", { class: "flash-clock", "data-testid": "flash-countdown" });
  const units = el("span", { class: "flash-units", id: "flash-units", "data-testid": "flash-units" });
  banner.replaceChildren(el("span", { class: "flash-tag", text: "⚡ Flash deal" }),
    el("span", { class: "flash-title", text: deal.title || deal.product_title || "" }), price, clock, units);
  banner.hidden = false;
  banner.onclick = () => { if (deal.product_id) shop(deal.product_id); };
  showUnits(deal.units_left);
  const tick = () => {
    const now = Date.now();
    const opens = deal.opens_at ? Date.parse(deal.opens_at) : 0;
    const ends = deal.ends_at ? Date.parse(deal.ends_at) : 0;
    const target = opens > now ? opens : ends;
    const left = Math.max(0, Math.round((target - now) / 1000));
    const text = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    clock.textContent = opens > now ? `starts in ${text}` : (ends ? `ends in ${text}` : "");
  };
  tick();
  flashTimer = setInterval(tick, 1000);
}

function showUnits(left) {
  const units = $("flash-units");
  if (units && left !== undefined && left !== null) units.textContent = left > 0 ? `${left} left` : "Sold out";
}

function showCoupon(coupon) {
  state.coupon = coupon;
  const chip = $("live-coupon");
  chip.hidden = !coupon;
  if (!coupon) return;
  chip.textContent = `🎟 ${coupon.title || coupon.code || "Coupon"}`;
  chip.onclick = async () => {
    if (!loggedIn) { location.href = room.dataset.login; return; }
    try {
      await api("POST", `/api/v1/lives/${liveId}/coupons/${coupon.id}/claim`, {});
      toast("Coupon claimed ✓");
    } catch (error) {
      toast(problem(error));
    }
  };
}

// --- chat, likes, viewers -------------------------------------------------------------------------

const chat = $("live-chat");
const CHAT_KEEP = 60;

function addChat(frame) {
  if (!chat) return;
  const who = frame.user ? (frame.user.handle ? `@${frame.user.handle}` : frame.user.display_name) : "";
  const level = frame.user && frame.user.fan_level;  // the sender's Fan Club level for this host
  const badge = level ? el("span", { class: "fan-badge", "data-testid": "fan-badge", title: `Fan Club level ${level}`,
    text: `Lv ${level}` }) : "";
  const line = el("li", { class: "live-chat-line", "data-testid": "chat-line" },
    el("strong", { text: who }), badge ? " " : "", badge, " ", el("span", { text: frame.text }));
  chat.append(line);
  while (chat.children.length > CHAT_KEEP) chat.firstElementChild.remove();
  chat.scrollTop = chat.scrollHeight;
}

function addSystem(text) {
  if (!chat || !text) return;
  chat.append(el("li", { class: "live-chat-line system", text }));
}

function setViewers(count) {
  $("live-viewers").lastElementChild.textContent = compact(count || 0);
}

function hearts(count) {
  if (prefersReducedMotion()) return;  // the count is enough without the animation
  const box = $("live-hearts");
  for (let i = 0; i < Math.min(count, 6); i += 1) {
    const heart = el("span", { class: "heart", text: "♥" });
    heart.style.left = `${Math.round(Math.random() * 40)}px`;
    heart.style.animationDelay = `${i * 90}ms`;
    box.append(heart);
    heart.addEventListener("animationend", () => heart.remove());
  }
}

// --- the socket -----------------------------------------------------------------------------------

let socket = null;
let attempt = 0;
let pendingLikes = 0;
let ended = room.dataset.status === "ended";

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
  return false;
}

function showError(message) {
  const box = $("live-error");
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
  setTimeout(() => { box.hidden = true; }, 4000);
}

const handlers = {
  snapshot(frame) {
    attempt = 0;
    if (chat) chat.replaceChildren();
    (frame.chat || []).forEach(addChat);
    setViewers(frame.viewers);
    showBag(frame.bag);
    showPinned(frame.pinned || null);
    if ($("live-flash")) showFlash(frame.flash || null);
    if ($("live-coupon")) showCoupon(frame.coupon || null);
    state.you = frame.you || null;
    state.settings = frame.settings || {};
    if (frame.live && frame.live.status === "live" && room.dataset.status === "scheduled") {
      room.dataset.status = "live";
      status.textContent = "";
      play(room.dataset.playback);
    }
  },
  chat: addChat,
  likes(frame) { hearts(frame.count || 0); },
  viewers(frame) { setViewers(frame.count); },
  pinned(frame) { showPinned(frame.product || null); },
  bag(frame) { showBag(frame.products); },
  flash(frame) { showFlash(frame.deal || null); },
  flash_units(frame) { if (state.flash && state.flash.id === frame.deal_id) showUnits(frame.units_left); },
  coupon(frame) { showCoupon(frame.coupon || null); },
  giveaway(frame) { addSystem(frame.text || "Giveaway!"); },
  system(frame) {
    addSystem(frame.text);
    if (frame.kind === "live_started" && room.dataset.status === "scheduled") {
      room.dataset.status = "live";
      status.textContent = "";
      play(room.dataset.playback);
    }
  },
  ended() {
    ended = true;
    room.dataset.status = "ended";
    status.textContent = "This LIVE has ended.";
    setTimeout(() => location.reload(), 4000);  // the replay page
  },
  error(frame) { showError(frame.message || "Not sent."); },
  pong() {},
};

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}${room.dataset.room}`);
  socket.addEventListener("message", (event) => {
    let frame;
    try { frame = JSON.parse(event.data); } catch { return; }
    const handle = handlers[frame.type];
    if (handle) handle(frame);
    room.dispatchEvent(new CustomEvent("room-frame", { detail: frame }));  // gifts.js and other room parts
  });
  socket.addEventListener("close", () => {
    if (ended) return;
    attempt += 1;
    const delay = Math.min(30000, 1000 * 2 ** Math.min(attempt - 1, 5)) * (0.75 + Math.random() / 2);
    setTimeout(connect, delay);
  });
}

if (!ended) {
  connect();
  setInterval(() => send({ type: "ping" }), 25000);
  setInterval(() => {  // taps go out in batches; the server aggregates everyone's into bursts
    if (pendingLikes && send({ type: "like", count: pendingLikes })) pendingLikes = 0;
  }, 500);

  $("live-chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!loggedIn) { location.href = room.dataset.login; return; }
    const input = $("live-chat-input");
    const text = input.value.trim();
    if (!text) return;
    if (send({ type: "chat", text })) input.value = "";
    else showError("Reconnecting… try again in a moment.");
  });
  $("live-like").addEventListener("click", () => {
    if (!loggedIn) { location.href = room.dataset.login; return; }
    pendingLikes += 1;
    hearts(1);
  });
}

// Sheets close on their ✕ or a tap on the backdrop (as in the feed).
document.querySelectorAll("dialog.sheet").forEach((dialog) => {
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog || event.target.closest("[data-close]")) dialog.close();
  });
});
