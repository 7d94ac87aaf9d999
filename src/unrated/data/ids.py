"""IdIndex: external ids (as the user wrote them) <-> contiguous internal positions."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from unrated.errors import DataError, UnknownIdError

_INT64_MAX = np.iinfo(np.int64).max
#: The text of an integer id: ASCII digits, at most 19 after leading zeros (int64), and
#: ASCII spaces around.
_INTEGER_TEXT = re.compile(r"\s*(-?)0*([0-9]{1,19})\s*", flags=re.ASCII)


class IdIndex:
    """An ordered vocabulary of ids, either all strings or all integers.

    Position ``i`` holds the external id of internal index ``i``. String ids are kept exactly
    as written ("007" stays "007"); an integer looked up in a string index is matched by its
    decimal text, so ``recommend([42])`` finds the user written ``42`` in a CSV file.
    """

    def __init__(self, ids: Sequence[Any] | np.ndarray) -> None:
        array = np.asarray(ids)
        if array.size == 0:
            array = np.empty(0, dtype=object)
        if array.dtype.kind == "u" and array.size and int(array.max()) > _INT64_MAX:
            array = np.array([str(i) for i in array.tolist()], dtype=object)
        elif array.dtype.kind in "iu":
            array = array.astype(np.int64)
        elif array.dtype.kind in "USO":
            array = np.array([str(i) for i in array.tolist()], dtype=object)
        else:
            raise DataError(f"ids must be strings or integers, got dtype {array.dtype}")
        self.ids: np.ndarray = array
        self._positions: dict[Any, int] | None = None
        self._encoded: dict[str, np.ndarray] | None = None  # to_arrays of string ids, kept

    @property
    def is_string(self) -> bool:
        """True when the ids are strings."""
        return bool(self.ids.dtype == object)

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, IdIndex)
            and self.ids.dtype == other.ids.dtype
            and np.array_equal(self.ids, other.ids)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kind = "str" if self.is_string else "int"
        return f"IdIndex({len(self)} {kind} ids)"

    def _lookup(self) -> dict[Any, int]:
        if self._positions is None:
            self._positions = {v: i for i, v in enumerate(self.ids.tolist())}
            if len(self._positions) != len(self.ids):
                raise DataError("ids must be unique")
        return self._positions

    def _normalize(self, value: Any) -> Any:
        """The key of ``value`` in the lookup; None (never an id) when it cannot be one."""
        if isinstance(value, np.generic):
            value = value.item()
        if self.is_string:
            if isinstance(value, str):
                return value
            try:
                return str(value)
            except ValueError:  # an int of more digits than Python converts to text
                return None
        if isinstance(value, str):
            match = _INTEGER_TEXT.fullmatch(value)
            return int(match.group(1) + match.group(2)) if match else None
        if isinstance(value, bool):  # True == 1 in Python, but no user is called True
            return None
        try:
            hash(value)
        except TypeError:
            return None
        return value

    def positions(self, ids: Iterable[Any], *, kind: str, missing: str = "raise") -> np.ndarray:
        """Internal positions of ``ids``.

        Args:
            ids: external ids.
            kind: "user" or "item", for the error message.
            missing: "raise" for an :class:`UnknownIdError` naming the unknown ids, or "mark"
                to return -1 at their places.
        """
        lookup = self._lookup()
        if isinstance(ids, np.ndarray) and ids.dtype.kind in ("O" if self.is_string else "iu"):
            # the common case (an array of ids of this index's kind): look up as they are,
            # and normalise only the ids not found so (an int in a string index, say)
            listed: list[Any] = ids.tolist()
            values = [lookup.get(i, -1) for i in listed]
            for place in [p for p, v in enumerate(values) if v < 0]:
                values[place] = lookup.get(self._normalize(listed[place]), -1)
        else:
            values = [lookup.get(self._normalize(i), -1) for i in ids]
        out = np.asarray(values, dtype=np.int64)
        if missing == "raise" and (out < 0).any():
            unknown = [i for i, p in zip(ids, values, strict=True) if p < 0]
            raise UnknownIdError(kind, unknown)
        return out

    def extended(self, ids: Iterable[Any], *, kind: str) -> tuple[IdIndex, np.ndarray]:
        """This vocabulary with the unknown ``ids`` appended (positions kept), and their positions.

        New ids take this index's type: text in a string index; in an integer index, an
        integer or its decimal text (anything else is a DataError naming it).
        """
        values = list(ids)
        found = self.positions(values, kind=kind, missing="mark")
        fresh: dict[Any, int] = {}
        for place in np.flatnonzero(found < 0).tolist():
            key = self._normalize(values[place])
            if key is None:
                raise DataError(
                    f"{kind} id {values[place]!r} is not an integer, and the model's "
                    f"{kind} ids are integers"
                )
            found[place] = fresh.setdefault(key, len(self.ids) + len(fresh))
        if not fresh:
            return self, found
        new = np.array(list(fresh), dtype=object if self.is_string else np.int64)
        grown = IdIndex(np.concatenate([self.ids, new]))
        grown._positions = self._lookup() | fresh
        if self._encoded is not None:  # the old ids' encoding, the new ones' appended
            added = encode_strings(new.tolist())
            grown._encoded = {
                "utf8": np.concatenate([self._encoded["utf8"], added["utf8"]]),
                "offsets": np.concatenate(
                    [self._encoded["offsets"], added["offsets"][1:] + self._encoded["offsets"][-1]]
                ),
            }
        return grown, found

    def take(self, positions: np.ndarray) -> np.ndarray:
        """External ids at ``positions``; position -1 (padding) gives None."""
        positions = np.asarray(positions, dtype=np.int64)
        out = self.ids[np.where(positions < 0, 0, positions)] if len(self.ids) else None
        if out is None or (positions < 0).any():
            out = np.empty(positions.shape, dtype=object) if out is None else out.astype(object)
            out[positions < 0] = None
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Encode as plain arrays (for the model file): int64 ids, or UTF-8 bytes + offsets."""
        if not self.is_string:
            return {"ids": self.ids}
        if self._encoded is None:
            self._encoded = encode_strings(self.ids.tolist())
        return dict(self._encoded)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> IdIndex:
        """Decode what :meth:`to_arrays` wrote."""
        if "ids" in arrays:
            return cls(arrays["ids"].astype(np.int64))
        return cls(np.array(decode_strings(arrays), dtype=object))


def encode_strings(strings: Sequence[str]) -> dict[str, np.ndarray]:
    """Strings as one UTF-8 byte array ``utf8`` and int64 ``offsets`` (n + 1 of them)."""
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return {"utf8": np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), "offsets": offsets}


def decode_strings(arrays: dict[str, np.ndarray]) -> list[str]:
    """Invert :func:`encode_strings`."""
    raw, offsets = arrays["utf8"].tobytes(), arrays["offsets"].tolist()
    return [raw[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]
