"""model.update: new purchases, users and items without a full refit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from tests.cli_runner import run_cli
from unrated.data.ids import IdIndex
from unrated.data.merge import merge
from unrated.errors import DataError, NotFittedError
from unrated.modelfile import load_model, save_model

#: Two taste groups of eight customers, each buying five of their group's six products.
OLD = pl.DataFrame(
    [
        (f"c{user}", f"{'ab'[user % 2]}{item}")
        for user in range(16)
        for item in range(6)
        if item != user % 6
    ],
    schema=["user_id", "item_id"],
    orient="row",
)
#: Later: an old customer buys again, a new customer buys two "a" products, a new product.
NEW = pl.DataFrame(
    [("c0", "a0"), ("c0", "a9"), ("c1", "b5"), ("new", "a1"), ("new", "a2"), ("c2", "a9")],
    schema=["user_id", "item_id"],
    orient="row",
)


def test_vocabularies_keep_old_positions_and_append_new_ids() -> None:
    names, at = IdIndex(["x", "y"]).extended(["y", "z", "z", 7], kind="item")
    assert names.ids.tolist() == ["x", "y", "z", "7"] and at.tolist() == [1, 2, 2, 3]
    numbers, at = IdIndex([10, 20]).extended(["20", " 30 ", 40], kind="user")
    assert numbers.ids.tolist() == [10, 20, 30, 40] and at.tolist() == [1, 2, 3]
    with pytest.raises(DataError, match="user id 'abc' is not an integer"):
        IdIndex([10]).extended(["abc"], kind="user")


def test_merge_sums_weights_and_names_what_was_touched() -> None:
    old = ur.read_interactions(OLD)
    merged = merge(old.users, old.items, old.matrix, ur.read_interactions(NEW))
    data = merged.data
    assert (merged.new_users, merged.new_items) == (1, 1)
    assert data.users.ids[: old.n_users].tolist() == old.users.ids.tolist()
    assert data.nnz == old.nnz + 5  # (c0, a0) was bought before: its weight is summed
    c0, a0 = (
        data.users.positions(["c0"], kind="user")[0],
        data.items.positions(["a0"], kind="item")[0],
    )
    assert data.matrix[c0, a0] == old.matrix[c0, a0] + 1
    assert data.users.take(merged.users).tolist() == ["c0", "c1", "c2", "new"]
    assert sorted(data.items.take(merged.items).tolist()) == ["a0", "a1", "a2", "a9", "b5"]


@pytest.mark.parametrize("key", ["ials", "bpr", "mf", "popular", "item-knn", "ease"])
def test_updated_model_knows_the_new_data(key: str, tmp_path: Path) -> None:
    model = ur.make_model(key).fit(OLD, progress=False)
    model.update(NEW, progress=False)
    report = model.info_["update"]
    assert report["how"] == ("partial" if key in ("ials", "bpr", "mf") else "refit")
    assert (report["pairs"], report["new_users"], report["new_items"]) == (6, 1, 1)
    recs = model.recommend(["new", "c0"], k=3)
    assert not {"a1", "a2"} & set(recs.to_frame().filter(pl.col("user_id") == "new")["item_id"])
    assert "a9" not in recs.to_frame().filter(pl.col("user_id") == "c0")["item_id"].to_list()
    path = save_model(model, tmp_path / "m.unrated")
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.recommend(["new"], k=3).scores, recs.scores[:1])
    assert loaded.info_["update"]["how"] == report["how"]


def test_a_refit_update_equals_a_fit_on_everything() -> None:
    updated = ur.ItemKNN().fit(OLD, progress=False).update(NEW, progress=False)
    refit = ur.ItemKNN().fit(pl.concat([OLD, NEW]), progress=False)
    users = refit.users_.ids.tolist()
    assert updated.recommend(users, k=4).item_idx.shape == (len(users), 4)
    mine, theirs = updated.recommend(users, k=4).to_frame(), refit.recommend(users, k=4).to_frame()
    assert mine.select("user_id", "item_id").equals(theirs.select("user_id", "item_id"))


def test_ials_update_solves_what_the_new_pairs_touch_and_nothing_else() -> None:
    """The new pairs' users and items move; the other users and items keep their vectors."""
    apart = pl.DataFrame(  # a third group: no customer of the new pairs has its products
        [(f"z{user}", f"z{item}") for user in range(4) for item in range(5) if item != user],
        schema=["user_id", "item_id"],
        orient="row",
    )
    model = ur.IALS(factors=8, seed=0).fit(pl.concat([OLD, apart]), progress=False)
    users, items = model.user_factors_.copy(), model.item_factors_.copy()
    model.update(NEW, progress=False)
    user_at = model.users_.positions(["c0", "c2", "c3", "z0"], kind="user")
    item_at = model.items_.positions(["a1", "b5", "b0", "z0"], kind="item")
    moved = np.abs(model.item_factors_[item_at] - items[item_at]).max(axis=1)
    assert moved[0] > 1e-3 and moved[1] > 1e-3 and not moved[2:].any(), moved  # b0: c1's
    moved = np.abs(model.user_factors_[user_at] - users[user_at]).max(axis=1)
    assert moved[0] > 1e-3 and moved[1] > 1e-3 and not moved[2:].any(), moved
    recs = model.recommend(["new"], k=3).to_frame()["item_id"].to_list()
    assert all(item.startswith("a") for item in recs), recs  # their group's, from 2 purchases


