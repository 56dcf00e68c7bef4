"""Fault injection for crash-safety and error-handling tests (docs/payments.md, "Idempotency and
crash safety").

``checkpoint("pay.after_charge")`` kills the process on the spot — no cleanup, no commit —
when ``MERCATO_FAULT_POINT`` names that checkpoint, and raises `InjectedFault` (an error the
code does not expect, as a bug would) when it names it as ``raise:pay.after_charge``. Unset
(always, outside tests) it does nothing but compare a string with None.
"""

from __future__ import annotations

import os

from mercato.config import get_settings


class InjectedFault(RuntimeError):
    """The unexpected error a ``raise:`` fault point throws."""


def checkpoint(name: str) -> None:
    point = get_settings().fault_point
    if point is None:
        return
    if point == name:
        os._exit(137)
    if point == f"raise:{name}":
        raise InjectedFault(f"fault point {name}")
