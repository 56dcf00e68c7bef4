"""Statement budgets: the number of SQL statements and transactions one request runs, pinned.

The fast paths (cart add, checkout, pay, a For You page) were made fast by running few
statements; a change that adds one fails its budget test with the list of statements the request
ran, instead of showing up weeks later in a benchmark. The counts come from the statement
observer (``kit/sql/observer.py``), which sees every path to the database (the engines, plain
statements in a transaction, committed reads); the test server runs in the test process, so a
recording around one HTTP call holds exactly that request's statements (nothing else runs in
the server meanwhile: no background jobs in tests, and the callers switch off the feed's
background refresh).

When a change makes a budget go *down*, lower the number; when it must go up, raise it in the
same change and say why in its message.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from mercato.kit.sql import observer

TEST_DB = os.environ.get("MERCATO_TEST_DB", "sqlite")
T = TypeVar("T")


def measure(call: Callable[[], T]) -> tuple[T, observer.Recording]:
    """``call()``'s result and what the database saw meanwhile."""
    with observer.recording() as seen:
        result = call()
    return result, seen


def assert_budget(what: str, seen: observer.Recording, budgets: dict[str, tuple[int, int]]) -> None:
    """``budgets``: database → (statements, transactions) of ``what``, exactly."""
    statements, transactions = budgets[TEST_DB]
    assert (seen.count, seen.transactions) == (statements, transactions), (
        f"{what} on {TEST_DB}: {seen.count} statements in {seen.transactions} transactions, budget "
        f"{statements} in {transactions} (tests/budgets.py says when to change it). The statements:\n"
        f"{seen.listing()}")
