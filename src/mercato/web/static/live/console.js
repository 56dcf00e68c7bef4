// One LIVE's console: preview (hls.js), live counters and chat from the room's socket, pin / unpin
// from the bag (room: PUT/DELETE /lives/{id}/pin), a flash deal (deals: POST /lives/{id}/flash-deals),
// room settings (PATCH /lives/{id}/room), mute / ban / moderator from a chat line. Texts from the
// room are put in the page with textContent only.

import { api, compact, el, problem, toast } from "../js/api.js";

const box = document.getElementById("live-console");
const liveId = Number(box.dataset.liveId);
const $ = (id) => document.getElementById(id);
let bag = [];
let pinnedId = null;

// --- preview --------------------------------------------------------------------------------------

function preview() {
  const video = $("console-preview");
  const url = box.dataset.playback;
  if (!window.Hls || !window.Hls.isSupported()) {  // hls.js first, native HLS where it cannot run (room.js)
    if (video.canPlayType("application/vnd.apple.mpegurl")) video.src = url;
    return;
  }
  const hls = new window.Hls({ liveSyncDurationCount: 2, enableWorker: false });
  hls.on(window.Hls.Events.ERROR, (_event, data) => {
    if (data.fatal) { hls.destroy(); setTimeout(preview, 3000); }  // not streaming yet: try again
  });
  hls.loadSource(url);
  hls.attachMedia(video);
}
if (box.dataset.status !== "ended") window.addEventListener("load", preview);

// --- bag and pin ----------------------------------------------------------------------------------

function renderBag() {
  const list = $("console-bag");
  const pinned = bag.find((p) => p.id === pinnedId);
  $("pinned-now").textContent = pinned ? `Pinned: ${pinned.title}` : "Nothing pinned.";
  if (!bag.length) { list.replaceChildren(el("li", { class: "muted small", text: "No products in your bag: add products to your shop, or anchor products open to creators." })); return; }
  list.replaceChildren(...bag.map((product) => el("li", { class: "row" },
    el("span", { class: "grow", text: `${product.title} · ${product.price_display || ""}` }),
    el("button", { type: "button", class: "btn small " + (product.id === pinnedId ? "btn-ghost" : "btn-primary"),
      "data-testid": "pin-button", text: product.id === pinnedId ? "Unpin" : "Pin",
      onclick: () => pin(product.id === pinnedId ? null : product.id) }))));
  const select = $("flash-variant");
  select.replaceChildren(...bag.flatMap((product) => (product.variants && product.variants.length
    ? product.variants.map((v) => el("option", { value: v.id, text: `${product.title} ${v.title || v.sku || ""}` }))
    : [el("option", { value: product.default_variant_id || "", text: product.title })])));
}

async function loadBag() {
  try {
    const answer = await api("GET", `/api/v1/lives/${liveId}/bag`);
    bag = answer.products || answer.items || [];
    pinnedId = answer.pinned_product_id || (answer.pinned && answer.pinned.id) || pinnedId;
  } catch (error) {
    $("console-bag").replaceChildren(el("li", { class: "field-error", text: problem(error) }));
    return;
  }
  renderBag();
}

async function pin(productId) {
  try {
    if (productId) await api("PUT", `/api/v1/lives/${liveId}/pin`, { product_id: productId });
    else await api("DELETE", `/api/v1/lives/${liveId}/pin`);
    pinnedId = productId;
    renderBag();
  } catch (error) {
    toast(problem(error));
  }
}

// --- forms ----------------------------------------------------------------------------------------

function numbers(form, names) {
  const data = new FormData(form);
  return Object.fromEntries(names.map((name) => [name, Number(data.get(name))]));
}

$("flash-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = $("flash-status");
  try {
    await api("POST", `/api/v1/lives/${liveId}/flash-deals`, numbers(event.target,
      ["variant_id", "deal_price", "total_units", "per_buyer_limit", "countdown_seconds", "duration_minutes"]));
    status.textContent = "Flash deal announced ✓";
  } catch (error) {
    status.textContent = problem(error);
  }
});

$("room-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(event.target);
  const keywords = String(data.get("keywords") || "").split(",").map((w) => w.trim()).filter(Boolean);
  try {
    await api("PATCH", `/api/v1/lives/${liveId}/room`, {
      slow_mode_seconds: Number(data.get("slow_mode_seconds")), comments: data.get("comments"),
      fans_only: data.get("fans_only") === "on", keywords });
    $("room-status").textContent = "Saved ✓";
  } catch (error) {
    $("room-status").textContent = problem(error);
  }
});

async function moderate(kind, user) {
  try {
    if (kind === "mute") await api("POST", `/api/v1/lives/${liveId}/mutes`, { user_id: user.id, minutes: 10 });
    if (kind === "ban") await api("POST", `/api/v1/lives/${liveId}/bans`, { user_id: user.id });
    if (kind === "moderator") await api("PUT", `/api/v1/lives/${liveId}/moderators/${user.id}`);
    toast(`${kind === "moderator" ? "Moderator added" : kind === "mute" ? "Muted for 10 minutes" : "Banned"}: ${user.display_name}`);
  } catch (error) {
    toast(problem(error));
  }
}

// --- the room's socket: counters and chat ---------------------------------------------------------

const chat = $("console-chat");
let attempt = 0;

function chatLine(frame) {
  const user = frame.user || {};
  chat.append(el("li", { class: "row" },
    el("span", { class: "grow" }, el("strong", { text: user.handle ? `@${user.handle}` : (user.display_name || "") }), " ",
      el("span", { text: frame.text })),
    el("button", { type: "button", class: "link-btn small", text: "Mute", onclick: () => moderate("mute", user) }),
    el("button", { type: "button", class: "link-btn small", text: "Ban", onclick: () => moderate("ban", user) }),
    el("button", { type: "button", class: "link-btn small", text: "Make moderator", onclick: () => moderate("moderator", user) })));
  while (chat.children.length > 100) chat.firstElementChild.remove();
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${box.dataset.room}`);
  socket.addEventListener("message", (event) => {
    let frame;
    try { frame = JSON.parse(event.data); } catch { return; }
    if (frame.type === "snapshot") {
      attempt = 0;
      $("c-viewers").textContent = compact(frame.viewers || 0);
      $("c-peak").textContent = compact(frame.peak_viewers || 0);
      $("c-likes").textContent = compact(frame.likes || 0);
      chat.replaceChildren();
      (frame.chat || []).forEach(chatLine);
      if (frame.bag) bag = frame.bag;
      pinnedId = frame.pinned ? frame.pinned.id : null;
      renderBag();
    } else if (frame.type === "viewers") {
      $("c-viewers").textContent = compact(frame.count);
      $("c-peak").textContent = compact(frame.peak);
    } else if (frame.type === "likes") {
      $("c-likes").textContent = compact(frame.total);
    } else if (frame.type === "share") {
      $("c-shares").textContent = compact(frame.total);
    } else if (frame.type === "chat") {
      chatLine(frame);
    } else if (frame.type === "pinned") {
      pinnedId = frame.product ? frame.product.id : null;
      renderBag();
    } else if (frame.type === "bag") {
      bag = frame.products || [];
      renderBag();
    }
  });
  socket.addEventListener("close", () => {
    attempt += 1;
    setTimeout(connect, Math.min(30000, 1000 * 2 ** Math.min(attempt - 1, 5)));
  });
}

if (box.dataset.status !== "ended") {
  loadBag();
  connect();
}
