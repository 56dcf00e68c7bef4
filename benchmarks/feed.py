"""For You benchmark: a page of 10 at 100,000 videos and 1,000,000 interactions.

    python benchmarks/feed.py [--videos 100000] [--interactions 1000000] [--viewers 5000]
                              [--rate 300] [--duration 20] [--warmup 5] [--workers 1] [--hand-weights]

What it does (see benchmarks/README.md and PERFORMANCE.md, bench ``feed``):

1. a fresh SQLite database in a temporary folder, migrated; written straight with executemany
   (no ORM, one transaction per table): creators, viewers with bearer sessions, videos with
   1–3 hashtags from a Zipf-distributed vocabulary, and the interactions — ``feed_events``
   (watch, like, share, comment, save, product_click, add_to_cart, purchase, skip over the
   last 14 days), plus what the live path would have derived from them: ``feed_seen``,
   ``viewer_affinities`` (decayed sums per viewer × hashtag / creator), ``video_scores``,
   ``video_likes`` and the videos' counters; some follows;
2. the app (``uvicorn mercato.asgi:app``, uvloop + httptools, as the other benchmarks) in its
   own process(es); a warm-up request loads the feed's in-process index;
3. a load generator in a separate process sends requests **open loop** at ``--rate`` per
   second (a request is sent at its scheduled time whether or not earlier ones were answered;
   latency is measured from the scheduled time, so queueing counts), each one as a different
   logged-in viewer (round robin over ``--viewers``): first the reference —
   ``GET /api/v1/feed/popular`` (the plain popularity ranking from the same store) — then
   ``GET /api/v1/feed/foryou`` (personalised, and recording the page's impressions);
4. prints progress on stderr and one JSON line on stdout; stops every process it started and
   deletes the temporary folder, whatever happens.
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
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks import _harness as h  # noqa: E402
from mercato.feed.scoring import MODEL_FEATURES  # noqa: E402


def log(message: str) -> None:
    print(f"[feed] {message}", file=sys.stderr, flush=True)


# --- seeding --------------------------------------------------------------------------------------

KINDS = np.array(["watch", "like", "comment", "share", "save", "product_click", "add_to_cart", "purchase", "skip"])
KIND_P = np.array([0.62, 0.14, 0.03, 0.02, 0.03, 0.05, 0.02, 0.01, 0.08])
KIND_W = np.array([1.5, 2.0, 2.0, 3.0, 2.5, 2.0, 3.0, 5.0, -1.0])  # signals.EVENT_WEIGHTS (completed watch)


def stamp(ts: float) -> str:
    """SQLAlchemy's SQLite text form of a UTC datetime."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def seed(path: Path, args: argparse.Namespace) -> list[str]:
    """Write the world; return the viewers' bearer tokens."""
    from mercato.config import Settings
    from mercato.feed.signals import Decay
    from mercato.kit.security import hash_password, new_token, token_digest

    settings = Settings()
    rng = np.random.default_rng(7)
    now = time.time()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    cur = conn.cursor()
    t0 = time.monotonic()
    password = hash_password("not-used-here")
    n_creators, n_viewers, n_videos = args.creators, args.viewers, args.videos

    # Users: creators first (ids 1..C), then viewers (C+1..C+V).
    users = [(f"creator{i}@bench.example.com", password, f"Creator {i}", "1990-01-01", 0, 1, f"creator_{i}", "",
              "[]", 0, 0, stamp(now - 90 * 86400), stamp(now - 90 * 86400)) for i in range(n_creators)]
    users += [(f"viewer{i}@bench.example.com", password, f"Viewer {i}", "1990-01-01", 0, 0, None, "", "[]", 0, 0,
               stamp(now - 30 * 86400), stamp(now - 30 * 86400)) for i in range(n_viewers)]
    cur.executemany("INSERT INTO users (email, password_hash, display_name, date_of_birth, is_admin, is_creator, "
                    "handle, bio, niche_tags, followers_count, following_count, created_at, updated_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", users)
    viewer_ids = np.arange(n_creators + 1, n_creators + n_viewers + 1)
    tokens = [new_token() for _ in range(n_viewers)]
    cur.executemany("INSERT INTO sessions (token_digest, user_id, created_at, expires_at, user_agent) "
                    "VALUES (?,?,?,?,?)",
                    [(token_digest(t), int(u), stamp(now), stamp(now + 86400), "bench")
                     for t, u in zip(tokens, viewer_ids, strict=True)])

    # Videos: creator Zipf-ish, created over 60 days, 1–3 tags from a Zipf vocabulary.
    vocab = [f"tag{i}" for i in range(args.tags)]
    creator_of = (rng.zipf(1.3, n_videos) % n_creators) + 1
    created = now - rng.random(n_videos) ** 2 * 60 * 86400
    created[-200:] = now - rng.random(200) * 3600  # some brand-new videos
    duration = rng.integers(5_000, 60_000, n_videos)
    n_tags = rng.integers(1, 4, n_videos)
    tag_idx = (rng.zipf(1.2, (n_videos, 3)) - 1) % args.tags
    cur.executemany(
        "INSERT INTO videos (id, creator_id, caption, status, media_path, mime_type, container, video_codec, width, "
        "height, duration_ms, size_bytes, views_count, likes_count, comments_count, shares_count, saves_count, "
        "reports_count, product_clicks_count, completions_count, watch_ms_total, created_at, updated_at) "
        "VALUES (?,?,?,'published',?,'video/mp4','mp4','h264',720,1280,?,1000,0,0,0,0,0,0,0,0,0,?,?)",
        [(i + 1, int(creator_of[i]), "clip " + " ".join(f"#{vocab[t]}" for t in dict.fromkeys(tag_idx[i, :n_tags[i]])),
          f"videos/bench-{i + 1}.mp4", int(duration[i]), stamp(created[i]), stamp(created[i]))
         for i in range(n_videos)])
    video_tags = [(i + 1, vocab[t]) for i in range(n_videos) for t in dict.fromkeys(tag_idx[i, :n_tags[i]].tolist())]
    cur.executemany("INSERT INTO video_hashtags (video_id, tag) VALUES (?,?)", video_tags)
    log(f"users, sessions, {n_videos:,} videos, {len(video_tags):,} hashtags in {time.monotonic() - t0:.1f} s")

    # Interactions: each viewer prefers a few tags; videos drawn by popularity within them.
    t1 = time.monotonic()
    m = args.interactions
    ev_user = viewer_ids[rng.integers(0, n_viewers, m)]
    popularity = rng.zipf(1.5, n_videos).astype(np.float64)
    ev_video = rng.choice(n_videos, size=m, p=popularity / popularity.sum()) + 1
    ev_kind = rng.choice(len(KINDS), size=m, p=KIND_P)
    ev_time = now - rng.random(m) * 14 * 86400
    order = np.argsort(ev_time)
    ev_user, ev_video, ev_kind, ev_time = ev_user[order], ev_video[order], ev_kind[order], ev_time[order]
    watch = np.where(ev_kind == 0, duration[ev_video - 1], np.where(ev_kind == 8, 500, 0))
    cur.executemany("INSERT INTO feed_events (user_id, video_id, kind, watch_ms, created_at) VALUES (?,?,?,?,?)",
                    zip(ev_user.tolist(), ev_video.tolist(), KINDS[ev_kind].tolist(), watch.tolist(),
                        [stamp(t) for t in ev_time.tolist()], strict=True))
    log(f"{m:,} feed_events in {time.monotonic() - t1:.1f} s")

    # What the live path derives: seen (last event per pair), likes, scores, affinities, counters.
    t2 = time.monotonic()
    pair = ev_user.astype(np.int64) * (n_videos + 1) + ev_video
    _, last = np.unique(pair[::-1], return_index=True)
    last = len(pair) - 1 - last
    cur.executemany("INSERT INTO feed_seen (user_id, video_id, seen_at, watch_ms, completed, skipped) "
                    "VALUES (?,?,?,?,?,?)",
                    zip(ev_user[last].tolist(), ev_video[last].tolist(), [stamp(t) for t in ev_time[last].tolist()],
                        watch[last].tolist(), (ev_kind[last] == 0).astype(int).tolist(),
                        (ev_kind[last] == 8).astype(int).tolist(), strict=True))
    likes = np.unique(pair[ev_kind == 1])
    cur.executemany("INSERT INTO video_likes (user_id, video_id, created_at) VALUES (?,?,?)",
                    [(int(p // (n_videos + 1)), int(p % (n_videos + 1)), stamp(now - 86400)) for p in likes])
    weight = KIND_W[ev_kind]
    trend_decay = Decay(settings.feed_trending_half_life_hours)
    era = trend_decay.era_start(now)
    trend_stored = np.maximum(weight, 0) * np.exp2((ev_time - era) / trend_decay.half_life_s)
    engagement = np.bincount(ev_video, weights=weight, minlength=n_videos + 1)
    trending = np.bincount(ev_video, weights=trend_stored, minlength=n_videos + 1)
    impressions = np.bincount(ev_video, minlength=n_videos + 1)
    cur.executemany("INSERT INTO video_scores (video_id, trending, engagement, impressions, updated_at) "
                    "VALUES (?,?,?,?,?)",
                    [(v, float(trending[v]), float(engagement[v]), int(impressions[v]), stamp(now))
                     for v in range(1, n_videos + 1)])
    like_counts = np.bincount(likes % (n_videos + 1), minlength=n_videos + 1)
    cur.executemany("UPDATE videos SET likes_count = ?, views_count = ? WHERE id = ?",
                    [(int(like_counts[v]), int(impressions[v]), v) for v in range(1, n_videos + 1)])
    aff_decay = Decay(settings.feed_affinity_half_life_hours)
    aff_era = aff_decay.era_start(now)
    aff_w = weight * np.exp2((ev_time - aff_era) / aff_decay.half_life_s)
    affinity: dict[tuple[int, str, str], float] = {}
    for u, v, w in zip(ev_user.tolist(), ev_video.tolist(), aff_w.tolist(), strict=True):
        key = (u, "creator", str(int(creator_of[v - 1])))
        affinity[key] = affinity.get(key, 0.0) + w
        for t in dict.fromkeys(tag_idx[v - 1, :n_tags[v - 1]].tolist()):
            key = (u, "tag", vocab[t])
            affinity[key] = affinity.get(key, 0.0) + w
    stamp_now = stamp(now)
    cur.executemany("INSERT INTO viewer_affinities (user_id, kind, key, score, updated_at) VALUES (?,?,?,?,?)",
                    [(u, k, key, s, stamp_now) for (u, k, key), s in affinity.items()])
    follows = {(int(u), int(c)) for u, c in zip(viewer_ids[rng.integers(0, n_viewers, n_viewers * 5)],
                                                 rng.integers(1, n_creators + 1, n_viewers * 5), strict=True)}
    cur.executemany("INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?,?,?)",
                    [(u, c, stamp_now) for u, c in follows])
    if not args.hand_weights:
        # A promoted learned model (feed/ranker.py): the feed ranks with its coefficients (every
        # feature, the two extra ones included, and their logs) instead of the hand weights.
        names = list(MODEL_FEATURES)
        coefficients = [1.1, 0.7, 0.5, 1.2, 0.6, 0.4, 0.3, 0.2, 0.1, 0.2, 0.1, 0.1, 0.2, 0.1, 0.1, 0.05, 0.05, 0.0]
        cur.execute("INSERT INTO feed_models (trained_at, status, feature_names, coefficients, importances, "
                    "train_examples, validation_examples, positives, val_ndcg, hand_val_ndcg, val_auc, hand_val_auc, "
                    "note) VALUES (?, 'promoted', ?, ?, ?, 0, 0, 0, NULL, NULL, NULL, NULL, 'benchmark')",
                    (stamp_now, json.dumps(names), json.dumps(coefficients[: len(names)]),
                     json.dumps([1.0 / len(names)] * len(names))))
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    log(f"seen {len(last):,}, likes {len(likes):,}, affinities {len(affinity):,}, follows {len(follows):,} "
        f"in {time.monotonic() - t2:.1f} s")
    return tokens


# --- the load generator (a child process) -------------------------------------------------------


@dataclass
class Plan:
    ports: list[int]  # one per app process; requests go round robin over them
    path: str
    tokens: list[str]
    rate: float
    warmup: float
    duration: float
    connections: int


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    sent: int = 0
    late_ms: float = 0.0  # how far the sender itself fell behind its schedule (worst)


async def drive(plan: Plan) -> Outcome:
    """Open loop: request i is due at start + i / rate, sent then on an idle keep-alive
    connection (a new one when none is idle); latency from the due time to the full answer."""
    loop = asyncio.get_running_loop()
    ports = plan.ports
    requests = [h.build_request("GET", plan.path, ports[i % len(ports)], headers={"Authorization": f"Bearer {t}"})
                for i, t in enumerate(plan.tokens)]
    idle: dict[int, list[h.HttpClient]] = {port: [] for port in ports}
    for port in h.connection_ports(ports, 0, plan.connections):
        client = h.HttpClient(port, timeout=30)
        await client.connect()
        idle[port].append(client)
    out = Outcome()
    statuses: Counter[int] = Counter()
    start = loop.time() + 0.1
    measure_from = start + plan.warmup
    total = int(plan.rate * (plan.warmup + plan.duration))

    async def one(i: int, due: float) -> None:
        port = ports[(i % len(requests)) % len(ports)]
        pool = idle[port]
        client = pool.pop() if pool else h.HttpClient(port, timeout=30)
        try:
            status, _ = await client.call(requests[i % len(requests)])
            statuses[status] += 1
            if status != 200:
                out.errors += 1
            elif due >= measure_from:
                out.latencies.append(loop.time() - due)
        except Exception:
            out.errors += 1
            client.close()
            client = h.HttpClient(port, timeout=30)
        pool.append(client)

    tasks = []
    for i in range(total):
        due = start + i / plan.rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            out.late_ms = max(out.late_ms, -delay * 1000)
        tasks.append(asyncio.create_task(one(i, due)))
        out.sent += 1
    await asyncio.gather(*tasks)
    for pool in idle.values():
        for client in pool:
            client.close()
    out.statuses = dict(statuses)
    return out


def measure(name: str, servers: list[h.Server], path: str, tokens: list[str], args: argparse.Namespace
            ) -> dict[str, Any]:
    plan = Plan(ports=[s.port for s in servers], path=path, tokens=tokens, rate=args.rate, warmup=args.warmup,
                duration=args.duration, connections=args.connections)
    cpu0 = h.servers_cpu_seconds(servers)
    load = h.loadavg()
    t0 = time.monotonic()
    [(outcome, client_cpu)] = h.run_client_processes(drive, [plan], timeout=args.warmup + args.duration + 120)
    wall = time.monotonic() - t0
    cpu = h.servers_cpu_seconds(servers) - cpu0
    if outcome[0] != "ok":
        raise RuntimeError(f"{name}: load generator failed: {outcome[1]}")
    result: Outcome = outcome[1]
    lat = sorted(result.latencies)
    answered = sum(result.statuses.values())
    row = {
        "name": name, "path": path, "answers": answered, "measured": len(lat), "errors": result.errors,
        "statuses": result.statuses, "p50_ms": h.ms(h.percentile(lat, 0.50)) if lat else None,
        "p90_ms": h.ms(h.percentile(lat, 0.90)) if lat else None,
        "p99_ms": h.ms(h.percentile(lat, 0.99)) if lat else None, "max_ms": h.ms(lat[-1]) if lat else None,
        "server_cpu_ms_per_req": round(cpu * 1000 / max(1, answered), 2),
        "client_cpu_pct": round(client_cpu * 100 / wall, 1), "sender_late_ms": round(result.late_ms, 1),
        "loadavg_before": load,
    }
    log(f"{name}: {json.dumps(row)}")
    return row


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", type=int, default=100_000)
    p.add_argument("--interactions", type=int, default=1_000_000)
    p.add_argument("--viewers", type=int, default=5_000, help="distinct logged-in viewers (round robin)")
    p.add_argument("--creators", type=int, default=2_000)
    p.add_argument("--tags", type=int, default=1_000, help="hashtag vocabulary size")
    p.add_argument("--rate", type=float, default=300.0, help="requests per second (open loop)")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds per endpoint")
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--connections", type=int, default=64, help="keep-alive connections opened up front")
    p.add_argument("--workers", type=int, default=1, help="app processes (each one a port of its own)")
    p.add_argument("--hand-weights", action="store_true",
                   help="rank with the hand weights (default: a promoted learned model, as after training)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (the seeded database)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    h.install_signal_handlers()
    tmp = Path(tempfile.mkdtemp(prefix="mercato-feed-"))
    servers: list[h.Server] = []
    try:
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        h.migrate(url, tmp / "media")
        t0 = time.monotonic()
        tokens = seed(tmp / "bench.db", args)
        log(f"seeded in {time.monotonic() - t0:.1f} s")
        env = h.server_env(url, tmp / "media", MERCATO_RUN_JOBS="false")
        servers = h.start_app("app", "mercato.asgi:app", args.workers, env, tmp, servers)
        import httpx

        t1 = time.monotonic()
        for server in servers:  # each process loads its own copy of the index
            h.wait_ready(server, "/healthz")
            warm = httpx.get(f"http://{h.HOST}:{server.port}/api/v1/feed/popular", timeout=120)
            assert warm.status_code == 200, warm.text
        log(f"index loaded by the first request in {time.monotonic() - t1:.1f} s ({args.workers} process(es))")
        half = len(tokens) // 2
        reference = measure("popular", servers, "/api/v1/feed/popular", tokens[:half], args)
        foryou = measure("foryou", servers, "/api/v1/feed/foryou", tokens[half:], args)
        h.check_alive(servers)
        line = {
            "bench": "feed", "backend": "sqlite", "videos": args.videos, "interactions": args.interactions,
            "viewers": args.viewers, "processes": args.workers, "rps": args.rate, "p50_ms": foryou["p50_ms"],
            "p99_ms": foryou["p99_ms"], "reference_p50_ms": reference["p50_ms"],
            "reference_p99_ms": reference["p99_ms"], "p90_ms": foryou["p90_ms"], "max_ms": foryou["max_ms"],
            "errors": foryou["errors"] + reference["errors"],
            "server_cpu_ms_per_req": foryou["server_cpu_ms_per_req"],
            "reference_server_cpu_ms_per_req": reference["server_cpu_ms_per_req"],
            "answers": foryou["answers"], "loadavg_before": foryou["loadavg_before"],
            "model": "hand weights" if args.hand_weights else "learned",
        }
        print(json.dumps(line), flush=True)
        return 0 if line["errors"] == 0 else 1
    finally:
        for server in servers:
            h.stop_server(server)
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
