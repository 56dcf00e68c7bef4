"""Use cases of videos and the community around them (service layer: validate, decide, flush —
never commit).

Captions are parsed here: ``#tag`` (Unicode letters, digits and ``_``, lower-cased, at most
:data:`MAX_HASHTAGS` distinct per caption) and ``@handle`` (linked only when the account
exists). The caption is stored as typed text and rendered from parts, never as HTML.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import repository as accounts_repo
from mercato.accounts import service as accounts_service
from mercato.accounts.models import User
from mercato.config import Settings
from mercato.content import hooks
from mercato.content import repository as repo
from mercato.content.errors import ContentError
from mercato.content.media import ProcessedVideo
from mercato.content.models import Video, VideoComment, VideoReport, VideoShare
from mercato.content.schemas import CommentIn, ReportIn, VideoUpdate
from mercato.kit.db import utcnow
from mercato.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mercato.kit.events import Event, age_band, normal_source
from mercato.kit.events import record as record_event
from mercato.kit.fields import MAX_ID
from mercato.kit.pagination import cursor_datetime, cursor_int, decode_cursor, encode_cursor, time_id_cursor

MAX_HASHTAGS = 30
MAX_MENTIONS = 30
_TOKEN_RE = re.compile(
    r"(?<![\w#@])(?:#(?P<tag>\w{1,60})(?!\w)"
    r"|@(?P<handle>[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)(?![\w]))"
)


def caption_tokens(caption: str) -> list[tuple[str, str, str]]:
    """``(kind, text, value)`` tokens in order: kind ``text`` | ``hashtag`` (value: the lower-cased
    tag) | ``mention`` (value: the lower-cased handle, at least 3 characters)."""
    out: list[tuple[str, str, str]] = []
    pos = 0
    for match in _TOKEN_RE.finditer(caption):
        tag, handle = match.group("tag"), match.group("handle")
        if handle is not None and len(handle) < 3:
            continue
        if match.start() > pos:
            out.append(("text", caption[pos:match.start()], ""))
        if tag is not None:
            out.append(("hashtag", match.group(0), tag.lower()))
        else:
            out.append(("mention", match.group(0), handle.lower()))
        pos = match.end()
    if pos < len(caption):
        out.append(("text", caption[pos:], ""))
    return out


def caption_hashtags(caption: str) -> list[str]:
    """Distinct lower-cased tags in order of appearance."""
    seen: dict[str, None] = {}
    for kind, _, value in caption_tokens(caption):
        if kind == "hashtag":
            seen.setdefault(value, None)
    return list(seen)


def caption_handles(caption: str) -> list[str]:
    seen: dict[str, None] = {}
    for kind, _, value in caption_tokens(caption):
        if kind == "mention":
            seen.setdefault(value, None)
    return list(seen)


def tag_href(tag: str) -> str:
    return f"/tag/{quote(tag, safe='')}"


def caption_parts(caption: str, mention_links: dict[str, str]) -> list[dict[str, str | None]]:
    """The caption as typed parts for safe rendering. A mention whose handle is not in
    ``mention_links`` (no such account) stays text; adjacent text parts are merged."""
    parts: list[dict[str, str | None]] = []
    for kind, text, value in caption_tokens(caption):
        part: dict[str, str | None]
        if kind == "hashtag":
            part = {"type": "hashtag", "text": text, "href": tag_href(value)}
        elif kind == "mention" and value in mention_links:
            part = {"type": "mention", "text": text, "href": mention_links[value]}
        else:
            part = {"type": "text", "text": text, "href": None}
        if part["type"] == "text" and parts and parts[-1]["type"] == "text":
            parts[-1]["text"] = f"{parts[-1]['text']}{text}"
        else:
            parts.append(part)
    return parts


# --- input checks ---------------------------------------------------------------------------

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Drop control characters (PostgreSQL refuses NUL) and surrounding blanks; keep newlines and tabs."""
    return _CONTROL_RE.sub("", text.replace("\r\n", "\n")).strip()


def check_caption(caption: str | None, settings: Settings) -> str:
    text = clean_text(caption or "")
    if len(text) > settings.max_caption_chars:
        raise ValidationFailed(f"Captions may be at most {settings.max_caption_chars} characters.",
                               code=ContentError.CAPTION_TOO_LONG, details={"field": "caption"})
    if len(caption_hashtags(text)) > MAX_HASHTAGS:
        raise ValidationFailed(f"Use at most {MAX_HASHTAGS} hashtags.", code=ContentError.TOO_MANY_HASHTAGS,
                               details={"field": "caption"})
    return text


