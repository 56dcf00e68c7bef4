"""Analytics ingest: sustained events/s through the real capture path, and event → dashboard delay.

    python benchmarks/ingest.py [--backend sqlite|postgresql] [--events 200000] [--batch 1000]

The capture path is what the app runs: micro-batches of events recorded with
``kit.events.record_many`` through the installed ``analytics`` SQL sink — insert-or-ignore of
the raw rows by ``event_id`` and the queueing of the new ones — one unit of work (one commit)
per batch, as the beacon endpoint records a call's batch, while the app's ``analytics_fold``
work folds the queue into the rollups every ``FOLD_SECONDS`` and a dashboard polls, all in this
process. The capture time runs until the writer is done and the queue folded. The events are
synthetic but shaped like a busy platform: mostly impressions and views, then clicks, likes,
carts, orders; 2,000 videos of 400 creators drawn by a Zipf law (as views are), each showing one
of 500 products of 50 shops, 8 traffic sources, 6 age bands, all in the current minute (what a
live stream of events is).

Freshness: every batch carries a marker event on a LIVE of its own. Every ``POLL_SECONDS`` a
dashboard read (``analytics.queries.totals`` on the latest batch's LIVE, a read unit of work:
rollups plus queue) looks for it; a read that sees it ends the delay of that batch and of every
earlier one (one writer). The delay runs from the moment the batch was made.

Reference, in the same run and the same database: the same rows (fresh ids) inserted raw with
one batched ``INSERT`` (``executemany``) per batch into a copy of the raw table with the indexes
that storing events needs anyway (the unique event id, the pruning index) — no duplicate check,
no rollups — one commit per batch, through the same driver path. The phases alternate (reference, capture, …)
``--rounds`` times so that a noisy neighbour hurts both alike. Prints one JSON line:
``bench, backend, events, batch, events_per_s, reference_events_per_s, ratio_to_limit,
freshness_p50_ms, freshness_p99_ms, rollup_p50_ms, rollup_p99_ms`` — the last two: each batch's
delay until a fold moved it from the queue into the rollups (what a reader of the rollups alone
would wait; the dashboards add the queue and do not).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# A file in this folder is named http.py: keep the folder off sys.path (it would shadow the
# standard library's ``http``) and import the shared pieces as ``benchmarks._harness``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks import _harness as h  # noqa: E402

KINDS = (("impression", 55), ("view", 20), ("product_card_click", 8), ("like", 6), ("shop_view", 3),
         ("product_view", 3), ("add_to_cart", 2), ("comment", 1), ("share", 1), ("order_paid", 1))
SOURCES = ("foryou", "following", "search", "affiliate", "live", "profile", "direct", "ads")
BANDS = ("13-17", "18-24", "25-34", "35-44", "45-54", "55+")
REF_TABLE = "analytics_events_ref"
POLL_SECONDS = 0.1  # how often the dashboard of the freshness measure reads
VIDEOS, CREATORS, PRODUCTS, SHOPS = 2000, 400, 500, 50


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_events(count: int, rng: random.Random, label: str) -> list[Any]:
    """Events of a busy platform: videos drawn by popularity (a Zipf law, as views are), the
    product a video's card shows, that product's shop and the video's creator."""
    from mercato.kit.events import Event

    kinds = [kind for kind, weight in KINDS for _ in range(weight)]
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        kind = rng.choice(kinds)
        video = min(VIDEOS, int(rng.paretovariate(1.0)))
        product = 1 + video % PRODUCTS
        money = kind in ("add_to_cart", "order_paid")
        out.append(Event(
            event_id=f"{label}:{i}", kind=kind, occurred_at=now, source=rng.choice(SOURCES),
            creator_id=1 + video % CREATORS, video_id=video, product_id=product, shop_id=1 + product % SHOPS,
            age_band=rng.choice(BANDS), value=rng.randrange(500, 5000) if money else 0,
            currency="USD" if money else None, quantity=1 if money else 0,
            watch_ms=rng.randrange(1000, 30000) if kind == "view" else 0))
    return out


async def capture_phase(db: Any, events: list[Any], batch: int,
                        marker_base: int) -> tuple[float, list[float], list[float]]:
    """Record ``events`` in batches through the capture path while the app's fold job runs every
    ``FOLD_SECONDS`` and a dashboard polls every ``POLL_SECONDS``, all in this process: (seconds
    from the first batch until the writer is done and the queue folded — the folds and the reads
    meanwhile counted — and each batch's delay until a dashboard read saw it)."""
    from mercato.analytics import queries, rollup
    from mercato.kit.events import record_many

    made: dict[int, float] = {}
    delays: dict[int, float] = {}
    rolled: dict[int, float] = {}  # each batch's delay until the fold put it in the rollups
    written = -1
    done = asyncio.Event()

    async def fold(until_empty: bool = False) -> None:
        """One run of the fold job; the batches committed before it began that it folded (all of
        them unless it hit its limit) are in the rollups from its commit on."""
        while True:
            before = written
            async with db.unit_of_work() as session:
                folded = await rollup.fold(session, datetime.now(UTC))
            if folded < rollup.FOLD_LIMIT:
                at = time.perf_counter()
                for n in range(before + 1):
                    rolled.setdefault(n, at - made[n])
            if not until_empty or not folded:
                return

    async def fold_job() -> None:
        while True:
            await asyncio.sleep(rollup.FOLD_SECONDS)
            await fold()

    async def dashboard() -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            latest = written
            if latest < 0 or latest in delays:
                if done.is_set() and latest in delays:
                    return
                continue
            now = datetime.now(UTC)
            async with db.unit_of_work(write=False) as session:
                seen = await queries.totals(session, queries.Scope.live(marker_base + latest), ["live_join"],
                                            now - timedelta(minutes=5), now + timedelta(minutes=1))
            if seen["live_join"].count == 1:  # one writer: every batch before it committed too
                at = time.perf_counter()
                for n in range(latest + 1):
                    delays.setdefault(n, at - made[n])

    started = time.perf_counter()
    folder, reader = asyncio.create_task(fold_job()), asyncio.create_task(dashboard())
    for n, first in enumerate(range(0, len(events), batch)):
        made[n] = time.perf_counter()
        chunk = events[first:first + batch]
        chunk = [*chunk, replace(chunk[0], event_id=f"marker:{marker_base + n}", kind="live_join",
                                 live_id=marker_base + n, occurred_at=datetime.now(UTC))]
        async with db.unit_of_work() as session:
            await record_many(session, chunk)
        written = n
        await asyncio.sleep(0)  # let the fold and the dashboard take their turn
    folder.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await folder
    await fold(until_empty=True)
    elapsed = time.perf_counter() - started
    done.set()
    await reader  # its last read (the delay of the last batches) is not part of the writing time
    return elapsed, [delays[n] for n in sorted(delays)], [rolled[n] for n in sorted(rolled)]


