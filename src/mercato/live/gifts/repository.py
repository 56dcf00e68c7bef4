"""Queries of coins and gifts. Every change to a coin balance is one guarded statement: a debit
matches only while the balance covers it, so concurrent spends can never take it below 0."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.kit.sql.params import as_datetime
from mercato.kit.sql.statements import insert_sql
from mercato.kit.sql.transaction import InTransaction
from mercato.live.gifts.models import CoinEntry, CoinPurchase, CoinWallet, Gift, GiftSend
from mercato.live.models import Live

# The send path's plain statements (``kit/sql``: no ORM on the hottest write of a LIVE room).
_DEBIT_SQL = ('UPDATE coin_wallets SET coins = coins - :coins, updated_at = :now '
              'WHERE user_id = :user_id AND coins >= :coins RETURNING coins')
_OPEN_LOTS_SQL = ("SELECT id, coins, amount, coins_left, amount_left, currency FROM coin_purchases "
                  "WHERE user_id = :user_id AND status = 'paid' AND coins_left > 0 ORDER BY paid_at, id")
_TAKE_SQL = ("UPDATE coin_purchases SET coins_left = coins_left - :coins, amount_left = amount_left - :amount "
             "WHERE id = :id AND coins_left = :coins_left")
# The LIVE, its host's birth date and the sender's last send in it (for the combo): one read.
_SEND_CONTEXT_SQL = (
    "SELECT l.status, l.host_id, u.date_of_birth, s.gift_id, s.combo, s.created_at FROM lives l "
    "LEFT JOIN users u ON u.id = l.host_id "
    "LEFT JOIN gift_sends s ON s.id = (SELECT max(id) FROM gift_sends "
    "WHERE live_id = :live_id AND sender_id = :sender_id) "
    "WHERE l.id = :live_id")
_INSERT_SEND_SQL = insert_sql(GiftSend, ("live_id", "host_id", "sender_id", "gift_id", "quantity", "coins", "value",
                                         "currency", "host_share", "route", "combo", "created_at"), returning="id")
_INSERT_ENTRY_SQL = insert_sql(CoinEntry, ("user_id", "kind", "coins", "amount", "currency", "purchase_id",
                                           "gift_send_id", "created_at"))
_CATALOG_SQL = "SELECT id, name, coins, animation, active, joins_fan_club FROM gifts"


@dataclass(frozen=True)
class CatalogGift:
    """A gift of the catalog as the send path reads it (a plain, immutable copy: it is cached)."""

    id: int
    name: str
    coins: int
    animation: str
    active: bool
    joins_fan_club: bool


@dataclass(frozen=True)
class Lot:
    """An open coin lot as the FIFO take reads it."""

    id: int
    coins: int
    amount: int
    coins_left: int
    amount_left: int
    currency: str


@dataclass(frozen=True)
class SendContext:
    """What a send checks and combines with, read at once: the LIVE's status and host, the host's
    birth date (None: no such user) and the sender's last send in this LIVE (None: none)."""

    status: str
    host_id: int
    host_born: date | None
    last_gift_id: int | None
    last_combo: int
    last_at: datetime | None

# --------------------------------------------------------------------------- wallets


async def credit_wallet(db: AsyncSession, user_id: int, coins: int, now: datetime) -> None:
    """Add ``coins`` to the wallet, creating it on first use (one statement, safe under races)."""
    dialect = db.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = make(CoinWallet).values(user_id=user_id, coins=coins, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[CoinWallet.user_id],
        set_={"coins": CoinWallet.coins + coins, "updated_at": now})
    await db.execute(statement)


