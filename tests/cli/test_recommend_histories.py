"""``unrated recommend MODEL --histories FILE``: new visitors' lists, by the file's user ids."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated.cli._histories
from tests.cli.conftest import CliRun
from unrated.modelfile import load_model

# popular scores: x 3 users, y 2, w and z 1 (c bought z twice: users count, not rows); ties
# go to the first item in the model's order (w before z)
DATA = "user_id,item_id\na,x\nb,x\nc,x\na,y\nb,y\nc,z\nc,z\nd,w\n"
HISTORIES = "user_id,item_id,position\nnew1,y,1\nnew1,x,0\nnew2,z,0\nnew2,ghost,1\n"


def rows(text: str) -> list[tuple[str | None, ...]]:
    return [tuple(r) for r in pl.read_csv(io.StringIO(text), infer_schema=False).rows()]


@pytest.fixture
def files(cli: CliRun, tmp_path: Path) -> Path:
    (tmp_path / "d.csv").write_text(DATA)
    (tmp_path / "h.csv").write_text(HISTORIES)
    cli("fit", "d.csv", "--model", "popular", "--out", "popular.unrated")
    cli("fit", "d.csv", "--model", "item-knn", "--out", "knn.unrated")
    return tmp_path


def test_each_users_rows_are_one_new_visitor_in_the_files_ids(cli: CliRun, files: Path) -> None:
    result = cli("recommend", "popular.unrated", "--histories", "h.csv", "-k", "2")
    assert rows(result.stdout) == [
        ("new1", "w", "1", "1.0"),
        ("new1", "z", "2", "1.0"),
        ("new2", "x", "1", "3.0"),
        ("new2", "y", "2", "2.0"),
    ]
    assert result.stderr == (
        "warning: h.csv: 1 of 4 lines skipped: their items are unknown to the model (1: 'ghost')\n"
    )


def test_the_lists_are_recommend_history_of_the_ordered_rows(cli: CliRun, files: Path) -> None:
    cli("recommend", "knn.unrated", "--histories", "h.csv", "-k", "3", "--out", "r.csv")
    written = pl.read_csv(files / "r.csv", infer_schema=False)
    expected = load_model(files / "knn.unrated").recommend_history([["x", "y"], ["z"]], k=3)
    frame = expected.to_frame().with_columns(
        pl.col("history").replace_strict({0: "new1", 1: "new2"}).alias("user_id")
    )
    assert written["user_id"].to_list() == frame["user_id"].to_list()
    assert written["item_id"].to_list() == frame["item_id"].to_list()
    np.testing.assert_array_equal(written["score"].cast(pl.Float32), frame["score"])


def test_rules_apply_as_for_known_users(cli: CliRun, files: Path) -> None:
    def listed(*options: str) -> list[tuple[str, str]]:
        out = cli("recommend", "popular.unrated", "--histories", "h.csv", *options).stdout
        return [(r[0], r[1]) for r in rows(out)]

    assert listed("--exclude", "w", "-k", "1") == [("new1", "z"), ("new2", "x")]
    assert listed("--only", "x", "--only", "y") == [("new2", "x"), ("new2", "y")]
    assert listed("--include-seen", "-k", "1") == [("new1", "x"), ("new2", "x")]
    (files / "items.csv").write_text("item_id,shelf\nx,top\ny,low\nz,low\nw,top\n")
    cli("fit", "d.csv", "--model", "popular", "--items", "items.csv", "--out", "shelf.unrated")
    out = cli("recommend", "shelf.unrated", "--histories", "h.csv", "--where", "shelf=low").stdout
    assert [r[:2] for r in rows(out)] == [("new1", "z"), ("new2", "y")]


def test_a_history_of_unknown_items_needs_the_fallback(cli: CliRun, files: Path) -> None:
    (files / "h.csv").write_text("user_id,item_id\nnew1,x\nlost,ghost\nlost,ghost2\n")
    error = cli("recommend", "popular.unrated", "--histories", "h.csv", expect=2).stderr
    assert error.splitlines()[-1] == (
        "error: h.csv: 1 history has no item the model knows (users 'lost'); "
        "--fallback-popular gives them the most popular items"
    )
    out = cli(
        "recommend", "popular.unrated", "--histories", "h.csv", "--fallback-popular", "-k", "2"
    ).stdout
    assert rows(out) == [
        ("new1", "y", "1", "2.0", None),
        ("new1", "w", "2", "1.0", None),
        ("lost", "x", "1", "3.0", "popular"),
        ("lost", "y", "2", "2.0", "popular"),
    ]


def test_chunks_stream_one_file_with_one_header(
    cli: CliRun, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = "user_id,item_id\n" + "".join(f"v{n},{'xyzw'[n % 4]}\n" for n in range(25))
    (files / "many.csv").write_text(many)
    whole = cli("recommend", "knn.unrated", "--histories", "many.csv").stdout
    monkeypatch.setattr(unrated.cli._histories, "CHUNK_ROWS", 30)  # 3 users a chunk at -k 10
    assert cli("recommend", "knn.unrated", "--histories", "many.csv").stdout == whole
    assert whole.count("user_id") == 1 and len(rows(whole)) == 25 * 3
    for name in ("r.csv", "r.tsv", "r.parquet"):
        result = cli("recommend", "knn.unrated", "--histories", "many.csv", "--out", name)
        assert result.stdout == f"wrote 75 rows for 25 users → {name}\n"
    assert pl.read_csv(files / "r.csv").equals(pl.read_csv(io.StringIO(whole)))
    assert pl.read_csv(files / "r.tsv", separator="\t").equals(pl.read_csv(files / "r.csv"))
    parquet = pl.read_parquet(files / "r.parquet")
    assert parquet.schema["rank"] == pl.Int32 and len(parquet) == 75


def test_a_failed_run_leaves_the_old_file(cli: CliRun, files: Path) -> None:
    (files / "r.csv").write_text("old\n")
    (files / "h.csv").write_text("user_id,item_id\nnew1,x\nlost,ghost\n")
    cli("recommend", "popular.unrated", "--histories", "h.csv", "--out", "r.csv", expect=2)
    assert (files / "r.csv").read_text() == "old\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "user_id,item_id,position\nnew1,x,0\nnew1,y,later\n",
            "error: h.csv:3 (column 'position'): expected a number or an ISO date/time, "
            "got 'later'",
        ),
        (
            "user_id,item_id\nnew1,x\nnew2,\n",
            "error: h.csv:3 (column 'item_id'): expected an id, the cell is empty; --clean "
            "drops rows without one (guest checkouts)",
        ),
        ("user_id,item_id\n", "error: h.csv: no histories: the file has a header but no rows"),
    ],
)
def test_a_bad_file_is_one_line_and_exit_2(
    cli: CliRun, files: Path, text: str, message: str
) -> None:
    (files / "h.csv").write_text(text)
    assert cli("recommend", "popular.unrated", "--histories", "h.csv", expect=2).stderr == (
        message + "\n"
    )


def test_clean_counts_the_dropped_rows_in_one_warning(cli: CliRun, files: Path) -> None:
    (files / "h.csv").write_text("user_id,item_id,qty\nnew1,x,1\n,y,1\nnew1,z,-1\n")
    result = cli("recommend", "popular.unrated", "--histories", "h.csv", "--clean", "-k", "1")
    assert rows(result.stdout) == [("new1", "y", "1", "2.0")]
    assert result.stderr == (
        "warning: h.csv: 2 of 3 rows dropped: 1 without a user_id (guest checkouts); "
        "1 with a negative qty (returns, cancellations)\n"
    )


def test_sequences_and_named_columns(cli: CliRun, files: Path) -> None:
    (files / "s.txt").write_text("y x\n\nz\n")
    out = cli(
        "recommend", "popular.unrated", "--histories", "s.txt", "--format", "sequences", "-k", "1"
    ).stdout
    assert rows(out) == [("1", "w", "1", "1.0"), ("3", "x", "1", "3.0")]
    (files / "o.csv").write_text("who,what,step,when\nv,x,2,1\nv,y,1,2\n")
    named = ["--user-col", "who", "--item-col", "what", "--order-col", "when"]
    cli("recommend", "knn.unrated", "--histories", "o.csv", *named, "-k", "1")


ONE_OF = "give --histories FILE, --user ID or --all: one of them"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--all", "--histories", "h.csv"], ONE_OF),
        (["--user", "a", "--histories", "h.csv"], ONE_OF),
        (["--all", "--order-col", "position"], "--order-col is for --histories FILE"),
        (["--all", "--format", "sequences"], "--format is for --histories FILE"),
        (["--all", "--clean"], "--clean is for --histories FILE"),
        (
            ["--histories", "h.csv", "--out", "duckdb:///r.db", "--table", "t"],
            "--histories writes a file or standard output, not --table",
        ),
        (["--histories", "missing.csv"], "missing.csv: file not found"),
        (
            ["--histories", "h.csv", "--format", "lines"],
            "unknown format 'lines'; choose one of table, sequences",
        ),
    ],
)
def test_usage_errors(cli: CliRun, files: Path, args: list[str], message: str) -> None:
    assert cli("recommend", "popular.unrated", *args, expect=2).stderr == f"error: {message}\n"


@pytest.mark.slow  # a tiny sasrec fit: 6 s
def test_sasrec_reads_each_history_in_the_order_columns_order(cli: CliRun, tmp_path: Path) -> None:
    """Rows shuffled in the file, ordered by position: the lists of the ordered sequences."""
    pytest.importorskip("torch")
    from tests.models.test_sasrec import FAST, N_ITEMS
    from unrated.modelfile import save_model
    from unrated.models.sasrec import SASRec

    rng = np.random.default_rng(0)
    walks = [(u, (s + t) % N_ITEMS, t) for u, s in enumerate(rng.integers(0, N_ITEMS, 60))
             for t in range(int(rng.integers(3, 7)))]  # fmt: skip
    chain = pl.DataFrame(walks, schema=["user_id", "item_id", "timestamp"], orient="row")
    model = SASRec(**FAST, loss="softmax", epochs=15, learning_rate=0.01).fit(chain, progress=False)
    save_model(model, tmp_path / "s.unrated")
    sequences = [[(s + t) % N_ITEMS for t in range(3)] for s in range(N_ITEMS)]
    lines = [
        (f"v{s}", item, t) for s, items in enumerate(sequences) for t, item in enumerate(items)
    ]
    shuffled = [lines[i] for i in rng.permutation(len(lines))]
    pl.DataFrame(shuffled, schema=["user_id", "item_id", "position"], orient="row").write_csv(
        tmp_path / "h.csv"
    )
    command = ("recommend", "s.unrated", "--histories", "h.csv", "-k", "5")
    out = pl.read_csv(io.StringIO(cli(*command).stdout))
    expected = model.recommend_history(sequences, k=5)
    order = {f"v{s}": s for s in range(N_ITEMS)}  # users in the order they first appear
    out = out.sort(pl.col("user_id").replace_strict(order), "rank")
    assert out["item_id"].to_list() == expected.item_ids.ravel().tolist()
    np.testing.assert_allclose(out["score"].to_numpy(), expected.scores.ravel(), rtol=1e-5)
    assert cli(*command, "--order-col", "").stdout != cli(*command).stdout  # file order differs
