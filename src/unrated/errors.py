"""The exceptions and warnings unrated raises: each says what went wrong, where, and the value."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

#: Control characters, line and paragraph separators, and surrogates (undecodable bytes of a
#: file name), which could split a message, drive a terminal, or fail to print.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def one_line(text: str) -> str:
    r"""``text`` with control characters escaped (``\n``, ``\x1b``): it prints as one line."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def quoted(value: Any, limit: int = 100) -> str:
    """``repr(value)`` for a message: escaped, cut after ``limit`` characters with the length."""
    try:
        text = repr(value)
    except ValueError:  # an int of more digits than Python converts to text
        return f"an integer of {value.bit_length():,} bits"
    if len(text) <= limit:
        return text
    size = "long"
    if isinstance(value, str | bytes):
        size = f"{len(value):,} {'bytes' if isinstance(value, bytes) else 'characters'}"
    return f"{text[:limit]}… ({size})"


class UnratedError(Exception):
    """Base class of every error unrated raises on purpose."""


class DataError(UnratedError, ValueError):
    """Bad input data: a file or frame that cannot be read as interactions.

    Attributes name the place (``path``, 1-based ``line``, ``column``) and the offending ``value``
    where they are known, so that a user can find the problem in a text editor.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
        value: Any = None,
    ) -> None:
        self.path, self.line, self.column, self.value = path, line, column, value
        where = ""
        if path is not None:
            where = str(path) + (f":{line}" if line is not None else "")
            where += f" (column '{column}')" if column is not None else ""
            where += ": "
        elif column is not None:
            where = f"column '{column}': "
        super().__init__(one_line(where + message))


class UnknownIdError(UnratedError, KeyError):
    """Ids that the model or data set does not know."""

    def __init__(self, kind: str, ids: Sequence[Any], *, total: int | None = None) -> None:
        self.kind, self.ids = kind, list(ids)
        count = len(self.ids) if total is None else total
        listed = ", ".join(quoted(i) for i in self.ids[:5]) + (", ..." if count > 5 else "")
        noun = kind if count == 1 else kind + "s"
        self.message = one_line(f"{count} unknown {noun}: {listed}")
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class InvalidParameterError(UnratedError, ValueError):
    """A parameter outside its allowed values."""


class NotFittedError(UnratedError, AttributeError):
    """A model used before ``fit``."""


class ModelFileError(UnratedError, ValueError):
    """A model file that is corrupt, unknown, or written by a newer unrated."""


class EngineError(UnratedError, RuntimeError):
    """A training engine (Spark, torchrun) that is missing, cannot start, or failed."""


class MemoryLimitError(UnratedError, MemoryError):
    """A computation that would need more memory than the machine has (refused up front)."""


class UnratedWarning(UserWarning):
    """Base class of unrated's warnings."""


class DataWarning(UnratedWarning):
    """Input that was read, but probably not as the user meant."""


class PerformanceWarning(UnratedWarning):
    """A setting that makes unrated much slower than it could be."""
