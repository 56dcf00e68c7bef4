"""The metrics and the data preparation of ``benchmarks/feed_quality.py``, on examples small
enough to compute by hand, so that its Recall@20 / NDCG@10 can be trusted."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from benchmarks._interactions import load_online_retail, ndcg_at_k, recall_at_k, temporal_split, top_k


def targets(rows: list[list[int]], n_items: int = 10) -> sp.csr_matrix:
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.array([i for r in rows for i in r], dtype=np.int32)
    return sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), n_items))


def test_recall_and_ndcg_by_hand() -> None:
    ranked = np.array([
        [3, 1, 4, 0, 5],  # relevant {1, 5, 9}: hits at ranks 2 and 5
        [2, 7, 8, 6, 0],  # relevant {2}: hit at rank 1
        [0, 1, 2, 3, 4],  # relevant {9}: no hit
    ])
    truth = targets([[1, 5, 9], [2], [9]])

    recall = recall_at_k(ranked, truth, 5)
    assert recall == pytest.approx([2 / 3, 1.0, 0.0])
    # top 2 only: user 0 has one hit of three
    assert recall_at_k(ranked, truth, 2) == pytest.approx([1 / 3, 1.0, 0.0])

    ndcg = ndcg_at_k(ranked, truth, 5)
    dcg0 = 1 / math.log2(3) + 1 / math.log2(6)
    idcg0 = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg == pytest.approx([dcg0 / idcg0, 1.0, 0.0])
    # k = 1: the ideal list holds one relevant item whatever the number of relevant items
    assert ndcg_at_k(ranked, truth, 1) == pytest.approx([0.0, 1.0, 0.0])


def test_ndcg_rewards_earlier_hits() -> None:
    truth = targets([[4], [4]])
    ranked = np.array([[4, 0, 1], [0, 1, 4]])
    early, late = ndcg_at_k(ranked, truth, 3)
    assert early == pytest.approx(1.0)
    assert late == pytest.approx(1 / math.log2(4))


def test_top_k_orders_by_score_then_index() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.9, -np.inf], [3.0, 2.0, 1.0, 0.0, 5.0]])
    assert top_k(scores, 3).tolist() == [[1, 3, 2], [4, 0, 1]]
    assert top_k(scores, 10).shape == (2, 5)


HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def write_toy_days(tmp_path: Path) -> None:
    (tmp_path / "2011-01-01.csv").write_text(HEADER + "\n".join([
        "1,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2011-01-01 08:00:00,2.55,17850.0,United Kingdom",
        "1,71053,WHITE METAL LANTERN,6,2011-01-01 08:00:00,3.39,17850.0,United Kingdom",
        "1,POST,POSTAGE,1,2011-01-01 08:00:00,18.0,17850.0,United Kingdom",       # non-product
        "C2,71053,WHITE METAL LANTERN,-6,2011-01-01 09:00:00,3.39,17850.0,United Kingdom",  # cancellation
        "3,22633,HAND WARMER UNION JACK,6,2011-01-01 10:00:00,1.85,,United Kingdom",  # no customer
        '4,22960,"JAM MAKING SET, JARS",2,2011-01-01 11:00:00,4.25,13047.0,United Kingdom',
    ]) + "\n")
    (tmp_path / "2011-01-10.csv").write_text(HEADER + "\n".join([
        "5,71053,WHITE METAL LANTERN,2,2011-01-10 08:00:00,3.39,17850.0,United Kingdom",  # repeat: not a target
        "5,22960,JAM MAKING SET WITH JARS,1,2011-01-10 08:00:00,4.25,17850.0,United Kingdom",  # new item
        "6,22960,JAM MAKING SET WITH JARS,1,2011-01-10 09:00:00,4.25,13047.0,United Kingdom",  # only a repeat
        "7,85123A,WHITE HANGING HEART T-LIGHT HOLDER,1,2011-01-10 10:00:00,2.55,99999.0,United Kingdom",  # no train
    ]) + "\n")


def test_loader_cleaning_and_no_repeats_split(tmp_path: Path) -> None:
    write_toy_days(tmp_path)
    data, stats = load_online_retail(tmp_path)
    assert (stats.rows, stats.kept, stats.no_customer, stats.cancellations, stats.non_product) == (10, 7, 1, 1, 1)
    assert data.item_codes == ["85123A", "71053", "22960"]
    assert data.descriptions[2] == "JAM MAKING SET WITH JARS"  # the most frequent description

    split = temporal_split(data, np.datetime64("2011-01-05", "s"), 30)
    assert [data.user_ids[u] for u in split.eval_users] == ["17850"]  # 13047 has no new item, 99999 no train
    assert split.targets_new.toarray().tolist() == [[0, 0, 1]]
    assert split.targets_all.toarray().tolist() == [[0, 1, 1]]
    assert split.train_counts.toarray().tolist() == [[1, 1, 0], [0, 0, 1], [0, 0, 0]]


def test_foryou_features_are_normalised_and_exclude_train_items(tmp_path: Path) -> None:
    from benchmarks.feed_quality import FeatureParams, ForYouFeatures, foryou_scores, item_tags

    from mercato.feed.scoring import SIGNALS, Weights

    write_toy_days(tmp_path)
    data, _ = load_online_retail(tmp_path)
    split = temporal_split(data, np.datetime64("2011-01-05", "s"), 30)
    feats = ForYouFeatures(split, item_tags(data.descriptions, data.item_codes),
                           FeatureParams(affinity_half_life=72, trending_half_life=6, fresh_days=48, fresh_buyers=200,
                                         collab_half_life=180, collab_neighbours=2))
    users = np.arange(data.n_users, dtype=np.int64)
    features, excluded = feats.block(users)
    assert features.shape == (3, 3, len(SIGNALS))
    assert excluded.tolist() == [[True, True, False], [False, False, True], [False, False, False]]
    assert features.min() >= 0.0 and features.max() <= 1.0
    assert not features[excluded].any()  # a bought item carries no signal
    assert not features[:, :, [SIGNALS.index("creator"), SIGNALS.index("following")]].any()
    # 13047's candidates 85123A and 71053 were each bought once, at the same time: both top the trend
    assert features[1, :2, SIGNALS.index("trending")].tolist() == pytest.approx([1.0, 1.0])
    scores = foryou_scores(features, excluded, Weights(1, 0, 0, 1, 1, 1, 1))
    assert np.isneginf(scores[excluded]).all() and np.isfinite(scores[~excluded]).all()
    # The learned ranker's columns: the live FEATURES, recency from the item's first sale, shoppable 0.
    from mercato.feed.scoring import FEATURES

    wide, _ = feats.block(users, extra=True)
    assert wide.shape == (3, 3, len(FEATURES))
    assert np.array_equal(wide[:, :, : len(SIGNALS)], features)
    recency = wide[:, :, FEATURES.index("recency")]
    assert not recency[excluded].any() and (recency[~excluded] > 0).all() and recency.max() <= 1.0
    assert not wide[:, :, FEATURES.index("shoppable")].any()


def test_catalogue_and_tags_come_from_the_training_period_only() -> None:
    from benchmarks.feed_quality import item_tags

    descriptions = ["RED HEART LANTERN", "RED HEART CANDLE", "BLUE HEART CUSHION", "RED HEART MUG"]
    codes = ["10001A", "10001B", "20002", "30003"]
    catalogue = np.array([True, True, True, False])  # the mug is first sold in the test period
    tags = item_tags(descriptions, codes, catalogue=catalogue, families=False).toarray()
    assert not tags[3].any()  # an item unknown before the cut-off carries no tags
    # RED is on two catalogue items (the mug does not count); HEART on all three: idf log(3/3) = 0.
    assert tags.shape[1] == 2 and (tags[:3] > 0).sum(axis=1).tolist() == [1, 1, 0]
    with_families = item_tags(descriptions, codes, catalogue=catalogue).toarray()
    assert with_families.shape[1] == 3  # + the family sku:10001 shared by the first two


def test_the_generic_csv_loader(tmp_path: Path) -> None:
    from benchmarks._interactions import dataset, load_csv

    path = tmp_path / "log.csv"
    path.write_text("user,item,timestamp,text\n"
                    "u1,i1,2020-01-01T10:00:00Z,Red lantern\n"
                    "u2,i1,1577872800,Red lantern\n"  # Unix seconds: 2020-01-01 10:00:00
                    "u1,i2,2020-01-02 09:30:00,\n"
                    ",i2,2020-01-02 09:30:00,\n")  # no user: skipped
    data, stats = load_csv(path)
    assert (stats.rows, stats.kept) == (4, 3)
    assert data.user.tolist() == [0, 1, 0] and data.item.tolist() == [0, 0, 1]
    assert [str(t) for t in data.time] == ["2020-01-01T10:00:00", "2020-01-01T10:00:00", "2020-01-02T09:30:00"]
    assert data.descriptions == ["Red lantern", ""]
    spec = dataset(f"csv:{path}")
    assert (spec.name, spec.path, spec.item_families) == ("log", path, False)
    assert dataset("online-retail").item_families
    with pytest.raises(ValueError):
        dataset("movielens")


def test_paired_bootstrap_ratio() -> None:
    from benchmarks.feed_quality import paired_ratio, resample

    rng = np.random.default_rng(0)
    base = rng.random(500)
    ratio, low, high = paired_ratio(2 * base, base, resample(500, rng, 200))
    assert (ratio, low, high) == pytest.approx((2.0, 2.0, 2.0))  # paired: every resample is exactly 2×
    noisy = base + rng.normal(0, 0.3, 500)
    ratio, low, high = paired_ratio(noisy, base, resample(500, rng, 500))
    assert low < ratio < high and ratio == pytest.approx(noisy.mean() / base.mean())
