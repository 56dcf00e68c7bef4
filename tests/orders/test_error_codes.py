"""docs/api.md's tables of the orders, ledger and inventory codes are exactly their enums (no
stale row either; tests/test_error_codes.py checks that every raised code is documented)."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from mercato.inventory.errors import InventoryError
from mercato.ledger.errors import LedgerError
from mercato.orders.errors import OrdersError

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def documented(domain: str) -> list[str]:
    text = API_MD.read_text(encoding="utf-8")
    section = text.split(f"\n### {domain} (`{domain}/errors.py`: ", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)


@pytest.mark.parametrize(("domain", "enum"), [("orders", OrdersError), ("ledger", LedgerError),
                                              ("inventory", InventoryError)])
def test_the_docs_table_is_the_enum(domain: str, enum: type[StrEnum]) -> None:
    codes = documented(domain)
    assert len(codes) == len(set(codes))
    assert sorted(codes) == sorted(member.value for member in enum)

