"""Real interaction data for the offline feed evaluation (``benchmarks/feed_quality.py``).

**Loader interface** (``--dataset``): a data set is a :class:`Dataset` — a name, a function
``load(path) -> Interactions`` and whether its item codes carry a product family (the first
five characters of a stock code). ``Interactions`` holds, per event, ``user`` and ``item``
(small integer ids into ``user_ids`` / ``item_codes``), ``time`` (``datetime64[s]``) and
``quantity`` (1 when the data has none), and per item an optional ``descriptions`` text ("" when
none) that the evaluation turns into the items' "hashtags". Two loaders ship:

- ``online-retail`` (the default): the UCI shop below;
- ``csv:PATH``: any CSV with a header holding ``user``, ``item``, ``timestamp`` (ISO 8601 or Unix
  seconds) and optionally ``text`` (the item's text; its most frequent value is kept) — the
  shape of most public interaction logs (MovieLens, Retailrocket, … after a column rename).

- ``load_online_retail``: the UCI "Online Retail" transactions (a UK gift wholesaler,
  2010-12-01 … 2011-12-09), stored one CSV per day in
  ``../shared/data/interactions/online-retail/by-day/`` and read from there (never copied into
  the repository). Columns: InvoiceNo, StockCode, Description, Quantity, InvoiceDate,
  UnitPrice, CustomerID, Country. Kept: rows with a customer id, not a cancellation (invoice
  ``C…``), a product stock code (five digits and an optional one- or two-letter variant, which
  drops POST, DOT, M, C2, BANK CHARGES, PADS, …), quantity > 0 and price > 0. One kept row is
  one purchase event of a customer (user) for a stock code (item).
- ``temporal_split``: train on every event before a cut-off, test on the following days; only
  users seen in train with at least one *new* item (not bought in train) in test are evaluated.
- ``recall_at_k`` / ``ndcg_at_k`` / ``top_k``: the metrics, per user, binary relevance.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT.parent / "shared" / "data" / "interactions" / "online-retail" / "by-day"
DATASET = "online-retail"

PRODUCT_CODE = re.compile(r"^\d{5}[A-Z]{0,2}$")
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class LoadStats:
    rows: int
    no_customer: int
    cancellations: int
    non_product: int
    non_positive: int
    kept: int


@dataclass(frozen=True)
class Interactions:
    """Purchase events, one per kept invoice line (arrays of equal length)."""

    user: NDArray[np.int32]
    item: NDArray[np.int32]
    quantity: NDArray[np.float32]
    time: NDArray[np.datetime64]  # datetime64[s]
    user_ids: list[str]
    item_codes: list[str]
    descriptions: list[str]  # the most frequent description of each item

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_codes)

    def select(self, mask: NDArray[np.bool_]) -> Interactions:
        """A subset of the events, same user / item indexing."""
        return Interactions(self.user[mask], self.item[mask], self.quantity[mask], self.time[mask],
                            self.user_ids, self.item_codes, self.descriptions)


def read_rows(paths: Iterable[Path], on_file: Callable[[Path], None] | None = None) -> Iterable[dict[str, str]]:
    for path in paths:
        with path.open(newline="", encoding="utf-8") as handle:
            yield from csv.DictReader(handle)
        if on_file is not None:
            on_file(path)


def load_online_retail(folder: Path = DATA_DIR,
                       on_file: Callable[[Path], None] | None = None) -> tuple[Interactions, LoadStats]:
    """Read and clean every ``*.csv`` of ``folder`` (in file-name, i.e. date, order)."""
    paths = sorted(folder.glob("*.csv"))
    if not paths:
        raise FileNotFoundError(f"no CSV files in {folder}")
    users: dict[str, int] = {}
    items: dict[str, int] = {}
    descriptions: list[Counter[str]] = []
    u_idx: list[int] = []
    i_idx: list[int] = []
    qty: list[float] = []
    times: list[str] = []
    rows = no_customer = cancellations = non_product = non_positive = 0
    for row in read_rows(paths, on_file):
        rows += 1
        customer = row["CustomerID"].strip()
        if not customer:
            no_customer += 1
            continue
        if row["InvoiceNo"].strip().upper().startswith("C"):
            cancellations += 1
            continue
        code = row["StockCode"].strip().upper()
        if not PRODUCT_CODE.match(code):
            non_product += 1
            continue
        quantity = float(row["Quantity"])
        if quantity <= 0 or float(row["UnitPrice"]) <= 0:
            non_positive += 1
            continue
        customer = customer.removesuffix(".0")
        u = users.setdefault(customer, len(users))
        i = items.get(code)
        if i is None:
            i = items[code] = len(items)
            descriptions.append(Counter())
        descriptions[i][row["Description"].strip()] += 1
        u_idx.append(u)
        i_idx.append(i)
        qty.append(quantity)
        times.append(row["InvoiceDate"].strip())
    stats = LoadStats(rows, no_customer, cancellations, non_product, non_positive, len(u_idx))
    data = Interactions(
        user=np.asarray(u_idx, dtype=np.int32),
        item=np.asarray(i_idx, dtype=np.int32),
        quantity=np.asarray(qty, dtype=np.float32),
        time=np.asarray(times, dtype="datetime64[s]"),
        user_ids=list(users),
        item_codes=list(items),
        descriptions=[c.most_common(1)[0][0] for c in descriptions],
    )
    return data, stats


def _parse_time(value: str) -> str:
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return str(np.datetime64(int(float(value)), "s"))
    return value.replace("T", " ").removesuffix("Z")


def load_csv(path: Path, on_file: Callable[[Path], None] | None = None) -> tuple[Interactions, LoadStats]:
    """A generic interaction log: ``user,item,timestamp[,text]`` (see the module docstring)."""
    users: dict[str, int] = {}
    items: dict[str, int] = {}
    texts: list[Counter[str]] = []
    u_idx: list[int] = []
    i_idx: list[int] = []
    times: list[str] = []
    rows = skipped = 0
    for row in read_rows([path], on_file):
        rows += 1
        user, item, stamp = (row.get("user") or "").strip(), (row.get("item") or "").strip(), row.get("timestamp") or ""
        if not user or not item or not stamp.strip():
            skipped += 1
            continue
        u = users.setdefault(user, len(users))
        i = items.get(item)
        if i is None:
            i = items[item] = len(items)
            texts.append(Counter())
        text = (row.get("text") or "").strip()
        if text:
            texts[i][text] += 1
        u_idx.append(u)
        i_idx.append(i)
        times.append(_parse_time(stamp))
    stats = LoadStats(rows, skipped, 0, 0, 0, len(u_idx))
    data = Interactions(
        user=np.asarray(u_idx, dtype=np.int32), item=np.asarray(i_idx, dtype=np.int32),
        quantity=np.ones(len(u_idx), dtype=np.float32), time=np.asarray(times, dtype="datetime64[s]"),
        user_ids=list(users), item_codes=list(items),
        descriptions=[c.most_common(1)[0][0] if c else "" for c in texts],
    )
    return data, stats


@dataclass(frozen=True)
class Dataset:
    name: str
    path: Path
    load: Callable[..., tuple[Interactions, LoadStats]]
    item_families: bool  # item codes carry a product family (their first five characters)


def dataset(spec: str) -> Dataset:
    """``online-retail`` or ``csv:PATH`` (see the module docstring)."""
    if spec == DATASET:
        return Dataset(DATASET, DATA_DIR, load_online_retail, True)
    if spec.startswith("csv:"):
        path = Path(spec[4:])
        return Dataset(path.stem, path, load_csv, False)
    raise ValueError(f"unknown dataset {spec!r}: online-retail or csv:PATH")


def age_days(times: NDArray[np.datetime64], cutoff: np.datetime64) -> NDArray[np.float64]:
    """Days from each event to the cut-off (positive for events before it)."""
    return (cutoff - times).astype("timedelta64[s]").astype(np.float64) / SECONDS_PER_DAY


def event_matrix(data: Interactions, weights: NDArray[np.floating] | None = None) -> sp.csr_matrix:
    """users × items, the sum of ``weights`` (default: 1 per event, i.e. purchase counts)."""
    values = np.ones(len(data.user), dtype=np.float32) if weights is None else weights.astype(np.float32)
    matrix = sp.csr_matrix((values, (data.user, data.item)), shape=(data.n_users, data.n_items), dtype=np.float32)
    matrix.sum_duplicates()
    return matrix


@dataclass(frozen=True)
class Split:
    train: Interactions  # every event before the cut-off
    cutoff: np.datetime64
    end: np.datetime64
    train_counts: sp.csr_matrix  # users × items purchase counts in train
    eval_users: NDArray[np.int64]  # users with train events and ≥ 1 new item in test
    targets_new: sp.csr_matrix  # len(eval_users) × items: test items NOT bought in train (binary)
    targets_all: sp.csr_matrix  # len(eval_users) × items: every test item (binary), with-repeats protocol


def temporal_split(data: Interactions, cutoff: np.datetime64, test_days: float) -> Split:
    """Train = events < cutoff; test = events in [cutoff, cutoff + test_days)."""
    end = cutoff + np.timedelta64(int(test_days * SECONDS_PER_DAY), "s")
    train = data.select(data.time < cutoff)
    test = data.select((data.time >= cutoff) & (data.time < end))
    train_counts = event_matrix(train)
    test_bin = event_matrix(test)
    test_bin.data[:] = 1.0
    seen = train_counts.copy()
    seen.data[:] = 1.0
    new = (test_bin - test_bin.multiply(seen)).tocsr()
    new.eliminate_zeros()
    has_train = np.diff(train_counts.indptr) > 0
    has_new = np.diff(new.indptr) > 0
    eval_users = np.flatnonzero(has_train & has_new).astype(np.int64)
    return Split(train, cutoff, end, train_counts, eval_users, new[eval_users], test_bin[eval_users])


# --- metrics ---------------------------------------------------------------------------------


def top_k(scores: NDArray[np.floating], k: int) -> NDArray[np.int64]:
    """Per row, the column indices of the ``k`` highest scores, best first (ties: lower index first)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else \
        np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
    part_scores = np.take_along_axis(scores, part, axis=1)
    # sort the k by (score desc, index asc); the k-th score may tie with columns outside the
    # partition, which argpartition resolves arbitrarily — a documented limit of ties.
    order = np.lexsort((part, -part_scores), axis=1)
    return np.take_along_axis(part, order, axis=1).astype(np.int64)


