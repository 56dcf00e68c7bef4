"""Request and response bodies of the content API (videos and the community around them).

``VideoOut`` documents the body that :func:`mercato.content.presenters.video_outs` builds
(as plain dicts, so the feed can embed them without a second validation pass)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from mercato.accounts.schemas import StrictBody
from mercato.kit.events import TrafficSource
from mercato.kit.fields import BodyId

ReportReason = Literal["spam", "nudity", "violence", "hate", "scam", "other"]
ShareChannel = Literal["link", "copy", "whatsapp", "telegram", "messenger", "x", "facebook", "instagram", "email",
                       "sms", "other"]


class CaptionPart(BaseModel):
    type: Literal["text", "hashtag", "mention"]
    text: str
    href: str | None = None


class CreatorOut(BaseModel):
    id: int
    handle: str | None
    display_name: str
    name: str  # "@handle", or the display name of a user without a handle
    url: str  # their profile page
    avatar_url: str | None
    followers_count: int


class CountsOut(BaseModel):
    views: int
    likes: int
    comments: int
    shares: int
    saves: int


class ViewerOut(BaseModel):
    liked: bool
    saved: bool
    following: bool


class ShopBriefOut(BaseModel):
    id: int
    slug: str
    name: str
    color: str


class VideoProductCard(BaseModel):
    id: int
    title: str
    shop: ShopBriefOut
    currency: str
    price: int
    price_display: str
    compare_at_price: int | None
    compare_at_display: str | None
    image_url: str | None
    in_stock: bool
    rating_avg: float
    url: str


class VideoOut(BaseModel):
    id: int
    status: Literal["published", "removed"]
    removed_reason: str | None = None
    caption: str
    caption_parts: list[CaptionPart]
    hashtags: list[str]
    creator: CreatorOut
    media_url: str
    poster_url: str | None
    mime_type: str
    width: int
    height: int
    duration_ms: int
    created_at: datetime
    counts: CountsOut
    viewer: ViewerOut
    products: list[VideoProductCard]


class VideoPage(BaseModel):
    items: list[VideoOut]
    next_cursor: str | None = None


class HashtagPage(VideoPage):
    tag: str
    video_count: int


class VideoUpdate(StrictBody):
    caption: str | None = Field(default=None, max_length=20000)
    product_ids: list[BodyId] | None = Field(default=None, max_length=100)


class LikeOut(BaseModel):
    liked: bool
    likes_count: int


class SaveOut(BaseModel):
    saved: bool
    saves_count: int


class CommentIn(StrictBody):
    body: str = Field(max_length=20000)
    parent_id: BodyId | None = None


class CommentAuthor(BaseModel):
    id: int
    handle: str | None
    display_name: str
    avatar_url: str | None


class CommentOut(BaseModel):
    id: int
    video_id: int
    parent_id: int | None
    body: str
    author: CommentAuthor
    created_at: datetime
    replies_count: int
    replies: list[CommentOut] = Field(default_factory=list)
    by_creator: bool
    can_delete: bool


class CommentPage(BaseModel):
    items: list[CommentOut]
    next_cursor: str | None = None


class ShareIn(StrictBody):
    channel: ShareChannel = "link"


class ShareOut(BaseModel):
    token: str
    url: str
    shares_count: int


class ReportIn(StrictBody):
    reason: ReportReason
    details: str = Field(default="", max_length=1000)


class ReportOut(BaseModel):
    id: int
    video_id: int
    reporter_id: int
    reason: str
    details: str
    status: Literal["open", "upheld", "dismissed"]
    created_at: datetime
    resolved_at: datetime | None


class ReportQueueItem(ReportOut):
    video: VideoOut | None


class ReportPage(BaseModel):
    items: list[ReportQueueItem]
    next_cursor: str | None = None


class TakedownIn(StrictBody):
    reason: str = Field(min_length=3, max_length=200)


class ProductClickIn(StrictBody):
    product_id: BodyId
    src: TrafficSource | None = Field(default=None, description="Where the viewer found the video (analytics' "
                                                                 "traffic source; docs/analytics.md)")


class ViewIn(StrictBody):
    watch_ms: int = Field(strict=True, default=0, ge=0, le=24 * 3600 * 1000)


class ViewOut(BaseModel):
    views_count: int


class AnchorableOut(BaseModel):
    items: list[VideoProductCard]


CommentOut.model_rebuild()
