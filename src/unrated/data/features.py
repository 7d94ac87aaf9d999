"""Item features from catalogue columns: text as TF-IDF words, categories one-hot, numbers binned.

:func:`learn_features` decides what each feature is from the columns (a :class:`FeatureSpace`:
the words and their IDF, the categories, the bin edges); :meth:`FeatureSpace.transform` turns
any catalogue columns into an items × features matrix in that space, so that products added
later are described exactly like those seen at fit time. Nothing is downloaded.

Each column's features are L2-normalised per item, then the whole row is: the inner product
of two items is the mean of their per-column cosine similarities (over the columns both have).
A text column is one whose cells hold 1.5 words or more on average; other text is a category.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from unrated.data.ids import decode_strings, encode_strings
from unrated.errors import DataError, InvalidParameterError, ModelFileError

KINDS = ("text", "category", "number")
#: Words kept per text column (the most frequent), bounding the model's size.
MAX_WORDS = 50_000
_WORD = re.compile(r"[^\W_]{2,}")


def words(text: str) -> list[str]:
    """The words of ``text``: lower-cased runs of two or more letters or digits."""
    return _WORD.findall(text.lower())


def column_kind(values: np.ndarray) -> str:
    """The kind of a column: number (float64), text (≥ 1.5 words a cell on average), category."""
    if values.dtype == np.float64:
        return "number"
    filled = [str(v) for v in values.tolist() if str(v).strip()]
    if not filled:
        return "category"
    mean_words = sum(len(words(v)) for v in filled) / len(filled)
    return "text" if mean_words >= 1.5 else "category"


@dataclass(frozen=True)
class FeatureSpace:
    """Every feature as (column, kind, value, low, weight), in matrix column order.

    ``value`` is the word (text) or the category; ``low`` the lower edge of a number's bin
    (-inf for the first; NaN for other kinds); ``weight`` the word's IDF (1 otherwise).
    """

    columns: list[str]
    kinds: list[str]
    values: list[str]
    lows: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.columns)

    def label(self, feature: int) -> str:
        """A feature as a person reads it: ``title: 'story'``, ``genre = Comedy``, ``price ≥ 5``."""
        column, kind, value = self.columns[feature], self.kinds[feature], self.values[feature]
        if kind == "text":
            return f"{column}: {value!r}"
        if kind == "category":
            return f"{column} = {value}"
        low = float(self.lows[feature])
        following = [
            float(self.lows[f])
            for f in range(feature + 1, len(self))
            if self.columns[f] == column and self.kinds[f] == "number"
        ]
        span = [] if math.isinf(low) else [f"≥ {low:g}"]
        span += [f"< {following[0]:g}"] if following else []
        return f"{column} {' and '.join(span) or '(any)'}"

    def transform(self, attributes: Mapping[str, np.ndarray], n_items: int) -> sp.csr_matrix:
        """The items × features matrix (float32) of ``attributes`` (column -> values by item).

        Columns of the space missing from ``attributes`` give those items no features.
        """
        blocks = []
        for column, kind, where in self._blocks():
            values = attributes.get(column)
            if values is None or len(values) != n_items:
                blocks.append(empty_rows(n_items, len(where)))
                continue
            block = _encode(kind, values, [self.values[f] for f in where], self.lows[where])
            block = sp.csr_matrix(block @ sp.diags(self.weights[where].astype(np.float32)))
            blocks.append(normalised(block))
        if not blocks:
            return empty_rows(n_items, 0)
        return normalised(sp.hstack(blocks, format="csr", dtype=np.float32))

    def _blocks(self) -> list[tuple[str, str, np.ndarray]]:
        """(column, kind, feature positions) of each column, in order."""
        out: list[tuple[str, str, np.ndarray]] = []
        start = 0
        for f in range(1, len(self) + 1):
            if f == len(self) or self.columns[f] != self.columns[start]:
                out.append((self.columns[start], self.kinds[start], np.arange(start, f)))
                start = f
        return out

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The space as named arrays (strings as UTF-8 + offsets), for a model file."""
        out = {f"{prefix}.lows": self.lows.astype(np.float64)}
        out[f"{prefix}.weights"] = self.weights.astype(np.float32)
        for name in ("columns", "kinds", "values"):
            strings = encode_strings(getattr(self, name))
            out |= {f"{prefix}.{name}.{k}": v for k, v in strings.items()}
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str) -> FeatureSpace:
        """What :meth:`to_arrays` wrote, checked (ModelFileError naming what is wrong)."""
        try:
            strings = {
                name: decode_strings(
                    {
                        "utf8": arrays[f"{prefix}.{name}.utf8"],
                        "offsets": arrays[f"{prefix}.{name}.offsets"],
                    }
                )
                for name in ("columns", "kinds", "values")
            }
            lows, weights = arrays[f"{prefix}.lows"], arrays[f"{prefix}.weights"]
        except (KeyError, UnicodeDecodeError, ValueError, IndexError):
            raise ModelFileError(f"the feature space {prefix!r} is missing or corrupt") from None
        n = len(strings["columns"])
        if (
            len(strings["kinds"]) != n
            or len(strings["values"]) != n
            or lows.shape != (n,)
            or weights.shape != (n,)
            or lows.dtype != np.float64
            or weights.dtype != np.float32
            or not set(strings["kinds"]) <= set(KINDS)
            or not np.isfinite(weights).all()
        ):
            raise ModelFileError(f"the feature space {prefix!r} is inconsistent")
        return cls(strings["columns"], strings["kinds"], strings["values"], lows, weights)


