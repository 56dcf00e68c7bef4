"""Accounts, sessions and the social graph (PRODUCT.md C1)."""
