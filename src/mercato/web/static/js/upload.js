// The upload page: pick or drop a file (checked for type and size before sending), caption with a
// character counter and #/@ suggestions, product picker (at most max_video_anchors), and the upload
// itself over XMLHttpRequest for a real progress bar and a cancel button. Errors (413, 422, 403)
// are shown next to what they concern; nothing typed is lost.

import { api, csrfToken, el } from "./api.js";

const form = document.getElementById("upload-form");
if (form) setup();

function setup() {
  const maxBytes = Number(form.dataset.maxBytes);
  const maxAnchors = Number(form.dataset.maxAnchors);
  const maxCaption = Number(form.dataset.maxCaption);
  const fileInput = document.getElementById("video-file");
  const dropzone = document.getElementById("dropzone");
  const chosen = document.getElementById("file-chosen");
  const preview = document.getElementById("preview");
  const fileError = document.getElementById("file-error");
  const caption = document.getElementById("caption");
  const counter = document.getElementById("caption-count");
  const found = document.getElementById("caption-found");
  const captionError = document.getElementById("caption-error");
  const suggest = document.getElementById("caption-suggest");
  const anchorCount = document.getElementById("anchor-count");
  const anchorError = document.getElementById("anchor-error");
  const errorBox = document.getElementById("upload-error");
  const progressBox = document.getElementById("progress-box");
  const progress = document.getElementById("progress");
  const progressText = document.getElementById("progress-text");
  const cancel = document.getElementById("upload-cancel");
  const submit = document.getElementById("upload-submit");
  const done = document.getElementById("upload-done");
  let file = null;
  let previewUrl = null;
  let xhr = null;

  function fieldError(box, input, message) {
    box.textContent = message || "";
    box.hidden = !message;
    if (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }

  function megabytes(bytes) {
    return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
  }

  // --- the file --------------------------------------------------------------------------------
  function choose(picked) {
    fieldError(fileError, fileInput, "");
    if (!picked) return;
    const okType = /^video\/(mp4|webm|quicktime)$/.test(picked.type) || /\.(mp4|webm|mov)$/i.test(picked.name);
    if (!okType) { fieldError(fileError, fileInput, "Choose an MP4, WebM or MOV video."); return; }
    if (picked.size > maxBytes) {
      fieldError(fileError, fileInput, `This file is ${megabytes(picked.size)}; the limit is ${megabytes(maxBytes)}.`);
      return;
    }
    file = picked;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(picked);
    preview.src = previewUrl;
    preview.play().catch(() => {});
    document.getElementById("file-name").textContent = picked.name;
    document.getElementById("file-size").textContent = megabytes(picked.size);
    chosen.hidden = false;
    dropzone.classList.add("has-file");
  }
  fileInput.addEventListener("change", () => choose(fileInput.files[0]));
  document.getElementById("file-change").addEventListener("click", () => fileInput.click());
  ["dragenter", "dragover"].forEach((name) => dropzone.addEventListener(name, (event) => {
    event.preventDefault();
    dropzone.classList.add("dragging");
  }));
  ["dragleave", "drop"].forEach((name) => dropzone.addEventListener(name, (event) => {
    event.preventDefault();
    dropzone.classList.remove("dragging");
  }));
  dropzone.addEventListener("drop", (event) => {
    const dropped = event.dataTransfer && event.dataTransfer.files[0];
    if (dropped) choose(dropped);
  });

  // --- the caption -----------------------------------------------------------------------------
  function captionChanged() {
    const length = caption.value.length;
    counter.textContent = `${length} / ${maxCaption}`;
    counter.classList.toggle("over", length > maxCaption * 0.9);
    const tags = [...new Set((caption.value.match(/#\w+/gu) || []).map((t) => t.toLowerCase()))];
    const people = [...new Set(caption.value.match(/@[\w.]+/gu) || [])];
    found.replaceChildren(...tags.map((t) => el("span", { class: "chip", text: t })),
      ...people.map((p) => el("span", { class: "chip mention", text: p })));
  }
  caption.addEventListener("input", () => { captionChanged(); lookup(); });
  form.querySelectorAll("[data-insert]").forEach((button) => button.addEventListener("click", () => {
    const mark = button.dataset.insert;
    const at = caption.selectionStart ?? caption.value.length;
    const before = caption.value.slice(0, at);
    const spacer = before && !/\s$/.test(before) ? " " : "";
    caption.setRangeText(`${spacer}${mark}`, at, caption.selectionEnd ?? at, "end");
    caption.focus();
    captionChanged();
  }));

  // Suggestions for the word being typed: #tags and @creators from search.
  let lookupTimer = 0;
  function currentWord() {
    const upto = caption.value.slice(0, caption.selectionStart ?? caption.value.length);
    const match = upto.match(/([#@])([\w.]{1,30})$/u);
    return match ? { mark: match[1], text: match[2], start: upto.length - match[0].length } : null;
  }
  function lookup() {
    clearTimeout(lookupTimer);
    const word = currentWord();
    if (!word) { suggest.hidden = true; return; }
    lookupTimer = setTimeout(async () => {
      const type = word.mark === "#" ? "hashtags" : "creators";
      try {
        const result = await api("GET", `/api/v1/search?type=${type}&q=${encodeURIComponent(word.text)}`);
        const options = word.mark === "#"
          ? (result.hashtags || []).map((h) => `#${h.tag || h.name || h}`)
          : (result.creators || []).filter((c) => c.handle).map((c) => `@${c.handle}`);
        suggest.replaceChildren(...options.slice(0, 6).map((text) => el("li", {
          role: "option", tabindex: "-1", text,
          onmousedown: (event) => { event.preventDefault(); pick(word, text); },
          onkeydown: (event) => { if (event.key === "Enter") { event.preventDefault(); pick(word, text); } },
        })));
        suggest.hidden = !options.length;
      } catch { suggest.hidden = true; }
    }, 200);
  }
  function pick(word, text) {
    const end = caption.selectionStart ?? caption.value.length;
    caption.setRangeText(`${text} `, word.start, end, "end");
    suggest.hidden = true;
    caption.focus();
    captionChanged();
  }
  caption.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && !suggest.hidden) {
      event.preventDefault();
      suggest.querySelector("li").focus();
    } else if (event.key === "Escape") suggest.hidden = true;
  });
  suggest.addEventListener("keydown", (event) => {
    const item = event.target.closest("li");
    if (!item) return;
    if (event.key === "ArrowDown" && item.nextElementSibling) { event.preventDefault(); item.nextElementSibling.focus(); }
    if (event.key === "ArrowUp") { event.preventDefault(); (item.previousElementSibling || caption).focus(); }
    if (event.key === "Escape") { suggest.hidden = true; caption.focus(); }
  });
  caption.addEventListener("blur", () => setTimeout(() => {
    if (!suggest.contains(document.activeElement)) suggest.hidden = true;
  }, 150));

  // --- products --------------------------------------------------------------------------------
  const boxes = Array.from(form.querySelectorAll("input[name=product_ids]"));
  function anchorsChanged() {
    const picked = boxes.filter((b) => b.checked).length;
    anchorCount.textContent = `${picked} / ${maxAnchors}`;
    boxes.forEach((b) => { b.disabled = !b.checked && picked >= maxAnchors; });
    if (anchorError) fieldError(anchorError, null, picked >= maxAnchors ? `You can tag up to ${maxAnchors} products.` : "");
  }
  boxes.forEach((b) => b.addEventListener("change", anchorsChanged));
  const filter = document.getElementById("product-filter");
  if (filter) {
    filter.addEventListener("input", () => {
      const term = filter.value.trim().toLowerCase();
      form.querySelectorAll("#picker-list li").forEach((li) => { li.hidden = Boolean(term) && !li.dataset.title.includes(term); });
    });
  }

  // --- sending ---------------------------------------------------------------------------------
  function busy(on) {
    submit.disabled = on;
    submit.setAttribute("aria-busy", String(on));
    submit.textContent = on ? "Uploading…" : "Post";
    progressBox.hidden = !on && progress.value < 100;
  }

  function setProgress(percent) {
    progress.value = percent;
    progress.textContent = `${percent} %`;
    progressText.textContent = percent >= 100 ? "100 % — processing your video…" : `${percent} %`;
  }

  function showServerError(status, body) {
    const error = (body && body.error) || {};
    const message = error.message || `The upload failed (${status}).`;
    if (status === 413 || ["file_too_large", "invalid_video", "video_too_long", "unsupported_video"].includes(error.code)) {
      fieldError(fileError, fileInput, status === 413 && !error.message
        ? `This file is too large; the limit is ${megabytes(maxBytes)}.` : message);
      fileInput.focus();
    } else if (["too_many_anchors", "anchor_not_allowed", "product_not_found"].includes(error.code) && anchorError) {
      fieldError(anchorError, null, message);
    } else if (error.code === "caption_too_long" || (Array.isArray(error.details) && error.details.some((d) => String(d.field || "").includes("caption")))) {
      fieldError(captionError, caption, message);
      caption.focus();
    } else {
      errorBox.textContent = message;
      errorBox.hidden = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    done.hidden = true;
    fieldError(captionError, caption, "");
    if (!file) { fieldError(fileError, fileInput, "Choose a video to upload."); fileInput.focus(); return; }
    if (caption.value.length > maxCaption) { fieldError(captionError, caption, `Keep the caption under ${maxCaption} characters.`); return; }
    const data = new FormData();
    data.append("file", file, file.name);
    data.append("caption", caption.value);
    boxes.filter((b) => b.checked).forEach((b) => data.append("product_ids", b.value));

    xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/videos");
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) setProgress(Math.min(100, Math.floor((e.loaded / e.total) * 100)));
    });
    xhr.upload.addEventListener("load", () => setProgress(100));
    xhr.addEventListener("load", () => {
      const status = xhr.status;
      const body = xhr.response;
      xhr = null;
      if (status === 201) {
        setProgress(100);
        progressText.textContent = "100 % — done";
        cancel.hidden = true;
        submit.textContent = "Posted";
        done.replaceChildren("Your video is live. ",
          el("a", { href: `/videos/${body.id}`, text: "Watch it" }), " · ",
          el("a", { href: form.dataset.profile, text: "See it on your profile" }));
        done.hidden = false;
        setTimeout(() => location.assign(`${form.dataset.profile}?posted=${body.id}`), 1200);
        return;
      }
      busy(false);
      progressBox.hidden = true;
      showServerError(status, body);
    });
    xhr.addEventListener("error", () => {
      xhr = null;
      busy(false);
      progressBox.hidden = true;
      errorBox.textContent = "The connection was lost during the upload. Try again.";
      errorBox.hidden = false;
    });
    xhr.addEventListener("abort", () => {
      xhr = null;
      busy(false);
      progressBox.hidden = true;
      errorBox.textContent = "Upload cancelled. Your caption and products are kept.";
      errorBox.hidden = false;
    });
    setProgress(0);
    cancel.hidden = false;
    progressBox.hidden = false;
    busy(true);
    progressBox.hidden = false;
    xhr.send(data);
  });

  cancel.addEventListener("click", () => { if (xhr) xhr.abort(); });
  window.addEventListener("beforeunload", (event) => { if (xhr) event.preventDefault(); });

  captionChanged();
  anchorsChanged();
}
