"""Time decay: recent purchases count more (``--half-life DAYS``, for every model).

Each line of :attr:`Interactions.events` is weighted by ``0.5 ** (age / half_life)``, its age
measured in days from the newest time in the data, and the (user, item) weights are summed
again: a line bought ``half_life`` days before the newest one counts half, one bought twice
as long ago a quarter. Times are read as seconds (dates, Unix timestamps). Models then fit on
the decayed matrix like on any other weights; which pairs exist does not change.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from unrated._checks import check_float
from unrated.data.interactions import Interactions, build_interactions
from unrated.errors import DataError

SECONDS_PER_DAY = 86_400.0


def decay(data: Interactions, half_life: float) -> Interactions:
    """``data`` with each line weighted by 0.5 ** (age in days / ``half_life``).

    Raises:
        DataError: the data has no times (no time column) to measure ages by.
    """
    half_life = check_float(half_life, "half_life", "decay", minimum=0.0, inclusive=False)
    events = data.events
    if events is None or events.time is None:
        raise DataError(
            "--half-life needs a time column (timestamp, date, InvoiceDate, ...; or "
            "--time-col) to measure each purchase's age, and the data has none"
        )
    age_days = (events.time.max() - events.time) / SECONDS_PER_DAY
    weights = events.weight * np.exp2(-age_days / half_life)
    weights = np.maximum(weights, np.finfo(np.float32).tiny)  # a pair never vanishes
    decayed = build_interactions(
        events.user, events.item, weights, data.users, data.items, events.time
    )
    return replace(data, matrix=decayed.matrix)
