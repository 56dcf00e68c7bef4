// Gifts in the LIVE room (docs/gifts.md): the gift drawer (balance, gift grid, quantity, send), "Top up"
// (coin packs → sandbox card → POST /api/v1/payments/{id}/confirm), the top gifters panel, and the
// animation of every `gift` frame, which room.js re-dispatches as a "room-frame" event. The sender's
// name goes in with textContent (el()), like chat. Under reduced motion a gift is a static badge.

import { api, el, newKey, problem, toast } from "../js/api.js";

const room = document.getElementById("live-room");
const sheet = document.getElementById("gift-sheet");
const liveId = Number(room.dataset.liveId);
const loggedIn = room.dataset.loggedIn === "1";
const $ = (id) => document.getElementById(id);
const ICONS = { float: "🌹", pulse: "💖", spin: "🫰", burst: "⭐", rain: "🎉", galaxy: "🌌" };
const state = { gifts: [], chosen: null, purchase: null };

function icon(gift) { return ICONS[gift.animation] || "🎁"; }

async function refreshBalance() {
  if (!loggedIn) return;
  try {
    const mine = await api("GET", "/api/v1/coins?limit=1");
    $("gift-balance").textContent = `${mine.coins.toLocaleString()} coins`;
  } catch (error) { $("gift-balance").textContent = problem(error); }
}

function choose(gift, tile) {
  state.chosen = gift;
  $("gift-grid").querySelectorAll(".gift-tile").forEach((t) => t.setAttribute("aria-pressed", String(t === tile)));
  $("gift-send").disabled = false;
}

async function loadGifts() {
  state.gifts = await api("GET", "/api/v1/gifts");
  $("gift-grid").replaceChildren(...state.gifts.map((gift) => {
    const tile = el("button", { type: "button", class: "gift-tile", "aria-pressed": "false",
      dataset: { testid: "gift-tile", giftName: gift.name } },
    el("span", { class: "gift-icon", "aria-hidden": "true", text: icon(gift) }),
    el("span", { text: gift.name }), el("span", { class: "gift-price", text: `${gift.coins} coins` }));
    tile.addEventListener("click", () => choose(gift, tile));
    return el("li", {}, tile);
  }));
}

async function sendGift() {
  if (!state.chosen) return;
  const quantity = Math.max(1, Math.min(99, Number($("gift-quantity").value) || 1));
  $("gift-send").disabled = true;
  try {
    const sent = await api("POST", `/api/v1/lives/${liveId}/gifts`, { gift_id: state.chosen.id, quantity },
      { headers: { "Idempotency-Key": newKey() } });
    $("gift-balance").textContent = `${sent.balance.toLocaleString()} coins`;
    toast(`Sent ${quantity} × ${state.chosen.name}`);
  } catch (error) {
    if (error.status === 402) showTopUp();
    toast(problem(error));
  } finally { $("gift-send").disabled = false; }
}

async function showTopUp() {
  $("gift-topup").hidden = false;
  const packs = await api("GET", "/api/v1/coins/packs");
  $("gift-packs").replaceChildren(...packs.map((pack) => {
    const price = new Intl.NumberFormat(undefined, { style: "currency", currency: pack.currency })
      .format(pack.amount / 100);
    const button = el("button", { type: "button", class: "gift-pack", dataset: { testid: "coin-pack", pack: pack.key } },
      el("strong", { text: `${pack.coins.toLocaleString()} coins` }), el("span", { text: ` · ${price}` }));
    button.addEventListener("click", () => buy(pack, price));
    return button;
  }));
}

async function buy(pack, price) {
  try {
    state.purchase = await api("POST", "/api/v1/coins/purchases", { pack: pack.key },
      { headers: { "Idempotency-Key": newKey() } });
    $("gift-card-title").textContent = `Pay ${price} for ${pack.coins.toLocaleString()} coins`;
    $("gift-card-form").hidden = false;
    $("gift-card-number").focus();
  } catch (error) { toast(problem(error)); }
}

async function pay(event) {
  event.preventDefault();
  if (!state.purchase) return;
  const form = event.target;
  const [month, year] = form.exp.value.split("/").map((part) => Number(part.trim()));
  try {
    const intent = await api("POST", `/api/v1/payments/${state.purchase.payment_intent_id}/confirm`, {
      card_number: form.card_number.value, exp_month: month, exp_year: year < 100 ? 2000 + year : year,
      cvc: form.cvc.value, name: form.cardname.value,
    }, { headers: { "Idempotency-Key": newKey() } });
    if (intent.next_action && intent.next_action.url) { location.href = intent.next_action.url; return; }
    form.hidden = true;
    $("gift-topup").hidden = true;
    state.purchase = null;
    toast("Coins added");
    await refreshBalance();
  } catch (error) { toast(problem(error)); }
}

// --- what everyone sees ------------------------------------------------------------------------------

function animate(frame) {
  const stage = $("gift-stage");
  const burst = el("div", { class: `gift-burst gift-anim-${frame.gift.animation}`, role: "img",
    "aria-label": `${frame.sender.name} sent ${frame.quantity} ${frame.gift.name}`, dataset: { testid: "gift-animation" } },
  el("span", { class: "gift-icon", "aria-hidden": "true", text: ICONS[frame.gift.animation] || "🎁" }),
  el("span", { class: "gift-who", text: frame.sender.name }),
  el("span", { text: `sent ${frame.gift.name}` }),
  el("span", { class: "gift-combo", text: `×${frame.combo}` }));
  stage.append(burst);
  setTimeout(() => burst.remove(), 3200);
}

async function refreshLeaders() {
  try {
    const leaders = await api("GET", `/api/v1/lives/${liveId}/gifts/leaderboard`);
    $("gift-leaders-list").replaceChildren(...leaders.map((row) =>
      el("li", { text: `${row.display_name} · ${row.coins.toLocaleString()}` })));
    $("gift-leaders").hidden = leaders.length === 0;
  } catch { /* the panel stays as it was */ }
}

let leadersTimer = 0;
room.addEventListener("room-frame", (event) => {
  const frame = event.detail;
  if (frame.type === "snapshot") room.dataset.roomJoined = "1";  // in the room: gifts from now on reach us
  if (frame.type !== "gift") return;
  animate(frame);
  clearTimeout(leadersTimer);
  leadersTimer = setTimeout(refreshLeaders, 800);
});

if (sheet) {
  $("live-gift-btn").addEventListener("click", async () => {
    if (!loggedIn) { location.href = room.dataset.login; return; }
    sheet.showModal();
    await Promise.all([loadGifts(), refreshBalance()]).catch((error) => toast(problem(error)));
  });
  $("gift-send").addEventListener("click", sendGift);
  $("gift-topup-btn").addEventListener("click", showTopUp);
  $("gift-card-form").addEventListener("submit", pay);
}
refreshLeaders();
