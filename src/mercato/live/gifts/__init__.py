"""Coins, the gift catalog, sending gifts in a LIVE, diamonds and gift leaderboards (docs/gifts.md)."""
