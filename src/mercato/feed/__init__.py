"""The For You and Following feeds, engagement signals and discovery (docs/feed.md)."""