def learn_features(
    attributes: Mapping[str, np.ndarray],
    *,
    kinds: Mapping[str, str] | None = None,
    bins: int = 5,
) -> FeatureSpace:
    """The features of ``attributes`` (column -> values by item: float64, or text).

    Args:
        attributes: the columns to describe items by.
        kinds: a kind ("text", "category", "number") for some columns; the others are found
            by :func:`column_kind`.
        bins: number columns are cut into this many quantile bins (fewer when values repeat).

    Raises:
        InvalidParameterError: an unknown kind, or "number" for a column of text.
    """
    columns: list[str] = []
    kinds_out: list[str] = []
    values: list[str] = []
    lows: list[float] = []
    weights: list[float] = []
    for column, cells in attributes.items():
        kind = (kinds or {}).get(column) or column_kind(cells)
        if kind not in KINDS:
            raise InvalidParameterError(
                f"column {column!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}"
            )
        if kind == "number" and cells.dtype != np.float64:
            raise InvalidParameterError(f"column {column!r} holds text, not numbers")
        if kind == "number":
            found = cells[~np.isnan(cells)]
            edges = (
                np.unique(np.quantile(found, np.linspace(0, 1, bins + 1)[1:-1]))
                if len(found)
                else np.empty(0)
            )
            entries = [("", low, 1.0) for low in [-np.inf, *edges.tolist()]] if len(found) else []
        else:
            texts = [str(v) for v in cells.tolist()]
            entries = _text_entries(texts) if kind == "text" else _category_entries(texts)
        for value, low, weight in entries:
            columns.append(column)
            kinds_out.append(kind)
            values.append(value)
            lows.append(low)
            weights.append(weight)
    return FeatureSpace(
        columns, kinds_out, values, np.asarray(lows, np.float64), np.asarray(weights, np.float32)
    )


def _text_entries(texts: list[str]) -> list[tuple[str, float, float]]:
    """The most frequent words with smoothed IDF: ln((1 + n) / (1 + df)) + 1."""
    frequency = Counter(word for text in texts for word in set(words(text)))
    kept = sorted(frequency.items(), key=lambda pair: (-pair[1], pair[0]))[:MAX_WORDS]
    n = len(texts)
    return [(w, math.nan, math.log((1 + n) / (1 + df)) + 1.0) for w, df in sorted(kept)]


def _category_entries(texts: list[str]) -> list[tuple[str, float, float]]:
    return [(value, math.nan, 1.0) for value in sorted({t.strip() for t in texts} - {""})]


def _encode(kind: str, cells: np.ndarray, values: list[str], lows: np.ndarray) -> sp.csr_matrix:
    """One column's items × its features (text: 1 + ln(count); others: one 1 per item)."""
    n_items = len(cells)
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    if kind == "number":
        if cells.dtype != np.float64:
            raise DataError("a number column of the model is text in this catalogue")
        present = np.flatnonzero(~np.isnan(cells))
        where = np.searchsorted(lows[1:], cells[present], side="right")
        rows, cols, data = present.tolist(), where.tolist(), [1.0] * len(present)
    else:
        lookup = {value: f for f, value in enumerate(values)}
        for item, cell in enumerate(cells.tolist()):
            if kind == "text":
                for word, count in Counter(words(str(cell))).items():
                    if word in lookup:
                        rows.append(item)
                        cols.append(lookup[word])
                        data.append(1.0 + math.log(count))
            elif (f := lookup.get(str(cell).strip())) is not None:
                rows.append(item)
                cols.append(f)
                data.append(1.0)
    return sp.csr_matrix((np.asarray(data, np.float32), (rows, cols)), shape=(n_items, len(values)))


def empty_rows(n_rows: int, n_columns: int) -> sp.csr_matrix:
    """An all-zero float32 CSR matrix."""
    return sp.csr_matrix(
        (np.empty(0, np.float32), np.empty(0, np.int32), np.zeros(n_rows + 1, np.int64)),
        shape=(n_rows, n_columns),
    )


def normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit L2 norm (empty rows stay empty)."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    scale = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-30), 0.0).astype(np.float32)
    out = sp.csr_matrix(sp.diags(scale) @ matrix, dtype=np.float32)
    out.eliminate_zeros()
    out.sort_indices()
    return out
