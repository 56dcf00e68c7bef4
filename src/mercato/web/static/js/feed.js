// The full-screen vertical video player of For You, Following and the video page.
// One video at a time: scroll-snap (touch), wheel, ArrowUp/ArrowDown/j/k move one video; the active one
// autoplays muted (tap to unmute); the next one is preloaded. The rail: creator (+ follow), like, comments,
// save, share, shop bag. Engagement goes to POST /api/v1/feed/events in small batches.

import { api, compact, el, icon, loginUrl, prefersReducedMotion, problem, toast } from "./api.js";
import { openShop } from "./shop_sheet.js";

const SKIP_MS = 2000;
const KEEP_LOADED = 3;  // videos further than this from the active one give their media back

const feed = document.getElementById("feed");
if (feed) start();

function start() {
  const scroller = document.getElementById("feed-scroller");
  const emptyBox = document.getElementById("feed-empty");
  const loading = document.getElementById("feed-loading");
  const unmute = document.getElementById("unmute");
  const live = document.getElementById("feed-live");
  const loggedIn = feed.dataset.loggedIn === "1";
  const userId = Number(feed.dataset.userId || 0);

  const state = {
    items: [], slides: [], ids: new Set(), active: -1, source: feed.dataset.source, cursor: null, done: false,
    loading: false, muted: true, shownAt: 0, impressed: new Set(), wheelLocked: false,
  };

  // --- engagement events, batched -----------------------------------------------------------
  // The ranking hears them at /feed/events; analytics hears impressions and watch time as beacons
  // (each with its own id, so a re-sent batch counts once), with where the viewer is watching.
  const trafficSource = ["foryou", "following"].includes(feed.dataset.kind) ? feed.dataset.kind : "direct";
  const BEACON_KINDS = { impression: "impression", watch: "view" };
  // crypto.randomUUID exists only in secure contexts (https, localhost).
  const beaconId = () => (crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(""));
  const queue = [];
  let flushTimer = 0;
  function flush(keepalive = false) {
    clearTimeout(flushTimer);
    if (!queue.length) return;
    const events = queue.splice(0, queue.length);
    api("POST", "/api/v1/feed/events", { events }, { keepalive }).catch(() => {});
    const beacons = events.filter((e) => BEACON_KINDS[e.kind]).map((e) => ({
      id: beaconId(), kind: BEACON_KINDS[e.kind], video_id: e.video_id, watch_ms: e.watch_ms,
      src: trafficSource,
    }));
    if (beacons.length) api("POST", "/api/v1/analytics/beacons", { events: beacons }, { keepalive }).catch(() => {});
  }
  function track(videoId, kind, watchMs = 0) {
    queue.push({ video_id: videoId, kind, watch_ms: Math.max(0, Math.round(watchMs)) });
    if (queue.length >= 8) flush();
    else { clearTimeout(flushTimer); flushTimer = setTimeout(flush, 3000); }
  }
  feed.trackEvent = track;

  // --- building slides -----------------------------------------------------------------------
  function captionNodes(video) {
    const parts = video.caption_parts && video.caption_parts.length
      ? video.caption_parts : [{ type: "text", text: video.caption || "" }];
    return parts.map((part) => {
      if (part.type === "hashtag" || part.type === "mention") {
        return el("a", { href: part.href, class: `cap-${part.type}`, text: part.text });
      }
      return document.createTextNode(part.text);
    });
  }

  function avatar(creator) {
    if (creator.avatar_url) return el("img", { src: creator.avatar_url, alt: "", class: "rail-avatar-img" });
    return el("span", { class: "rail-avatar-img initials", "aria-hidden": "true",
      text: (creator.display_name || creator.handle || "?").slice(0, 1).toUpperCase() });
  }

  function railButton(kind, label, count, pressed) {
    const button = el("button", {
      type: "button", class: `rail-btn ${kind}`, "aria-label": label, dataset: { action: kind },
      "aria-pressed": pressed === undefined ? null : String(Boolean(pressed)),
    }, icon(kind === "like" ? "heart" : kind), el("span", { class: "count", text: compact(count) }));
    return button;
  }

  function productChip(product) {
    return el("button", { type: "button", class: "product-chip", dataset: { action: "product", product: product.id } },
      product.image_url ? el("img", { src: product.image_url, alt: "", loading: "lazy" })
        : el("span", { class: `pc-ph shop-${(product.shop.color || "#888").slice(1)}`, "aria-hidden": "true",
          text: product.title.slice(0, 1) }),
      el("span", { class: "pc-text" },
        el("span", { class: "pc-title", text: product.title }),
        el("span", { class: "pc-price" }, el("strong", { text: product.price_display }),
          product.compare_at_display ? el("s", { text: product.compare_at_display }) : null)),
      el("span", { class: "pc-cta", "aria-hidden": "true", text: "Shop" }));
  }

  function buildSlide(item, index) {
    const video = item.video;
    const creator = video.creator;
    const counts = video.counts || {};
    const viewer = video.viewer || {};
    const mine = userId && creator.id === userId;
    const player = el("video", {
      class: "player", playsinline: true, muted: true, loop: true, preload: "none",
      poster: video.poster_url || null, "aria-label": `Video by ${creator.name}`,
      dataset: { src: video.media_url },
    });
    player.muted = true;
    player.defaultMuted = true;
    const products = video.products || [];
    const slide = el("article", {
      class: `slide${video.height > video.width * 1.1 ? " portrait" : ""}`, dataset: { index, video: video.id },
      "aria-roledescription": "video", "aria-label": `${creator.name}: ${video.caption || "video"}`,
    },
    player,
    el("button", { type: "button", class: "tap-layer", "aria-label": "Pause", dataset: { action: "toggle" } }),
    el("span", { class: "paused-icon", "aria-hidden": "true" }, icon("play")),
    el("div", { class: "rail" },
      el("div", { class: "rail-creator" },
        el("a", { href: creator.url, class: "rail-avatar", "aria-label": `${creator.name}'s profile` },
          avatar(creator)),
        !mine && !viewer.following ? el("button", {
          type: "button", class: "follow-btn", "aria-label": `Follow ${creator.name}`,
          dataset: { action: "follow" }, text: "+",
        }) : null),
      railButton("like", "Like", counts.likes, viewer.liked),
      railButton("comment", "Comments", counts.comments),
      railButton("save", "Save", counts.saves, viewer.saved),
      railButton("share", "Share", counts.shares),
      products.length ? el("button", {
        type: "button", class: "rail-btn bag", dataset: { action: "bag" },
        "aria-label": `Shop ${products.length === 1 ? "the product" : `${products.length} products`} in this video`,
      }, icon("bag"), el("span", { class: "count", text: String(products.length) })) : null),
    el("div", { class: "meta" },
      el("p", { class: "meta-line" },
        el("a", { href: creator.url, class: "meta-handle", text: `${creator.name}` }),
        el("button", {
          type: "button", class: "why-btn", dataset: { action: "why" },
          "aria-label": item.reason ? "Why you're seeing this" : "More about this video",
        }, icon(item.reason ? "info" : "more"))),
      el("p", { class: "caption" }, captionNodes(video)),
      products.length ? productChip(products[0]) : null));
    slide.item = item;
    return slide;
  }

  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting && entry.intersectionRatio >= 0.6) activate(Number(entry.target.dataset.index));
    }
  }, { root: scroller, threshold: [0.6] });

  function append(items) {
    for (const item of items) {
      if (!item || !item.video || state.ids.has(item.video.id)) continue;
      state.ids.add(item.video.id);
      const slide = buildSlide(item, state.slides.length);
      state.items.push(item);
      state.slides.push(slide);
      scroller.append(slide);
      observer.observe(slide);
    }
    const empty = state.slides.length === 0;
    emptyBox.hidden = !(empty && state.done);
    unmute.hidden = empty;
    if (state.active >= 0) preload(state.active);
  }

  async function loadMore() {
    if (state.loading || state.done) return;
    state.loading = true;
    try {
      const joiner = state.source.includes("?") ? "&" : "?";
      const url = state.cursor ? `${state.source}${joiner}cursor=${encodeURIComponent(state.cursor)}` : state.source;
      const page = await api("GET", url);
      state.cursor = page.next_cursor || null;
      state.done = !state.cursor;
      append(page.items || []);
    } catch (error) {
      if (!state.slides.length) {
        emptyBox.hidden = false;
        emptyBox.querySelector(".feed-empty-title").textContent = problem(error);
      }
      state.done = true;
    } finally {
      state.loading = false;
      loading.hidden = true;
    }
    if (state.active < 0 && state.slides.length) activate(0);
  }

  // --- playing ---------------------------------------------------------------------------------
  function attach(slide, preloadMode) {
    const player = slide.querySelector("video");
    if (!player.getAttribute("src")) {
      player.preload = preloadMode;
      player.src = player.dataset.src;
    } else if (preloadMode === "auto") {
      player.preload = "auto";
    }
  }

  function detach(slide) {
    const player = slide.querySelector("video");
    if (player.getAttribute("src")) {
      player.pause();
      player.removeAttribute("src");
      player.load();
    }
  }

  function preload(index) {
    state.slides.forEach((slide, i) => {
      if (i === index || i === index + 1) attach(slide, "auto");
      else if (i === index + 2 || i === index - 1) attach(slide, "metadata");
      else if (Math.abs(i - index) > KEEP_LOADED) detach(slide);
    });
  }

  function play(slide) {
    const player = slide.querySelector("video");
    player.muted = state.muted;
    const started = player.play();
    slide.classList.remove("paused");
    slide.querySelector(".tap-layer").setAttribute("aria-label", "Pause");
    if (started && started.catch) {
      started.catch(() => {
        if (slide === state.slides[state.active] && player.paused) setPaused(slide, true);
      });
    }
  }

  function setPaused(slide, paused) {
    slide.classList.toggle("paused", paused);
    slide.querySelector(".tap-layer").setAttribute("aria-label", paused ? "Play" : "Pause");
  }

  function leave(index) {
    const slide = state.slides[index];
    if (!slide) return;
    slide.querySelector("video").pause();
    slide.classList.remove("active");
    const watched = performance.now() - state.shownAt;
    const id = slide.item.video.id;
    track(id, watched < SKIP_MS ? "skip" : "watch", watched);
  }

  function activate(index) {
    if (index === state.active || !state.slides[index]) return;
    leave(state.active);
    state.active = index;
    const slide = state.slides[index];
    slide.classList.add("active");
    preload(index);
    play(slide);
    state.shownAt = performance.now();
    const video = slide.item.video;
    if (!state.impressed.has(video.id)) {
      state.impressed.add(video.id);
      track(video.id, "impression");
    }
    live.textContent = `Video ${index + 1}: ${video.creator.name}`;
    if (state.slides.length - index <= 3) loadMore();
  }

  function go(delta) {
    const target = Math.min(Math.max(state.active + delta, 0), state.slides.length - 1);
    if (target === state.active || !state.slides[target]) return;
    scroller.scrollTo({ top: state.slides[target].offsetTop, behavior: prefersReducedMotion() ? "auto" : "smooth" });
    activate(target);
  }
  feed.go = go;

  function setMuted(muted) {
    state.muted = muted;
    const slide = state.slides[state.active];
    if (slide) slide.querySelector("video").muted = muted;
    unmute.setAttribute("aria-pressed", String(!muted));
    unmute.replaceChildren(icon(muted ? "muted" : "sound"),
      el("span", { text: muted ? "Tap to unmute" : "Sound on", class: muted ? "" : "sr-only" }));
    unmute.setAttribute("aria-label", muted ? "Tap to unmute" : "Mute");
    unmute.classList.toggle("on", !muted);
  }
  unmute.addEventListener("click", () => setMuted(!state.muted));

  // --- actions ---------------------------------------------------------------------------------
  function requireLogin() {
    if (loggedIn) return true;
    location.assign(loginUrl());
    return false;
  }

  function setCount(button, count) {
    button.querySelector(".count").textContent = compact(count);
  }

  async function toggle(slide, button, kind) {
    if (!requireLogin()) return;
    const video = slide.item.video;
    const on = button.getAttribute("aria-pressed") !== "true";
    const countKey = kind === "like" ? "likes" : "saves";
    const before = video.counts[countKey];
    button.setAttribute("aria-pressed", String(on));
    setCount(button, Math.max(0, before + (on ? 1 : -1)));
    if (on && kind === "like") { button.classList.remove("pop"); void button.offsetWidth; button.classList.add("pop"); }
    try {
      const path = `/api/v1/videos/${video.id}/${kind}`;
      const answer = await api(on ? "POST" : "DELETE", path);
      const stateKey = kind === "like" ? "liked" : "saved";
      const counted = answer[`${countKey}_count`];
      button.setAttribute("aria-pressed", String(answer[stateKey]));
      video.counts[countKey] = typeof counted === "number" ? counted : before + (on ? 1 : -1);
      video.viewer[stateKey] = answer[stateKey];
      setCount(button, video.counts[countKey]);
      if (kind === "save") toast(answer.saved ? "Saved" : "Removed from saved");
    } catch (error) {
      button.setAttribute("aria-pressed", String(!on));
      setCount(button, before);
      toast(problem(error));
    }
  }

  async function follow(slide, button) {
    if (!requireLogin()) return;
    const creator = slide.item.video.creator;
    button.disabled = true;
    try {
      await api("PUT", `/api/v1/users/${creator.id}/follow`);
      for (const other of state.slides) {
        if (other.item.video.creator.id !== creator.id) continue;
        other.item.video.viewer.following = true;
        const plus = other.querySelector(".follow-btn");
        if (plus) plus.remove();
      }
      toast(`Following ${creator.name}`);
    } catch (error) {
      button.disabled = false;
      toast(problem(error));
    }
  }

  async function share(slide, button) {
    const video = slide.item.video;
    const sheet = document.getElementById("share-sheet");
    const input = document.getElementById("share-url");
    const status = document.getElementById("share-status");
    status.textContent = "Creating your link…";
    input.value = "";
    sheet.showModal();
    try {
      const created = await api("POST", `/api/v1/videos/${video.id}/shares`, { channel: "link" });
      input.value = new URL(created.url, location.origin).href;
      video.counts.shares += 1;
      setCount(button, video.counts.shares);
      status.textContent = "";
      try {
        await navigator.clipboard.writeText(input.value);
        status.textContent = "Link copied. Anyone with it can watch this video.";
      } catch {
        status.textContent = "Copy the link and send it to a friend.";
      }
      input.select();
    } catch (error) {
      status.textContent = problem(error);
    }
  }
  document.getElementById("share-copy").addEventListener("click", async () => {
    const input = document.getElementById("share-url");
    const status = document.getElementById("share-status");
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      status.textContent = "Link copied.";
    } catch {
      status.textContent = "Select the link and copy it.";
    }
  });

  // "Why you're seeing this", personalisation switch and report.
  let whyVideo = null;
  const personalised = document.getElementById("personalised");
  async function why(slide) {
    whyVideo = slide.item.video;
    const reason = slide.item.reason;
    document.getElementById("why-text").textContent = reason && reason.text
      ? reason.text : "You opened this video.";
    document.getElementById("report-status").textContent = "";
    document.getElementById("why-sheet").showModal();
    if (personalised) {
      try {
        const prefs = await api("GET", "/api/v1/feed/preferences");
        personalised.checked = Boolean(prefs.personalised);
      } catch { /* the switch keeps its last state */ }
    }
  }
  if (personalised) {
    personalised.addEventListener("change", async () => {
      const wanted = personalised.checked;
      const note = document.getElementById("personalised-note");
      try {
        await api("PUT", "/api/v1/feed/preferences", { personalised: wanted });
        note.textContent = wanted ? "For You is picked for you from what you watch and like."
          : "Personalisation is off: For You shows trending and fresh videos only.";
      } catch (error) {
        personalised.checked = !wanted;
        note.textContent = problem(error);
      }
    });
  }
  document.getElementById("report-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById("report-status");
    if (!requireLogin() || !whyVideo) return;
    const reason = document.getElementById("report-reason").value;
    try {
      await api("POST", `/api/v1/videos/${whyVideo.id}/reports`, { reason, details: "" });
      status.textContent = "Thanks — our team will review this video.";
    } catch (error) {
      status.textContent = error.code === "already_reported" ? "You already reported this video." : problem(error);
    }
  });

  scroller.addEventListener("click", (event) => {
    const target = event.target.closest("[data-action]");
    if (!target) return;
    const slide = target.closest(".slide");
    if (!slide) return;
    const index = Number(slide.dataset.index);
    if (index !== state.active) activate(index);
    const video = slide.item.video;
    switch (target.dataset.action) {
      case "toggle": {
        const player = slide.querySelector("video");
        if (player.paused) play(slide); else { player.pause(); setPaused(slide, true); }
        break;
      }
      case "like": toggle(slide, target, "like"); break;
      case "save": toggle(slide, target, "save"); break;
      case "follow": follow(slide, target); break;
      case "share": share(slide, target); break;
      case "why": why(slide); break;
      case "comment":
        import("./comments.js").then((mod) => mod.openComments(video, {
          loggedIn, userId, onCount: (n) => { video.counts.comments = n; setCount(target, n); },
        }));
        break;
      case "bag": openShop(video, null, { loggedIn, track, source: trafficSource }); break;
      case "product": openShop(video, Number(target.dataset.product), { loggedIn, track, source: trafficSource }); break;
      default: break;
    }
  });

  // Keyboard: ArrowDown / j next, ArrowUp / k previous, m mute; never while typing or in a sheet.
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (document.querySelector("dialog[open]")) return;
    const target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (event.key === "ArrowDown" || event.key === "j" || event.key === "PageDown") { event.preventDefault(); go(1); }
    else if (event.key === "ArrowUp" || event.key === "k" || event.key === "PageUp") { event.preventDefault(); go(-1); }
    else if (event.key === "m") setMuted(!state.muted);
  });

  // Wheel and trackpad: one video per gesture.
  scroller.addEventListener("wheel", (event) => {
    if (Math.abs(event.deltaY) < 4 || Math.abs(event.deltaX) > Math.abs(event.deltaY)) return;
    event.preventDefault();
    if (state.wheelLocked) return;
    state.wheelLocked = true;
    go(event.deltaY > 0 ? 1 : -1);
    setTimeout(() => { state.wheelLocked = false; }, 650);
  }, { passive: false });

  // Leaving the page reports the watch time; coming back plays again.
  document.addEventListener("visibilitychange", () => {
    const slide = state.slides[state.active];
    if (!slide) return;
    if (document.visibilityState === "hidden") {
      const watched = performance.now() - state.shownAt;
      track(slide.item.video.id, watched < SKIP_MS ? "skip" : "watch", watched);
      slide.querySelector("video").pause();
      flush(true);
    } else {
      state.shownAt = performance.now();
      if (!document.querySelector("dialog[open]")) play(slide);
    }
  });
  window.addEventListener("pagehide", () => flush(true));

  // Sheets: close buttons, a click on the backdrop, Escape (native).
  document.querySelectorAll("dialog.sheet").forEach((dialog) => {
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog || event.target.closest("[data-close]")) dialog.close();
    });
  });

  setMuted(true);
  let initial = null;
  try { initial = JSON.parse(document.getElementById("feed-initial").textContent || "null"); } catch { initial = null; }
  if (initial) {
    state.cursor = initial.next_cursor || null;
    state.done = !state.cursor;
    if (feed.dataset.continue) {
      state.source = feed.dataset.continue;
      state.cursor = null;
      state.done = false;
    }
    append(initial.items || []);
    loading.hidden = true;
    if (state.slides.length) activate(0);
    else if (!state.done) loadMore();
  } else {
    loadMore();
  }
}
