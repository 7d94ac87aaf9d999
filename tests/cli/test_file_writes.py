"""Writing files: faults of the environment are one line and exit 2; only regular files are
replaced (symbolic links are written through); permissions are those a plain open gives."""

from __future__ import annotations

import os
import resource
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import CliRun
from tests.counts import count

# Six users with five or six items each: enough for a holdout split.
DATA = "user_id,item_id\n" + "".join(
    f"u{user},i{item}\n" for user in range(6) for item in range(6) if item != user % 7
)


@pytest.fixture(autouse=True)
def _counted() -> None:
    count("faults: environment faults and non-regular files at write")


@pytest.fixture
def model(cli: CliRun, tmp_path: Path) -> Path:
    (tmp_path / "d.csv").write_text(DATA)
    cli("fit", "d.csv", "--model", "popular", "--out", "m.unrated")
    return tmp_path / "m.unrated"


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if not line.startswith("columns: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_the_file_size_limit_is_an_error_of_the_environment(cli: CliRun, model: Path) -> None:
    before = model.read_bytes()

    def limit_file_size() -> None:  # smaller than a model file; Python ignores SIGXFSZ
        resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))

    result = cli(
        "fit", "d.csv", "--model", "item-knn", "--out", model.name, expect=2,
        preexec_fn=limit_file_size,
    )  # fmt: skip
    assert one_error(result) == "error: cannot write m.unrated: File too large"
    assert model.read_bytes() == before
    assert sorted(p.name for p in model.parent.iterdir()) == ["d.csv", "m.unrated"]


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs filled to the last byte (needs root and mount, as in CI)."""
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],  # noqa: S607
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        with (folder / "filler").open("wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 4096)
            except OSError:
                pass
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)  # noqa: S607


def test_a_full_disk_is_an_error_of_the_environment(
    cli: CliRun, tmp_path: Path, full_disk: Path
) -> None:
    (tmp_path / "d.csv").write_text(DATA)
    line = one_error(cli("fit", "d.csv", "--model", "popular", "--out", "full/m.unrated", expect=2))
    assert line == "error: cannot write full/m.unrated: No space left on device"
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_a_checkpoint_path_that_is_a_file(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(DATA)
    (tmp_path / "ck").write_text("not a folder")
    args = ("fit", "d.csv", "--model", "mf", "--checkpoint", "ck", "--out", "m.unrated")
    line = one_error(cli(*args, expect=2))
    assert line == "error: --checkpoint must be a folder; ck exists and is not one"


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: os.mknod(p, stat.S_IFCHR | 0o666, os.makedev(1, 7)), "a character device"),
        (os.mkfifo, "a FIFO (named pipe)"),
        (os.mkdir, "a directory"),
    ],
)
def test_only_regular_files_are_replaced(cli: CliRun, model: Path, make: object, kind: str) -> None:
    target = model.parent / "special"
    make(target)  # type: ignore[operator]
    before = os.lstat(target)
    for args in (
        ("fit", "d.csv", "--model", "popular", "--out", "special"),
        ("recommend", model.name, "--all", "--out", "special"),
        ("split", "d.csv", "--out", "."),  # writes train.csv, test.csv: regular files
    ):
        if args[0] == "split":
            os.symlink("special", model.parent / "train.csv")
        line = one_error(cli(*args, expect=2))
        assert f"special: is {kind}" in line or f"train.csv: is {kind}" in line, line
        assert os.lstat(target).st_mode == before.st_mode  # still the same kind of node
        assert os.lstat(target).st_ino == before.st_ino


@pytest.mark.slow
def test_a_symbolic_link_is_written_through(cli: CliRun, model: Path, tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    real = tmp_path / "models" / "real.unrated"
    real.write_bytes(b"old")
    (tmp_path / "link.unrated").symlink_to(real)
    cli("fit", "d.csv", "--model", "popular", "--out", "link.unrated")
    assert (tmp_path / "link.unrated").is_symlink()
    assert real.read_bytes()[:8] == model.read_bytes()[:8]  # a model file now
    assert "model: popular" in cli("info", "link.unrated").stdout
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.unrated"]


@pytest.mark.slow
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_new_files_get_the_mode_a_plain_open_gives(
    cli: CliRun, tmp_path: Path, umask: int, mode: int
) -> None:
    (tmp_path / "d.csv").write_text(DATA)
    cli("fit", "d.csv", "--model", "popular", "--out", "m.unrated", umask=umask)
    cli("split", "d.csv", "--out", "split", umask=umask)
    cli("recommend", "m.unrated", "--all", "--out", "recs.csv", umask=umask)
    synth = ("synth", "--out", "s.csv", "--users", "5", "--items", "5", "--interactions", "20")
    cli(*synth, umask=umask)
    for name in ("m.unrated", "split/train.csv", "split/test.csv", "recs.csv", "s.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_a_replaced_file_keeps_its_mode(cli: CliRun, model: Path) -> None:
    model.chmod(0o604)
    cli("fit", "d.csv", "--model", "item-knn", "--out", model.name, umask=0o077)
    assert stat.S_IMODE(model.stat().st_mode) == 0o604
