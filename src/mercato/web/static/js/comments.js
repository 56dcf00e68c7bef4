// The comments bottom sheet: newest first, one level of replies, a post form (replying to a comment
// attaches the reply to its thread), delete for the author and the video's creator.

import { api, el, loginUrl, problem, timeAgo } from "./api.js";

const sheet = document.getElementById("comments-sheet");
const list = document.getElementById("comments-list");
const more = document.getElementById("comments-more");
const form = document.getElementById("comment-form");
const input = document.getElementById("comment-body");
const errorBox = document.getElementById("comment-error");
const replying = document.getElementById("replying-to");
const title = document.getElementById("comments-sheet-title");

let current = null;  // {video, options, cursor, parent}

function authorOf(comment) {
  return comment.author || comment.user || {};
}

function commentNode(comment, isReply) {
  const author = authorOf(comment);
  const name = author.handle ? `@${author.handle}` : (author.display_name || "Someone");
  const canDelete = typeof comment.can_delete === "boolean" ? comment.can_delete : Boolean(current.options.userId
    && (author.id === current.options.userId || current.video.creator.id === current.options.userId));
  const node = el("li", { class: `comment${isReply ? " reply" : ""}`, dataset: { id: comment.id } },
    author.avatar_url ? el("img", { class: "avatar sm", src: author.avatar_url, alt: "" })
      : el("span", { class: "avatar sm initials", "aria-hidden": "true",
        text: (author.display_name || author.handle || "?").slice(0, 1).toUpperCase() }),
    el("div", { class: "comment-main" },
      el("p", { class: "comment-head" },
        author.handle ? el("a", { href: `/@${author.handle}`, text: name }) : el("strong", { text: name }),
        comment.by_creator || current.video.creator.id === author.id ? el("span", { class: "badge", text: "Creator" }) : null,
        el("span", { class: "muted small", text: timeAgo(comment.created_at) })),
      el("p", { class: "comment-body", text: comment.body }),
      el("p", { class: "comment-actions" },
        el("button", { type: "button", class: "link-btn", text: "Reply", dataset: { reply: isReply ? (comment.parent_id || "") : comment.id, name } }),
        canDelete ? el("button", { type: "button", class: "link-btn danger", text: "Delete", dataset: { delete: comment.id } }) : null)));
  if (!isReply) {
    const replies = el("ul", { class: "replies" });
    for (const reply of comment.replies || []) replies.append(commentNode(reply, true));
    node.querySelector(".comment-main").append(replies);
    const shown = (comment.replies || []).length;
    const count = comment.replies_count || 0;
    if (count > shown) {
      node.querySelector(".comment-main").append(el("button", {
        type: "button", class: "link-btn view-replies", dataset: { replies: comment.id, cursor: "" },
        text: `View ${count - shown} more ${count - shown === 1 ? "reply" : "replies"}`,
      }));
    }
  }
  return node;
}

async function loadPage() {
  const video = current.video;
  const url = `/api/v1/videos/${video.id}/comments${current.cursor ? `?cursor=${encodeURIComponent(current.cursor)}` : ""}`;
  more.disabled = true;
  try {
    const page = await api("GET", url);
    for (const comment of page.items || []) list.append(commentNode(comment, false));
    current.cursor = page.next_cursor || null;
    if (!list.children.length) {
      list.append(el("li", { class: "comments-empty muted", text: "No comments yet — be the first." }));
    }
  } catch (error) {
    list.append(el("li", { class: "field-error", text: problem(error) }));
    current.cursor = null;
  }
  more.hidden = !current.cursor;
  more.disabled = false;
}

async function loadReplies(button) {
  const parentId = button.dataset.replies;
  const seen = new Set(Array.from(button.parentElement.querySelectorAll(".replies > li"), (li) => li.dataset.id));
  button.disabled = true;
  try {
    const cursor = button.dataset.cursor;
    const page = await api("GET", `/api/v1/comments/${parentId}/replies${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
    const box = button.parentElement.querySelector(".replies");
    for (const reply of page.items || []) {
      if (!seen.has(String(reply.id))) box.append(commentNode(reply, true));
    }
    if (page.next_cursor) { button.dataset.cursor = page.next_cursor; button.textContent = "View more replies"; button.disabled = false; }
    else button.remove();
  } catch (error) {
    button.textContent = problem(error);
  }
}

function setParent(id, name) {
  current.parent = id ? Number(id) : null;
  replying.hidden = !id;
  replying.querySelector("span").textContent = id ? `Replying to ${name}` : "";
  if (id) input.focus();
}

export function openComments(video, options) {
  current = { video, options, cursor: null, parent: null };
  list.replaceChildren();
  errorBox.hidden = true;
  setParent(null, "");
  const count = video.counts.comments || 0;
  title.textContent = `${count} ${count === 1 ? "comment" : "comments"}`;
  const loginLink = form.querySelector(".login-to-comment");
  if (!options.loggedIn && !loginLink) {
    form.replaceChildren(el("a", { class: "btn btn-primary login-to-comment", href: loginUrl(), text: "Log in to comment" }));
  }
  sheet.showModal();
  loadPage();
}

more.addEventListener("click", loadPage);
document.getElementById("cancel-reply").addEventListener("click", () => setParent(null, ""));

list.addEventListener("click", async (event) => {
  const reply = event.target.closest("[data-reply]");
  if (reply) {
    if (!current.options.loggedIn) { location.assign(loginUrl()); return; }
    const parent = reply.dataset.reply || reply.closest("li.comment:not(.reply)").dataset.id;
    setParent(parent, reply.dataset.name);
    return;
  }
  const view = event.target.closest("[data-replies]");
  if (view) { loadReplies(view); return; }
  const del = event.target.closest("[data-delete]");
  if (del) {
    del.disabled = true;
    try {
      await api("DELETE", `/api/v1/comments/${del.dataset.delete}`);
      del.closest("li").remove();
      current.video.counts.comments = Math.max(0, current.video.counts.comments - 1);
      current.options.onCount(current.video.counts.comments);
    } catch (error) {
      del.disabled = false;
      errorBox.textContent = problem(error);
      errorBox.hidden = false;
    }
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!current) return;
  const body = input.value.trim();
  if (!body) { errorBox.textContent = "Write something first."; errorBox.hidden = false; input.focus(); return; }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  errorBox.hidden = true;
  try {
    const payload = { body };
    if (current.parent) payload.parent_id = current.parent;
    const created = await api("POST", `/api/v1/videos/${current.video.id}/comments`, payload);
    const empty = list.querySelector(".comments-empty");
    if (empty) empty.remove();
    const parentId = created.parent_id || null;
    const threadBox = parentId ? list.querySelector(`li.comment[data-id="${Number(parentId)}"] .replies`) : null;
    if (threadBox) threadBox.append(commentNode(created, true));
    else list.prepend(commentNode(created, false));
    input.value = "";
    setParent(null, "");
    current.video.counts.comments = (current.video.counts.comments || 0) + 1;
    current.options.onCount(current.video.counts.comments);
    const count = current.video.counts.comments;
    title.textContent = `${count} ${count === 1 ? "comment" : "comments"}`;
  } catch (error) {
    errorBox.textContent = problem(error);
    errorBox.hidden = false;
  } finally {
    button.disabled = false;
  }
});
