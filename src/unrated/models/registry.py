"""The built-in models by name, and the model spec syntax ``NAME[:key=value,...]``."""

from __future__ import annotations

import inspect
from typing import Any

from unrated.errors import InvalidParameterError
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
from unrated.models.repeat import RepeatBlend
from unrated.models.sasrec import SASRec
from unrated.models.tifu_knn import TifuKNN
from unrated.models.top_freq import TopFreq

MODELS: dict[str, type[Recommender]] = {
    cls.key: cls
    for cls in (
        Popular,
        ItemKNN,
        EASE,
        IALS,
        BPR,
        EmbeddingMF,
        GraphFilter,
        TopFreq,
        TifuKNN,
        RepeatBlend,
        Content,
        Hybrid,
        SASRec,
    )
}


def model_class(name: str) -> type[Recommender]:
    """The registered class called ``name``; the error lists the valid names."""
    if name not in MODELS:
        raise InvalidParameterError(f"unknown model {name!r}; valid models: {', '.join(MODELS)}")
    return MODELS[name]


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"ials:factors=64,alpha=2"`` into ``("ials", {"factors": 64, "alpha": 2.0})``.

    Each value is converted to the type of the parameter's default (int, float, bool, str);
    unknown names or keys raise InvalidParameterError listing the valid ones.
    """
    name, _, rest = spec.strip().partition(":")
    cls = model_class(name.strip())
    defaults = {
        p.name: p.default
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is p.KEYWORD_ONLY
    }
    params: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key:
            raise InvalidParameterError(f"model spec {spec!r}: expected key=value, got {part!r}")
        if key not in defaults:
            valid = ", ".join(defaults) or "(none)"
            raise InvalidParameterError(
                f"model {cls.key!r} has no parameter {key!r}; valid parameters: {valid}"
            )
        params[key] = _convert(raw, defaults[key], cls.key, key)
    return cls.key, params


def make_model(spec: str) -> Recommender:
    """A new, unfitted model from a spec string."""
    name, params = parse_spec(spec)
    return MODELS[name](**params)


def format_spec(model: Recommender) -> str:
    """The spec string that recreates ``model``'s class and non-default parameters."""
    defaults = {
        p.name: p.default
        for p in inspect.signature(type(model).__init__).parameters.values()
        if p.kind is p.KEYWORD_ONLY
    }
    changed = [f"{k}={v}" for k, v in model.get_params().items() if defaults.get(k) != v]
    return model.key + (":" + ",".join(changed) if changed else "")


def _convert(raw: str, default: Any, model: str, key: str) -> Any:
    def fail(kind: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"parameter {key!r} of model {model!r} must be {kind}, got {raw!r}"
        )

    if isinstance(default, bool):
        if raw.lower() in ("true", "1", "yes", "on"):
            return True
        if raw.lower() in ("false", "0", "no", "off"):
            return False
        raise fail("true or false")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise fail("an integer") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise fail("a number") from None
    if default is None:
        for kind in (int, float):
            try:
                return kind(raw)
            except ValueError:
                pass
        return None if raw.lower() == "none" else raw
    return raw
