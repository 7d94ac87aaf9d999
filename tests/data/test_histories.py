"""read_histories: each user's rows as one history, in order; messy files named by line."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from unrated.data.histories import Histories, read_histories
from unrated.data.ids import IdIndex


def listed(histories: Histories) -> list[tuple[str, list[str]]]:
    items = histories.items[histories.item_codes]
    bounds = histories.starts.tolist()
    return [
        (str(user), [str(i) for i in items[a:b]])
        for user, a, b in zip(histories.user_ids.tolist(), bounds[:-1], bounds[1:], strict=True)
    ]


def write(tmp_path: Path, text: str, name: str = "h.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_rows_sorted_by_position_ties_in_file_order_users_by_first_row(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,item_id,position\nb,x,5\na,y,3\nb,y,1\na,z,3\na,x,1\n")
    assert listed(read_histories(path)) == [("b", ["y", "x"]), ("a", ["x", "y", "z"])]
    # file order when asked, or when there is no order column
    assert listed(read_histories(path, order_col="")) == [("b", ["x", "y"]), ("a", ["y", "z", "x"])]
    plain = write(tmp_path, "user_id,item_id\nb,x\na,y\nb,y\n", "plain.csv")
    assert listed(read_histories(plain)) == [("b", ["x", "y"]), ("a", ["y"])]


def test_a_time_column_orders_and_a_position_column_wins_over_it(tmp_path: Path) -> None:
    dates = write(tmp_path, "customer,sku,date\nc,p,2024-03-02\nc,q,2024-01-05\nc,r,2024-02-01\n")
    assert listed(read_histories(dates)) == [("c", ["q", "r", "p"])]
    both = write(tmp_path, "user_id,item_id,timestamp,pos\nc,p,1,2\nc,q,2,1\n", "both.csv")
    assert listed(read_histories(both)) == [("c", ["q", "p"])]
    assert listed(read_histories(both, order_col="timestamp")) == [("c", ["p", "q"])]


def test_two_position_columns_are_ambiguous(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,item_id,position,seq\nc,p,1,2\n")
    with pytest.raises(ur.DataError) as error:
        read_histories(path)
    assert str(error.value) == (
        f"{path}: 2 columns could be the order column: 'position', 'seq'; name the one to use "
        "with --order-col (or --order-col '' for none)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "user_id,item_id,position\nc,p,1\nc,q,soon\n",
            "h.csv:3 (column 'position'): expected a number or an ISO date/time, got 'soon'",
        ),
        (
            "user_id,item_id\nc,p\n,q\n",
            "h.csv:3 (column 'user_id'): expected an id, the cell is empty; "
            "--clean drops rows without one (guest checkouts)",
        ),
        ("user_id,item_id\n", "h.csv: no histories: the file has a header but no rows"),
        (
            "visitor,item_id\nc,p\n",
            "h.csv: no user column found; columns found: visitor, item_id; name one with "
            "--user-col (recognised names: user_id, user, userid, customer_id, customer, "
            "customerid, ...)",
        ),
    ],
)
def test_a_bad_file_is_one_error_naming_line_column_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    write(tmp_path, text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ur.DataError) as error:
        read_histories("h.csv")
    assert str(error.value) == message


def test_clean_drops_guests_and_returns_in_one_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,item_id,quantity\nc,p,1\n,q,1\nc,r,-1\nd,s,2\n")
    with pytest.warns(ur.DataWarning) as caught:
        histories = read_histories(path, clean=True)
    assert [str(w.message) for w in caught] == [
        f"{path}: 2 of 4 rows dropped: 1 without a user_id (guest checkouts); "
        "1 with a negative quantity (returns, cancellations)"
    ]
    assert listed(histories) == [("c", ["p"]), ("d", ["s"])]


def test_unknown_items_are_skipped_and_counted_in_one_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,item_id\nc,p\nc,new\nd,new\nd,q\nd,odd\ne,odd\n")
    histories = read_histories(path)
    with pytest.warns(ur.DataWarning) as caught:
        positions = histories.fold(IdIndex(np.array(["p", "q"], dtype=object)))
    assert [str(w.message) for w in caught] == [
        f"{path}: 4 of 6 lines skipped: their items are unknown to the model (2: 'new', 'odd')"
    ]
    assert positions.tolist() == [0, -1, -1, 1, -1, -1]
    assert histories.users_without(positions).tolist() == ["e"]
    assert [line.tolist() for line in histories.known(positions, range(3))] == [[0], [1], []]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every item known: no warning
        read_histories(write(tmp_path, "user_id,item_id\nc,p\n", "ok.csv")).fold(
            IdIndex(np.array(["p"], dtype=object))
        )


def test_sequences_one_user_per_line_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "s.txt.gz"
    path.write_bytes(gzip.compress(b"3 1 2\n\n7\t3  9\n"))
    assert listed(read_histories(path, format="sequences")) == [
        ("1", ["3", "1", "2"]),
        ("3", ["7", "3", "9"]),
    ]
    data = ur.read_interactions(path, format="sequences")
    assert data.events is not None and data.events.time is not None
    assert data.users.take(data.events.user).tolist() == ["1", "1", "1", "3", "3", "3"]
    assert data.items.take(data.events.item).tolist() == ["3", "1", "2", "7", "3", "9"]
    assert data.events.time.tolist() == [0, 1, 2, 0, 1, 2]  # the position is the time
    with pytest.raises(ur.DataError, match="the sequences format reads a file, not a DataFrame"):
        ur.read_interactions(pl.DataFrame({"user_id": [1], "item_id": [2]}), format="sequences")


def test_sequences_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_bytes(b"1 2\n3 \x00\n")
    with pytest.raises(ur.DataError, match=r"s\.txt:2: binary data \(a NUL byte\)"):
        read_histories(path, format="sequences")
    path.write_bytes(b"\n \n")
    with pytest.raises(ur.DataError, match=r"s\.txt: no item ids: every line is blank$"):
        ur.read_interactions(path, format="sequences")
    with pytest.raises(ur.DataError, match="unknown format 'lines'; choose one of table, seq"):
        read_histories(path, format="lines")


def test_numbers_and_a_word_in_a_time_column_name_the_word(tmp_path: Path) -> None:
    """No date format fits 'soon' (polars cannot even guess one): still a one-line error."""
    path = write(tmp_path, "user_id,item_id,timestamp\nc,p,1\nc,q,soon\n")
    expected = f"{path}:3 (column 'timestamp'): expected a number or an ISO date/time, got 'soon'"
    for read in (read_histories, ur.read_interactions):
        with pytest.raises(ur.DataError) as error:
            read(path)
        assert str(error.value) == expected