def parse_product_ids(values: Sequence[str]) -> list[int]:
    """Product ids from a form: a repeated field, comma-separated, or both."""
    ids: list[int] = []
    for value in values:
        for piece in value.replace(" ", ",").split(","):
            if not piece:
                continue
            if not piece.isdigit() or not 1 <= int(piece) <= MAX_ID:
                raise ValidationFailed("Product ids are positive integers.", code=ContentError.INVALID_PRODUCT_IDS,
                                       details={"field": "product_ids"})
            ids.append(int(piece))
    return ids


async def check_anchors(db: AsyncSession, user: User, product_ids: Sequence[int], settings: Settings) -> list[int]:
    """The anchors in the order given (duplicates dropped). More than ``max_video_anchors`` → 422
    ``too_many_anchors``; missing, draft or archived → 422 ``product_unavailable``; neither a member
    of the product's shop nor a product open to creators → 403 ``anchor_not_allowed``."""
    ordered = list(dict.fromkeys(product_ids))
    if len(ordered) > settings.max_video_anchors:
        raise ValidationFailed(f"A video can show at most {settings.max_video_anchors} products.",
                               code=ContentError.TOO_MANY_ANCHORS, details={"max": settings.max_video_anchors})
    products = await repo.products_by_ids(db, ordered)
    for pid in ordered:
        found = products.get(pid)
        if found is None or found.status != "active":
            raise ValidationFailed("This product is not available.", code=ContentError.PRODUCT_UNAVAILABLE,
                                   details={"product_id": pid})
    member_of = await repo.member_shop_ids(db, user.id, [p.shop_id for p in products.values()])
    for pid in ordered:
        product = products[pid]
        if product.shop_id not in member_of and not product.open_to_creators:
            raise Forbidden("This shop does not let creators feature this product.",
                            code=ContentError.ANCHOR_NOT_ALLOWED,
                            details={"product_id": pid})
    return ordered


async def _mentioned_ids(db: AsyncSession, caption: str) -> list[int]:
    handles = caption_handles(caption)[:MAX_MENTIONS]
    found = await repo.users_by_handles(db, handles)
    return [found[h].id for h in handles if h in found]


async def _apply_caption(db: AsyncSession, video: Video, caption: str) -> None:
    video.caption = caption
    await db.flush()
    await repo.replace_hashtags(db, video.id, caption_hashtags(caption))
    await repo.replace_mentions(db, video.id, await _mentioned_ids(db, caption))


# --- videos ---------------------------------------------------------------------------------

def can_see(video: Video, viewer: User | None) -> bool:
    """Published videos are public; removed ones only for their creator and operators."""
    return video.status == "published" or (viewer is not None and (viewer.id == video.creator_id or viewer.is_admin))


@dataclass(frozen=True)
class FileAudience:
    """Who may fetch a video file (rendition or poster): everyone while a video using it is
    published; otherwise only the creators of the videos using it, and operators."""

    public: bool
    creator_ids: frozenset[int]

    def admits(self, viewer: User | None) -> bool:
        return self.public or (viewer is not None and (viewer.is_admin or viewer.id in self.creator_ids))


async def file_audience(db: AsyncSession, path: str) -> FileAudience | None:
    """The audience of the media file ``path`` (relative to ``media_dir``); None when no video
    refers to it (a partial upload, an orphan, a deleted video's file): served to nobody."""
    rows = await repo.videos_using_file(db, path)
    if not rows:
        return None
    return FileAudience(public=any(status == "published" for status, _ in rows),
                        creator_ids=frozenset(creator for _, creator in rows))


async def visible_video(db: AsyncSession, video_id: int, viewer: User | None) -> Video:
    video = await repo.video(db, video_id)
    if video is None or not can_see(video, viewer):
        raise NotFound("No such video.")
    return video


async def create_video(db: AsyncSession, user: User, processed: ProcessedVideo, caption: str,
                       product_ids: Sequence[int], settings: Settings) -> Video:
    caption = check_caption(caption, settings)
    anchors = await check_anchors(db, user, product_ids, settings)
    video = Video(
        creator_id=user.id, caption=caption, status="published", media_path=processed.media_path,
        original_path=None, poster_path=processed.poster_path, mime_type=processed.mime_type,
        container=processed.container, video_codec=processed.video_codec, audio_codec=processed.audio_codec,
        width=processed.width, height=processed.height, duration_ms=processed.duration_ms,
        size_bytes=processed.size_bytes,
    )
    db.add(video)
    await db.flush()
    await _apply_caption(db, video, caption)
    await repo.replace_anchors(db, video.id, anchors)
    return video


