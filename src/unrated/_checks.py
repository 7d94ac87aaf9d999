"""Parameter checks shared by every public entry point (internal)."""

from __future__ import annotations

import numbers
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from unrated.errors import InvalidParameterError, ModelFileError


def _fail(name: str, owner: str, rule: str, value: Any) -> InvalidParameterError:
    return InvalidParameterError(
        f"The '{name}' parameter of {owner} must be {rule}. Got {value!r} instead."
    )


def check_int(value: Any, name: str, owner: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int if it is an integer ≥ ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise _fail(name, owner, f"an int ≥ {minimum}", value)
    return int(value)


def check_float(
    value: Any,
    name: str,
    owner: str,
    *,
    minimum: float = 0.0,
    inclusive: bool = True,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a float if it is a finite real number in the allowed range."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = v == v and abs(v) != float("inf")
        ok = ok and (v >= minimum if inclusive else v > minimum)
        ok = ok and (maximum is None or v <= maximum)
    if not ok:
        rule = f"a number {'≥' if inclusive else '>'} {minimum:g}"
        rule += f" and ≤ {maximum:g}" if maximum is not None else ""
        raise _fail(name, owner, rule, value)
    return float(value)


def check_choice(value: Any, name: str, owner: str, choices: Collection[str]) -> str:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        raise _fail(name, owner, "one of " + ", ".join(repr(c) for c in choices), value)
    return str(value)


def check_k(k: Any) -> int:
    """Return the list length ``k`` if it is an int ≥ 1."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise InvalidParameterError(f"k must be an int ≥ 1. Got {k!r} instead.")
    return int(k)


def take_array(
    arrays: Mapping[str, np.ndarray], name: str, dtype: Any, shape: tuple[int | None, ...]
) -> np.ndarray:
    """``arrays[name]`` if it exists with this dtype and shape (None matches any length).

    Raises:
        ModelFileError: the array is missing or has another dtype or shape.
    """
    if name not in arrays:
        raise ModelFileError(f"the array {name!r} is missing")
    array = arrays[name]
    expected = np.dtype(dtype)
    fits = len(array.shape) == len(shape) and all(
        want is None or want == got for want, got in zip(shape, array.shape, strict=True)
    )
    if array.dtype != expected or not fits:
        shown = tuple("*" if s is None else s for s in shape)
        raise ModelFileError(
            f"the array {name!r} should be {expected} of shape {shown}, "
            f"found {array.dtype} of shape {array.shape}"
        )
    if expected.kind == "f" and not np.isfinite(array).all():
        raise ModelFileError(f"the array {name!r} holds NaN or infinite values")
    return array


def take_csr(
    arrays: Mapping[str, np.ndarray], prefix: str, shape: tuple[int, int]
) -> sp.csr_matrix:
    """A CSR matrix stored as ``<prefix>.indptr``, ``.indices``, ``.data``, checked."""
    indptr = take_array(arrays, prefix + ".indptr", np.int64, (shape[0] + 1,))
    indices = take_array(arrays, prefix + ".indices", np.int32, (None,))
    data = take_array(arrays, prefix + ".data", np.float32, (len(indices),))
    if (
        indptr[0] != 0
        or indptr[-1] != len(indices)
        or (np.diff(indptr) < 0).any()
        or (len(indices) and (indices.min() < 0 or indices.max() >= shape[1]))
    ):
        raise ModelFileError(f"the sparse matrix {prefix!r} is inconsistent")
    matrix = sp.csr_matrix((data, indices, indptr), shape=shape)
    if not matrix.has_sorted_indices:
        matrix.sort_indices()
    return matrix


def csr_arrays(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    """The arrays :func:`take_csr` reads back."""
    return {
        prefix + ".indptr": matrix.indptr.astype(np.int64),
        prefix + ".indices": matrix.indices.astype(np.int32),
        prefix + ".data": matrix.data.astype(np.float32),
    }
