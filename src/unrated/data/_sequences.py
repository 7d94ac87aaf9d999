"""The ``sequences`` format: one customer per line, their item ids in order (SASRec's files).

Each line holds one customer's item ids, oldest first, separated by spaces or tabs (the
format of SASRec's, BERT4Rec's and gSASRec's data sets, such as ``train_sequences.txt``). It
reads as a table ``user_id, item_id, position``: the user id is the line number (from 1, as
text), ids stay text as written, the position counts from 0 within a line. A blank line is a
customer without items. Errors name the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from unrated.data._cells import Places
from unrated.data._spool import Input
from unrated.data._text import _scan
from unrated.errors import DataError

#: The layouts the readers know: columns with a header, or sequences.
FORMATS = ("table", "sequences")


def is_sequences(format: str, source: Any = None) -> bool:
    """True for ``"sequences"``, False for ``"table"``; a DataError for anything else.

    Sequences come from a file: another ``source`` (a frame, a database) is refused.
    """
    if format not in FORMATS:
        raise DataError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if format == "sequences" and source is not None and not isinstance(source, str | Path):
        raise DataError(f"the sequences format reads a file, not a {type(source).__name__}")
    return format == "sequences"


def sequences_frame(source: Input) -> tuple[pl.DataFrame, Places]:
    """The rows of a sequences file, and their places (each row's line)."""
    _scan(source)  # NUL bytes, non-UTF-8 text, overlong lines, memory
    text = source.local.read_bytes().decode("utf-8").removeprefix("\ufeff")
    lines = pl.Series("line", text.split("\n"))
    tokens = lines.str.extract_all(r"[^\s]+")
    frame = pl.DataFrame(
        {
            "user_id": pl.int_range(1, len(lines) + 1, eager=True).cast(pl.String),
            "item_id": tokens,
            "position": pl.int_ranges(0, tokens.list.len(), eager=True),
        }
    ).explode("item_id", "position")
    frame = frame.filter(pl.col("item_id").is_not_null())
    if frame.height == 0:
        raise DataError("no item ids: every line is blank", path=str(source.path))
    records = frame["user_id"].cast(pl.Int64).to_numpy() - 1  # 0-based lines
    return frame, Places(str(source.path), records=records)
