"""Queries of affiliate money: links, touchpoints, attributions and commissions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate.money_models import AffiliateLink, Attribution, Commission, Touchpoint
from mercato.kit.sql.transaction import InTransaction


async def link_of(db: AsyncSession, creator_id: int, product_id: int | None) -> AffiliateLink | None:
    query = select(AffiliateLink).where(AffiliateLink.creator_id == creator_id)
    query = query.where(AffiliateLink.product_id.is_(None) if product_id is None
                        else AffiliateLink.product_id == product_id)
    return (await db.execute(query.order_by(AffiliateLink.id).limit(1))).scalar_one_or_none()


async def link_by_code(db: AsyncSession, code: str) -> AffiliateLink | None:
    return (await db.execute(select(AffiliateLink).where(AffiliateLink.code == code))).scalar_one_or_none()


async def links_of_creator(db: AsyncSession, creator_id: int, limit: int) -> list[AffiliateLink]:
    return list((await db.execute(select(AffiliateLink).where(AffiliateLink.creator_id == creator_id)
                                  .order_by(AffiliateLink.id.desc()).limit(limit))).scalars())


async def count_click(db: AsyncSession, link_id: int) -> None:
    await db.execute(update(AffiliateLink).where(AffiliateLink.id == link_id)
                     .values(clicks=AffiliateLink.clicks + 1))


async def add(db: AsyncSession, row: Any) -> None:
    db.add(row)
    await db.flush()


async def recent_touchpoint(db: AsyncSession, *, kind: str, creator_id: int, product_id: int | None,
                            user_id: int | None, visitor_id: str | None, since: datetime) -> Touchpoint | None:
    """The newest touchpoint of the same shopper, creator, product and kind since ``since``."""
    who = Touchpoint.user_id == user_id if user_id is not None else Touchpoint.visitor_id == visitor_id
    product = Touchpoint.product_id.is_(None) if product_id is None else Touchpoint.product_id == product_id
    query = (select(Touchpoint).where(who, product, Touchpoint.kind == kind, Touchpoint.creator_id == creator_id,
                                      Touchpoint.at >= since)
             .order_by(Touchpoint.at.desc(), Touchpoint.id.desc()).limit(1))
    return (await db.execute(query)).scalar_one_or_none()


async def attach_visitor(db: AsyncSession, visitor_id: str, user_id: int) -> int:
    """Give the visitor's anonymous touchpoints to the user; answers how many."""
    result = await db.execute(update(Touchpoint).where(Touchpoint.visitor_id == visitor_id,
                                                       Touchpoint.user_id.is_(None)).values(user_id=user_id))
    return int(getattr(result, "rowcount", 0) or 0)


async def touchpoints_of_buyer(db: AsyncSession, user_id: int, product_ids: Sequence[int],
                               since: datetime, until: datetime) -> list[Touchpoint]:
    """The buyer's touchpoints on these products or on any showcase, oldest first."""
    query = (select(Touchpoint)
             .where(Touchpoint.user_id == user_id, Touchpoint.at >= since, Touchpoint.at <= until,
                    or_(Touchpoint.product_id.in_(list(product_ids)), Touchpoint.product_id.is_(None)))
             .order_by(Touchpoint.at, Touchpoint.id))
    return list((await db.execute(query)).scalars())


_HAS_TOUCHPOINTS = (f"SELECT 1 FROM {Touchpoint.__tablename__} "  # noqa: S608
                    "WHERE user_id = :user AND at >= :since AND at <= :until LIMIT 1")


async def buyer_has_touchpoints(db: AsyncSession, user_id: int, since: datetime, until: datetime) -> bool:
    """Whether the buyer has any touchpoint in the window (one indexed probe, ``LIMIT 1``; a
    plain statement: every paid order runs it)."""
    found = await InTransaction.of(db).first(_HAS_TOUCHPOINTS, {"user": user_id, "since": since, "until": until})
    return found is not None


async def touchpoints_by_ids(db: AsyncSession, ids: Sequence[int]) -> dict[int, Touchpoint]:
    if not ids:
        return {}
    rows = (await db.execute(select(Touchpoint).where(Touchpoint.id.in_(list(ids))))).scalars()
    return {row.id: row for row in rows}


async def order_facts(db: AsyncSession, order_id: int) -> dict[str, Any] | None:
    row = (await db.execute(text(
        "SELECT id, shop_id, buyer_id, currency, subtotal, seller_discount, platform_discount, source, live_id, "
        "total FROM orders WHERE id = :id"), {"id": order_id})).mappings().first()
    return dict(row) if row is not None else None


async def order_lines(db: AsyncSession, order_id: int) -> list[dict[str, Any]]:
    rows = (await db.execute(text(
        "SELECT id, product_id, quantity, total FROM order_lines WHERE order_id = :id ORDER BY id"),
        {"id": order_id})).mappings()
    return [dict(row) for row in rows]


async def live_host(db: AsyncSession, live_id: int) -> int | None:
    value = (await db.execute(text("SELECT host_id FROM lives WHERE id = :id"), {"id": live_id})).scalar()
    return int(value) if value is not None else None


async def is_shop_member(db: AsyncSession, shop_id: int, user_id: int) -> bool:
    value = (await db.execute(text("SELECT 1 FROM shop_members WHERE shop_id = :s AND user_id = :u"),
                              {"s": shop_id, "u": user_id})).scalar()
    return value is not None


