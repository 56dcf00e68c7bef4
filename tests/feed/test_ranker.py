"""The learned ranker's lifecycle (docs/feed.md, "The learned ranker"): it learns a signal that
fully determines engagement, it is rejected when it validates worse than the hand weights, too
little data keeps the hand weights, the job trains when due, a promoted model is swapped into
the running server without a restart, and exploration slots are drawn reproducibly with the
propensity the learner needs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.feed import ranker
from mercato.feed import repository as repo
from mercato.feed.engine import FeedIndex, Viewer, index_for
from mercato.feed.models import FeedEvent, FeedImpression, FeedModel
from mercato.feed.ranker import Examples, fit, grouped_metrics, label_examples
from mercato.feed.scoring import FEATURES, MODEL_FEATURES, LearnedWeights, Weights, dominant_signal, score
from mercato.feed.service import read_sessions
from mercato.kit.db import Database
from mercato.kit.jobs import run_job
from tests.conftest import on_live_server, run_async

FEED = "/api/v1/feed/foryou"
COL = {name: i for i, name in enumerate(FEATURES)}


def _examples(n: int, seed: int, decides: str) -> Examples:
    """``n`` impressions of 40 viewers with random features in [0, 1]; engaged exactly when the
    ``decides`` feature is above 0.5."""
    rng = np.random.default_rng(seed)
    features = rng.random((n, len(FEATURES)))
    labels = (features[:, COL[decides]] > 0.5).astype(np.int64)
    return Examples(features, labels, np.ones(n), rng.integers(1, 41, n).astype(np.int64))


def test_the_model_learns_the_feature_that_decides_engagement(settings: Settings) -> None:
    # Quality decides everything; the hand weights rank mostly by affinity and collaborative.
    outcome = fit(_examples(2000, 1, "quality"), settings)
    assert outcome.status == "promoted"
    assert (outcome.train_examples, outcome.validation_examples) == (1600, 400)
    coefficients = dict(zip(MODEL_FEATURES, outcome.coefficients, strict=True))
    top = max(coefficients, key=lambda k: coefficients[k])
    assert top in ("quality", "log_quality")
    assert all(abs(v) < coefficients[top] / 5 for k, v in coefficients.items() if "quality" not in k)
    importances = dict(zip(MODEL_FEATURES, outcome.importances, strict=True))
    assert importances["quality"] + importances["log_quality"] > 0.8
    assert sum(importances.values()) == pytest.approx(1.0)
    assert outcome.val_ndcg is not None and outcome.hand_val_ndcg is not None
    assert outcome.val_ndcg > outcome.hand_val_ndcg
    assert outcome.val_auc == pytest.approx(1.0, abs=0.01)
    # And it ranks accordingly: the high-quality candidate first, whatever its other signals.
    learned = LearnedWeights(tuple(outcome.coefficients), 1)
    feats = np.zeros((2, len(FEATURES)))
    feats[0, COL["affinity"]] = feats[0, COL["collaborative"]] = 1.0
    feats[1, COL["quality"]] = 0.9
    assert score(feats, Weights.from_settings(settings)).argmax() == 0
    assert score(feats, learned).argmax() == 1
    assert dominant_signal(feats, learned)[1] == "quality"


def test_a_model_worse_than_the_hand_weights_on_validation_is_not_promoted(settings: Settings) -> None:
    # The past rewarded freshness; the recent (validation) period rewards affinity, which the
    # hand weights rank by: the model learned on the past validates worse, and is rejected.
    past, recent = _examples(1600, 2, "fresh"), _examples(400, 3, "affinity")
    joined = Examples(np.vstack([past.features, recent.features]), np.r_[past.labels, recent.labels],
                      np.ones(2000), np.r_[past.users, recent.users])
    outcome = fit(joined, settings)
    assert outcome.status == "rejected"
    assert outcome.val_ndcg is not None and outcome.hand_val_ndcg is not None
    assert outcome.val_ndcg < outcome.hand_val_ndcg
    assert "not promoted" in outcome.note


def test_too_little_data_keeps_the_hand_weights(settings: Settings) -> None:
    few = fit(_examples(settings.feed_ranker_min_examples - 1, 4, "quality"), settings)
    assert (few.status, few.coefficients, few.val_ndcg) == ("insufficient", [], None)
    one_class = _examples(2000, 5, "quality")
    one_class.labels[:] = 0
    assert fit(one_class, settings).status == "insufficient"


def test_labels_come_from_engagement_within_the_window_and_exploration_weighs_by_propensity() -> None:
    t0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
    impressions = [
        (1, 7, 100, t0, 1.0, [0.5] * len(FEATURES)),  # watched 30 minutes later: positive
        (2, 7, 101, t0, 0.05, [0.1] * len(FEATURES)),  # exploration, liked 3 hours later: too late
        (3, 8, 100, t0, 0.25, [0.2] * (len(FEATURES) - 2)),  # an older, shorter feature row
    ]
    events = [(7, 100, t0 + timedelta(minutes=30)), (7, 101, t0 + timedelta(hours=3)),
              (8, 100, t0 - timedelta(minutes=1))]
    examples = label_examples(impressions, events, 2.0)
    assert examples.labels.tolist() == [1, 0, 0]
    assert examples.weights.tolist() == [1.0, ranker.MAX_IPS, 4.0]
    assert examples.features[2].tolist() == [0.2] * (len(FEATURES) - 2) + [0.0, 0.0]
    assert examples.users.tolist() == [7, 7, 8]


def test_grouped_metrics() -> None:
    # Viewer 1: the positive ranked second of three; viewer 2: one class only, not counted.
    ndcg, auc = grouped_metrics(np.array([0.9, 0.5, 0.1, 0.3]), np.array([0, 1, 0, 1]), np.array([1, 1, 1, 2]))
    assert ndcg == pytest.approx(1 / np.log2(3))
    assert auc == pytest.approx(0.5)
    # Ties count against the model: a constant score is no better than the worst order.
    assert grouped_metrics(np.zeros(2), np.array([1, 0]), np.array([1, 1]))[0] == pytest.approx(1 / np.log2(3))


# --- against the database and the running server ------------------------------------------------


def _log(db_run: Callable[..., Any], users: list[int], videos: list[int], decides: str, n: int = 1200,
         seed: int = 6) -> None:
    """``n`` logged impressions over the last days (older than the label window) where the
    ``decides`` feature alone makes the viewer watch the video a minute later."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)

    async def write(db: AsyncSession) -> None:
        rows, events = [], []
        for k in range(n):
            feats = rng.random(len(FEATURES))
            user, video = users[k % len(users)], videos[int(rng.integers(len(videos)))]
            at = now - timedelta(hours=3 + (n - k) * 0.1)
            rows.append(FeedImpression(user_id=user, video_id=video, served_at=at, position=k % 10, slot="ranked",
                                       propensity=1.0, model_version=0, features=feats.tolist()))
            if feats[COL[decides]] > 0.5:
                events.append(FeedEvent(user_id=user, video_id=video, kind="watch", watch_ms=5000,
                                        created_at=at + timedelta(minutes=1)))
        db.add_all(rows + events)
        await db.flush()

    db_run(write)


