"""An input file read once, in chunks: decompressed, copied aside when needed, within memory.

A pipe (``/dev/stdin``, ``<(zcat ...)``) can be read only once, and polars parses only
uncompressed files in place: both are streamed once, in chunks, into a temporary file in the
system's temporary folder (``TMPDIR``) while the caller checks each chunk, as is a file
whose name is not UTF-8 (polars cannot open it). A regular, uncompressed file is parsed in
place. Compression is recognised by its first bytes (gzip,
bzip2, xz), so ``cat data.csv.gz | unrated fit /dev/stdin`` works too.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import stat
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

from unrated._memory import available_memory, format_bytes
from unrated.errors import DataError, MemoryLimitError, one_line

CHUNK = 1 << 23


class _Stream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...
    def close(self) -> None: ...


_CODECS: dict[bytes, Callable[[IO[bytes]], _Stream]] = {
    b"\x1f\x8b": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    b"BZh": bz2.BZ2File,
    b"\xfd7zXZ\x00": lzma.LZMAFile,
}
_ZSTD = b"\x28\xb5\x2f\xfd"
_BROKEN = (OSError, EOFError, lzma.LZMAError, zlib.error)


def _utf8_name(path: Path) -> bool:
    """False for a name of undecodable bytes, which polars cannot open."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Input:
    """``path`` opened for one pass; use as a context manager (it removes its copy)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._raw = open(path, "rb")  # noqa: SIM115  # closed by close()
        except OSError as error:
            raise DataError(f"cannot be read ({error.strerror})", path=str(path)) from None
        try:
            regular = stat.S_ISREG(os.fstat(self._raw.fileno()).st_mode)
            magic = self._raw.peek(6)[:6]
        except OSError as error:
            self._raw.close()
            raise DataError(f"cannot be read ({error.strerror})", path=str(path)) from None
        if magic.startswith(_ZSTD):
            self._raw.close()
            raise DataError(
                "zstd-compressed, which unrated does not read: decompress it first, or pipe "
                "it: zstd -dc FILE | unrated fit /dev/stdin ...",
                path=str(path),
            )
        codec = next((open_ for m, open_ in _CODECS.items() if magic.startswith(m)), None)
        self.compressed = codec is not None
        self._stream: _Stream = codec(self._raw) if codec is not None else self._raw
        self._copy: IO[bytes] | None = None
        self.size = 0  # bytes read so far (decompressed)
        if self.compressed or not regular or not _utf8_name(path):
            try:
                self._copy = tempfile.NamedTemporaryFile(prefix="unrated-", delete=False)  # noqa: SIM115
            except OSError as error:
                self.close()
                raise self._no_room(error) from None
        try:
            self.head = self._read()
        except DataError:
            self.close()
            raise

    @property
    def local(self) -> Path:
        """A regular, uncompressed file with the content, once :meth:`chunks` has run."""
        return Path(self._copy.name) if self._copy is not None else self.path

    def _read(self) -> bytes:
        try:
            chunk = self._stream.read(CHUNK)
        except _BROKEN as error:
            raise DataError(f"cannot be read ({error})", path=str(self.path)) from None
        self.size += len(chunk)
        return chunk

    def chunks(self) -> Iterator[bytes]:
        """The content in chunks of 8 MiB, decompressed; copied aside on the way if needed."""
        chunk = self.head
        try:
            while chunk:
                if self._copy is not None:
                    self._copy.write(chunk)
                yield chunk
                chunk = self._read()
            if self._copy is not None:
                self._copy.flush()
        except OSError as error:  # the copy's disk is full, or its folder is gone
            raise self._no_room(error) from None

    def _no_room(self, error: OSError) -> DataError:
        return DataError(
            f"cannot copy it to the temporary folder {tempfile.gettempdir()} after "
            f"{format_bytes(self.size)} ({error.strerror}); set TMPDIR to a folder with room",
            path=str(self.path),
        )

    def check_memory(self, needed: int, counted: str) -> None:
        """Raise MemoryLimitError if reading needs more than ``needed`` bytes of memory."""
        available = available_memory()
        if needed > available:
            data = "decompressed data" if self.compressed else "data"
            raise MemoryLimitError(
                f"{one_line(str(self.path))}: the {data} would not fit in memory: "
                f"{counted} so far need about {format_bytes(needed)}, and "
                f"{format_bytes(available)} is available; read it on a machine with more "
                "memory, or split it"
            )

    def close(self) -> None:
        """Close the file and remove the temporary copy."""
        self._stream.close()
        self._raw.close()
        if self._copy is not None:
            self._copy.close()
            Path(self._copy.name).unlink(missing_ok=True)

    def __enter__(self) -> Input:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
