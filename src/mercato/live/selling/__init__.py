"""Selling in the LIVE room (docs/live.md, "Selling in the room"): LIVE flash deals, LIVE coupons
and giveaways."""
