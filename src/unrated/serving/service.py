"""ModelService: holds the :class:`ServedModel` in service and swaps in a new one on reload.

A reload loads the file in a worker thread (the event loop keeps answering), then replaces
one reference. A request reads the reference once, so it finishes on the model it started
with; two reloads never run at once.
"""

import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import HTTPException
from fastapi.concurrency import run_in_threadpool

from unrated.serving.events import EventLog
from unrated.serving.served import ServedModel, load_served

logger = logging.getLogger("uvicorn.error")


class ModelService:
    """The model being served, and how to replace it without failing a request."""

    def __init__(
        self,
        path: Path,
        *,
        ann: bool,
        served: ServedModel | None,
        precompute: str = "auto",
        events: EventLog | None = None,
    ) -> None:
        self.path, self.ann, self.precompute = path, ann, precompute
        #: Purchases since the model (``POST /events``), shared by every model served.
        self.events = events or EventLog(path.with_name(path.name + ".events.csv"))
        self._served = served
        self._lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def current(self) -> ServedModel:
        """The model in service (503 before start-up has loaded one)."""
        if self._served is None:
            raise HTTPException(503, "the model is not loaded yet")
        return self._served

    async def start(self) -> None:
        """Load the model unless given one; log what is served."""
        self._lock = asyncio.Lock()
        if self._served is None:
            self._served = await run_in_threadpool(
                load_served, self.path, ann=self.ann, precompute=self.precompute
            )
        served = self._served
        if served.top_lists is not None:
            served.top_lists.start(served.model)
            logger.info(
                "unrated: ranking the top %d items of all %s users in the background",
                served.top_lists.depth,
                f"{served.n_users:,}",
            )
        logger.info(
            "unrated: serving %s (%s users × %s items) from %s",
            served.metadata.get("model", "?"),
            f"{served.n_users:,}",
            f"{served.n_items:,}",
            self.path,
        )
        if served.ann is not None:
            logger.info(
                "unrated: ANN (hnswlib, ef=%d) built in %.1f s; recall@%d vs exact search = %.4f "
                "(%d users)",
                served.ann.ef,
                served.ann.build_seconds,
                served.ann.k,
                served.ann.recall,
                served.ann.sample_users,
            )

    async def reload(self) -> tuple[ServedModel, float]:
        """Load the file again and swap it in; on failure keep serving the old model."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            started = time.perf_counter()
            generation = self.current.generation + 1
            served = await run_in_threadpool(
                load_served,
                self.path,
                generation=generation,
                ann=self.ann,
                precompute=self.precompute,
            )
            previous, self._served = self._served, served
            if previous is not None and previous.top_lists is not None:
                previous.top_lists.stop()
            if served.top_lists is not None:
                served.top_lists.start(served.model)
            seconds = time.perf_counter() - started
        logger.info(
            "unrated: reloaded %s (generation %d) in %.2f s", self.path, generation, seconds
        )
        return served, seconds

    def replace_items(self, table: bytes) -> None:
        """Rewrite the model file with the items file ``table`` (CSV or Parquet bytes).

        Its names and attributes replace the model's; the learned arrays stay. Reload after.

        Raises:
            DataError: the table cannot be read (no id column, an id twice, ...).
        """
        from unrated.data.catalogue import read_catalogue
        from unrated.modelfile import load_model, save_model

        with tempfile.TemporaryDirectory(dir=self.path.parent) as folder:
            upload = Path(folder) / "items.csv"
            upload.write_bytes(table)
            catalogue = read_catalogue(upload)
        model = load_model(self.path)
        names, attributes = catalogue.aligned(model.items_)
        model.set_item_attributes(attributes)
        if names is not None:
            model.item_names_ = np.array(names, dtype=object)
        save_model(model, self.path)

    def reload_in_background(self) -> None:
        """SIGHUP: reload, logging (not raising) any failure."""

        async def run() -> None:
            try:
                await self.reload()
            except Exception as error:
                logger.error("unrated: reload failed, still serving the old model: %s", error)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
