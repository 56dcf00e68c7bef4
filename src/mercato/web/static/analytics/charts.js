// Dashboard charts with uPlot (vendored from npm by `make assets`; window.uPlot).
// A chart is an element `[data-chart]` whose `data-source` names a <script type="application/json">
// holding {"t": [unix seconds], "<series>": [...], "currency": "USD"} (or `data-url`: the same JSON
// from the API). `data-series` lists which series to draw, as "key:Label" pairs separated by commas;
// a key "gmv" is money in minor units of `currency`, shown with Intl.NumberFormat.
// Marks (conversion spikes) come as `marks: [unix seconds]` and are drawn as vertical lines.

const COLOURS = ["#e11d48", "#2563eb", "#16a34a", "#d97706", "#7c3aed"];

export function moneyFormat(currency) {
  const fmt = new Intl.NumberFormat(undefined, { style: "currency", currency });
  const digits = fmt.resolvedOptions().maximumFractionDigits;
  return (minor) => fmt.format(minor / 10 ** digits);
}

const countFormat = new Intl.NumberFormat();

function formatter(key, currency) {
  if (key === "gmv" && currency) return moneyFormat(currency);
  return (v) => countFormat.format(v);
}

function seriesSpec(el) {
  return (el.dataset.series || "views:Views")
    .split(",")
    .map((pair) => pair.trim().split(":"))
    .map(([key, label]) => ({ key, label: label || key }));
}

function marksPlugin(marks) {
  return {
    hooks: {
      draw: (u) => {
        if (!marks || !marks.length) return;
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = "#f59e0b";
        ctx.lineWidth = 2 * devicePixelRatio;
        for (const at of marks) {
          const x = u.valToPos(at, "x", true);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

export function renderChart(el, data) {
  const spec = seriesSpec(el);
  const currency = data.currency || el.dataset.currency;
  const width = Math.max(280, el.clientWidth || 600);
  const rows = [data.t || [], ...spec.map((s) => data[s.key] || [])];
  const opts = {
    width,
    height: Number(el.dataset.height || 220),
    legend: { show: true },
    plugins: [marksPlugin(data.marks)],
    scales: { x: { time: true } },
    series: [
      {},
      ...spec.map((s, i) => ({
        label: s.label,
        stroke: COLOURS[i % COLOURS.length],
        width: 2,
        scale: s.key === "gmv" ? "money" : "count",
        value: (u, v) => (v == null ? "—" : formatter(s.key, currency)(v)),
      })),
    ],
    axes: [
      {},
      { scale: "count", values: (u, vals) => vals.map((v) => countFormat.format(v)) },
      ...(spec.some((s) => s.key === "gmv")
        ? [{ scale: "money", side: 1, grid: { show: false }, values: (u, vals) => vals.map(moneyFormat(currency || "USD")) }]
        : []),
    ],
  };
  if (el._uplot) {
    el._uplot.destroy();
  }
  el.textContent = "";
  el._uplot = new window.uPlot(opts, rows, el);
  el.dataset.rendered = "true";
  return el._uplot;
}

async function load(el) {
  if (el.dataset.source) {
    const node = document.getElementById(el.dataset.source);
    if (node) renderChart(el, JSON.parse(node.textContent));
  } else if (el.dataset.url) {
    const response = await fetch(el.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) renderChart(el, await response.json());
  }
}

export function renderAll(root = document) {
  if (!window.uPlot) return;
  root.querySelectorAll("[data-chart]").forEach((el) => load(el));
}

// Money cells rendered server-side keep their text; cells marked data-minor get the client's format.
export function formatMoneyCells(root = document) {
  root.querySelectorAll("[data-minor][data-currency]").forEach((el) => {
    el.textContent = moneyFormat(el.dataset.currency)(Number(el.dataset.minor));
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => renderAll());
} else {
  renderAll();
}
