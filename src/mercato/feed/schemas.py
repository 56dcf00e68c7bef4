"""Request and response bodies of the feed and discovery API.

Feed items embed ``VideoOut`` bodies built by :func:`mercato.content.presenters.video_outs`
(documented by :class:`mercato.content.schemas.VideoOut`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from mercato.accounts.schemas import StrictBody
from mercato.catalog.schemas import ProductCard
from mercato.content.schemas import CreatorOut, VideoOut
from mercato.kit.fields import BodyId

#: Kinds a client reports itself (likes, comments, shares, saves and product clicks come from the
#: content endpoints that record the fact).
ClientEventKind = Literal["impression", "watch", "skip", "add_to_cart", "purchase"]
SearchType = Literal["all", "videos", "products", "creators", "hashtags"]
MAX_EVENTS = 100


class ReasonOut(BaseModel):
    signal: str = Field(description="The signal that contributed most: affinity, creator, following, "
                                    "collaborative, trending, quality, fresh or exploration")
    text: str = Field(description="“Why you're seeing this”, ready to show")


class FeedItem(BaseModel):
    video: VideoOut
    reason: ReasonOut


class FeedPage(BaseModel):
    items: list[FeedItem]
    next_cursor: str | None = None
    personalised: bool


class EventIn(StrictBody):
    video_id: BodyId
    kind: ClientEventKind
    watch_ms: int = Field(strict=True, default=0, ge=0, le=24 * 3600 * 1000)


class EventsIn(StrictBody):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class EventsAccepted(BaseModel):
    accepted: int = Field(description="Events received (all valid)")
    counted: int = Field(description="Events that counted toward views, scores and the viewer's profile: none "
                                     "when anonymous, and per video and kind at most the server's cap per window")


class PreferencesIn(StrictBody):
    personalised: bool = Field(strict=True)


class PreferencesOut(BaseModel):
    personalised: bool
    default: bool = Field(description="The platform default, used while the viewer has not chosen")


class HashtagOut(BaseModel):
    tag: str
    videos_count: int
    url: str


class SearchOut(BaseModel):
    query: str
    type: SearchType
    videos: list[VideoOut] = Field(default_factory=list)
    products: list[ProductCard] = Field(default_factory=list)
    creators: list[CreatorOut] = Field(default_factory=list)
    hashtags: list[HashtagOut] = Field(default_factory=list)
    next_cursor: str | None = None
