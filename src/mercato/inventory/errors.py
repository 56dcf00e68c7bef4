"""Error codes the inventory domain answers with (documented in docs/api.md, "Error codes")."""

from __future__ import annotations

from enum import StrEnum


class InventoryError(StrEnum):
    #: A paid order's reserved units could not become allocations: the counters disagree with
    #: the reservations (the payment's transaction is rolled back).
    ALLOCATION_FAILED = "allocation_failed"
