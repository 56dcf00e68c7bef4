"""Use cases of accounts: registration, sessions, profiles, follows and blocks.

Services flush, never commit (the request's unit of work does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import hooks
from mercato.accounts import repository as repo
from mercato.accounts.errors import AccountsError
from mercato.accounts.models import Block, Follow, LoginFailure, Session, User
from mercato.accounts.schemas import ProfileUpdateIn, RegisterIn
from mercato.config import Settings
from mercato.kit.db import utcnow
from mercato.kit.errors import Conflict, Forbidden, NotFound, TooManyRequests, ValidationFailed
from mercato.kit.events import Event, age_band
from mercato.kit.events import record as record_event
from mercato.kit.fields import parse_id
from mercato.kit.security import hash_password, new_token, token_digest, verify_dummy, verify_password

GENERIC_LOGIN_ERROR = "Email or password is incorrect."


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def is_adult(user: User, settings: Settings, today: date | None = None) -> bool:
    """The rule later capabilities use (gifts, LIVE, affiliate, payouts): 18+ by default."""
    return age_on(user.date_of_birth, today or datetime.now(UTC).date()) >= settings.adult_age


def require_adult(user: User, settings: Settings, what: str) -> None:
    if not is_adult(user, settings):
        raise Forbidden(f"You must be {settings.adult_age} or older to {what}.", code=AccountsError.AGE_RESTRICTED)


async def register(db: AsyncSession, data: RegisterIn, settings: Settings) -> User:
    today = datetime.now(UTC).date()
    if data.date_of_birth > today:
        raise ValidationFailed("The date of birth is in the future.", code=AccountsError.INVALID_DATE_OF_BIRTH,
                               details={"field": "date_of_birth"})
    if age_on(data.date_of_birth, today) < settings.minimum_age:
        raise ValidationFailed(
            f"You must be at least {settings.minimum_age} years old to join Mercato.",
            code=AccountsError.TOO_YOUNG, details={"field": "date_of_birth"},
        )
    email = data.email.lower()
    if await repo.user_by_email(db, email) is not None:
        raise Conflict("An account with this email already exists.",
                       code=AccountsError.EMAIL_TAKEN, details={"field": "email"})
    user = User(
        email=email,
        password_hash=hash_password(data.password),
        display_name=data.display_name,
        date_of_birth=data.date_of_birth,
        niche_tags=[],
        bio="",
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:
        raise Conflict("An account with this email already exists.", code=AccountsError.EMAIL_TAKEN) from exc
    return user


@dataclass
class IssuedSession:
    token: str
    session: Session
    user: User


async def _issue_session(db: AsyncSession, user: User, settings: Settings, user_agent: str) -> IssuedSession:
    token = new_token()
    session = Session(
        token_digest=token_digest(token),
        user_id=user.id,
        expires_at=datetime.now(UTC) + timedelta(days=settings.session_days),
        user_agent=user_agent[:255],
    )
    db.add(session)
    await db.flush()
    return IssuedSession(token=token, session=session, user=user)


async def start_session(db: AsyncSession, user: User, settings: Settings, user_agent: str = "") -> IssuedSession:
    return await _issue_session(db, user, settings, user_agent)


async def login(
    db: AsyncSession, email: str, password: str, *, client: str, user_agent: str, settings: Settings
) -> IssuedSession | None:
    """Check credentials; ``None`` means wrong email or password (the failure is recorded).

    Throttling counts failures in a sliding window per email and per client address,
    so an attacker cannot lock the real user out for longer than the window.
    """
    email = email.strip().lower()
    now = datetime.now(UTC)
    since = now - timedelta(seconds=settings.login_window_seconds)
    if (
        await repo.count_failures(db, since=since, email=email) >= settings.login_max_failures_per_email
        or await repo.count_failures(db, since=since, client=client) >= settings.login_max_failures_per_ip
    ):
        raise TooManyRequests(
            "Too many failed log-ins. Wait a few minutes and try again.",
            code=AccountsError.LOGIN_THROTTLED, retry_after=settings.login_window_seconds,
        )
    user = await repo.user_by_email(db, email)
    if user is None:
        verify_dummy(password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if not ok or user is None:
        db.add(LoginFailure(email=email, client=client[:64], created_at=now))
        await db.flush()
        return None
    await repo.clear_failures(db, email, before=since)
    return await _issue_session(db, user, settings, user_agent)


async def resolve_token(db: AsyncSession, token: str) -> User | None:
    """The user of an active session (not revoked, not expired), loaded into ``db``; else None."""
    if not token or len(token) > 200:
        return None
    return await repo.session_owner(db, token_digest(token), datetime.now(UTC))


async def logout(db: AsyncSession, user: User, token: str) -> None:
    await repo.revoke_sessions(db, user.id, datetime.now(UTC), digest=token_digest(token))


async def change_password(
    db: AsyncSession, user: User, current: str, new: str, *, settings: Settings, user_agent: str
) -> IssuedSession:
    """Every existing session is revoked; the caller gets a fresh one."""
    if not verify_password(user.password_hash, current):
        raise ValidationFailed("The current password is incorrect.", code=AccountsError.WRONG_PASSWORD,
                               details={"field": "current_password"})
    if current == new:
        raise ValidationFailed("Choose a password different from the current one.", code=AccountsError.SAME_PASSWORD,
                               details={"field": "new_password"})
    user.password_hash = hash_password(new)
    await repo.revoke_sessions(db, user.id, datetime.now(UTC))
    return await _issue_session(db, user, settings, user_agent)


async def update_profile(db: AsyncSession, user: User, data: ProfileUpdateIn) -> User:
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.bio is not None:
        user.bio = data.bio
    if data.niche_tags is not None:
        user.niche_tags = data.niche_tags
    if data.handle is not None and data.handle != user.handle:
        other = await repo.user_by_handle(db, data.handle)
        if other is not None and other.id != user.id:
            raise Conflict("This handle is taken.", code=AccountsError.HANDLE_TAKEN, details={"field": "handle"})
        user.handle = data.handle
    if data.become_creator:
        if not user.handle:
            raise ValidationFailed("Pick a handle to become a creator.", code=AccountsError.HANDLE_REQUIRED,
                                   details={"field": "handle"})
        user.is_creator = True
    try:
        await db.flush()
    except IntegrityError as exc:
        raise Conflict("This handle is taken.", code=AccountsError.HANDLE_TAKEN, details={"field": "handle"}) from exc
    return user


async def find_user(db: AsyncSession, ref: str) -> User:
    """A profile by numeric id or by handle (``@name`` or ``name``)."""
    numeric = ref.isascii() and ref.isdigit()
    user = await repo.user_by_id(db, parse_id(ref)) if numeric else await repo.user_by_handle(db, ref.lstrip("@"))
    if user is None:
        raise NotFound("No such user.")
    return user


async def follow(db: AsyncSession, me: User, target: User) -> bool:
    """Idempotent: following twice is not an error. Returns whether a new edge was made."""
    if me.id == target.id:
        raise ValidationFailed("You cannot follow yourself.", code=AccountsError.SELF_FOLLOW)
    if await repo.either_blocked(db, me.id, target.id):
        raise Forbidden("You cannot follow this account.", code=AccountsError.BLOCKED)
    if await repo.follow_exists(db, me.id, target.id):
        return False
    try:
        async with db.begin_nested():
            db.add(Follow(follower_id=me.id, followee_id=target.id))
    except IntegrityError:
        return False
    await repo.bump_follow_counts(db, me.id, target.id, +1)
    # Once per pair, ever: an unfollow and a follow again is not a new follower for analytics.
    now = utcnow()
    await record_event(db, Event(event_id=f"follow:{me.id}:{target.id}", kind="follow", occurred_at=now,
                                 creator_id=target.id, viewer_id=me.id,
                                 age_band=age_band(me.date_of_birth, now.date())))
    return True


async def unfollow(db: AsyncSession, me: User, target: User) -> bool:
    removed = await repo.delete_follow(db, me.id, target.id)
    if removed:
        await repo.bump_follow_counts(db, me.id, target.id, -1)
    return removed


async def block(db: AsyncSession, me: User, target: User) -> None:
    """Blocking removes follows both ways and stops new ones. Both people's For You candidate
    lists cached by this process are dropped at once and again after the commit, so neither sees
    the other's videos on their next page (other processes: within their cache's lifetime)."""
    if me.id == target.id:
        raise ValidationFailed("You cannot block yourself.", code=AccountsError.SELF_BLOCK)
    await unfollow(db, me, target)
    await unfollow(db, target, me)
    if not await repo.block_exists(db, me.id, target.id):
        db.add(Block(blocker_id=me.id, blocked_id=target.id))
        await db.flush()
    _feeds_changed(db, me, target)


async def unblock(db: AsyncSession, me: User, target: User) -> None:
    if await repo.delete_block(db, me.id, target.id):
        _feeds_changed(db, me, target)


def _feeds_changed(db: AsyncSession, *people: User) -> None:
    """Blocks filter the For You feed both ways: the feed (through ``accounts/hooks.py``) drops
    the cached candidate lists of both."""
    for person in people:
        hooks.ranking_inputs_changed(db, person.id)