async def _owned_video(db: AsyncSession, user: User, video_id: int, *, admin_may: bool) -> Video:
    video = await visible_video(db, video_id, user)
    if video.creator_id != user.id and not (admin_may and user.is_admin):
        raise Forbidden("Only the creator can change this video.", code=ContentError.FORBIDDEN)
    return video


async def update_video(db: AsyncSession, user: User, video_id: int, data: VideoUpdate, settings: Settings) -> Video:
    video = await _owned_video(db, user, video_id, admin_may=False)
    if data.caption is not None:
        await _apply_caption(db, video, check_caption(data.caption, settings))
    if data.product_ids is not None:
        await repo.replace_anchors(db, video.id, await check_anchors(db, user, data.product_ids, settings))
    video.updated_at = utcnow()
    await db.flush()
    return video


async def delete_video(db: AsyncSession, user: User, video_id: int) -> list[str]:
    """Delete the video (its facts go with it); returns its files for the caller to remove
    once the deletion is committed."""
    video = await _owned_video(db, user, video_id, admin_may=True)
    paths = [p for p in (video.media_path, video.original_path, video.poster_path) if p]
    db.expunge(video)
    await repo.delete_video(db, video_id)
    shared = await repo.paths_in_use(db, paths)  # the demo lets videos share a clip
    return [p for p in paths if p not in shared]


async def creator_videos(db: AsyncSession, viewer: User | None, ref: str, cursor: str | None, limit: int
                         ) -> tuple[User, list[Video], str | None]:
    creator = await accounts_service.find_user(db, ref)
    after = time_id_cursor(cursor)
    include_removed = viewer is not None and (viewer.id == creator.id or viewer.is_admin)
    rows = await repo.videos_of_creator(db, creator.id, include_removed=include_removed, limit=limit, after=after)
    page, more = rows[:limit], len(rows) > limit
    nxt = encode_cursor([page[-1].created_at.isoformat(), page[-1].id]) if more and page else None
    return creator, page, nxt


def clean_tag(tag: str) -> str:
    tag = tag.strip().lstrip("#").lower()
    if not tag or len(tag) > 60 or not re.fullmatch(r"\w+", tag):
        raise NotFound("No such hashtag.")
    return tag


async def tag_videos(db: AsyncSession, tag: str, sort: str, cursor: str | None, limit: int
                     ) -> tuple[str, list[Video], str | None]:
    tag = clean_tag(tag)
    values = decode_cursor(cursor)
    after: list[Any] | None = None
    if values is not None:
        if len(values) != 3 or values[0] != sort:
            raise ValidationFailed("The cursor is not valid.", code=ContentError.INVALID_CURSOR)
        first = cursor_int(values[1]) if sort == "top" else cursor_datetime(values[1])
        after = [first, cursor_int(values[2])]
    rows = await repo.videos_with_tag(db, tag, sort=sort, limit=limit, after=after)
    page, more = rows[:limit], len(rows) > limit
    nxt = None
    if more and page:
        last, score = page[-1]
        nxt = encode_cursor([sort, score if sort == "top" else last.created_at.isoformat(), last.id])
    return tag, [v for v, _ in page], nxt


# --- likes, saves, product clicks -----------------------------------------------------------

async def like(db: AsyncSession, user: User, video_id: int, on: bool) -> tuple[bool, int]:
    video = await visible_video(db, video_id, user)
    if on:
        changed = await repo.add_like(db, user.id, video_id)
    else:
        changed = await repo.remove_like(db, user.id, video_id)
    if changed:
        await hooks.dispatch_engagement(db, user_id=user.id, video_id=video_id, kind="like" if on else "unlike")
        if on:  # once per viewer and video, ever (unlike and like again is not a new like)
            await _capture(db, "like", f"like:{user.id}:{video_id}", video, user)
    return on, (await repo.counters(db, video_id))["likes_count"]


async def save(db: AsyncSession, user: User, video_id: int, on: bool) -> tuple[bool, int]:
    await visible_video(db, video_id, user)
    if on:
        changed = await repo.add_save(db, user.id, video_id)
    else:
        changed = await repo.remove_save(db, user.id, video_id)
    if changed and on:
        await hooks.dispatch_engagement(db, user_id=user.id, video_id=video_id, kind="save")
    return on, (await repo.counters(db, video_id))["saves_count"]


