"""Run every benchmark, keep their JSON lines, print a short table with the goals of PERFORMANCE.md.

    python benchmarks/run_all.py [--only NAME ...] [--timeout S] [--strict]

Each benchmark is a script ``benchmarks/NAME.py`` with a ``__main__`` guard that prints
progress on stderr and JSON lines on stdout. An entry of BENCHMARKS may add arguments after
the name (``"checkout --backend postgresql"``); ``--only NAME`` selects every entry of NAME.
The lines of all of them go to ``benchmarks/results/latest.jsonl`` (not committed). Add a new
benchmark to BENCHMARKS and, if PERFORMANCE.md gives it a goal, a checker to GOALS.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# A benchmark here is named http.py: keep this folder off sys.path so it cannot shadow the stdlib.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

# The benchmarks that run, in order: the script's name, optionally followed by its arguments.
BENCHMARKS: list[str] = [
    "http",
    "checkout",
    "checkout --backend postgresql",
    "flash_sale",
    "flash_sale --backend postgresql",
    "feed",
    "feed_quality",
    "feed_scoring",
    "spike",
    "live_fanout",
    "ingest",
    "ingest --backend postgresql",
    "gifts",
]

RESULTS = HERE / "results" / "latest.jsonl"
ROOT = HERE.parent


def _http_goal(line: dict[str, Any]) -> tuple[str, str]:
    """PERFORMANCE.md, bench http: ≥ 50 % of the bare rate anonymous, signed in ≥ 20 % (JSON) and
    ≥ 10 % (HTML pages) — the line's ``goal_ratio`` — and p99 ≤ 50 ms (and no errors)."""
    if line.get("endpoint") == "bare_hello":
        return "reference", ""
    misses = []
    goal = float(line.get("goal_ratio", 0.5))
    if line.get("errors", 1) != 0:
        misses.append(f"{line.get('errors')} errors")
    if line.get("ratio_to_limit", 0) < goal:
        misses.append(f"ratio {line.get('ratio_to_limit', 0):.3f} < {goal:g}")
    if line.get("p99_ms", float("inf")) > 50:
        misses.append(f"p99 {line.get('p99_ms')} ms > 50")
    return ("yes", "") if not misses else ("no", "; ".join(misses))


def _checkout_goal(line: dict[str, Any]) -> tuple[str, str]:
    """PERFORMANCE.md, bench checkout: ≥ 200 paid orders/s embedded (SQLite); PostgreSQL with 2 app
    processes is reported; the ratio to the bare writer (``bare_checkout_app.py``) is reported. Every
    flow must succeed and the database must agree (verified), the reference's too."""
    misses = []
    if line.get("errors", 1) != 0:
        misses.append(f"{line.get('errors')} errors")
    if line.get("verified") is not True:
        misses.append("database check failed")
    if line.get("reference_orders_per_s") is None or line.get("ratio_to_limit") is None:
        misses.append("no ratio to the bare writer (run without --no-reference)")
    elif line.get("reference_errors", 1) != 0 or line.get("reference_verified") is not True:
        misses.append(f"reference: {line.get('reference_errors')} errors, verified {line.get('reference_verified')}")
    if line.get("backend") == "sqlite" and line.get("orders_per_s", 0) < 200:
        misses.append(f"{line.get('orders_per_s')} orders/s < 200")
    if misses:
        return "no", "; ".join(misses)
    return ("yes", "") if line.get("backend") == "sqlite" else ("-", "reported (no rate goal)")


def _flash_sale_goal(line: dict[str, Any]) -> tuple[str, str]:
    """PERFORMANCE.md, bench flash_sale: 0 oversold on every backend, ≥ 1,500 decisions/s on
    SQLite, p99 ≤ 100 ms; no 5xx or other error, database verified."""
    misses = []
    if line.get("oversold", 1) != 0:
        misses.append(f"{line.get('oversold')} oversold")
    if line.get("errors", 1) != 0:
        misses.append(f"{line.get('errors')} errors")
    if line.get("verified") is not True:
        misses.append("database check failed")
    if line.get("backend") == "sqlite" and line.get("decisions_per_s", 0) < 1500:
        misses.append(f"{line.get('decisions_per_s')} decisions/s < 1500")
    if line.get("p99_ms", float("inf")) > 100:
        misses.append(f"p99 {line.get('p99_ms')} ms > 100")
    return ("yes", "") if not misses else ("no", "; ".join(misses))


