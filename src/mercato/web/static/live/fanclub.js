// The Fan Club button in the LIVE room (docs/community.md): shows the viewer's level for the host,
// or "Join Fan Club", which sends the catalog's Fan Club gift through the gifts API (coins, 18+,
// an Idempotency-Key per tap). Texts go in with textContent only.

import { api, newKey, problem, toast } from "../js/api.js";

const button = document.getElementById("fan-club-join");
const liveId = Number(document.getElementById("live-room")?.dataset.liveId);

function show(club) {
  if (!button) return;
  button.hidden = false;
  if (club && club.member) {
    button.textContent = `Fan · Lv ${club.level}`;
    button.disabled = true;
  } else {
    button.textContent = "Join Fan Club";
    button.disabled = false;
  }
}

async function refresh() {
  try {
    show(await api("GET", `/api/v1/creators/${button.dataset.hostId}/fan-club`));
  } catch {
    button.hidden = true;
  }
}

if (button) {
  refresh();
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const gifts = await api("GET", "/api/v1/gifts");
      const clubGift = (gifts || []).find((gift) => gift.joins_fan_club);
      if (!clubGift) { toast("The Fan Club gift is not available right now."); return; }
      await api("POST", `/api/v1/lives/${liveId}/gifts`, { gift_id: clubGift.id, quantity: 1 },
        { headers: { "Idempotency-Key": newKey() } });
      toast("Welcome to the Fan Club!");
    } catch (error) {
      toast(error.code === "insufficient_coins" ? "Top up coins to send the Fan Club gift." : problem(error));
    } finally {
      await refresh();
    }
  });
}
