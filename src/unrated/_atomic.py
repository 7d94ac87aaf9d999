"""Atomic file writes: a crash never leaves a half-written file where a good one was.

Rules every writer of unrated follows (model files, split and recommendation CSVs, reports):

- Only a regular file is replaced. A device, FIFO, socket or folder at the path is refused
  (as root, ``--out /dev/full`` would otherwise replace the device node with a file).
- A symbolic link is written through: its target file is replaced and the link stays.
- The new file gets the permissions a plain ``open`` would give (``0o666`` less the umask),
  or keeps those of the file it replaces.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from unrated.errors import DataError

#: The note on an OSError raised while writing (the command line says "cannot write").
WRITING = "while writing the file"

_KINDS = {
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISSOCK: "a socket",
}


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    On any error the temporary file is removed and ``path`` is left as it was. An
    :class:`OSError` while writing (disk full, file too large) is raised again with
    ``path`` as its file name, not the temporary one, and the note :data:`WRITING`.

    Raises:
        DataError: ``path`` is a folder or not a regular file, or its folder does not exist.
    """
    target = Path(os.path.realpath(path))  # write through symbolic links
    mode = _mode_to_keep(target, shown=Path(path))
    try:
        temporary = _create_beside(target, mode)
    except OSError as error:
        raise _writing(error, path) from error
    try:
        yield temporary
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError) and error.errno is not None:
            raise _writing(error, path) from error
        raise


def _writing(error: OSError, path: str | os.PathLike[str]) -> OSError:
    """The same error (class and errno) naming ``path``, noted as a failure to write."""
    failure = OSError(error.errno, error.strerror, str(path))
    failure.add_note(WRITING)
    return failure


def _mode_to_keep(target: Path, *, shown: Path) -> int | None:
    """The permissions of the regular file at ``target`` (None: no file there yet)."""
    try:
        status = target.stat()
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise DataError("the folder to write into does not exist", path=str(shown)) from None
        return None
    if stat.S_ISDIR(status.st_mode):
        raise DataError("is a directory, expected a file path to write", path=str(shown))
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _KINDS.items() if test(status.st_mode)), "special")
        raise DataError(
            f"is {kind}, not a regular file; unrated replaces only regular files",
            path=str(shown),
        )
    return stat.S_IMODE(status.st_mode)


def _create_beside(target: Path, mode: int | None) -> Path:
    """Create an empty temporary file in ``target``'s folder, with the mode to end up with."""
    while True:
        temporary = target.with_name(f".{target.name[:200]}.{secrets.token_hex(4)}.tmp")
        try:
            # 0o666: the kernel applies the umask, as for a plain open().
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            if mode is not None:
                os.fchmod(handle, mode)
        finally:
            os.close(handle)
        return temporary