async def saved_videos(db: AsyncSession, user: User, cursor: str | None, limit: int) -> tuple[list[Video], str | None]:
    rows = await repo.saved_videos(db, user.id, limit, time_id_cursor(cursor))
    page, more = rows[:limit], len(rows) > limit
    nxt = encode_cursor([page[-1][1].isoformat(), page[-1][0].id]) if more and page else None
    return [v for v, _ in page], nxt


async def product_click(db: AsyncSession, viewer: User | None, video_id: int, product_id: int,
                        source: str | None = None) -> None:
    """A tap on a product card of a video. ``source`` is where the viewer found the video (the
    ``src`` the feed, search and LIVE links carry); analytics credits a later add to cart or
    purchase of the product to this click (docs/analytics.md)."""
    video = await visible_video(db, video_id, viewer)
    if not await repo.anchor_exists(db, video_id, product_id):
        raise NotFound("This product is not on this video.", code=ContentError.NOT_ANCHORED)
    await repo.bump(db, video_id, "product_clicks_count", 1)
    await hooks.dispatch_engagement(db, user_id=viewer.id if viewer else None, video_id=video_id, kind="product_click")
    now = utcnow()
    await record_event(db, Event(
        event_id=f"product_card_click:{uuid.uuid4().hex}", kind="product_card_click", occurred_at=now,
        source=normal_source(source), creator_id=video.creator_id, video_id=video_id,
        product_id=product_id, shop_id=await repo.shop_of_product(db, product_id), **_audience(viewer, now)))


def _audience(viewer: User | None, now: datetime) -> dict[str, Any]:
    """The viewer's part of an analytics event: their id and coarse age band."""
    if viewer is None:
        return {}
    return {"viewer_id": viewer.id, "age_band": age_band(viewer.date_of_birth, now.date())}


async def _capture(db: AsyncSession, kind: str, event_id: str, video: Video, viewer: User | None) -> None:
    """An engagement event for analytics (``kit/events.py``), in this unit of work."""
    now = utcnow()
    await record_event(db, Event(event_id=event_id, kind=kind, occurred_at=now, creator_id=video.creator_id,
                                 video_id=video.id, **_audience(viewer, now)))


# --- comments -------------------------------------------------------------------------------

async def comments_page(db: AsyncSession, viewer: User | None, video_id: int, cursor: str | None, limit: int
                        ) -> tuple[Video, list[VideoComment], str | None]:
    video = await visible_video(db, video_id, viewer)
    rows = await repo.top_comments(db, video.id, limit, time_id_cursor(cursor))
    page, more = rows[:limit], len(rows) > limit
    nxt = encode_cursor([page[-1].created_at.isoformat(), page[-1].id]) if more and page else None
    return video, page, nxt


async def replies_page(db: AsyncSession, viewer: User | None, comment_id: int, cursor: str | None, limit: int
                       ) -> tuple[Video, list[VideoComment], str | None]:
    parent = await repo.comment(db, comment_id)
    if parent is None:
        raise NotFound("No such comment.")
    video = await visible_video(db, parent.video_id, viewer)
    rows = await repo.replies(db, parent.id, limit, time_id_cursor(cursor))
    page, more = rows[:limit], len(rows) > limit
    nxt = encode_cursor([page[-1].created_at.isoformat(), page[-1].id]) if more and page else None
    return video, page, nxt


async def add_comment(db: AsyncSession, user: User, video_id: int, data: CommentIn, settings: Settings
                      ) -> tuple[Video, VideoComment]:
    video = await visible_video(db, video_id, user)
    body = clean_text(data.body)
    if not body:
        raise ValidationFailed("Write something first.", code=ContentError.COMMENT_EMPTY, details={"field": "body"})
    if len(body) > settings.max_comment_chars:
        raise ValidationFailed(f"Comments may be at most {settings.max_comment_chars} characters.",
                               code=ContentError.COMMENT_TOO_LONG, details={"field": "body"})
    if user.id != video.creator_id and await accounts_repo.either_blocked(db, user.id, video.creator_id):
        raise Forbidden("You cannot comment on this creator's videos.", code=ContentError.BLOCKED)
    parent_id: int | None = None
    if data.parent_id is not None:
        parent = await repo.comment(db, data.parent_id)
        if parent is None or parent.video_id != video.id:
            raise ValidationFailed("The comment you reply to is not on this video.", code=ContentError.INVALID_PARENT,
                                   details={"field": "parent_id"})
        parent_id = parent.parent_id if parent.parent_id is not None else parent.id  # one level of replies
    item = await repo.add_comment(db, video.id, user.id, body, parent_id)
    await hooks.dispatch_engagement(db, user_id=user.id, video_id=video.id, kind="comment")
    await _capture(db, "comment", f"comment:{item.id}", video, user)
    return video, item


