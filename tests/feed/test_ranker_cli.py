"""``mercato feed model`` / ``mercato feed train``: what an operator sees of the learned ranker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.feed.models import FeedModel
from mercato.feed.scoring import FEATURES
from tests.test_cli import _cli, _words


def test_feed_model_shows_what_ranks_when_it_was_trained_and_how_it_scored(
    clean_db: str, db_run: Callable[..., Any],
) -> None:
    before = _cli(clean_db, "feed", "model")
    assert before.returncode == 0, before.stderr
    assert _words(before.stdout) == ("In use: the hand weights (feed_weight_* settings): no model promoted yet. "
                                     "Last 0 training runs:")

    trained = _cli(clean_db, "feed", "train")
    assert trained.returncode == 0, trained.stderr
    assert "insufficient" in trained.stdout and "0 logged impressions, fewer than 1000" in _words(trained.stdout)

    async def add(db: AsyncSession) -> None:
        db.add(FeedModel(trained_at=datetime(2026, 12, 6, 1, 30, tzinfo=UTC), status="promoted",
                         feature_names=list(FEATURES), coefficients=[0.5 * i for i in range(len(FEATURES))],
                         importances=[1.0 / len(FEATURES)] * len(FEATURES), train_examples=4000,
                         validation_examples=1000, positives=900, val_ndcg=0.61234, hand_val_ndcg=0.55,
                         val_auc=0.7, hand_val_auc=0.65, note=""))
        await db.flush()

    db_run(add)
    after = _cli(clean_db, "feed", "model")
    assert after.returncode == 0, after.stderr
    lines = after.stdout.splitlines()
    assert lines[0] == ("In use: model #2 promoted, trained 2026-12-06 01:30:00 UTC on 4000 examples, validated "
                        "on 1000 (900 positives in all): validation NDCG 0.6123 (hand weights 0.5500), AUC 0.7000 "
                        "(hand weights 0.6500)")
    assert lines[1].split() == ["Feature", "coefficient", "importance"]
    assert lines[2].split() == ["affinity", "0.0000", "11.1%"]
    assert lines[10].split() == ["shoppable", "4.0000", "11.1%"]
    assert lines[11] == "Last 2 training runs:"
    assert lines[12].startswith("  #2 promoted") and lines[13].startswith("  #1 insufficient")
