"""The homes (UX.md): what the Creator Studio home and the operator console home show.

Each part comes from the domain that owns it — videos from content, LIVEs from live, money from
the ledger — and the analytics figures from the rollups; the home only arranges them and says
what to do next when there is nothing yet."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics.dash import repository
from mercato.content import repository as content_repo
from mercato.ledger import repository as ledger_repo
from mercato.ledger import service as ledger
from mercato.ledger.presenters import ledger_check
from mercato.live import repository as live_repo

if TYPE_CHECKING:
    from mercato.accounts.models import User

RECENT_VIDEOS = 6
RECENT_LIVES = 5
# The creator accounts the home shows, in the order of the money's path (ledger/service.py).
EARNINGS_ACCOUNTS = (("pending", "Pending"), ("available", "Available"), ("payouts_in_transit", "Paying out"))


@dataclass(frozen=True)
class NextStep:
    """A "what to do next" card: why it matters and where to go."""

    title: str
    text: str
    href: str
    action: str


@dataclass
class StudioHome:
    videos: list[dict[str, Any]] = field(default_factory=list)
    lives: list[dict[str, Any]] = field(default_factory=list)
    earnings: list[dict[str, Any]] = field(default_factory=list)  # per currency: {"currency", "pending", …}
    next_steps: list[NextStep] = field(default_factory=list)


async def creator_earnings(db: AsyncSession, creator_id: int) -> list[dict[str, Any]]:
    """Per currency the creator's ledger balances (pending, available, paying out): what the
    platform owes them, read from their accounts (``creator:U:*:CUR``)."""
    out: dict[str, dict[str, Any]] = {}
    for code, kind, currency, total in await ledger_repo.owner_sums(db, "creator", creator_id):
        name = code.split(":")[2]
        row = out.setdefault(currency, {"currency": currency, **{key: 0 for key, _ in EARNINGS_ACCOUNTS}})
        if name in row:
            row[name] = ledger.normal_balance(kind, total)
    return [out[c] for c in sorted(out)]


def next_steps(user: User, *, videos: int, lives: int, earned: bool) -> list[NextStep]:
    """Guidance for what the creator has not done yet (a new creator sees all of it)."""
    steps: list[NextStep] = []
    if not videos:
        steps.append(NextStep("Post your first video", "Short videos with tagged products reach the For You feed.",
                              "/upload", "Upload a video"))
    if not lives:
        steps.append(NextStep("Go LIVE", "Sell in real time: pin products, run flash deals, chat with viewers.",
                              "/live/studio", "Open the LIVE console"))
    if not earned:
        steps.append(NextStep("Earn commissions", "Promote products from shops' affiliate plans and earn on each sale.",
                              "/studio/affiliate", "Find products to promote"))
    if not user.bio:
        steps.append(NextStep("Complete your profile", "A bio and niche tags help shoppers and brands find you.",
                              "/me", "Edit your profile"))
    return steps


async def studio_home(db: AsyncSession, user: User) -> StudioHome:
    videos = await content_repo.videos_of_creator(db, user.id, include_removed=False, limit=RECENT_VIDEOS, after=None)
    lives = await live_repo.hosted_lives(db, user.id, RECENT_LIVES)
    earnings = await creator_earnings(db, user.id)
    home = StudioHome(
        videos=[{"id": v.id, "caption": v.caption, "views": v.views_count, "likes": v.likes_count,
                 "product_clicks": v.product_clicks_count, "created_at": v.created_at}
                for v in videos[:RECENT_VIDEOS]],
        lives=[{"id": lv.id, "title": lv.title, "status": lv.status, "peak_viewers": lv.peak_viewers,
                "started_at": lv.started_at, "scheduled_at": lv.scheduled_at} for lv in lives],
        earnings=earnings,
    )
    home.next_steps = next_steps(user, videos=len(videos), lives=len(lives),
                                 earned=any(any(row[k] for k, _ in EARNINGS_ACCOUNTS) for row in earnings))
    return home


async def admin_home(db: AsyncSession) -> dict[str, Any]:
    """The operator console home: queue sizes, fees, held payouts and the ledger check."""
    revenue = await ledger.platform_revenue(db)
    return {
        "video_reports": await repository.open_video_reports(db),
        "reported_lives": await repository.reported_lives(db),
        "fees": [{"currency": c, "fees": values.get("fees", 0)} for c, values in revenue.items()],
        "held_payouts": [{"currency": c, "count": n, "amount": total}
                         for c, n, total in await repository.held_payouts(db)],
        "ledger": await ledger_check(db),
    }