def _hits(ranked: NDArray[np.integer], targets: sp.csr_matrix) -> NDArray[np.bool_]:
    rows = np.arange(ranked.shape[0])[:, None]
    return np.asarray(targets[rows, ranked].todense()) > 0


def recall_at_k(ranked: NDArray[np.integer], targets: sp.csr_matrix, k: int) -> NDArray[np.float64]:
    """Per user: relevant items among the first ``k`` of ``ranked`` / all relevant items."""
    hits = _hits(ranked[:, :k], targets).sum(axis=1)
    n_relevant = np.diff(targets.indptr)
    return np.asarray(np.divide(hits, n_relevant, out=np.zeros(len(n_relevant)), where=n_relevant > 0))


def ndcg_at_k(ranked: NDArray[np.integer], targets: sp.csr_matrix, k: int) -> NDArray[np.float64]:
    """Per user: DCG@k (gain 1 / log2(rank + 1), ranks from 1) / the ideal DCG@k."""
    ranked = ranked[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, ranked.shape[1] + 2))
    dcg = (_hits(ranked, targets) * discounts).sum(axis=1)
    n_relevant = np.minimum(np.diff(targets.indptr), ranked.shape[1])
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[n_relevant]
    return np.asarray(np.divide(dcg, ideal, out=np.zeros(len(ideal)), where=ideal > 0))