async def _check_models(app: Any) -> None:
    """The server process's model check, now (it runs every ``feed_model_check_seconds``)."""
    settings = app.state.settings
    async with read_sessions(app.state.db)() as db:
        await index_for(settings.database_url).load_model(db)


def _page(api: httpx.Client, user: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.get(FEED, headers=user["headers"])
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_promoted_model_is_swapped_into_the_running_feed(
    api: httpx.Client, make_user: Callable[..., dict[str, Any]], make_video: Callable[..., int],
    db_run: Callable[..., Any], settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "feed_candidates_ttl_seconds", 0.0)
    monkeypatch.setattr(settings, "feed_exploration_share", 0.0)
    monkeypatch.setattr(settings, "feed_training_log_share", 0.0)
    creators = [make_user()["user"]["id"] for _ in range(2)]
    # Trending (hand weight 0.5) against quality (0.3): the hand weights put the trending video first.
    trending = make_video(creators[0], ("a",), trending=50.0, engagement=0.0, impressions=500)
    quality = make_video(creators[1], ("b",), trending=0.0, engagement=100.0, impressions=100)
    viewers = [make_user() for _ in range(3)]
    first = _page(api, viewers[0])
    assert [i["video"]["id"] for i in first] == [trending, quality]
    assert first[0]["reason"]["signal"] == "trending"

    _log(db_run, [v["user"]["id"] for v in viewers], [trending, quality], "quality")

    async def train(db: AsyncSession) -> FeedModel:
        return await ranker.train(db, settings)

    model = db_run(train)
    assert model.status == "promoted" and model.feature_names == list(MODEL_FEATURES)
    assert model.val_ndcg is not None and model.hand_val_ndcg is not None and model.val_ndcg > model.hand_val_ndcg
    on_live_server(_check_models)
    swapped = _page(api, viewers[1])
    assert [i["video"]["id"] for i in swapped] == [quality, trending]
    assert swapped[0]["reason"]["signal"] == "quality"
    assert index_for(settings.database_url).model == LearnedWeights(tuple(model.coefficients), model.id)

    # A newer run that validated worse is stored but not used: the promoted model stays.
    async def rejected(db: AsyncSession) -> None:
        db.add(FeedModel(status="rejected", feature_names=list(FEATURES), coefficients=[0.0] * len(FEATURES),
                         importances=[0.0] * len(FEATURES), val_ndcg=0.1, hand_val_ndcg=0.5, note="worse"))
        await db.flush()

    db_run(rejected)
    on_live_server(_check_models)
    assert [i["video"]["id"] for i in _page(api, viewers[2])] == [quality, trending]

    # No promoted model left (deleted by an operator): back to the hand weights, still without a restart.
    async def drop(db: AsyncSession) -> None:
        for found in (await db.execute(select(FeedModel))).scalars():
            await db.delete(found)

    db_run(drop)
    on_live_server(_check_models)
    assert index_for(settings.database_url).model is None
    assert [i["video"]["id"] for i in _page(api, make_user())] == [trending, quality]


def test_the_job_trains_when_due_and_stores_every_run(
    make_user: Callable[..., dict[str, Any]], make_video: Callable[..., int], db_run: Callable[..., Any],
    clean_db: str, settings: Settings,
) -> None:
    creator = make_user()["user"]["id"]
    videos = [make_video(creator, ("x",)) for _ in range(3)]
    viewers = [make_user()["user"]["id"] for _ in range(4)]

    def run() -> int:
        async def go() -> int:
            db = Database(clean_db, pool=False)
            try:
                return await run_job(db, settings, "train_feed_ranker")
            finally:
                await db.dispose()

        return run_async(go())

    async def runs(db: AsyncSession) -> list[tuple[str, int]]:
        found = (await db.execute(select(FeedModel).order_by(FeedModel.id))).scalars()
        return [(m.status, m.train_examples + m.validation_examples) for m in found]

    assert run() == 0  # nothing logged: nothing to do, nothing stored
    assert db_run(runs) == []
    _log(db_run, viewers, videos, "quality", n=50, seed=7)
    assert run() == 1  # too little logged: a run that keeps the hand weights, stored for the operator
    assert db_run(runs) == [("insufficient", 50)]
    assert run() == 0  # not due again before feed_ranker_retrain_seconds
    assert db_run(runs) == [("insufficient", 50)]

    _log(db_run, viewers, videos, "quality", n=1100)

    async def age(db: AsyncSession) -> None:
        for found in (await db.execute(select(FeedModel))).scalars():
            found.trained_at = datetime.now(UTC) - timedelta(seconds=settings.feed_ranker_retrain_seconds + 1)

    db_run(age)
    assert run() == 1
    statuses = db_run(runs)
    assert statuses == [("insufficient", 50), ("promoted", 1150)]


def _index(n_videos: int) -> FeedIndex:
    """An index over ``n_videos`` old, equally exposed videos of 10 creators, without a database."""
    index = FeedIndex()
    now = datetime.now(UTC).timestamp()
    rows = [repo.VideoRow(id=i, creator_id=1000 + i % 10, created_ts=now - 30 * 86400, duration_ms=10_000,
                          published=True, updated_ts=now) for i in range(1, n_videos + 1)]
    index._put_videos(rows, [], [])
    ids = np.arange(1, n_videos + 1, dtype=np.int64)
    index._put_scores(repo.Scores(ids, np.linspace(1.0, 50.0, n_videos), np.zeros(n_videos),
                                  np.full(n_videos, 500.0), np.full(n_videos, now)))
    return index


def test_exploration_slots_are_seeded_draws_with_their_propensity(settings: Settings) -> None:
    index = _index(400)
    index._derive(settings, datetime.now(UTC).timestamp())
    now = datetime.now(UTC).timestamp()
    viewer = Viewer(user_id=1, personalised=True)

    def picks(seed: int, page: int) -> list[Any]:
        return index.rank(viewer, settings, page=page, seed=seed, now_ts=now, want=10)

    # Page 1 of a viewer's session: the reserved slot (the 6th of 10) is an exploration slot
    # (no video is fresh here), drawn from a seeded generator: the same seed, the same draw.
    first = picks(seed=7, page=1)
    assert [p.video_id for p in first] == [p.video_id for p in picks(seed=7, page=1)]
    reserved = first[5]
    assert reserved.slot == "exploration" and reserved.signal == "exploration"
    assert all(p.slot == "ranked" and p.propensity == 1.0 for i, p in enumerate(first) if i != 5)
    # Its propensity: one over the exploration candidates still eligible at the draw (not shown
    # yet, not by the creator just shown) — every one of them had the same chance.
    ranked = index.candidates(viewer, settings, page=1, seed=7, now_ts=now)
    shown = {p.video_id for p in first[:5]}
    eligible = [p for p in ranked.explore
                if int(index.ids[p]) not in shown and int(index.creator[p]) != first[4].creator_id]
    assert reserved.propensity == pytest.approx(1.0 / len(eligible))
    assert 0.0 < reserved.propensity < 0.2
    assert len(reserved.features) == len(FEATURES)
    # Another seed draws another video: the slot explores, it does not repeat a fixed choice.
    assert len({picks(seed=s, page=1)[5].video_id for s in range(8)}) > 1


def test_served_pages_are_logged_with_their_features_slot_and_propensity(
    api: httpx.Client, make_user: Callable[..., dict[str, Any]], make_video: Callable[..., int],
    db_run: Callable[..., Any], settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "feed_served_flush_seconds", 0.0)
    creators = [make_user()["user"]["id"] for _ in range(5)]
    for i in range(30):
        make_video(creators[i % 5], ("t",), trending=float(i))
    viewer = make_user()
    monkeypatch.setattr(settings, "feed_training_log_share", 0.0)
    _page(api, viewer)

    async def logged(db: AsyncSession) -> list[tuple[int, int, str, float, int, int]]:
        found = (await db.execute(select(FeedImpression).order_by(FeedImpression.id))).scalars()
        return [(m.user_id, m.video_id, m.slot, m.propensity, m.position, len(m.features)) for m in found]

    assert db_run(logged) == []  # a page not sampled is not logged
    monkeypatch.setattr(settings, "feed_training_log_share", 1.0)
    items = _page(api, viewer)
    rows = db_run(logged)
    assert [r[1] for r in rows] == [i["video"]["id"] for i in items]
    assert [r[4] for r in rows] == list(range(10))
    assert {r[0] for r in rows} == {viewer["user"]["id"]} and {r[5] for r in rows} == {len(FEATURES)}
    slots = {r[2] for r in rows}
    assert slots <= {"ranked", "fresh", "exploration"}
    assert [r[2] for r in rows][5] == items[5]["reason"]["signal"]  # the reserved slot, as the reason says
    assert all((r[3] == 1.0) == (r[2] != "exploration") for r in rows)
    # Anonymous pages are never logged (no viewer to learn from).
    _page(api, {"headers": {}})
    assert len(db_run(logged)) == 10


def test_a_learned_model_weighs_each_feature_and_its_log() -> None:
    # Two candidates, one with a little affinity, one with none: only the log column tells them apart
    # when the linear coefficient is 0, and the reason is the signal that adds most over its absence.
    vector = [0.0] * len(MODEL_FEATURES)
    vector[MODEL_FEATURES.index("log_affinity")] = 1.0
    vector[MODEL_FEATURES.index("trending")] = 0.5
    learned = LearnedWeights(tuple(vector), 7)
    feats = np.zeros((2, len(FEATURES)))
    feats[0, COL["affinity"]] = 0.05
    feats[:, COL["trending"]] = 1.0
    scores = score(feats, learned)
    assert scores.tolist() == pytest.approx([np.log(0.06) + 0.5, np.log(0.01) + 0.5])
    assert dominant_signal(feats, learned) == ["affinity", "trending"]
    with pytest.raises(ValueError):
        score(feats[:, :7], learned)


def test_a_model_stored_by_the_linear_ranker_still_serves(settings: Settings) -> None:
    # A run stored before the log columns existed names only FEATURES: its log columns weigh 0.
    old = FeedModel(status="promoted", feature_names=list(FEATURES), coefficients=[float(i) for i in range(9)],
                    importances=[0.0] * len(FEATURES))
    coefficients = old.coefficients_for(MODEL_FEATURES)
    assert coefficients is not None
    feats = np.random.default_rng(3).random((5, len(FEATURES)))
    assert score(feats, LearnedWeights(coefficients, 1)) == pytest.approx(feats @ np.arange(9.0))
