"""Who is in a LIVE's room now, for giveaway draws: the room (live/room) registers its
``present_user_ids(live_id)`` here at app start. Without a provider nobody counts as present,
so a draw finds no eligible viewer rather than guessing."""

from __future__ import annotations

from collections.abc import Callable

PresenceProvider = Callable[[int], set[int]]

_providers: list[PresenceProvider] = []


def register_presence(provider: PresenceProvider) -> PresenceProvider:
    """Make ``provider(live_id) -> signed-in user ids in the room`` the one asked (replacing any)."""
    _providers[:] = [provider]
    return provider


def unregister_presence() -> None:
    _providers.clear()


def present_user_ids(live_id: int) -> set[int]:
    return set(_providers[0](live_id)) if _providers else set()
