"""unrated: recommendations from implicit feedback (purchases, clicks, plays).

The public names below are imported on first use (``unrated.IALS`` loads the models then),
so ``import unrated`` and the command line start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from unrated._version import __version__

# Public name -> the module that defines it.
_EXPORTS = {
    "IdIndex": "unrated.data.ids",
    "Interactions": "unrated.data.interactions",
    "read_interactions": "unrated.data.io",
    "Database": "unrated.data.database",
    "read_catalogue": "unrated.data.catalogue",
    "Split": "unrated.data.split",
    "split_by_time": "unrated.data.split",
    "split_holdout": "unrated.data.split",
    "split_last": "unrated.data.split",
    "DataError": "unrated.errors",
    "DataWarning": "unrated.errors",
    "InvalidParameterError": "unrated.errors",
    "MemoryLimitError": "unrated.errors",
    "ModelFileError": "unrated.errors",
    "NotFittedError": "unrated.errors",
    "PerformanceWarning": "unrated.errors",
    "UnknownIdError": "unrated.errors",
    "UnratedError": "unrated.errors",
    "UnratedWarning": "unrated.errors",
    "Report": "unrated.evaluation.protocol",
    "evaluate": "unrated.evaluation.protocol",
    "Recommendations": "unrated.models.recommendations",
    "Recommender": "unrated.models.base",
    "BPR": "unrated.models.bpr",
    "Content": "unrated.models.content",
    "Hybrid": "unrated.models.hybrid",
    "EASE": "unrated.models.ease",
    "EmbeddingMF": "unrated.models.embedding_mf",
    "GraphFilter": "unrated.models.graph_filter",
    "IALS": "unrated.models.ials",
    "ItemKNN": "unrated.models.item_knn",
    "Popular": "unrated.models.popular",
    "RepeatBlend": "unrated.models.repeat",
    "TifuKNN": "unrated.models.tifu_knn",
    "TopFreq": "unrated.models.top_freq",
    "MODELS": "unrated.models.registry",
    "make_model": "unrated.models.registry",
    "Choice": "unrated.choosing",
    "choose_model": "unrated.choosing",
}

__all__ = [
    "BPR",
    "EASE",
    "IALS",
    "MODELS",
    "Choice",
    "Content",
    "DataError",
    "DataWarning",
    "Database",
    "EmbeddingMF",
    "GraphFilter",
    "Hybrid",
    "IdIndex",
    "Interactions",
    "InvalidParameterError",
    "ItemKNN",
    "MemoryLimitError",
    "ModelFileError",
    "NotFittedError",
    "PerformanceWarning",
    "Popular",
    "Recommendations",
    "Recommender",
    "RepeatBlend",
    "Report",
    "Split",
    "TifuKNN",
    "TopFreq",
    "UnknownIdError",
    "UnratedError",
    "UnratedWarning",
    "__version__",
    "choose_model",
    "evaluate",
    "make_model",
    "read_catalogue",
    "read_interactions",
    "split_by_time",
    "split_holdout",
    "split_last",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first access, then keep it here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'unrated' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from unrated.choosing import Choice, choose_model
    from unrated.data.catalogue import read_catalogue
    from unrated.data.database import Database
    from unrated.data.ids import IdIndex
    from unrated.data.interactions import Interactions
    from unrated.data.io import read_interactions
    from unrated.data.split import Split, split_by_time, split_holdout, split_last
    from unrated.errors import (
        DataError,
        DataWarning,
        InvalidParameterError,
        MemoryLimitError,
        ModelFileError,
        NotFittedError,
        PerformanceWarning,
        UnknownIdError,
        UnratedError,
        UnratedWarning,
    )
    from unrated.evaluation.protocol import Report, evaluate
    from unrated.models.base import Recommender
    from unrated.models.bpr import BPR
    from unrated.models.content import Content
    from unrated.models.ease import EASE
    from unrated.models.embedding_mf import EmbeddingMF
    from unrated.models.graph_filter import GraphFilter
    from unrated.models.hybrid import Hybrid
    from unrated.models.ials import IALS
    from unrated.models.item_knn import ItemKNN
    from unrated.models.popular import Popular
    from unrated.models.recommendations import Recommendations
    from unrated.models.registry import MODELS, make_model
    from unrated.models.repeat import RepeatBlend
    from unrated.models.tifu_knn import TifuKNN
    from unrated.models.top_freq import TopFreq
