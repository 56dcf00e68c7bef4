// The LIVE dashboard: one WebSocket to /api/v1/lives/{id}/dashboard, which pushes the whole board
// whenever it changes; figures and the uPlot timeline are redrawn in place (no reload).
import { moneyFormat, renderChart } from "/static/analytics/charts.js";

const board = document.getElementById("live-board");
const RATES = new Set(["gift_rate", "ctr", "click_to_order"]);

function show(key, value, currency) {
  const el = board.querySelector(`[data-testid="lb-${key}"]`);
  if (!el) return;
  if (key === "gmv") el.textContent = moneyFormat(currency)(value);
  else if (key === "avg_watch_ms") el.textContent = `${Math.round(value / 1000)} s`;
  else if (RATES.has(key)) el.textContent = `${Number(value).toFixed(2)} %`;
  else el.textContent = new Intl.NumberFormat().format(value);
}

function apply(frame) {
  for (const [key, value] of Object.entries(frame.figures)) show(key, value, frame.currency);
  board.querySelectorAll("li.worst").forEach((li) => li.classList.remove("worst"));
  const worst = board.querySelector("#live-board-worst");
  if (frame.worst) {
    const li = board.querySelector(`li[data-metric="${frame.worst.key}"]`);
    if (li) li.classList.add("worst");
    worst.textContent = `Weakest against your past LIVEs: ${frame.worst.label} (${frame.worst.vs_median_pct} % vs your median).`;
  } else {
    worst.textContent = "";
  }
  const chart = board.querySelector("[data-live-chart]");
  if (chart && window.uPlot) renderChart(chart, frame.timeline);
  board.dataset.updates = String(Number(board.dataset.updates || 0) + 1);
}

function connect(delay) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/v1/lives/${board.dataset.liveId}/dashboard`);
  const state = board.querySelector("#live-board-state");
  socket.onopen = () => { state.textContent = "live"; };
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === "dashboard") apply(frame);
    else if (frame.type === "error") state.textContent = frame.error.message;
  };
  socket.onclose = (event) => {
    if (event.code === 1008) return;
    state.textContent = "reconnecting…";
    setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
  };
}

if (board) connect(1000);
