from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
import scipy.sparse as sp

import unrated as ur


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_string_ids_are_kept_exactly(tmp_path: Path) -> None:
    data = ur.read_interactions(write(tmp_path, "p.csv", "customer_id,sku\n007,A\n7,A\n007,B\n"))
    assert data.users.ids.tolist() == ["007", "7"]
    assert data.items.ids.tolist() == ["A", "B"]
    assert data.matrix.toarray().tolist() == [[1, 1], [1, 0]]


def test_duplicates_are_merged_and_weights_summed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.csv",
        "user,item,quantity,date\na,x,2,2024-01-02\na,x,3,2024-01-01\nb,x,1,2024-02-01\n",
    )
    data = ur.read_interactions(path)
    assert data.nnz == 2
    assert data.matrix.toarray().ravel().tolist() == [5.0, 1.0]
    assert data.times is not None
    assert data.times[0] < data.times[1]  # the merged pair keeps its first time


def test_tsv_semicolon_gzip_and_parquet(tmp_path: Path) -> None:
    expected = [[1.0, 0.0], [1.0, 1.0]]
    tsv = write(tmp_path, "p.tsv", "user_id\titem_id\nu1\ti1\nu2\ti1\nu2\ti2\n")
    semi = write(tmp_path, "p.txt", "user_id;item_id\nu1;i1\nu2;i1\nu2;i2\n")
    gz = tmp_path / "p.csv.gz"
    gz.write_bytes(gzip.compress(b"user_id,item_id\nu1,i1\nu2,i1\nu2,i2\n"))
    parquet = tmp_path / "p.parquet"
    pl.DataFrame({"user_id": ["u1", "u2", "u2"], "item_id": ["i1", "i1", "i2"]}).write_parquet(
        parquet
    )
    for path in (tsv, semi, gz, parquet):
        assert ur.read_interactions(path).matrix.toarray().tolist() == expected, path


def test_frames_and_matrices() -> None:
    frame = pd.DataFrame({"user_id": [10, 20, 20], "item_id": [1, 1, 2]})
    data = ur.read_interactions(frame)
    assert data.users.ids.tolist() == [10, 20]
    assert ur.read_interactions(pl.from_pandas(frame)).matrix.nnz == 3
    matrix = ur.read_interactions(sp.csr_matrix(np.array([[0, 2], [1, 0]])))
    assert matrix.users.ids.tolist() == [0, 1]
    assert matrix.matrix.toarray().tolist() == [[0, 2], [1, 0]]


def test_named_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "a,b,c\nx,1,5\ny,2,6\n")
    data = ur.read_interactions(path, user_col="a", item_col="c", weight_col="b")
    assert data.items.ids.tolist() == ["5", "6"]
    assert data.matrix.data.tolist() == [1.0, 2.0]


def test_missing_file() -> None:
    with pytest.raises(ur.DataError, match="nope.csv: file not found"):
        ur.read_interactions("nope.csv")


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ur.DataError, match="empty"):
        ur.read_interactions(write(tmp_path, "e.csv", ""))


def test_header_only(tmp_path: Path) -> None:
    with pytest.raises(ur.DataError, match="no rows"):
        ur.read_interactions(write(tmp_path, "h.csv", "user_id,item_id\n"))


def test_unrecognised_columns_are_listed(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "who,what\na,b\n")
    with pytest.raises(ur.DataError, match=r"no user column found; columns found: who, what"):
        ur.read_interactions(path)


def test_row_with_too_many_fields_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "user_id,item_id\na,b\nc,d,e\n")
    with pytest.raises(
        ur.DataError, match=r"r\.csv:3: expected 2 fields as in the header, found 3"
    ):
        ur.read_interactions(path)


def test_row_with_too_few_fields_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "user_id,item_id\na,b\nc\n")
    with pytest.raises(
        ur.DataError, match=r"r\.csv:3 \(column 'item_id'\): expected an id, the cell is empty"
    ):
        ur.read_interactions(path)


def test_bad_weight_names_line_column_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "w.csv", "user_id,item_id,weight\na,b,1\nc,d,abc\n")
    with pytest.raises(
        ur.DataError, match=r"w\.csv:3 \(column 'weight'\): expected a number \(weight\), got 'abc'"
    ):
        ur.read_interactions(path)


def test_negative_weight_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "w.csv", "user_id,item_id,weight\na,b,1\nc,d,-2\n")
    with pytest.raises(
        ur.DataError, match=r"w\.csv:3 \(column 'weight'\): expected a finite weight ≥ 0"
    ):
        ur.read_interactions(path)


def test_line_numbers_count_quoted_newlines(tmp_path: Path) -> None:
    path = write(tmp_path, "q.csv", 'user_id,item_id,weight\n"a\nb",x,1\nc,y,oops\n')
    with pytest.raises(ur.DataError, match=r"q\.csv:4 "):
        ur.read_interactions(path)


def test_zero_weights_are_dropped_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "z.csv", "user_id,item_id,count\na,x,0\na,y,2\n")
    with pytest.warns(ur.DataWarning, match="1 rows with weight 0 were dropped"):
        data = ur.read_interactions(path)
    assert data.items.ids.tolist() == ["x", "y"] and data.nnz == 1


def test_unparseable_time(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "user_id,item_id,timestamp\na,x,2024-01-01\nb,y,yesterday\n")
    with pytest.raises(ur.DataError, match=r"t\.csv:3 \(column 'timestamp'\).*'yesterday'"):
        ur.read_interactions(path)


def test_item_names_file(tmp_path: Path) -> None:
    from unrated.data.io import read_item_names

    path = write(tmp_path, "items.csv", "item_id,title,year\n1,Toy Story,1995\n2,Heat,1995\n")
    assert read_item_names(path) == {"1": "Toy Story", "2": "Heat"}


def test_ml100k_reads_with_ratings_as_weights(ml100k: ur.Interactions) -> None:
    assert (ml100k.n_users, ml100k.n_items, ml100k.nnz) == (943, 1682, 100_000)
    assert set(np.unique(ml100k.matrix.data).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}


def test_a_position_column_is_the_order_when_there_is_no_time(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "user_id,item_id,position\nu,b,1\nu,a,0\nv,c,0\n")
    data = ur.read_interactions(path)
    assert data.events is not None and data.events.time is not None
    users, items = data.users.take(data.events.user), data.items.take(data.events.item)
    assert list(zip(users.tolist(), items.tolist(), strict=True)) == [
        ("u", "a"),
        ("u", "b"),
        ("v", "c"),
    ]
    timed = write(tmp_path, "t.csv", "user_id,item_id,position,timestamp\nu,b,0,5\nu,a,1,9\n")
    events = ur.read_interactions(timed).events
    assert events is not None and events.time is not None
    assert events.time.tolist() == [5.0, 9.0]  # a time column wins
    assert ur.read_interactions(path, time_col="").events is None