async def debit_wallet(db: AsyncSession, user_id: int, coins: int, now: datetime) -> bool:
    """``UPDATE … SET coins = coins - n WHERE user_id = u AND coins >= n``: ``False`` (nothing
    changed) when the balance does not cover ``coins``."""
    result = await db.execute(
        update(CoinWallet).where(CoinWallet.user_id == user_id, CoinWallet.coins >= coins)
        .values(coins=CoinWallet.coins - coins, updated_at=now).execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def debit_wallet_returning(db: AsyncSession, user_id: int, coins: int, now: datetime) -> int | None:
    """The guarded debit as one plain statement: the balance left, or ``None`` (nothing changed)
    when the balance does not cover ``coins``."""
    row = await InTransaction.of(db).first(_DEBIT_SQL, {"coins": coins, "now": now, "user_id": user_id})
    return None if row is None else int(row[0])


async def wallet_coins(db: AsyncSession, user_id: int) -> int:
    found = await db.scalar(select(CoinWallet.coins).where(CoinWallet.user_id == user_id))
    return int(found or 0)


# --------------------------------------------------------------------------- purchases (lots)


async def insert_purchase(db: AsyncSession, values: dict[str, Any]) -> int:
    return int((await db.execute(insert(CoinPurchase).values(**values).returning(CoinPurchase.id))).scalar_one())


async def purchase(db: AsyncSession, purchase_id: int) -> CoinPurchase | None:
    return (await db.execute(select(CoinPurchase).where(CoinPurchase.id == purchase_id)
                             .execution_options(populate_existing=True))).scalar_one_or_none()


async def purchase_of_intent(db: AsyncSession, intent_id: int) -> CoinPurchase | None:
    return (await db.execute(select(CoinPurchase).where(CoinPurchase.intent_id == intent_id)
                             .execution_options(populate_existing=True))).scalar_one_or_none()


async def set_purchase_intent(db: AsyncSession, purchase_id: int, intent_id: int) -> None:
    await db.execute(update(CoinPurchase).where(CoinPurchase.id == purchase_id).values(intent_id=intent_id)
                     .execution_options(synchronize_session=False))


async def mark_paid(db: AsyncSession, purchase_id: int, now: datetime) -> bool:
    """pending → paid, the whole lot unspent; ``False`` if it was paid already."""
    result = await db.execute(
        update(CoinPurchase).where(CoinPurchase.id == purchase_id, CoinPurchase.status == "pending")
        .values(status="paid", paid_at=now, coins_left=CoinPurchase.coins, amount_left=CoinPurchase.amount)
        .execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def open_lots(db: AsyncSession, user_id: int) -> list[Lot]:
    """The user's paid lots with coins left, oldest first (the order gifts spend them): one plain read."""
    return [Lot(int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), str(r[5]))
            for r in await InTransaction.of(db).all(_OPEN_LOTS_SQL, {"user_id": user_id})]


async def take_from_lot(db: AsyncSession, lot_id: int, *, coins_left: int, coins: int, amount: int) -> bool:
    """Take ``coins`` worth ``amount`` from a lot still holding ``coins_left`` (guarded, one plain statement)."""
    return await InTransaction.of(db).execute(_TAKE_SQL, {"id": lot_id, "coins_left": coins_left, "coins": coins,
                                                          "amount": amount}) == 1


async def mark_refunded(db: AsyncSession, purchase_id: int, *, coins_left: int, amount_left: int) -> bool:
    """paid → refunded for a lot that still holds exactly ``coins_left`` (guarded)."""
    result = await db.execute(
        update(CoinPurchase).where(CoinPurchase.id == purchase_id, CoinPurchase.status == "paid",
                                   CoinPurchase.coins_left == coins_left)
        .values(status="refunded", coins_left=0, amount_left=0, refunded_coins=coins_left,
                refunded_amount=amount_left).execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def lots_left(db: AsyncSession, user_id: int) -> tuple[int, int]:
    """(coins, money) left in the user's paid lots."""
    row = (await db.execute(select(func.coalesce(func.sum(CoinPurchase.coins_left), 0),
                                   func.coalesce(func.sum(CoinPurchase.amount_left), 0))
                            .where(CoinPurchase.user_id == user_id, CoinPurchase.status == "paid"))).one()
    return int(row[0]), int(row[1])


# --------------------------------------------------------------------------- history


async def add_entry(db: AsyncSession, values: dict[str, Any]) -> None:
    """A line of the coin history: one plain INSERT (``values`` names every column)."""
    await InTransaction.of(db).execute(_INSERT_ENTRY_SQL, values)


async def entries(db: AsyncSession, user_id: int, *, before_id: int | None, limit: int) -> Sequence[CoinEntry]:
    query = select(CoinEntry).where(CoinEntry.user_id == user_id)
    if before_id is not None:
        query = query.where(CoinEntry.id < before_id)
    return (await db.execute(query.order_by(CoinEntry.id.desc()).limit(limit))).scalars().all()


async def purchases_by_ids(db: AsyncSession, ids: Sequence[int]) -> dict[int, CoinPurchase]:
    if not ids:
        return {}
    rows = (await db.execute(select(CoinPurchase).where(CoinPurchase.id.in_(ids)))).scalars().all()
    return {row.id: row for row in rows}


async def sends_by_ids(db: AsyncSession, ids: Sequence[int]) -> dict[int, GiftSend]:
    if not ids:
        return {}
    rows = (await db.execute(select(GiftSend).where(GiftSend.id.in_(ids)))).scalars().all()
    return {row.id: row for row in rows}


# --------------------------------------------------------------------------- catalog


async def gifts(db: AsyncSession, *, active_only: bool) -> Sequence[Gift]:
    query = select(Gift)
    if active_only:
        query = query.where(Gift.active.is_(True))
    return (await db.execute(query.order_by(Gift.coins, Gift.id))).scalars().all()


async def catalog_rows(db: AsyncSession) -> list[CatalogGift]:
    """Every gift of the catalog, active or not, as immutable copies (one plain read)."""
    return [CatalogGift(int(r[0]), str(r[1]), int(r[2]), str(r[3]), bool(r[4]), bool(r[5]))
            for r in await InTransaction.of(db).all(_CATALOG_SQL)]


async def gift(db: AsyncSession, gift_id: int) -> Gift | None:
    return (await db.execute(select(Gift).where(Gift.id == gift_id)
                             .execution_options(populate_existing=True))).scalar_one_or_none()


async def gift_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Gift)) or 0)


