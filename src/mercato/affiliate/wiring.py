"""Connects the affiliate plans to the lower domains at app start: the catalog's promotion rule
(who may anchor a product in a video, pin it in a LIVE or put it on a showcase) learns of plans."""

from __future__ import annotations

from mercato.affiliate import repository
from mercato.catalog import hooks as catalog_hooks


def install() -> None:
    """Idempotent: the registry ignores a second registration of the same function."""
    catalog_hooks.register_promotion_rule(repository.plan_rule)