def _feed_goal(line: dict[str, Any]) -> tuple[str, str]:
    """PERFORMANCE.md, bench feed: For You p50 ≤ 10 ms and p99 ≤ 50 ms at 300 requests/s."""
    misses = []
    if line.get("errors", 1) != 0:
        misses.append(f"{line.get('errors')} errors")
    if line.get("rps", 0) < 300:
        misses.append(f"{line.get('rps')} rps < 300")
    if line.get("p50_ms", float("inf")) > 10:
        misses.append(f"p50 {line.get('p50_ms')} ms > 10")
    if line.get("p99_ms", float("inf")) > 50:
        misses.append(f"p99 {line.get('p99_ms')} ms > 50")
    return ("yes", "") if not misses else ("no", "; ".join(misses))


def _feed_quality_goal(line: dict[str, Any]) -> tuple[str, str]:
    """PERFORMANCE.md, bench feed_quality: the learned For You ≥ 1.1× the best baseline on
    Recall@20 and NDCG@10 with the lower end of the 95 % paired bootstrap interval > 1.0, in
    every window."""
    misses = []
    for window in line.get("windows", []):
        for metric in ("recall", "ndcg"):
            ratio = float(window.get(f"ratio_to_best_{metric}", 0))
            low = float(window.get(f"ratio_to_best_{metric}_ci_low", 0))
            if ratio < 1.1 or low <= 1.0:
                misses.append(f"{window.get('cutoff')} {metric}: {ratio:.3f}× {window.get('best_baseline')} "
                              f"(95 % from {low:.3f})")
    if not line.get("windows"):
        misses.append("no windows")
    return ("yes", "") if not misses else ("no", "; ".join(misses))


def _spike_goal(line: dict[str, Any]) -> tuple[str, str]:
    """Issue 18 (R12): a spike of mixed traffic gets no 5xx and no broken connection; 429s are fine."""
    misses = [f"{line.get(k)} {k.replace('_', ' ')}" for k in ("server_errors", "broken") if line.get(k, 1) != 0]
    return ("no", "; ".join(misses)) if misses else ("yes", f"{line.get('throttled')} throttled (429)")


def _live_fanout_goal(line: dict[str, Any]) -> tuple[str, str]:
    """PERFORMANCE.md, bench live_fanout: every viewer connected, ≤ 1 GiB RSS, publish → viewer
    p99 ≤ 300 ms, delivered frames/s ≥ 60 % of the bare ``websockets`` broadcaster."""
    misses = []
    if line.get("connected", 0) < line.get("viewers", 1) or line.get("failed", 1) != 0:
        misses.append(f"{line.get('connected')} of {line.get('viewers')} connected, {line.get('failed')} failed")
    if line.get("rss_mib", float("inf")) > 1024:
        misses.append(f"RSS {line.get('rss_mib')} MiB > 1024")
    if line.get("p99_ms", float("inf")) > 300:
        misses.append(f"p99 {line.get('p99_ms')} ms > 300")
    if (line.get("ratio_to_limit") or 0) < 0.6:
        misses.append(f"ratio {line.get('ratio_to_limit')} < 0.6")
    return ("yes", "") if not misses else ("no", "; ".join(misses))


def _ingest_goal(line: dict[str, Any]) -> tuple[str, str]:
    """PERFORMANCE.md, bench ingest: ≥ 20,000 events/s through the capture path, freshness p99
    ≤ 1 s, ≥ 50 % of the raw batched insert of the same rows."""
    misses = []
    if line.get("events_per_s", 0) < 20000:
        misses.append(f"{line.get('events_per_s')} events/s < 20000")
    if line.get("freshness_p99_ms", float("inf")) > 1000:
        misses.append(f"freshness p99 {line.get('freshness_p99_ms')} ms > 1000")
    if line.get("ratio_to_limit", 0) < 0.5:
        misses.append(f"ratio {line.get('ratio_to_limit')} < 0.5")
    return ("yes", "") if not misses else ("no", "; ".join(misses))


def _gifts_goal(line: dict[str, Any]) -> tuple[str, str]:
    """PERFORMANCE.md, bench gifts: ≥ 1,000 gifts/s on SQLite, ≥ 50 % of the bare guarded update,
    p99 ≤ 100 ms, 0 balance errors (ledger identity and balances checked after the run)."""
    misses = []
    if line.get("backend") == "sqlite" and line.get("gifts_per_s", 0) < 1000:
        misses.append(f"{line.get('gifts_per_s')} gifts/s < 1000")
    if (line.get("ratio_to_limit") or 0) < 0.5:
        misses.append(f"ratio {line.get('ratio_to_limit')} < 0.5")
    if line.get("p99_ms", float("inf")) > 100:
        misses.append(f"p99 {line.get('p99_ms')} ms > 100")
    if line.get("balance_errors", 1) != 0:
        misses.append(f"{line.get('balance_errors')} balance errors")
    return ("yes", "") if not misses else ("no", "; ".join(misses))