async def insert_gift_if_absent(db: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert a gift unless one has its name (``None`` then): seeding and creation race safely."""
    dialect = db.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = make(Gift).values(**values).on_conflict_do_nothing(index_elements=[Gift.name]).returning(Gift.id)
    found = (await db.execute(statement)).scalar_one_or_none()
    return int(found) if found is not None else None


async def gift_by_name(db: AsyncSession, name: str) -> Gift | None:
    return (await db.execute(select(Gift).where(Gift.name == name))).scalar_one_or_none()


async def update_gift(db: AsyncSession, gift_id: int, values: dict[str, Any]) -> None:
    await db.execute(update(Gift).where(Gift.id == gift_id).values(**values)
                     .execution_options(synchronize_session=False))


# --------------------------------------------------------------------------- sends


async def send_context(db: AsyncSession, live_id: int, sender_id: int) -> SendContext | None:
    """The LIVE (None: no such LIVE), its host's birth date and the sender's last send there."""
    row = await InTransaction.of(db).first(_SEND_CONTEXT_SQL, {"live_id": live_id, "sender_id": sender_id})
    if row is None:
        return None
    born = row[2]
    if isinstance(born, str):
        born = date.fromisoformat(born[:10])
    return SendContext(status=str(row[0]), host_id=int(row[1]), host_born=born,
                       last_gift_id=None if row[3] is None else int(row[3]), last_combo=int(row[4] or 0),
                       last_at=as_datetime(row[5]))


async def insert_send(db: AsyncSession, values: dict[str, Any]) -> int:
    """The send row as one plain ``INSERT … RETURNING id``."""
    return int(await InTransaction.of(db).scalar(_INSERT_SEND_SQL, values))


async def top_gifters(db: AsyncSession, *, live_id: int | None = None, host_id: int | None = None,
                      limit: int = 10) -> list[tuple[int, str, int, int]]:
    """(sender id, display name, coins, gifts) of the top senders, most coins first."""
    coins = func.sum(GiftSend.coins).label("coins")
    query = select(GiftSend.sender_id, User.display_name, coins, func.sum(GiftSend.quantity)) \
        .join(User, User.id == GiftSend.sender_id)
    if live_id is not None:
        query = query.where(GiftSend.live_id == live_id)
    if host_id is not None:
        query = query.where(GiftSend.host_id == host_id)
    query = query.group_by(GiftSend.sender_id, User.display_name).order_by(coins.desc(), GiftSend.sender_id) \
        .limit(limit)
    return [(int(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in (await db.execute(query)).all()]


async def received(db: AsyncSession, host_id: int, route: str) -> tuple[int, int, int]:
    """(coins, host share in money, sends) the host received by ``route``."""
    row = (await db.execute(select(func.coalesce(func.sum(GiftSend.coins), 0),
                                   func.coalesce(func.sum(GiftSend.host_share), 0), func.count())
                            .where(GiftSend.host_id == host_id, GiftSend.route == route))).one()
    return int(row[0]), int(row[1]), int(row[2])


async def received_by_live(db: AsyncSession, host_id: int, limit: int = 20) -> list[tuple[int, str, int, int]]:
    """(live id, title, diamonds, money) per LIVE of the host, newest first."""
    query = select(GiftSend.live_id, Live.title, func.sum(GiftSend.coins), func.sum(GiftSend.host_share)) \
        .join(Live, Live.id == GiftSend.live_id) \
        .where(GiftSend.host_id == host_id, GiftSend.route == "diamonds") \
        .group_by(GiftSend.live_id, Live.title).order_by(GiftSend.live_id.desc()).limit(limit)
    return [(int(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in (await db.execute(query)).all()]


async def user(db: AsyncSession, user_id: int) -> User | None:
    return await db.get(User, user_id)


async def commissions_due(db: AsyncSession, sent_before: datetime, limit: int) -> Sequence[GiftSend]:
    """Commission shares still pending, sent before ``sent_before``, oldest first."""
    return (await db.execute(select(GiftSend).where(GiftSend.route == "commission", GiftSend.released_at.is_(None),
                                                    GiftSend.created_at < sent_before)
                             .order_by(GiftSend.id).limit(limit))).scalars().all()


async def mark_released(db: AsyncSession, send_id: int, now: datetime) -> bool:
    result = await db.execute(update(GiftSend).where(GiftSend.id == send_id, GiftSend.released_at.is_(None))
                              .values(released_at=now).execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
