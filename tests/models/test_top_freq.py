"""top-freq: own purchase frequency first (optionally decayed), then the shop's bestsellers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import unrated as ur
from unrated.data.decay import decay

DAY = 86_400
#: a buys x three times (day 0) and y once (day 10); b buys y twice and z; c buys z and w.
LOG = f"""user_id,item_id,timestamp
a,x,0
a,x,0
a,x,0
a,y,{10 * DAY}
b,y,{1 * DAY}
b,y,{2 * DAY}
b,z,{3 * DAY}
c,z,{4 * DAY}
c,w,{5 * DAY}
"""


@pytest.fixture
def log(tmp_path: Path) -> ur.Interactions:
    path = tmp_path / "log.csv"
    path.write_text(LOG, encoding="utf-8")
    return ur.read_interactions(path)


def test_own_frequency_then_popular_fill(log: ur.Interactions) -> None:
    model = ur.MODELS["top-freq"]().fit(log)  # totals: x 3, y 3, z 2, w 1
    again = model.recommend(["a", "b"], k=4, exclude_seen=False)
    assert again.item_ids.tolist() == [["x", "y", "z", "w"], ["y", "z", "x", "w"]]
    np.testing.assert_allclose(again.scores[0], [2, 1 + 1 / 3, 2 / 4, 1 / 4], rtol=1e-6)
    np.testing.assert_allclose(again.scores[1], [2, 1 + 1 / 2, 3 / 4, 1 / 4], rtol=1e-6)
    new = model.recommend(["a", "c"], k=2)  # the default leaves out what they bought
    assert new.item_ids.tolist() == [["z", "w"], ["x", "y"]]


def test_recent_purchases_first_with_a_half_life(log: ur.Interactions) -> None:
    model = ur.MODELS["top-freq"]().fit(decay(log, 5.0))
    # a's x: 3 lines 10 days (two half-lives) before the newest: 3/4; y: 1 (day 10)
    again = model.recommend("a", k=2, exclude_seen=False)
    assert again.item_ids.tolist() == [["y", "x"]]
    np.testing.assert_allclose(again.scores[0], [2, 1.75], rtol=1e-6)


def test_fold_in_equals_recommend(log: ur.Interactions) -> None:
    model = ur.MODELS["top-freq"]().fit(log)
    folded = model.recommend_history([{"x": 3, "y": 1}], k=4, exclude_seen=False)
    known = model.recommend("a", k=4, exclude_seen=False)
    assert folded.item_ids.tolist() == known.item_ids.tolist()
    np.testing.assert_array_equal(folded.scores, known.scores)
