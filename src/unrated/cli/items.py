"""``unrated items``: replace a model's item names and attributes without refitting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from unrated.cli import app
from unrated.cli._display import plain
from unrated.cli._options import console


@app.command()
def items(
    model: Annotated[Path, typer.Argument(help="A model file written by unrated fit.")],
    file: Annotated[
        Path, typer.Argument(help="Items file: item id, a name column, attribute columns.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write (.unrated).")],
) -> None:
    """Give MODEL the names and attributes of FILE (for --where rules) and write it to --out.

    The learned arrays stay as they are; items not in FILE get no name and no attributes.
    A content or hybrid model also takes FILE's new products in, described by their
    features (recommendable at once), and the listed items' features anew.
    """
    from unrated.data.catalogue import read_catalogue
    from unrated.modelfile import load_model, save_model
    from unrated.models.content import Content
    from unrated.models.hybrid import Hybrid

    fitted = load_model(model)
    catalogue = read_catalogue(file)
    added = None
    if isinstance(fitted, Content | Hybrid):
        added = fitted.add_items(catalogue)
    names, attributes = catalogue.aligned(fitted.items_)
    fitted.set_item_attributes(attributes)
    if names is not None:
        import numpy as np

        fitted.item_names_ = np.array(names, dtype=object)
    path = save_model(fitted, out)
    listed = len(catalogue.ids)
    known = int((fitted.items_.positions(catalogue.ids, kind="item", missing="mark") >= 0).sum())
    if added is not None:
        known -= added
        console.print(f"{added:,} new items added, recommendable from their features")
    console.print(
        f"{known:,} of {listed:,} items in {plain(file)} are in the model "
        f"({len(fitted.items_):,} items); attributes: {plain(', '.join(attributes)) or '(none)'}"
        f" → {plain(path)}",
        markup=False,
    )
