"""Event-loop lag: how late the loop runs a task that asked to wake up.

Anything that holds the event loop — an inline SQLite statement that takes long
(``kit/sql/inline.py``), a big JSON encode, a CPU-bound loop — delays every request of the
process by as much. :class:`LoopLagMonitor` is a task that sleeps ``interval`` seconds over and
over and measures how much later than asked it woke up: that overshoot is the loop's lag. It
keeps the latest and the largest figure (``/readyz`` shows both) and logs a warning (logger
``mercato.loop``) when one exceeds ``MERCATO_LOOP_LAG_WARN_MS``. The app's lifespan starts and
stops it; the slow-statement log (``kit/sql/observer.py``) then says which statement it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

log = logging.getLogger("mercato.loop")

#: The defaults of ``MERCATO_LOOP_LAG_WARN_MS`` and ``MERCATO_LOOP_LAG_INTERVAL_SECONDS``.
WARN_MS = 250.0
INTERVAL_S = 0.5


class LoopLagMonitor:
    """Measures the running loop's lag every ``interval`` seconds, from :meth:`start` to :meth:`stop`."""

    def __init__(self, *, warn_ms: float = WARN_MS, interval: float = INTERVAL_S) -> None:
        self.warn_ms = warn_ms
        self.interval = interval
        self.latest_ms = 0.0
        self.max_ms = 0.0
        self.samples = 0
        self.warnings = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="mercato-loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.record((time.perf_counter() - asked - self.interval) * 1000.0)

    def record(self, lag_ms: float) -> None:
        """One measurement (milliseconds the loop ran the wake-up late)."""
        lag_ms = max(0.0, lag_ms)
        self.latest_ms = lag_ms
        self.max_ms = max(self.max_ms, lag_ms)
        self.samples += 1
        if lag_ms > self.warn_ms:
            self.warnings += 1
            log.warning("event loop lag: %.1f ms (threshold %.0f ms): something held the loop", lag_ms, self.warn_ms)

    def figures(self) -> dict[str, Any]:
        """What ``/readyz`` shows."""
        return {"latest_ms": round(self.latest_ms, 1), "max_ms": round(self.max_ms, 1), "samples": self.samples,
                "warnings": self.warnings, "warn_ms": self.warn_ms}
