"""Data is printed as text: markup is not interpreted, control characters are escaped.

Ids, names and paths come from files the user may not have written; none of them may fail
the command (rich's MarkupError), reach the terminal as an escape sequence, or split an error
message over two lines.
"""

from __future__ import annotations

import contextlib
import csv
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.cli.conftest import CliRun

# Control characters a terminal acts on (ESC, BEL, C1 CSI, backspace, line separator) and
# what the command line shows instead, written out here independently of the code.
ESCAPES = {"\x1b": "\\x1b", "\x07": "\\x07", "\x9b": "\\x9b", "\x08": "\\x08", "\u2028": "\\u2028"}
RAW = tuple(ESCAPES)
PIECES = [*"ab[]/\\=#@:", "[/bold]", "[red]", "]0;title", ":smile:", *ESCAPES]
hostile = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join)


def escaped(text: str) -> str:
    return "".join(ESCAPES.get(char, char) for char in text)


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(rows)


@pytest.mark.slow
@settings(
    max_examples=3,  # each example is four CLI runs (~1 s each)
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking costs minutes here
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(texts=st.lists(hostile, min_size=6, max_size=6))
@example(texts=["\\[z", "x\\", "[/bold]", ":smile:", "\x1b]0;t\x07\x1b[2J", "n\\"])
def test_hostile_ids_and_names_are_shown_as_text(
    cli: CliRun, tmp_path: Path, texts: list[str]
) -> None:
    items = [f"i{n}{text}z" for n, text in enumerate(texts[:3])]  # unique, no edge spaces
    names = [f"n{text}" for text in texts[3:]]
    rows = [["user_id", "item_id"]] + [
        [user, items[i]]
        for user, pair in (("u0", (0, 1)), ("u1", (1, 2)), ("u2", (0, 2)))
        for i in pair
    ]
    write_csv(tmp_path / "d.csv", rows)
    write_csv(tmp_path / "names.csv", [["item_id", "name"], *zip(items, names, strict=True)])
    cli("fit", "d.csv", "--model", "item-knn", "--items", "names.csv", "--out", "m.unrated")
    shown = cli("recommend", "m.unrated", "--user", "u0").stdout
    shown += cli("similar", "m.unrated", "--item", items[0], "-k", "2").stdout
    assert not any(char in shown for char in RAW), repr(shown)
    assert escaped(items[2]) in shown and escaped(names[2]) in shown  # u0's recommendation
    assert escaped(items[1]) in shown and escaped(names[1]) in shown  # similar to items[0]


def test_markup_in_an_out_path_is_printed_as_it_is(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("user_id,item_id\na,x\na,y\nb,x\n")
    result = cli("fit", "d.csv", "--model", "popular", "--out", "m[bold]x[red]\\[y.unrated")
    assert "m[bold]x[red]\\[y.unrated" in result.stdout
    assert (tmp_path / "m[bold]x[red]\\[y.unrated").is_file()


def test_an_error_about_a_file_with_a_newline_in_its_name_is_one_line(cli: CliRun) -> None:
    result = cli("fit", "bad\nname\x1b[2J.csv", "--out", "m.unrated", expect=2)
    assert result.stderr.count("\n") == 1 and "\x1b" not in result.stderr, result.stderr
    assert "bad\\nname\\x1b[2J.csv" in result.stderr


def test_a_huge_value_is_cut_in_the_message_with_its_length(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("user_id,item_id\na,x\na,y\nb,x\n")
    cli("fit", "d.csv", "--model", "popular", "--out", "m.unrated")
    result = cli("recommend", "m.unrated", "--user", "7" * 120_000, expect=2)
    line = result.stderr
    assert line.startswith("error: ") and line.count("\n") == 1 and len(line) < 500, line[:600]
    assert re.search(r"\(120,00\d characters\)", line), line  # the id, maybe in quotes


def test_a_long_word_in_any_error_is_cut_keeping_both_ends(cli: CliRun) -> None:
    missing = "d/" * 150 + "data.csv"
    line = cli("fit", missing, "--out", "m.unrated", expect=2).stderr
    assert line.startswith("error: d/d/") and line.count("\n") == 1 and len(line) < 300, line
    assert "/d/data.csv" in line and "characters)" in line


def run_with_command(body: str) -> subprocess.CompletedProcess[str]:
    """The real entry point with one extra command that fails as ``body`` says."""
    script = (
        "from unrated.cli import app, main\n"
        "@app.command()\n"
        "def boom() -> None:\n"
        f"    {body}\n"
        "main(['boom'])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )


def test_a_bug_exits_1_and_asks_for_a_report() -> None:
    result = run_with_command("raise RuntimeError('line one\\nline two')")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == (
        "error: unexpected RuntimeError: line one\\nline two (this is a bug in unrated; "
        "please report it with the output of --debug)\n"
    )


def test_running_out_of_memory_is_an_error_of_the_environment() -> None:
    result = run_with_command("raise MemoryError()")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: out of memory") and result.stderr.count("\n") == 1


def test_csv_to_a_terminal_is_escaped_and_to_a_pipe_exact(cli: CliRun, tmp_path: Path) -> None:
    item = "i\x1b]0;owned\x07\x1b[2J"
    write_csv(tmp_path / "d.csv", [["user_id", "item_id"], ["a", "x"], ["b", "x"], ["b", item]])
    cli("fit", "d.csv", "--model", "popular", "--out", "m.unrated")
    assert f"a,{item},1," in cli("recommend", "m.unrated", "--all").stdout  # a pipe: the data
    primary, replica = pty.openpty()
    subprocess.run(
        [sys.executable, "-m", "unrated", "recommend", "m.unrated", "--all"],
        stdout=replica, cwd=tmp_path, check=True, timeout=120,
    )  # fmt: skip
    os.close(replica)
    shown = b""
    with contextlib.suppress(OSError):  # EIO once everything written has been read
        while chunk := os.read(primary, 4096):
            shown += chunk
    os.close(primary)
    assert b"\x1b" not in shown and b"\x07" not in shown, shown
    assert b"a,i\\x1b]0;owned\\x07\\x1b[2J,1," in shown, shown