def test_ials_update_is_near_a_refit_on_real_data(ml100k_path: Path) -> None:
    frame = pl.read_csv(ml100k_path).sort("timestamp")
    cut, end = int(len(frame) * 0.8), int(len(frame) * 0.9)
    first, later = frame[:cut], frame[cut:end]
    split = ur.split_by_time(
        ur.read_interactions(frame[:end].vstack(frame[end:])), cutoff=float(frame["timestamp"][end])
    )
    updated = ur.IALS().fit(first, progress=False).update(later, progress=False)
    refit = ur.IALS().fit(frame[:end], progress=False)
    before = ur.IALS().fit(first, progress=False)
    ndcg = {
        name: ur.evaluate(model, split, k=20).summary()["ndcg@20"]
        for name, model in (("updated", updated), ("refit", refit), ("before", before))
    }
    # measured 0.2292 against 0.2315 (-1.0%); one round of the update fell 5.6% behind
    assert ndcg["updated"] > ndcg["before"] and ndcg["updated"] >= 0.97 * ndcg["refit"], ndcg


def test_names_of_new_items_come_from_the_new_data() -> None:
    model = ur.Popular().fit(OLD, progress=False)
    named = NEW.with_columns(product_name=pl.col("item_id") + " (new)")
    model.update(ur.read_interactions(named), progress=False)
    assert model.item_names_ is not None
    at = model.items_.positions(["a9", "a0"], kind="item")
    assert model.item_names_[at].tolist() == ["a9 (new)", ""]


def test_update_needs_a_fitted_model_and_new_pairs() -> None:
    with pytest.raises(NotFittedError):
        ur.Popular().update(NEW)
    with pytest.raises(DataError, match="no interactions"):
        ur.Popular().fit(OLD).update(NEW.clear())


def test_cli_update_writes_a_new_file_and_refuses_bad_data(tmp_path: Path) -> None:
    OLD.write_csv(tmp_path / "old.csv")
    NEW.write_csv(tmp_path / "new.csv")
    (tmp_path / "bad.csv").write_text("user_id,item_id\nc1\n")
    assert (
        run_cli("fit", "old.csv", "--model", "ials", "--out", "m.unrated", cwd=tmp_path).returncode
        == 0
    )
    done = run_cli("update", "m.unrated", "new.csv", "--out", "m2.unrated", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "updated m.unrated (partial) with 6 pairs (1 new users, 1 new items)" in done.stdout
    assert load_model(tmp_path / "m2.unrated").recommend(["new"], k=2).item_idx.shape == (1, 2)
    failed = run_cli("update", "m.unrated", "bad.csv", "--out", "m3.unrated", cwd=tmp_path)
    assert failed.returncode == 2 and failed.stderr.startswith("error: ")
    assert "bad.csv:2" in failed.stderr and not (tmp_path / "m3.unrated").exists()


def test_new_items_get_no_attribute_values_and_rules_still_apply() -> None:
    model = ur.Popular().fit(OLD, progress=False)
    count = len(model.items_)
    model.set_item_attributes(
        {"shelf": np.array(["top"] * count, dtype=object), "price": np.arange(count, dtype=float)}
    )
    model.update(NEW, progress=False)
    assert model.item_attributes_ is not None
    assert model.item_attributes_["shelf"][-1] == "" and np.isnan(
        model.item_attributes_["price"][-1]
    )
    listed = model.recommend(["new"], k=20, where=["shelf=TOP"]).to_frame()["item_id"].to_list()
    assert listed and "a9" not in listed


def test_an_interrupted_update_leaves_the_model_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C inside the solver (after iALS grew its tables) undoes everything, ids included."""
    from unrated.models import ials

    model = ur.IALS(factors=8, seed=0).fit(OLD, progress=False)
    before = model.recommend(["c0", "c1"], k=3)
    tables = (model.user_factors_.copy(), model.item_factors_.copy())
    fingerprint, n_items = model.trained_on_, len(model.items_)

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ials.kernels, "gramian", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.update(NEW, progress=False)
    monkeypatch.undo()
    assert len(model.items_) == n_items == len(model.item_factors_)
    assert model.trained_on_ == fingerprint and "update" not in model.info_
    np.testing.assert_array_equal(model.user_factors_, tables[0])
    np.testing.assert_array_equal(model.item_factors_, tables[1])
    after = model.recommend(["c0", "c1"], k=3)
    np.testing.assert_array_equal(after.scores, before.scores)
    model.update(NEW, progress=False)  # and it can still take the data in
    assert len(model.items_) == n_items + 1
