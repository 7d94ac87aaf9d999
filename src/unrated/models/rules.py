"""Rules at request time: conditions on item attributes (``category=Kitchen``, ``price<20``).

A condition is ``COLUMN OP VALUE`` with OP one of ``= != < <= > >=``. On a text attribute
``=`` and ``!=`` compare without regard to case (``in_stock=true`` matches ``True``); the
order operators need a numeric attribute and a number. An item without a value for the
column (not in the items file, or an empty cell) passes no condition on it except ``!=``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from unrated.errors import InvalidParameterError

_CONDITION = re.compile(r"\s*([^<>=!]+?)\s*(<=|>=|!=|=|<|>)\s*(.*?)\s*", flags=re.DOTALL)


@dataclass(frozen=True)
class Condition:
    """One ``column op value`` condition."""

    column: str
    op: str
    value: str

    def passes(self, values: np.ndarray, folded: np.ndarray | None = None) -> np.ndarray:
        """Per item, whether its value of the column meets the condition.

        ``folded``: the text values lower-cased (:func:`folded`), when kept at hand.
        """
        if values.dtype != np.float64:
            if self.op not in ("=", "!="):
                raise InvalidParameterError(
                    f"condition {self}: {self.op!r} needs a numeric attribute; "
                    f"{self.column!r} holds text"
                )
            text = folded_text(values) if folded is None else folded
            equal: np.ndarray = text == self.value.lower()
            return ~equal if self.op == "!=" else equal & (text != "")
        number = _number(self)
        compare = {
            "=": np.equal,
            "!=": np.not_equal,
            "<": np.less,
            "<=": np.less_equal,
            ">": np.greater,
            ">=": np.greater_equal,
        }[self.op]
        with np.errstate(invalid="ignore"):
            return np.asarray(compare(values, number) | ((self.op == "!=") & np.isnan(values)))

    def __str__(self) -> str:
        return f"{self.column}{self.op}{self.value}"


def parse_condition(text: str) -> Condition:
    """``"price<20"`` as a Condition; InvalidParameterError naming the text otherwise."""
    match = _CONDITION.fullmatch(text) if isinstance(text, str) else None
    if match is None or not match.group(1) or not match.group(3):
        raise InvalidParameterError(
            f"condition {text!r} is not COLUMN OP VALUE with OP one of = != < <= > >= "
            "(e.g. category=Kitchen, price<20)"
        )
    return Condition(*match.groups())


def folded_text(values: np.ndarray) -> np.ndarray:
    """Text attribute values lower-cased, as a fixed-width unicode array (fast to compare)."""
    return np.char.lower(values.astype(str))


def items_allowed(
    conditions: Iterable[str],
    attributes: Mapping[str, np.ndarray] | None,
    n_items: int,
    folded: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The items that meet every condition (all of them when there are none).

    ``folded``: :func:`folded_text` of the text attributes, if computed once beforehand.
    """
    mask = np.ones(n_items, dtype=bool)
    for text in conditions:
        condition = parse_condition(text)
        if attributes is None or condition.column not in attributes:
            known = ", ".join(sorted(attributes or {})) or "none: fit with --items FILE"
            raise InvalidParameterError(
                f"condition {condition}: no item attribute {condition.column!r} "
                f"(attributes: {known})"
            )
        mask &= condition.passes(attributes[condition.column], (folded or {}).get(condition.column))
    return mask


def _number(condition: Condition) -> float:
    try:
        number = float(condition.value)
    except ValueError:
        number = math.nan
    if math.isnan(number):
        raise InvalidParameterError(
            f"condition {condition}: {condition.column!r} is numeric; "
            f"{condition.value!r} is not a number"
        )
    return number
