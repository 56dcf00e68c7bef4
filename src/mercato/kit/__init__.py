"""Shared infrastructure every domain builds on: database, money, errors, security."""
