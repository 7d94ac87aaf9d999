"""Every malformed input in tests/data/bad: a correct result, or one clear line and exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import unrated as ur
from tests.counts import count
from unrated._memory import PeakMemory
from unrated.cli import main

BAD = Path(__file__).parent / "bad"

#: file -> (users, items, pairs) that a correct reading gives.
READ_CORRECTLY = {
    "semicolon_in_csv.csv": (2, 2, 2),
    "tab_in_csv.csv": (2, 2, 2),
    "pipe_delimited.txt": (2, 2, 2),
    "bom.csv": (2, 2, 2),
    "crlf.csv": (2, 2, 2),
    "quoted_newline.csv": (2, 2, 2),
    "empty_lines.csv": (2, 2, 2),
    "comma_in_id.csv": (2, 2, 3),
    "unicode_ids.csv": (2, 2, 3),
    "whitespace_ids.csv": (3, 2, 3),  # " 42" and "42 " are kept as written: three users
    "int64_overflow_ids.csv": (3, 2, 3),  # ids beyond int64 are text, as written
    "one_user.csv": (1, 3, 3),
    "one_item.csv": (3, 1, 3),
    "single_interaction_users.csv": (4, 3, 4),
    "trailing_delimiter.csv": (2, 2, 2),
    "quoted_header.csv": (2, 2, 2),
    "good.csv.gz": (500, 7, 500),
    "good.csv.bz2": (500, 7, 500),
    "good.csv.xz": (500, 7, 500),
    "uint64_ids.parquet": (3, 2, 3),  # ids beyond int64 are kept as their decimal text
    "binary_utf8_ids.parquet": (2, 2, 3),
    "decimal_ids.parquet": (2, 2, 2),
    "categorical_ids.parquet": (2, 2, 2),
}

#: file -> the error line (a regular expression; the file name is checked separately).
REFUSED = {
    "latin1.csv": r":2: not UTF-8 text: bytes b'\\xe9",
    "mixed_encoding.csv": r":3: not UTF-8 text",
    "nan_weight.csv": r":3 \(column 'weight'\): expected a finite weight ≥ 0, got 'NaN'",
    "negative_weight.csv": r":3 \(column 'quantity'\): expected a finite weight ≥ 0, got '-3'",
    "huge_weight.csv": r":3 \(column 'count'\): expected a finite weight ≥ 0, got '1e400'",
    "text_weight.csv": r":3 \(column 'weight'\): expected a number \(weight\), got 'two'",
    "decimal_comma_weight.csv": r":2 \(column 'weight'\): expected a number \(weight\), got '1,5'",
    "zero_weights_only.csv": r": no interactions: every weight is 0",
    "empty.csv": r": the file is empty",
    "whitespace_only.csv": r": the file is empty",
    "header_only.csv": r": no interactions: the data has a header but no rows",
    "too_many_fields.csv": r":3: expected 2 fields as in the header, found 3",
    "too_few_fields.csv": r":3 \(column 'item_id'\): expected an id, the cell is empty",
    "empty_id_cell.csv": r":3 \(column 'user_id'\): expected an id, the cell is empty",
    "no_id_columns.csv": r": no item column found; columns found: customer, thing",
    "duplicate_header.csv": r":1: the header names column 'user_id' twice",
    "bad_timestamp.csv": r":3 \(column 'timestamp'\): .*got 'yesterday'",
    "nul_bytes.csv": r":3: binary data \(a NUL byte\): not a text file",
    "png_renamed.csv": r":\d+: binary data \(a NUL byte\): not a text file",
    "unclosed_quote.csv": r":2: a quote opened here is never closed",
    "truncated.csv.gz": r": cannot be read \(Compressed file ended",
    "fractional_ids.parquet": r" \(column 'user_id'\): ids must be strings or integers",
    "list_ids.parquet": r":1 \(column 'user_id'\): ids must be strings or integers, "
    r"not List\(Int64\), got \[1, 2\]",
    "null_id.parquet": r":2 \(column 'user_id'\): expected an id, the cell is empty",
    "string_weight.parquet": r":2 \(column 'weight'\): expected a number \(weight\), got 'lots'",
    "not_parquet.parquet": r": not a readable Parquet file",
    "binary_invalid_utf8_ids.parquet": r":2 \(column 'user_id'\): expected UTF-8 text, "
    r"got b'\\xff\\xfe'",
    "binary_invalid_utf8_weight.parquet": r":2 \(column 'weight'\): expected UTF-8 text, "
    r"got b'2\\xff'",
    "date_ids.parquet": r":2 \(column 'user_id'\): ids must be strings or integers, not Date",
    "struct_ids.parquet": r":1 \(column 'user_id'\): ids must be strings or integers, not Struct",
    "bool_ids.parquet": r":1 \(column 'user_id'\): ids must be strings or integers, not Boolean",
    "infinite_float_ids.parquet": r":2 \(column 'user_id'\): .* infinite numbers, got inf",
    "float_ids_beyond_2_53.parquet": r":2 \(column 'user_id'\): .*not floats beyond 2⁵³",
    "fractional_decimal_ids.parquet": r":2 \(column 'user_id'\): .*not fractional numbers, "
    r"got Decimal\('2.50'\)",
    "list_time.parquet": r":1 \(column 'timestamp'\): expected numbers or dates/times, not List",
    "ambiguous_user_columns.csv": r": 2 columns could be the user column: 'user_id', 'USER_ID'; "
    r"name the one to use with --user-col$",
    "two_user_candidates.csv": r": 2 columns could be the user column: 'customer_id', 'user'",
    "two_weight_candidates.csv": r": 2 columns could be the weight column: 'rating', 'count'; "
    r"name the one to use with --weight-col \(or --weight-col '' for none\)",
    "duplicate_header_after_spaces.csv": r":1: the header names column 'user_id' twice",
    "zstd.csv.zst": r": zstd-compressed, which unrated does not read: decompress it first",
    "truncated.csv.xz": r": cannot be read \(Compressed file ended",
    "png_gzipped.csv.gz": r":3: binary data \(a NUL byte\): not a text file",
}


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(args)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    return code, stderr


def test_the_corpus_is_complete() -> None:
    files = {p.name for p in BAD.iterdir() if p.suffix not in (".py", ".md")}
    assert files == set(READ_CORRECTLY) | set(REFUSED)
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(READ_CORRECTLY))
def test_read_correctly(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    count("inputs: malformed corpus files")
    data = ur.read_interactions(BAD / name)
    assert (data.n_users, data.n_items, data.nnz) == READ_CORRECTLY[name]
    code, stderr = run_cli(
        ["fit", str(BAD / name), "--model", "popular", "--out", str(tmp_path / "m.unrated")], capsys
    )
    assert code == 0, stderr


def test_ids_are_exact(tmp_path: Path) -> None:
    assert ur.read_interactions(BAD / "quoted_newline.csv").users.ids.tolist() == ["a\nb", "c"]
    assert ur.read_interactions(BAD / "comma_in_id.csv").users.ids.tolist() == ["Smith, J.", "b"]
    assert set(ur.read_interactions(BAD / "unicode_ids.csv").items.ids) == {"寿司", "🍣"}
    assert ur.read_interactions(BAD / "whitespace_ids.csv").users.ids.tolist() == [
        " 42",
        "42",
        "42 ",
    ]
    uint64 = ur.read_interactions(BAD / "uint64_ids.parquet").users.ids.tolist()
    assert uint64 == ["18446744073709551615", "5", "9223372036854775808"]
    decimal = ur.read_interactions(BAD / "decimal_ids.parquet").users.ids.tolist()
    assert decimal == ["1000000000000000000000000000000", "7"]
    assert ur.read_interactions(BAD / "binary_utf8_ids.parquet").users.ids.tolist() == [
        "b",
        "café",
    ]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_with_one_clear_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    count("inputs: malformed corpus files")
    out = tmp_path / "m.unrated"
    code, stderr = run_cli(
        ["fit", str(BAD / name), "--model", "popular", "--out", str(out)], capsys
    )
    assert code == 2
    lines = stderr.strip().splitlines()
    lines = [line for line in lines if not line.startswith("warning: ")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"error: {BAD / name}"), lines[0]
    assert re.search(REFUSED[name], lines[0]), lines[0]
    assert not out.exists()


def test_a_gigabyte_line_is_refused_without_reading_it(tmp_path: Path) -> None:
    count("inputs: malformed corpus files")  # generated: 1 GiB on one line
    path = tmp_path / "one_line.csv"
    block = b"x" * (1 << 20)
    with path.open("wb") as handle:
        handle.write(b"user_id,item_id\n")
        for _ in range(1024):
            handle.write(block)
    with (
        PeakMemory() as peak,
        pytest.raises(ur.DataError, match=r"one_line\.csv:2: line longer than"),
    ):
        ur.read_interactions(path)
    assert peak.extra_bytes is not None and peak.extra_bytes < 200 * 2**20
