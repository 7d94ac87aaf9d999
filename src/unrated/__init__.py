"""unrated: recommendations from implicit feedback (purchases, clicks, plays)."""

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
from unrated.models.base import Recommendations, Recommender
from unrated.models.bpr import BPR
from unrated.models.ease import EASE
from unrated.models.embedding_mf import EmbeddingMF
from unrated.models.ials import IALS
from unrated.models.item_knn import ItemKNN
from unrated.models.popular import Popular
from unrated.models.registry import MODELS, make_model

__version__ = "0.1.0"

__all__ = [
    "BPR",
    "EASE",
    "IALS",
    "MODELS",
    "DataError",
    "DataWarning",
    "EmbeddingMF",
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
    "Report",
    "Split",
    "UnknownIdError",
    "UnratedError",
    "UnratedWarning",
    "__version__",
    "evaluate",
    "make_model",
    "read_interactions",
    "split_by_time",
    "split_holdout",
    "split_last",
]
