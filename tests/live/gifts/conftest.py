"""Gift tests use the room tests' LIVE factory."""

from tests.live.room.conftest import make_live

__all__ = ["make_live"]