async def delete_comment(db: AsyncSession, user: User, comment_id: int) -> None:
    """The author, the video's creator or an operator may delete; a top-level comment takes its
    replies with it."""
    item = await repo.comment(db, comment_id)
    if item is None:
        raise NotFound("No such comment.")
    video = await visible_video(db, item.video_id, user)
    if user.id not in (item.user_id, video.creator_id) and not user.is_admin:
        raise Forbidden("You cannot delete this comment.", code=ContentError.FORBIDDEN)
    await repo.delete_comment(db, item)


# --- shares ---------------------------------------------------------------------------------

async def share(db: AsyncSession, viewer: User | None, video_id: int, channel: str) -> tuple[VideoShare, int]:
    video = await visible_video(db, video_id, viewer)
    item = VideoShare(video_id=video.id, user_id=viewer.id if viewer else None, token=secrets.token_urlsafe(12),
                      channel=channel, visits_count=0)
    db.add(item)
    await db.flush()
    await repo.bump(db, video.id, "shares_count", 1)
    await hooks.dispatch_engagement(db, user_id=viewer.id if viewer else None, video_id=video.id, kind="share")
    await _capture(db, "share", f"share:{item.id}", video, viewer)
    return item, (await repo.counters(db, video.id))["shares_count"]


async def visit_share(db: AsyncSession, token: str) -> VideoShare:
    if not token or len(token) > 32:
        raise NotFound("This link does not exist.")
    item = await repo.share_by_token(db, token)
    if item is None:
        raise NotFound("This link does not exist.")
    await repo.count_share_visit(db, item.id)
    return item


# --- reports and moderation -----------------------------------------------------------------

async def report(db: AsyncSession, user: User, video_id: int, data: ReportIn) -> VideoReport:
    video = await visible_video(db, video_id, user)
    if video.creator_id == user.id:
        raise ValidationFailed("You cannot report your own video.", code=ContentError.OWN_VIDEO)
    found = await repo.add_report(db, video.id, user.id, data.reason, clean_text(data.details))
    if found is None:
        raise Conflict("You already reported this video.", code=ContentError.ALREADY_REPORTED)
    return found


async def reports_page(db: AsyncSession, status: str | None, cursor: str | None, limit: int
                       ) -> tuple[list[VideoReport], str | None]:
    after = time_id_cursor(cursor)
    rows = await repo.reports(db, status, limit, after)
    page, more = rows[:limit], len(rows) > limit
    nxt = encode_cursor([page[-1].created_at.isoformat(), page[-1].id]) if more and page else None
    return page, nxt


async def takedown(db: AsyncSession, admin: User, video_id: int, reason: str) -> Video:
    """Remove a video (only its creator and operators see it since) and uphold its open reports."""
    video = await visible_video(db, video_id, admin)
    if not await repo.set_status(db, video.id, from_status="published", to_status="removed",
                                 reason=clean_text(reason)[:200]):
        raise Conflict("This video is already removed.", code=ContentError.ALREADY_REMOVED)
    await repo.resolve_reports(db, video.id, from_status="open", to_status="upheld", by=admin.id, at=utcnow())
    await db.refresh(video)
    return video


async def restore(db: AsyncSession, admin: User, video_id: int) -> Video:
    video = await visible_video(db, video_id, admin)
    if not await repo.set_status(db, video.id, from_status="removed", to_status="published", reason=None):
        raise Conflict("This video is not removed.", code=ContentError.NOT_REMOVED)
    await db.refresh(video)
    return video


async def dismiss_report(db: AsyncSession, admin: User, report_id: int) -> VideoReport:
    item = await repo.report(db, report_id)
    if item is None:
        raise NotFound("No such report.")
    if item.status != "open":
        raise Conflict("This report is already closed.", code=ContentError.REPORT_CLOSED)
    item.status = "dismissed"
    item.resolved_by = admin.id
    item.resolved_at = utcnow()
    await db.flush()
    return item
