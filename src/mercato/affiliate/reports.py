"""What creators and sellers read about commissions and attributions (API, CSV, Earnings page)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import commissions
from mercato.affiliate import money_repository as repository
from mercato.affiliate.money_models import Commission, Touchpoint
from mercato.kit.money import format_money
from mercato.kit.pagination import encode_cursor, time_id_cursor
from mercato.ledger.earnings import EarningsSection

if TYPE_CHECKING:
    from mercato.accounts.models import User

BREAKDOWNS = ("product", "plan", "video", "live")
CSV_COLUMNS = ("order_id", "created_at", "status", "amount", "currency", "product_id", "product", "plan_id",
               "video_id", "live_id", "touchpoint_kind", "touchpoint_at", "rule")


def touchpoint_out(tp: Touchpoint | None, rule: str | None) -> dict[str, Any] | None:
    if tp is None:
        return None
    return {"id": tp.id, "kind": tp.kind, "at": tp.at, "creator_id": tp.creator_id, "product_id": tp.product_id,
            "video_id": tp.video_id, "live_id": tp.live_id, "rule": rule}


async def commission_outs(db: AsyncSession, rows: Sequence[Commission]) -> list[dict[str, Any]]:
    tps = await repository.touchpoints_by_ids(db, [row.touchpoint_id for row in rows if row.touchpoint_id])
    products = await repository.product_summaries(db, sorted({row.product_id for row in rows}))
    rules: dict[int, str] = {}
    for order_id in sorted({row.order_id for row in rows}):
        for attribution in await repository.attributions_of_order(db, order_id):
            rules[attribution.order_line_id] = attribution.rule
    out = []
    for row in rows:
        product = products.get(row.product_id, {})
        out.append({
            "id": row.id, "order_id": row.order_id, "order_line_id": row.order_line_id, "shop_id": row.shop_id,
            "creator_id": row.creator_id, "amount": row.amount - row.reversed, "original_amount": row.amount,
            "reversed": row.reversed, "currency": row.currency, "status": await commissions.status_of(db, row),
            "base": row.base, "rate_bps": row.rate_bps, "flat_fee": row.flat_fee,
            "product": {"id": row.product_id, "title": product.get("title", "")},
            "plan_id": row.plan_id, "video_id": row.video_id, "live_id": row.live_id,
            "created_at": row.created_at, "released_at": row.released_at,
            "touchpoint": touchpoint_out(tps.get(row.touchpoint_id) if row.touchpoint_id else None,
                                         rules.get(row.order_line_id)),
        })
    return out


async def commissions_page(db: AsyncSession, *, creator_id: int | None = None, shop_id: int | None = None,
                           status: str | None = None, order_id: int | None = None, product_id: int | None = None,
                           cursor: str | None = None, limit: int = 50) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first. ``status`` filters the stored state (``pending``/``available``/``reversed``);
    ``paid`` is read among ``available`` ones (derived from payouts)."""
    stored = "available" if status == "paid" else status
    rows = await repository.commissions_page(db, creator_id=creator_id, shop_id=shop_id, status=stored,
                                             order_id=order_id, product_id=product_id,
                                             before=time_id_cursor(cursor), limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    items = await commission_outs(db, page)
    if status in ("paid", "available"):
        items = [item for item in items if item["status"] == status]
    nxt = encode_cursor([page[-1].created_at.isoformat(), page[-1].id]) if more and page else None
    return items, nxt


async def product_titles(db: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    return {pid: str(row["title"]) for pid, row in (await repository.product_summaries(db, ids)).items()}


def _safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_csv(items: list[dict[str, Any]]) -> str:
    """Cells that a spreadsheet would run as a formula (``= + - @``) are prefixed with ``'``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        tp = item["touchpoint"] or {}
        at = tp.get("at")
        writer.writerow([_safe(v) for v in (
            item["order_id"], item["created_at"].isoformat(), item["status"], item["amount"], item["currency"],
            item["product"]["id"], item["product"]["title"], item["plan_id"], item["video_id"], item["live_id"],
            tp.get("kind"), at.isoformat() if at else None, tp.get("rule"))])
    return buffer.getvalue()


async def breakdown(db: AsyncSession, creator_id: int, by: str) -> list[dict[str, Any]]:
    """Net commissions per product, plan, video or LIVE, by currency and stored status."""
    groups: dict[tuple[Any, str], dict[str, Any]] = {}
    for key, currency, status, amount, count in await repository.breakdown(db, creator_id, by):
        group = groups.setdefault((key, currency), {"key": key, "currency": currency, "pending": 0,
                                                    "available": 0, "reversed": 0, "orders": 0})
        group[status] = group.get(status, 0) + amount
        group["orders"] += count
    return list(groups.values())


async def attributions_for_creator(db: AsyncSession, creator_id: int, order_id: int) -> list[dict[str, Any]]:
    """The decision of each line of the order where this creator had a touchpoint, showing only the
    creator's own touchpoints (another creator's are counted, never shown)."""
    out = []
    for row in await repository.attributions_of_order(db, order_id):
        mine = [c for c in row.candidates if c.get("creator_id") == creator_id]
        if not mine and row.creator_id != creator_id:
            continue
        out.append({"order_id": row.order_id, "order_line_id": row.order_line_id, "product_id": row.product_id,
                    "credited_to_you": row.creator_id == creator_id, "rule": row.rule,
                    "decided_at": row.decided_at, "your_touchpoints": mine,
                    "other_touchpoints": len(row.candidates) - len(mine)})
    return out


async def earnings_sections(db: AsyncSession, user: User) -> list[EarningsSection]:
    """Commissions by product, plan, video and LIVE on the creator's Earnings page (none for
    someone who never earned a commission: the page keeps its empty state; "—" groups the
    commissions that came through no video or no LIVE)."""
    sections: list[EarningsSection] = []
    if not await repository.breakdown(db, user.id, "plan"):
        return sections
    for by, title, label in (("product", "Commissions by product", "Product"),
                             ("plan", "Commissions by plan", "Plan"), ("video", "Commissions by video", "Video"),
                             ("live", "Commissions by LIVE", "LIVE")):
        groups = await breakdown(db, user.id, by)
        names: dict[int, dict[str, Any]] = {}
        if by == "product":
            names = await repository.product_summaries(db, [g["key"] for g in groups if g["key"] is not None])
        rows = tuple((str(names.get(g["key"], {}).get("title", g["key"])) if by == "product"
                      else f"#{g['key']}" if g["key"] is not None else "—",
                      format_money(g["pending"], g["currency"]), format_money(g["available"], g["currency"]),
                      str(g["orders"])) for g in groups)
        sections.append(EarningsSection(key=f"commissions_by_{by}", title=title,
                                        columns=(label, "Pending", "Available", "Orders"), rows=rows,
                                        empty="No commissions yet.",
                                        links=(("All commissions", "/studio/affiliate/commissions"),)))
    return sections