GOALS: dict[str, Callable[[dict[str, Any]], tuple[str, str]]] = {
    "http": _http_goal, "checkout": _checkout_goal, "flash_sale": _flash_sale_goal, "feed": _feed_goal,
    "feed_quality": _feed_quality_goal, "spike": _spike_goal, "live_fanout": _live_fanout_goal,
    "ingest": _ingest_goal,
    "gifts": _gifts_goal,
}


def _script(entry: str) -> str:
    """The script name of a BENCHMARKS entry (its first word)."""
    return entry.split()[0]


def _subject(line: dict[str, Any]) -> str:
    parts = [str(line[k]) for k in ("endpoint", "dataset", "backend") if k in line]
    if "workers" in line:
        parts.append(f"{line['workers']}w")
    return " / ".join(parts) or "-"


def _figures(line: dict[str, Any]) -> str:
    keys = ("rps", "decisions_per_s", "orders_per_s", "frames_per_s", "events_per_s", "p50_ms", "p95_ms", "p99_ms",
            "ratio_to_limit", "server_cpu_ms_per_req", "errors", "oversold", "recall_at_20", "ndcg_at_10", "rss_mib",
            "freshness_p99_ms")
    return "  ".join(f"{k}={line[k]}" for k in keys if k in line)


def has_main_guard(path: Path) -> bool:
    text = path.read_text(errors="replace")
    return 'if __name__ == "__main__"' in text or "if __name__ == '__main__'" in text


def run_one(entry: str, timeout: float) -> tuple[list[dict[str, Any]], str]:
    """Run benchmarks/NAME.py [ARGS]; stderr (progress) passes through, JSON lines of stdout are kept."""
    name, *extra = entry.split()
    script = HERE / f"{name}.py"
    if not script.exists():
        return [], f"{script} does not exist"
    if not has_main_guard(script):
        return [], f"{script.name} has no __main__ guard"
    print(f"=== {entry} ===", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, str(script), *extra], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return [], f"timed out after {timeout:.0f} s"
    lines = []
    for raw in proc.stdout.splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                print(f"[run_all] {entry}: not JSON: {raw[:120]}", file=sys.stderr)
    print(f"[run_all] {entry}: exit {proc.returncode}, {len(lines)} lines, {time.monotonic() - started:.0f} s",
          file=sys.stderr, flush=True)
    problem = "" if proc.returncode == 0 else f"exit code {proc.returncode}"
    if not lines:
        problem = problem or "printed no JSON line"
    return lines, problem


def table(lines: list[dict[str, Any]], failures: dict[str, str]) -> str:
    rows = [("bench", "endpoint / backend", "figures", "goal met", "why not")]
    for line in lines:
        bench = str(line.get("bench", "?"))
        check = GOALS.get(bench)
        met, why = check(line) if check else ("-", "no goal coded")
        rows.append((bench, _subject(line), _figures(line), met, why))
    for name, problem in failures.items():
        rows.append((name, "-", "FAILED: " + problem, "no", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, row in enumerate(rows):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks and compare them with the goals.")
    parser.add_argument("--only", nargs="*", default=None,
                        help=f"a subset of {', '.join(dict.fromkeys(_script(e) for e in BENCHMARKS))}")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per benchmark")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is not met")
    args = parser.parse_args(argv)
    names = [n for n in BENCHMARKS if args.only is None or _script(n) in args.only]
    scripts = {_script(e) for e in BENCHMARKS}
    for path in sorted(HERE.glob("*.py")):
        if path.stem not in scripts and path.name != Path(__file__).name and has_main_guard(path):
            print(f"[run_all] note: {path.name} has a __main__ guard but is not in BENCHMARKS", file=sys.stderr)
    all_lines: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    for name in names:
        lines, problem = run_one(name, args.timeout)
        all_lines.extend(lines)
        if problem:
            failures[name] = problem
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "w") as fh:
        for line in all_lines:
            fh.write(json.dumps(line) + "\n")
    print(table(all_lines, failures))
    print(f"\n{len(all_lines)} lines written to {RESULTS.relative_to(ROOT)}")
    unmet = any(GOALS[str(line.get("bench"))](line)[0] == "no" for line in all_lines if str(line.get("bench")) in GOALS)
    if failures:
        return 2
    return 1 if args.strict and unmet else 0


if __name__ == "__main__":
    sys.exit(main())