async def product_summaries(db: AsyncSession, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = (await db.execute(text("SELECT p.id, p.title, p.shop_id, s.slug FROM products p "
                                  "JOIN shops s ON s.id = p.shop_id WHERE p.id IN :ids")
                             .bindparams(bindparam("ids", expanding=True)), {"ids": list(ids)})).mappings()
    return {int(row["id"]): dict(row) for row in rows}


async def product_shop(db: AsyncSession, product_id: int) -> int | None:
    value = (await db.execute(text("SELECT shop_id FROM products WHERE id = :id AND status = 'active'"),
                              {"id": product_id})).scalar()
    return int(value) if value is not None else None


async def attributions_of_order(db: AsyncSession, order_id: int) -> list[Attribution]:
    return list((await db.execute(select(Attribution).where(Attribution.order_id == order_id)
                                  .order_by(Attribution.order_line_id))).scalars())


async def commissions_of_order(db: AsyncSession, order_id: int) -> list[Commission]:
    return list((await db.execute(select(Commission).where(Commission.order_id == order_id)
                                  .order_by(Commission.id))).scalars())


async def commissions_page(db: AsyncSession, *, creator_id: int | None = None, shop_id: int | None = None,
                           status: str | None = None, order_id: int | None = None, product_id: int | None = None,
                           before: tuple[datetime, int] | None = None, limit: int) -> list[Commission]:
    query = select(Commission)
    if creator_id is not None:
        query = query.where(Commission.creator_id == creator_id)
    if shop_id is not None:
        query = query.where(Commission.shop_id == shop_id)
    if status is not None:
        query = query.where(Commission.status == status)
    if order_id is not None:
        query = query.where(Commission.order_id == order_id)
    if product_id is not None:
        query = query.where(Commission.product_id == product_id)
    if before is not None:
        at, last_id = before
        query = query.where(or_(Commission.created_at < at, (Commission.created_at == at) & (Commission.id < last_id)))
    query = query.order_by(Commission.created_at.desc(), Commission.id.desc()).limit(limit)
    return list((await db.execute(query)).scalars())


async def breakdown(db: AsyncSession, creator_id: int, by: str) -> list[tuple[Any, str, str, int, int]]:
    """``(key, currency, status, net amount, count)`` per ``by`` column of the creator's commissions."""
    column = {"product": Commission.product_id, "plan": Commission.plan_id, "video": Commission.video_id,
              "live": Commission.live_id}[by]
    query = (select(column, Commission.currency, Commission.status,
                    func.sum(Commission.amount - Commission.reversed), func.count())
             .where(Commission.creator_id == creator_id)
             .group_by(column, Commission.currency, Commission.status).order_by(column))
    return [(row[0], row[1], row[2], int(row[3] or 0), int(row[4])) for row in (await db.execute(query)).all()]


async def creator_paid_out(db: AsyncSession, creator_id: int, currency: str) -> int:
    """What was sent to the creator: debits of ``payouts_in_transit`` by ``payout_sent``."""
    value = (await db.execute(text(
        "SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e "
        "JOIN ledger_accounts a ON a.id = e.account_id "
        "JOIN ledger_transactions t ON t.id = e.transaction_id "
        "WHERE a.code = :code AND e.amount > 0 AND t.kind = 'payout_sent'"),
        {"code": f"creator:{creator_id}:payouts_in_transit:{currency}"})).scalar()
    return int(value or 0)


async def earned_available_through(db: AsyncSession, creator_id: int, currency: str, kind: str,
                                   reference: str) -> int | None:
    """Net money that became payable on the creator's ``available`` account up to and including
    the transaction ``(kind, reference)`` (credits minus reversals, payouts left out); ``None``
    when that transaction does not exist."""
    row = (await db.execute(text(
        "SELECT MAX(e.id) FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id "
        "JOIN ledger_transactions t ON t.id = e.transaction_id "
        "WHERE a.code = :code AND t.kind = :kind AND t.reference = :ref"),
        {"code": f"creator:{creator_id}:available:{currency}", "kind": kind, "ref": reference})).scalar()
    if row is None:
        return None
    value = (await db.execute(text(
        "SELECT COALESCE(SUM(-e.amount), 0) FROM ledger_entries e "
        "JOIN ledger_accounts a ON a.id = e.account_id "
        "JOIN ledger_transactions t ON t.id = e.transaction_id "
        "WHERE a.code = :code AND e.id <= :last AND t.kind NOT LIKE 'payout%'"),
        {"code": f"creator:{creator_id}:available:{currency}", "last": int(row)})).scalar()
    return int(value or 0)


async def user_handle(db: AsyncSession, user_id: int) -> str | None:
    value = (await db.execute(text("SELECT handle FROM users WHERE id = :id"), {"id": user_id})).scalar()
    return str(value) if value is not None else None


async def gmv_of(db: AsyncSession, creator_ids: Sequence[int], currency: str) -> dict[int, int]:
    """Per creator: the paid base of their credited lines, each less its refunded share."""
    query = (select(Commission.creator_id,
                    func.sum(Commission.base - func.coalesce(
                        (Commission.base * Commission.reversed) / func.nullif(Commission.amount, 0), 0)))
             .where(Commission.creator_id.in_(list(creator_ids)), Commission.currency == currency)
             .group_by(Commission.creator_id))
    return {int(row[0]): int(row[1] or 0) for row in (await db.execute(query)).all()}
