"""Events, missions and progress → API bodies (the API and the pages share them)."""

from __future__ import annotations

from datetime import UTC, datetime

from mercato.community import service
from mercato.community.models import CommunityEvent, Mission, MissionProgress
from mercato.community.schemas import EventOut, MissionOut, MissionProgressOut, ProgressOut, RewardOut


def mission_out(m: Mission) -> MissionOut:
    return MissionOut(id=m.id, kind=m.kind, title=m.title, target=m.target,
                      reward=RewardOut(kind=m.reward_kind, badge=m.reward_badge, amount=m.reward_amount,
                                       percent_bps=m.reward_percent_bps, currency=m.reward_currency))


def event_out(event: CommunityEvent, missions: list[Mission], now: datetime | None = None) -> EventOut:
    return EventOut(id=event.id, slug=event.slug, name=event.name, description=event.description,
                    starts_at=event.starts_at, ends_at=event.ends_at, gift_conversion=event.gift_conversion,
                    running=service.is_running(event, now or datetime.now(UTC)),
                    missions=[mission_out(m) for m in missions])


def progress_out(event: CommunityEvent, missions: list[Mission], rows: dict[int, MissionProgress]) -> ProgressOut:
    items = []
    for m in missions:
        row = rows.get(m.id)
        items.append(MissionProgressOut(
            **mission_out(m).model_dump(), progress=min(row.progress, m.target) if row else 0,
            completed=bool(row and row.completed_at), completed_at=row.completed_at if row else None,
            coupon_code=row.reward_code if row else None))
    return ProgressOut(event=event_out(event, missions), missions=items, completed=sum(1 for i in items if i.completed))
