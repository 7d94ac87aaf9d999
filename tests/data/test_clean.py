"""Shop exports as they come: float-looking ids, guests, returns and cancellations, names."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import unrated as ur

#: A small export shaped like UCI Online Retail (float customer ids, a guest checkout, a
#: cancellation invoice C…, a return without invoice prefix, a partial return).
EXPORT = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART ,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536366,85123A,WHITE HANGING HEART,2,2010-12-02 09:00:00,2.55,13047.0,United Kingdom
536367,22633,HAND WARMER UNION JACK,4,2010-12-02 10:00:00,1.85,,United Kingdom
C536368,71053,WHITE METAL LANTERN,-6,2010-12-03 11:00:00,3.39,17850.0,United Kingdom
536369,85123A,WHITE HANGING HEART,10,2010-12-04 12:00:00,2.55,13047.0,United Kingdom
C536370,85123A,WHITE HANGING HEART,-3,2010-12-05 12:00:00,2.55,13047.0,United Kingdom
536371,22633,,-5,2010-12-05 13:00:00,0.0,,United Kingdom
536372,22633,HAND WARMER UNION JACK,0,2010-12-06 13:00:00,1.85,13047.0,United Kingdom
536373,71053,WHITE METAL LANTERN,1,2010-12-07 13:00:00,3.39,12583.0,France
"""


def write(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_export_read_with_clean_counts_every_dropped_row(tmp_path: Path) -> None:
    with pytest.warns(ur.DataWarning) as caught:
        data = ur.read_interactions(write(tmp_path, EXPORT), clean=True)
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 'export.csv'}: 6 of 10 rows dropped: "
        "2 without a CustomerID (guest checkouts); "
        "2 with a negative Quantity (returns, cancellations); 1 with Quantity 0; "
        "1 bought and then returned in full (netted out)"
    ]
    assert data.columns is not None
    assert str(data.columns) == (
        "user=CustomerID, item=StockCode, time=InvoiceDate, weight=Quantity, "
        "basket=InvoiceNo, item names=Description (ignored: UnitPrice, Country)"
    )
    assert data.users.ids.tolist() == ["12583", "13047", "17850"]  # 17850.0 -> 17850
    assert data.items.ids.tolist() == ["71053", "85123A"]  # text ids stay text
    # 17850's lantern was returned in full; 13047 returned 3 of 12 hearts and keeps them
    assert data.matrix.toarray().tolist() == [[1, 0], [0, 12], [0, 6]]
    assert data.item_names is not None
    assert data.item_names.tolist() == ["WHITE METAL LANTERN", "WHITE HANGING HEART"]
    events = data.events
    assert events is not None and events.basket_ids is not None
    assert events.basket_ids.tolist() == ["536373", "536366", "536369", "536365"]


def test_export_without_clean_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(
        ur.DataError,
        match=r"export\.csv:5 \(column 'CustomerID'\): expected an id, the cell is empty; "
        r"--clean drops rows without one \(guest checkouts\)",
    ):
        ur.read_interactions(write(tmp_path, EXPORT))
    no_guests = "\n".join(
        line for line in EXPORT.splitlines() if not line.endswith(",,United Kingdom")
    )
    with pytest.raises(
        ur.DataError, match=r":5 \(column 'Quantity'\): .*-6'; --clean drops returns"
    ):
        ur.read_interactions(write(tmp_path, no_guests + "\n"))


def test_nothing_usable_is_an_error(tmp_path: Path) -> None:
    text = "user_id,item_id,quantity\n,a,1\nu,b,-1\nv,,2\n"
    with pytest.raises(
        ur.DataError,
        match=r"no purchase left: all 3 rows dropped \(1 without a user_id \(guest checkouts\); "
        r"1 without a item_id; 1 with a negative quantity \(returns, cancellations\)\)",
    ):
        ur.read_interactions(write(tmp_path, text), clean=True)


def test_clean_keeps_a_clean_file_silent(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,item_id\na,x\nb,y\n")
    data = ur.read_interactions(path, clean=True)  # warnings are errors in the test suite
    assert data.nnz == 2


def test_float_looking_ids_in_a_frame_and_a_parquet_file(tmp_path: Path) -> None:
    frame = pl.DataFrame({"user_id": [17850.0, None, 13047.0], "item_id": ["a", "b", "a"]})
    with pytest.warns(ur.DataWarning, match="1 without a user_id"):
        data = ur.read_interactions(frame, clean=True)
    assert data.users.ids.tolist() == [13047, 17850]
    frame.write_parquet(tmp_path / "f.parquet")
    with pytest.raises(ur.DataError, match=r"f\.parquet:2 \(column 'user_id'\): expected an id"):
        ur.read_interactions(tmp_path / "f.parquet")


def test_mixed_float_and_text_ids_stay_as_written(tmp_path: Path) -> None:
    data = ur.read_interactions(write(tmp_path, "user_id,item_id\n1.0,x\nA1.0,y\n2.50,z\n"))
    assert data.users.ids.tolist() == ["1.0", "2.50", "A1.0"]


def test_clean_finds_returns_by_quantity_when_lines_count_one(tmp_path: Path) -> None:
    with pytest.warns(ur.DataWarning) as caught:
        data = ur.read_interactions(write(tmp_path, EXPORT), clean=True, weight_col="")
    assert "2 with a negative Quantity (returns, cancellations); 1 with Quantity 0; " in str(
        caught[0].message
    )
    assert data.columns is not None and data.columns.weight is None
    assert data.matrix.toarray().tolist() == [[1, 0], [0, 2], [0, 1]]  # lines, not units
