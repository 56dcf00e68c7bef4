"""The For You and Following feeds, engagement signals and discovery (PRODUCT.md C5)."""
