"""Accounts, sessions and the social graph."""
