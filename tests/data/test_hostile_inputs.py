"""Classes of hostile input to the reader: each ends in a correct result or one clear line.

Exact ids of any integer width, any column type, lookups of any text, ambiguous columns,
compressed data that expands without limit, pipes, and messages about hostile names.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import unrated as ur
from tests.cli_runner import run_cli
from tests.counts import count
from unrated._memory import PeakMemory
from unrated.data.ids import IdIndex
from unrated.data.interactions import SourceColumns
from unrated.modelfile import load_model, save_model


@pytest.fixture(autouse=True)
def _counted() -> None:
    count("inputs: hostile data cases (id types, columns, bombs, pipes, names)")


def unrated(
    *args: str | Path, expect: int = 0, env: dict[str, str] | None = None, **options: object
) -> subprocess.CompletedProcess[str]:
    """Run the real command line; never a traceback, always the expected exit code.

    In this process, unless ``options`` for ``subprocess.run`` (stdin) ask for a real one.
    """
    if options:
        result = subprocess.run(
            [sys.executable, "-m", "unrated", *map(str, args)],
            capture_output=True,
            text=True,
            env=os.environ | {"UNRATED_PROGRESS": "0"} | (env or {}),
            timeout=300,
            check=False,
            **options,  # type: ignore[call-overload]
        )
    else:
        result = run_cli(*args, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == expect, (result.returncode, result.stderr)
    return result


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- ids of any integer width come back exactly ----------------------------------------------


@pytest.mark.slow
def test_uint64_ids_above_2_63_come_back_from_recommend_all(tmp_path: Path) -> None:
    users = [2**64 - 1, 2**63, 2**63 - 1, 0]
    table = pa.table(
        {
            "user_id": pa.array([u for u in users for _ in range(2)], pa.uint64()),
            "item_id": pa.array([2**64 - 2, 2**63 + 1] * len(users), pa.uint64()),
        }
    )
    pq.write_table(table, tmp_path / "big.parquet")
    model = tmp_path / "m.unrated"
    unrated("fit", tmp_path / "big.parquet", "--model", "popular", "--out", model)
    out = unrated("recommend", model, "--all", "--include-seen", "-k", "2").stdout
    rows = pl.read_csv(out.encode(), infer_schema=False)
    assert set(rows["user_id"]) == {str(u) for u in users}
    assert set(rows["item_id"]) == {str(2**64 - 2), str(2**63 + 1)}
    assert not any(value.startswith("-") for value in rows["user_id"].to_list())
    one = unrated("recommend", model, "--user", str(2**64 - 1), "--include-seen").stdout
    assert str(2**64 - 2) in one


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ids=st.lists(st.integers(-(2**63), 2**64 - 1), min_size=1, max_size=20, unique=True))
def test_integer_ids_of_any_width_round_trip_exactly(ids: list[int], tmp_path: Path) -> None:
    kind = pa.int64() if max(ids) < 2**63 else pa.uint64() if min(ids) >= 0 else None
    array = pa.array(ids, kind) if kind is not None else pa.array([str(i) for i in ids])
    pq.write_table(pa.table({"user_id": array, "item_id": array}), tmp_path / "ids.parquet")
    data = ur.read_interactions(tmp_path / "ids.parquet")
    got = data.users.ids.tolist()
    assert sorted(int(i) for i in got) == sorted(ids)
    assert all(isinstance(i, int) for i in got) == (max(ids) < 2**63)
    again = IdIndex.from_arrays(data.users.to_arrays())
    assert again == data.users
    assert (data.users.positions(ids, kind="user") >= 0).all()  # ints find decimal text too


@pytest.mark.parametrize(
    ("dtype", "values"),
    [
        (pl.Int8, [-128, 127]),
        (pl.UInt8, [0, 255]),
        (pl.Int16, [-(2**15), 2**15 - 1]),
        (pl.UInt16, [0, 2**16 - 1]),
        (pl.Int32, [-(2**31), 2**31 - 1]),
        (pl.UInt32, [0, 2**32 - 1]),
        (pl.Int64, [-(2**63), 2**63 - 1]),
        (pl.UInt64, [0, 2**63 - 1]),
        (pl.Int128, [-(2**63), 2**63 - 1]),
        (pl.Float32, [-3.0, 2.0**24]),
        (pl.Float64, [-(2.0**53), 2.0**53]),
    ],
)
def test_integer_columns_of_every_width_stay_integers(
    dtype: pl.DataType, values: list[int]
) -> None:
    frame = pl.DataFrame({"user_id": pl.Series(values, dtype=dtype), "item_id": ["x", "y"]})
    ids = ur.read_interactions(frame).users.ids
    assert ids.dtype == np.int64 and ids.tolist() == sorted(int(v) for v in values)


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (pl.Series("user_id", [b"ok", b"\xc3\x28"]), r"expected UTF-8 text, got b'\\xc3\('"),
        (pl.Series("user_id", [[1], [2]]), r"not List\(Int64\), got \[1\]"),
        (pl.Series("user_id", [[1], [2]], dtype=pl.Array(pl.Int64, 1)), r"not Array"),
        (pl.Series("user_id", [{"a": 1}, {"a": 2}]), r"not Struct"),
        (pl.Series("user_id", [True, False]), r"not Boolean"),
        (pl.Series("user_id", [None, None]), r"expected an id, the cell is empty"),
        (pl.Series("user_id", [1.5, 2.0]), r"not fractional or infinite numbers, got 1\.5"),
        (pl.Series("user_id", [1.0, float("nan")]), r"not fractional or infinite numbers"),
        (pl.Series("user_id", [1.0, 2.0**53 + 2]), r"not floats beyond 2⁵³"),
        (pl.Series("user_id", [0, 1]).cast(pl.Datetime("ms")), r"not Datetime"),
        (pl.Series("user_id", [0, 1]).cast(pl.Duration("ms")), r"not Duration"),
        (pl.Series("user_id", [0, 1]).cast(pl.Time), r"not Time"),
    ],
)
def test_id_columns_of_other_types_are_refused_naming_the_cell(
    series: pl.Series, message: str
) -> None:
    frame = pl.DataFrame([series, pl.Series("item_id", ["x", "y"])])
    with pytest.raises(ur.DataError, match=r"^column 'user_id': .*" + message):
        ur.read_interactions(frame)


def test_weight_and_time_columns_of_other_types_are_refused(tmp_path: Path) -> None:
    base = {"user_id": ["a", "b"], "item_id": ["x", "y"]}
    for extra, message in (
        ({"weight": pl.Series([b"1", b"\xff"])}, r"'weight'\): expected UTF-8 text"),
        ({"weight": pl.Series([[1], [2]])}, r"'weight'\): expected numbers \(weight\), not List"),
        ({"timestamp": pl.Series([{"a": 1}, {"a": 2}])}, r"'timestamp'\): expected numbers or"),
        ({"timestamp": pl.Series([0, 1]).cast(pl.Duration("ms"))}, r"'timestamp'\): expected"),
    ):
        pl.DataFrame(base | extra).write_parquet(tmp_path / "w.parquet")
        with pytest.raises(ur.DataError, match=r"w\.parquet:\d \(column " + message):
            ur.read_interactions(tmp_path / "w.parquet")


def test_pandas_frames_that_arrow_cannot_convert_are_a_data_error() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"user_id": [1, "a", 2.5], "item_id": ["x", "y", "z"]})
    with pytest.raises(ur.DataError, match="the pandas DataFrame cannot be read"):
        ur.read_interactions(frame)


# --- any text looked up is known or unknown, never a crash ----------------------------------

lookups = (
    st.text()
    | st.from_regex(r"\s*-?[0-9]{1,40}\s*", fullmatch=True)
    | st.integers(1, 6000).map(lambda n: "1" * n)
    | st.integers(1, 6000).map(lambda n: "0" * n + "42")
)
INT_IDS = [-7, 0, 42, 2**63 - 1]
STR_IDS = ["42", "007", "", " x ", "é", "1" * 5000]


@settings(max_examples=300, deadline=None)
@given(text=lookups)
def test_any_text_is_an_id_or_unknown(text: str) -> None:
    ints = IdIndex(np.array(INT_IDS))
    digits = re.fullmatch(r"\s*(-?)0*([0-9]{1,19})\s*", text, flags=re.ASCII)
    value = int(digits.group(1) + digits.group(2)) if digits else None
    expected = INT_IDS.index(value) if value in INT_IDS else -1
    assert ints.positions([text], kind="user", missing="mark").tolist() == [expected]
    strings = IdIndex(STR_IDS)
    expected = STR_IDS.index(text) if text in STR_IDS else -1
    assert strings.positions([text], kind="user", missing="mark").tolist() == [expected]
    for index in (ints, strings):
        if expected < 0 and index is strings:
            with pytest.raises(ur.UnknownIdError) as error:
                index.positions([text], kind="user")
            assert "\n" not in str(error.value) and len(str(error.value)) < 250


def test_lookups_of_values_that_cannot_be_ids_are_unknown() -> None:
    ints, strings = IdIndex(np.array([1, 2])), IdIndex(["1", "2"])
    odd = [[1], {"a": 1}, None, float("nan"), 10**5000, "٤٢", "1_0", "+1", "0x1", b"1", True]
    for index in (ints, strings):
        assert (index.positions(odd, kind="item", missing="mark") == -1).all()


def test_huge_digit_ids_are_unknown_on_every_lookup_path(tmp_path: Path) -> None:
    frame = pl.DataFrame({"user_id": [1, 1, 2, 3], "item_id": [10, 11, 10, 12]})
    model = ur.make_model("item-knn").fit(ur.read_interactions(frame))
    huge = "1" * 5000
    calls = (
        lambda: model.recommend([huge]),
        lambda: model.recommend(["1", huge]),
        lambda: model.similar_items([huge]),
        lambda: model.explain(huge, "10"),
        lambda: model.explain("1", huge),
        lambda: model.recommend_history([[huge]]),
    )
    for call in calls:
        with pytest.raises(ur.UnknownIdError) as error:
            call()
        assert "… (5,000 characters)" in str(error.value) and len(str(error.value)) < 250
    path = save_model(model, tmp_path / "m.unrated")
    assert load_model(path).recommend(["1"], k=1).item_ids.tolist()
    line = error_line(unrated("recommend", path, "--user", huge, expect=2))
    assert line.startswith("error: ") and len(line) < 300


# --- two columns for one role, one column for two roles --------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_columns_named_by_the_caller_settle_ambiguity(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "user_id,item_id,USER_ID\na,x,b\n")
    assert ur.read_interactions(path, user_col="USER_ID").users.ids.tolist() == ["b"]
    assert ur.read_interactions(path, user_col="user_id").users.ids.tolist() == ["a"]
    with pytest.raises(ur.DataError, match="named for two roles: user and item"):
        ur.read_interactions(path, user_col="user_id", item_col="user_id")
    with pytest.raises(ur.DataError, match="named for two roles: item and weight"):
        ur.read_interactions(path, user_col="USER_ID", item_col="item_id", weight_col="item_id")


def test_a_column_named_for_one_role_is_not_found_for_another(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "user_id,item_id,timestamp,count\na,x,5,2\n")
    data = ur.read_interactions(path, weight_col="timestamp")
    assert data.times is None and data.matrix.data.tolist() == [5.0]
    assert data.columns == SourceColumns("user_id", "item_id", None, "timestamp", ("count",))


def test_the_columns_used_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "u,i,when,qty,other\na,x,2024-01-01,2,z\n")
    data = ur.read_interactions(path, user_col="u", item_col="i")
    assert data.columns == SourceColumns("u", "i", None, "qty", ("when", "other"))
    result = unrated(
        "fit",
        path,
        "--model",
        "popular",
        "--out",
        tmp_path / "m.unrated",
        "--user-col",
        "u",
        "--item-col",
        "i",
    )
    assert "columns: user=u, item=i, time=(none), weight=qty (ignored: when, other)" in (
        result.stderr
    )


def test_duplicate_column_names_in_parquet_and_pandas_are_refused(tmp_path: Path) -> None:
    columns = [pa.array(["a"]), pa.array(["b"]), pa.array(["x"])]
    table = pa.Table.from_arrays(columns, names=["user_id", "user_id", "item_id"])
    pq.write_table(table, tmp_path / "d.parquet")
    with pytest.raises(ur.DataError, match="'user_id' has more than one occurrence"):
        ur.read_interactions(tmp_path / "d.parquet")
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame([["a", "b", "x"]], columns=["user_id", "user_id", "item_id"])
    with pytest.raises(ur.DataError, match="non-unique .*column names"):
        ur.read_interactions(frame)


def test_an_item_names_file_prefers_name_to_description(tmp_path: Path) -> None:
    from unrated.data.io import read_item_names

    path = write(tmp_path, "items.csv", "product_id,description,name\n1,long text,Mug\n")
    assert read_item_names(path) == {"1": "Mug"}
    path = write(tmp_path, "items.csv", "item_id,name,NAME\n1,a,b\n")
    with pytest.raises(ur.DataError, match="2 columns could be the name column"):
        read_item_names(path)


# --- compressed data that expands without limit ----------------------------------------------

ROWS = b"".join(f"u{i % 9973},i{i % 101}\n".encode() for i in range(120_000))  # ~1.3 MiB


def bomb(path: Path, compress: object, members: int) -> Path:
    """Many compressed members of the same valid rows: a small file, a large expansion."""
    member = compress(ROWS)  # type: ignore[operator]
    with path.open("wb") as handle:
        handle.write(compress(b"user_id,item_id\n"))  # type: ignore[operator]
        for _ in range(members):
            handle.write(member)
    return path


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        (".gz", lambda b: gzip.compress(b, 9, mtime=0)),
        (".bz2", bz2.compress),
        (".xz", lzma.compress),
    ],
)
def test_compressed_data_beyond_memory_is_refused_early(
    suffix: str, compress: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = bomb(tmp_path / f"bomb.csv{suffix}", compress, members=400)  # 520 MiB of rows
    monkeypatch.setenv("UNRATED_MEMORY_LIMIT", "40M")
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    with (
        PeakMemory() as peak,
        pytest.raises(
            ur.MemoryLimitError,
            match=r"bomb\.csv.*: the decompressed data would not "
            r"fit in memory: .* MiB in .* lines so far need about .*, and 40\.0 MiB",
        ),
    ):
        ur.read_interactions(path)
    assert peak.extra_bytes is not None and peak.extra_bytes < 80 * 2**20
    assert not list(spool.iterdir())  # the decompressed copy is removed


def test_a_gzip_bomb_through_a_pipe_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = bomb(tmp_path / "bomb.csv.gz", lambda b: gzip.compress(b, 9, mtime=0), members=100)
    with path.open("rb") as stdin:
        result = unrated(
            "fit",
            "/dev/stdin",
            "--out",
            tmp_path / "m.unrated",
            stdin=stdin,
            env={"UNRATED_MEMORY_LIMIT": "40M"},
            expect=2,
        )
    assert re.match(r"error: /dev/stdin: the decompressed data would not fit", error_line(result))
    assert not (tmp_path / "m.unrated").exists()


def test_data_that_fits_is_read_whole_and_a_plain_file_beyond_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = bomb(tmp_path / "ok.csv.gz", lambda b: gzip.compress(b, 1, mtime=0), members=3)
    data = ur.read_interactions(path)
    assert (data.n_users, data.n_items, data.nnz) == (9973, 101, 120_000)
    plain = tmp_path / "plain.csv"
    plain.write_bytes(b"user_id,item_id\n" + ROWS * 4)
    monkeypatch.setenv("UNRATED_MEMORY_LIMIT", "20M")
    with pytest.raises(ur.MemoryLimitError, match=r"plain\.csv: the data would not fit"):
        ur.read_interactions(plain)
    frame = pl.read_csv(plain)
    frame.write_parquet(tmp_path / "rows.parquet")
    with pytest.raises(ur.MemoryLimitError, match=r"rows\.parquet: .*480,000 rows"):
        ur.read_interactions(tmp_path / "rows.parquet")
    monkeypatch.setenv("UNRATED_MEMORY_LIMIT", "lots")
    with pytest.raises(ur.InvalidParameterError, match="UNRATED_MEMORY_LIMIT must be bytes"):
        ur.read_interactions(plain)


# --- pipes -------------------------------------------------------------------------------------


@pytest.fixture
def small_ratings(ml100k_path: Path, tmp_path: Path) -> Path:
    path = tmp_path / "ratings.csv"
    path.write_bytes(b"".join(ml100k_path.read_bytes().splitlines(keepends=True)[:3001]))
    return path


def test_fit_reads_a_pipe(small_ratings: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.unrated"
    cat = subprocess.Popen([shutil.which("cat") or "cat", small_ratings], stdout=subprocess.PIPE)
    result = unrated("fit", "/dev/stdin", "--model", "popular", "--out", out, stdin=cat.stdout)
    cat.wait()
    assert cat.stdout is not None
    cat.stdout.close()
    assert "columns: user=user_id, item=item_id, time=timestamp, weight=rating" in result.stderr
    assert load_model(out).seen_.nnz == 3000


def test_fit_reads_compressed_pipes_and_process_substitution(
    small_ratings: Path, tmp_path: Path
) -> None:
    gz = tmp_path / "ratings.csv.gz"
    gz.write_bytes(gzip.compress(small_ratings.read_bytes()))
    with gz.open("rb") as stdin:  # gzip recognised by its first bytes, not by a name
        unrated(
            "fit", "/dev/stdin", "--model", "popular", "--out", tmp_path / "a.unrated", stdin=stdin
        )
    command = f"{sys.executable} -m unrated fit <(gzip -dc {gz}) --model popular --out b.unrated"
    done = subprocess.run(
        [shutil.which("bash") or "bash", "-c", command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (
        load_model(tmp_path / "a.unrated").seen_.nnz
        == load_model(tmp_path / "b.unrated").seen_.nnz
        == 3000
    )
    parquet = tmp_path / "r.parquet"
    pl.read_csv(small_ratings).write_parquet(parquet)
    with parquet.open("rb") as stdin:
        unrated(
            "fit", "/dev/stdin", "--model", "popular", "--out", tmp_path / "c.unrated", stdin=stdin
        )


def test_an_empty_pipe_is_empty(tmp_path: Path) -> None:
    result = unrated("fit", "/dev/stdin", "--out", tmp_path / "m.unrated", input="", expect=2)
    assert error_line(result) == "error: /dev/stdin: the file is empty"


# --- messages stay one line --------------------------------------------------------------------

names = st.text(
    alphabet=st.characters(blacklist_characters="/\x00"), min_size=1, max_size=30
).filter(lambda s: s not in (".", ".."))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=names)
def test_errors_about_any_file_name_are_one_line(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    try:
        path.write_bytes(b"user_id,item_id\na,x\nb\n")
    except (OSError, UnicodeEncodeError):  # a name this file system cannot hold
        return
    with pytest.raises(ur.DataError, match=r":3 \(column 'item_id'\): expected an id") as error:
        ur.read_interactions(path)
    message = str(error.value)
    assert not [c for c in message if unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs")]
    path.unlink()


def test_a_file_name_of_undecodable_bytes_is_printable(tmp_path: Path) -> None:
    path = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9[1].csv"))
    path.write_bytes(b"user_id,item_id\na,x\nb\n")
    with pytest.raises(ur.DataError) as error:
        ur.read_interactions(path)
    assert "caf\\udce9[1].csv:3" in str(error.value)
    str(error.value).encode("utf-8")  # printable on any UTF-8 terminal


@pytest.mark.parametrize("name", ["data[1].csv", "data*.csv", "data?.parquet", "{a,b}.csv"])
def test_file_names_with_glob_characters_are_files_not_patterns(name: str, tmp_path: Path) -> None:
    frame = pl.DataFrame({"user_id": ["right"], "item_id": ["x"]})
    decoy = pl.DataFrame({"user_id": ["wrong"], "item_id": ["x"]})
    for other in ("data1.csv", "data1.parquet", "a.csv"):
        decoy.write_parquet(tmp_path / other) if other.endswith("parquet") else decoy.write_csv(
            tmp_path / other
        )
    target = tmp_path / name
    frame.write_parquet(target) if name.endswith("parquet") else frame.write_csv(target)
    assert ur.read_interactions(target).users.ids.tolist() == ["right"]


def test_newlines_in_names_and_long_values_stay_one_short_line(tmp_path: Path) -> None:
    path = tmp_path / "bad\nname\x1b[2J.csv"
    path.write_bytes(b"user_id,item_id,weight\na,x," + b"9" * 120_000 + b"x\n")
    result = unrated("fit", path, "--out", tmp_path / "m.unrated", expect=2)
    line = error_line(result)
    assert "bad\\nname\\x1b[2J.csv:2 (column 'weight')" in line
    assert "… (120,001 characters)" in line and len(line) < len(str(path)) + 250


def test_a_temporary_folder_without_room_is_one_clear_line(
    small_ratings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gz = tmp_path / "ratings.csv.gz"
    gz.write_bytes(gzip.compress(small_ratings.read_bytes()))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    with pytest.raises(ur.DataError, match=r"cannot copy it to the temporary folder .*missing"):
        ur.read_interactions(gz)
    big = tmp_path / "big.csv.gz"
    big.write_bytes(gzip.compress(b"user_id,item_id\n" + ROWS))
    command = f"ulimit -f 256; {sys.executable} -m unrated fit {big} --out {tmp_path / 'm.unrated'}"
    done = subprocess.run(  # writes past 256 KiB fail (EFBIG), as on a full disk
        [shutil.which("bash") or "bash", "-c", command], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2, done.stderr
    assert re.fullmatch(
        r"error: .*big\.csv\.gz: cannot copy it to the temporary folder .* after [0-9.]+ MiB "
        r"\(File too large\); set TMPDIR to a folder with room\n",
        done.stderr,
    ), done.stderr