async def reference_phase(db: Any, events: list[Any], batch: int) -> float:
    """The same rows inserted raw, one batched INSERT and one commit per batch."""
    from mercato.analytics.repository import EVENT_COLUMNS
    from mercato.analytics.sink import _row
    from mercato.kit.sql.transaction import InTransaction

    names = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
    sql = f"INSERT INTO {REF_TABLE} ({names}) VALUES ({', '.join(':' + c for c in EVENT_COLUMNS)})"
    started = time.perf_counter()
    for first in range(0, len(events), batch):
        rows = [_row(e) for e in events[first:first + batch]]
        async with db.unit_of_work() as session:
            await InTransaction.of(session).executemany(sql, rows)
    return time.perf_counter() - started


async def prepare(db: Any) -> None:
    """The reference's table: the raw table's columns and the two indexes storing events needs
    whatever else happens (the unique event id, the pruning index)."""
    from sqlalchemy import text

    async with db.write_engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE {REF_TABLE} AS SELECT * FROM analytics_events WHERE 1 = 0"))
        await conn.execute(text(f"CREATE UNIQUE INDEX uq_{REF_TABLE}_event_id ON {REF_TABLE} (event_id)"))
        await conn.execute(text(f"CREATE INDEX ix_{REF_TABLE}_occurred_at ON {REF_TABLE} (occurred_at)"))


async def bench(url: str, args: argparse.Namespace) -> dict[str, Any]:
    from mercato.analytics.sink import SqlSink
    from mercato.kit import events as kit_events
    from mercato.kit.db import Database

    kit_events.install_sink(SqlSink())
    db = Database(url)
    await prepare(db)
    rng = random.Random(args.seed)
    per_round = args.events // args.rounds
    capture_s = reference_s = 0.0
    delays: list[float] = []
    rolled: list[float] = []
    await capture_phase(db, make_events(args.batch * 3, rng, "warm"), args.batch, 10_000_000)
    for r in range(args.rounds):
        log(f"round {r + 1}/{args.rounds}: {per_round} events, batches of {args.batch} (load {h.loadavg()})")
        reference_s += await reference_phase(db, make_events(per_round, rng, f"ref{r}"), args.batch)
        seconds, round_delays, round_rolled = await capture_phase(
            db, make_events(per_round, rng, f"cap{r}"), args.batch, 1_000_000 * (r + 1))
        capture_s += seconds
        delays.extend(round_delays)
        rolled.extend(round_rolled)
        done = per_round * (r + 1)
        log(f"  so far: reference {done / reference_s:,.0f}/s, capture {done / capture_s:,.0f}/s")
    await db.dispose()
    total = per_round * args.rounds
    rate, ref_rate = total / capture_s, total / reference_s
    return {
        "bench": "ingest", "backend": args.backend, "events": total, "batch": args.batch, "rounds": args.rounds,
        "events_per_s": round(rate), "reference_events_per_s": round(ref_rate),
        "ratio_to_limit": round(rate / ref_rate, 3),
        "freshness_p50_ms": h.ms(h.percentile(sorted(delays), 0.50)),
        "freshness_p99_ms": h.ms(h.percentile(sorted(delays), 0.99)),
        "freshness_max_ms": h.ms(max(delays)),
        "rollup_p50_ms": h.ms(h.percentile(sorted(rolled), 0.50)),
        "rollup_p99_ms": h.ms(h.percentile(sorted(rolled), 0.99)), "loadavg": h.loadavg(),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--events", type=int, default=200_000, help="events per phase kind, over all rounds")
    parser.add_argument("--batch", type=int, default=1000, help="events per micro-batch (one commit)")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of reference and capture")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="mercato-ingest-"))
    try:
        with h.database_url(args.backend, tmp) as url:
            h.migrate(url, tmp / "media")
            line = asyncio.run(bench(url, args))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"capture {line['events_per_s']:,}/s, raw insert {line['reference_events_per_s']:,}/s, "
        f"ratio {line['ratio_to_limit']}, freshness p99 {line['freshness_p99_ms']} ms")
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
