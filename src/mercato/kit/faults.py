"""Fault injection for crash-safety tests (RELIABILITY.md R6).

``checkpoint("pay.after_charge")`` kills the process on the spot — no cleanup, no commit —
when ``MERCATO_FAULT_POINT`` names that checkpoint. Unset (always, outside tests) it does
nothing but compare two strings.
"""

from __future__ import annotations

import os

from mercato.config import get_settings


def checkpoint(name: str) -> None:
    if get_settings().fault_point == name:
        os._exit(137)
