"""``unrated info``: what a model file holds, checked as thoroughly as loading it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from unrated.cli import app
from unrated.cli._display import shown
from unrated.cli._options import console


@app.command()
def info(
    model: Annotated[Path, typer.Argument(help="Model file written by 'unrated fit'.")],
) -> None:
    """Model name, parameters, sizes and the training-data fingerprint of a model file."""
    from unrated.modelfile import load_model

    recommender = load_model(model)
    details = {
        "model": recommender.key,
        "params": recommender.get_params(),
        "users": len(recommender.users_),
        "items": len(recommender.items_),
        "training pairs": recommender.seen_.nnz,
        "trained_on": getattr(recommender, "trained_on_", ""),
        "item names": recommender.item_names_ is not None,
    }
    if recommender.info_:
        details["info"] = dict(recommender.info_)
    for key, value in details.items():
        text = json.dumps(value) if isinstance(value, dict) else value
        console.print(Text.assemble((key, "bold"), ": ", shown(text)))
