"""Every query of the accounts domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Block, Follow, LoginFailure, Notification, Session, User
from mercato.kit.sql.committed import CommittedReads
from mercato.kit.sql.params import as_datetime
from mercato.kit.sql.statements import insert_sql
from mercato.kit.sql.transaction import InTransaction


async def user_by_id(db: AsyncSession, user_id: int) -> User | None:
    return await db.get(User, user_id)


async def user_by_email(db: AsyncSession, email: str) -> User | None:
    result = await db.execute(select(User).where(User.email == email.lower()))
    return result.scalar_one_or_none()


async def user_by_handle(db: AsyncSession, handle: str) -> User | None:
    result = await db.execute(select(User).where(User.handle == handle.lower()))
    return result.scalar_one_or_none()


_SESSION_OWNER_SQL = (
    f"SELECT {InTransaction.columns(User, 'u')} FROM sessions s JOIN users u ON u.id = s.user_id "  # noqa: S608 (columns)
    "WHERE s.token_digest = :digest AND s.revoked_at IS NULL AND s.expires_at > :now"
)


async def session_owner(db: AsyncSession, digest: str, now: datetime) -> User | None:
    """The user of an active session, loaded into ``db`` — one plain statement (every signed-in
    request runs it; the ORM's load of the session and user rows costs more)."""
    return await InTransaction.of(db).load_one(User, _SESSION_OWNER_SQL, {"digest": digest, "now": now})


async def revoke_sessions(db: AsyncSession, user_id: int, now: datetime, *, digest: str | None = None) -> int:
    stmt = update(Session).where(Session.user_id == user_id, Session.revoked_at.is_(None)).values(revoked_at=now)
    if digest is not None:
        stmt = stmt.where(Session.token_digest == digest)
    result = await db.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def count_failures(
    db: AsyncSession, *, since: datetime, email: str | None = None, client: str | None = None
) -> int:
    stmt = select(func.count()).select_from(LoginFailure).where(LoginFailure.created_at > since)
    if email is not None:
        stmt = stmt.where(LoginFailure.email == email)
    if client is not None:
        stmt = stmt.where(LoginFailure.client == client)
    return int((await db.execute(stmt)).scalar_one())


async def clear_failures(db: AsyncSession, email: str, before: datetime) -> None:
    await db.execute(delete(LoginFailure).where(LoginFailure.email == email))
    await db.execute(delete(LoginFailure).where(LoginFailure.created_at < before))


async def follow_exists(db: AsyncSession, follower_id: int, followee_id: int) -> bool:
    return await db.get(Follow, (follower_id, followee_id)) is not None


async def block_exists(db: AsyncSession, blocker_id: int, blocked_id: int) -> bool:
    return await db.get(Block, (blocker_id, blocked_id)) is not None


async def either_blocked(db: AsyncSession, a: int, b: int) -> bool:
    stmt = select(func.count()).select_from(Block).where(
        ((Block.blocker_id == a) & (Block.blocked_id == b)) | ((Block.blocker_id == b) & (Block.blocked_id == a))
    )
    return int((await db.execute(stmt)).scalar_one()) > 0


async def delete_follow(db: AsyncSession, follower_id: int, followee_id: int) -> bool:
    result = await db.execute(
        delete(Follow).where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def bump_follow_counts(db: AsyncSession, follower_id: int, followee_id: int, delta: int) -> None:
    await db.execute(update(User).where(User.id == follower_id).values(following_count=User.following_count + delta))
    await db.execute(update(User).where(User.id == followee_id).values(followers_count=User.followers_count + delta))


async def delete_block(db: AsyncSession, blocker_id: int, blocked_id: int) -> bool:
    result = await db.execute(delete(Block).where(Block.blocker_id == blocker_id, Block.blocked_id == blocked_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_follow_edges(
    db: AsyncSession, user_id: int, *, direction: str, after: tuple[str, int] | None, limit: int
) -> list[tuple[User, datetime]]:
    """Followers (``direction="followers"``) or followees, newest first, keyset paged."""
    if direction == "followers":
        stmt = select(User, Follow.created_at).join(Follow, Follow.follower_id == User.id).where(
            Follow.followee_id == user_id
        )
    else:
        stmt = select(User, Follow.created_at).join(Follow, Follow.followee_id == User.id).where(
            Follow.follower_id == user_id
        )
    if after is not None:
        ts = datetime.fromisoformat(after[0])
        stmt = stmt.where((Follow.created_at < ts) | ((Follow.created_at == ts) & (User.id < after[1])))
    stmt = stmt.order_by(Follow.created_at.desc(), User.id.desc()).limit(limit + 1)
    return [(row[0], row[1]) for row in (await db.execute(stmt)).all()]


async def search_creators(db: AsyncSession, query: str, limit: int) -> list[User]:
    pattern = f"%{query.lower()}%"
    stmt = (
        select(User)
        .where(User.is_creator.is_(True))
        .where(func.lower(User.handle).like(pattern) | func.lower(User.display_name).like(pattern))
        .order_by(User.followers_count.desc(), User.id)
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())


async def top_creators(db: AsyncSession, limit: int) -> list[User]:
    stmt = select(User).where(User.is_creator.is_(True)).order_by(User.followers_count.desc(), User.id).limit(limit)
    return list((await db.execute(stmt)).scalars())


_SESSION_USER_SQL = (
    "SELECT u.id, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.token_digest = :digest AND s.revoked_at IS NULL AND s.expires_at > :now"
)


async def session_user(reads: CommittedReads, digest: str, now: datetime) -> tuple[int, datetime] | None:
    """(user id, created at) of an active session — :func:`active_session` without the ORM, for
    the hottest read-only routes (one indexed statement on the process's read connection)."""
    rows = await reads.rows(_SESSION_USER_SQL, {"digest": digest, "now": now})
    if not rows:
        return None
    created = as_datetime(rows[0][1])
    assert created is not None
    return int(rows[0][0]), created


# --- reads other domains compose into their statements ------------------------------------

#: The active session of token digest ``:digest`` at ``:now`` joined to its user (aliases ``s``
#: and ``u``): ``FROM`` and ``WHERE`` parts for a statement another domain composes (the
#: flash-sale gate reads the session with its other facts in one statement).
LIVE_SESSION_FROM = "sessions s JOIN users u ON u.id = s.user_id"
LIVE_SESSION_WHERE = "s.token_digest = :digest AND s.revoked_at IS NULL AND s.expires_at > :now"


def user_field_sql(column: str, user_id_sql: str) -> str:
    """A scalar subquery: ``column`` (``email`` or ``display_name``) of the user whose id is the
    SQL expression ``user_id_sql`` (a parameter or another subquery)."""
    if column not in ("email", "display_name"):
        raise ValueError(f"not a readable user field: {column}")
    return f"(SELECT {column} FROM users WHERE id = {user_id_sql})"  # noqa: S608 (checked names)


async def display_names(db: AsyncSession, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = await db.execute(select(User.id, User.display_name).where(User.id.in_(sorted(set(user_ids)))))
    return {int(row[0]): str(row[1]) for row in rows.all()}


# --- notifications ------------------------------------------------------------------------------

async def follower_ids(db: AsyncSession, followee_id: int) -> list[int]:
    return list((await db.scalars(select(Follow.follower_id).where(Follow.followee_id == followee_id))).all())


#: One row per user, kind and subject: a repeated event (a LIVE restarting) adds nothing.
_NOTIFY_SQL = insert_sql(Notification, ("user_id", "kind", "subject_id", "text", "url", "created_at"),
                         on_conflict=("user_id", "kind", "subject_id"))


async def add_notifications(db: AsyncSession, rows: list[dict[str, object]]) -> None:
    if rows:
        await InTransaction.of(db).executemany(_NOTIFY_SQL, rows)


async def notifications(db: AsyncSession, user_id: int, *, before_id: int | None, limit: int) -> list[Notification]:
    """Newest first."""
    query = select(Notification).where(Notification.user_id == user_id).order_by(Notification.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    return list((await db.scalars(query)).all())


async def unread_notifications(db: AsyncSession, user_id: int) -> int:
    return int(await db.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)


async def mark_notifications_read(db: AsyncSession, user_id: int, ids: list[int] | None, now: datetime) -> int:
    """Mark the user's unread notifications read (only ``ids`` when given); returns how many."""
    query = (update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
             .values(read_at=now))
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    result = await db.execute(query.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
