"""Gifts benchmark: many concurrent gifters in one LIVE room through the real send path.

    python benchmarks/gifts.py [--backend sqlite|postgresql] [--gifters 200] [--gifts 5000] [--concurrency 64]

What it does (see benchmarks/README.md and PERFORMANCE.md, bench ``gifts``):

1. a fresh database (SQLite in a temporary folder, or a throw-away PostgreSQL cluster), migrated;
   one host with a LIVE on air, G gifters and as many reference users, each having bought a
   330-coin pack through the purchase path (``start_purchase`` + the payment's success hook);
2. the reference: C concurrent tasks in this one process run, each in its own unit of work, ONE
   guarded balance update (``repository.debit_wallet``: ``UPDATE coin_wallets SET coins = coins
   - n WHERE user_id = u AND coins >= n``) on the reference users' wallets, with the app's
   ``Database`` (same engines, same SQLite write queue);
3. the app: the same C tasks send the gifts through ``service.send_gift`` in a unit of work each —
   the checks, the guarded debit, FIFO lots, the ledger transaction, the send row, the listeners
   the app installs (fan club, community, analytics: their ``wiring.install``) and the ``gift``
   room frame published after the commit (a counting publisher stands in for the room hub,
   whose fan-out ``live_fanout`` measures);
4. afterwards, exactly: every gifter's wallet = 330 − the coins of their sent gifts = the coins
   left in their lots; the ledger's trial balance is 0 and money in = coin liabilities + host
   shares + gift revenue; one frame per gift. ``balance_errors`` counts every mismatch;
5. prints progress on stderr and one JSON line on stdout; deletes what it created.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks import _harness as h  # noqa: E402

PACK = "coins_330"


def log(message: str) -> None:
    print(f"[gifts] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def bench(url: str, args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import func, insert, select

    from mercato.accounts.models import User
    from mercato.analytics import wiring as analytics_wiring
    from mercato.community import wiring as community_wiring
    from mercato.config import get_settings
    from mercato.kit.db import Database
    from mercato.ledger.models import LedgerAccount, LedgerEntry
    from mercato.live import broadcast
    from mercato.live.fanclub import wiring as fanclub_wiring
    from mercato.live.gifts import repository, service
    from mercato.live.gifts.models import CoinPurchase, CoinWallet
    from mercato.live.models import Live

    settings = get_settings()
    db = Database(url)
    frames: list[int] = []

    def publisher(live_id: int, frame: dict[str, Any]) -> None:
        if frame.get("type") == "gift":
            frames.append(live_id)

    broadcast.install(publisher)
    # The gift listeners and router the app installs (app.create_app), so the figure is the app's.
    analytics_wiring.install(settings)
    fanclub_wiring.install(settings)
    community_wiring.install()
    try:
        count = args.gifters
        async with db.unit_of_work() as session:
            now = datetime.now(UTC)
            await session.execute(insert(User), [
                {"email": f"g{i}@bench.example.com", "password_hash": "-", "display_name": f"Gifter {i}",
                 "date_of_birth": date(1990, 1, 1), "niche_tags": [], "bio": "", "is_admin": False,
                 "is_creator": i == 0, "followers_count": 0, "following_count": 0, "created_at": now,
                 "updated_at": now} for i in range(2 * count + 1)])
            ids = list((await session.execute(select(User.id).order_by(User.id))).scalars())
            host, gifters, reference = ids[0], ids[1:count + 1], ids[count + 1:]
            live = Live(host_id=host, title="Gift night", status="live", started_at=now)
            session.add(live)
            await session.flush()
            live_id = live.id
            gifts = [g for g in await service.catalog(session) if g.coins <= 5 and not g.joins_fan_club]
        log(f"{count} gifters and {count} reference users buy {PACK}")
        for user_id in gifters + reference:
            async with db.unit_of_work() as session:
                buyer = await session.get(User, user_id)
                assert buyer is not None
                _, intent = await service.start_purchase(session, buyer, PACK, settings)
                await service.on_intent_succeeded(session, intent)

        rng = random.Random(7)
        plan = [(gifters[i % count], rng.choice(gifts).id, rng.randint(1, 3)) for i in range(args.gifts)]
        users = {uid: await _user(db, uid) for uid in gifters}

        async def run(work: list[Any], one: Any) -> tuple[float, list[float], int]:
            queue = list(reversed(work))
            latencies: list[float] = []
            refused = 0

            async def worker() -> None:
                nonlocal refused
                while queue:
                    item = queue.pop()
                    started = time.perf_counter()
                    try:
                        await one(item)
                    except Exception as error:  # a refused gift is counted (balance_errors), not fatal
                        refused += 1
                        log(f"refused: {error!r}")
                    latencies.append(time.perf_counter() - started)

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            return time.perf_counter() - began, latencies, refused

        async def bare(user_id: int) -> None:
            async with db.unit_of_work() as session:
                if not await repository.debit_wallet(session, user_id, 1, datetime.now(UTC)):
                    raise RuntimeError("bare debit refused")

        async def send(item: tuple[int, int, int]) -> None:
            sender, gift_id, quantity = item
            async with db.unit_of_work() as session:
                await service.send_gift(session, users[sender], live_id, gift_id, quantity, settings)

        log(f"reference: {args.gifts} guarded balance updates, concurrency {args.concurrency}")
        ref_seconds, _, ref_refused = await run([reference[i % count] for i in range(args.gifts)], bare)
        log(f"app: {args.gifts} gifts through service.send_gift, concurrency {args.concurrency}")
        seconds, latencies, refused = await run(plan, send)

        errors = refused + ref_refused
        async with db.unit_of_work(write=False) as session:
            spent: dict[int, int] = {}
            coins_of = {g.id: g.coins for g in gifts}
            for sender, gift_id, quantity in plan:
                spent[sender] = spent.get(sender, 0) + coins_of[gift_id] * quantity
            wallets = dict((await session.execute(select(CoinWallet.user_id, CoinWallet.coins))).all())
            lots = dict((await session.execute(select(CoinPurchase.user_id, func.sum(CoinPurchase.coins_left))
                                               .where(CoinPurchase.status == "paid")
                                               .group_by(CoinPurchase.user_id))).all())
            for user_id in gifters:
                want = 330 - spent.get(user_id, 0)
                errors += int(wallets.get(user_id) != want) + int(lots.get(user_id) != want)
            totals = {code: int(total) for code, total in (await session.execute(
                select(LedgerAccount.code, func.sum(LedgerEntry.amount))
                .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
                .group_by(LedgerAccount.code))).all()}
            coins = sum(v for k, v in totals.items() if ":coins:" in k)
            shares = sum(v for k, v in totals.items() if k.startswith("creator:"))
            revenue = sum(v for k, v in totals.items() if k.startswith("platform:gift_revenue"))
            cash = sum(v for k, v in totals.items() if k.startswith("platform:cash"))
            errors += int(sum(totals.values()) != 0) + int(cash != -(coins + shares + revenue))
        errors += int(len(frames) != args.gifts)
        rate = args.gifts / seconds
        reference_rate = args.gifts / ref_seconds
        return {"bench": "gifts", "backend": "postgresql" if url.startswith("postgresql") else "sqlite",
                "gifts": args.gifts, "gifters": count, "concurrency": args.concurrency,
                "gifts_per_s": round(rate, 1), "p50_ms": h.ms(statistics.median(latencies)),
                "p99_ms": h.ms(percentile(latencies, 0.99)), "max_ms": h.ms(max(latencies, default=0.0)),
                "seconds": round(seconds, 2), "reference_per_s": round(reference_rate, 1),
                "ratio_to_limit": round(rate / reference_rate, 3), "balance_errors": errors,
                "frames": len(frames), "loadavg": h.loadavg()}
    finally:
        broadcast.uninstall(publisher)
        await db.dispose()


async def _user(db: Any, user_id: int) -> Any:
    from mercato.accounts.models import User

    async with db.unit_of_work(write=False) as session:
        return await session.get(User, user_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--gifters", type=int, default=200)
    parser.add_argument("--gifts", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="mercato-gifts-"))
    try:
        with h.database_url(args.backend, tmp) as url:
            h.migrate(url, tmp / "media")
            line = asyncio.run(bench(url, args))
        print(json.dumps(line), flush=True)
        log(f"{line['gifts_per_s']} gifts/s (reference {line['reference_per_s']}/s), p99 {line['p99_ms']} ms, "
            f"{line['balance_errors']} balance errors")
        return 0 if line["balance_errors"] == 0 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
