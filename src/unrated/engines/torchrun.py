"""``--engine torchrun``: train ``mf`` data-parallel over N processes with torch.distributed.

``unrated fit DATA --model mf --engine torchrun --nproc N`` starts ``torchrun`` on this
machine (rendezvous on 127.0.0.1), which starts N ranks running the same command. A command
that finds itself under torchrun (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` set) is a rank:
on several machines, run ``torchrun`` yourself with its rendezvous flags (README,
"Outgrowing one machine"). The backend is gloo on CPU and NCCL on GPU (``device``); on
GPU the item tables train under DistributedDataParallel (``_ddp`` says why not on CPU).

Each rank reads its own shard of the users (``_shards``), draws its negatives from
(seed, rank), and trains with the other ranks (``_ddp``); rank 0 gathers the result and
writes the model file. A rank's error ends every rank (torchrun stops the others) and is
reported as one line; a collective that waits longer than ``COLLECTIVE_TIMEOUT`` fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from unrated.errors import EngineError, InvalidParameterError
from unrated.models._mf_torch import import_torch
from unrated.models.base import Recommender
from unrated.models.embedding_mf import EmbeddingMF

#: Seconds a rank waits in one collective (all-reduce, gather) before failing.
COLLECTIVE_TIMEOUT = 600.0
_RANK_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


def under_torchrun() -> bool:
    """True in a process started by torchrun (a rank)."""
    return all(name in os.environ for name in _RANK_ENV)


def fit_torchrun(
    data: str | os.PathLike[str],
    model: Recommender,
    *,
    nproc: int,
    rank_args: list[str],
    timeout: float | None = None,
    user_col: str | None = None,
    item_col: str | None = None,
    weight_col: str | None = None,
) -> EmbeddingMF | None:
    """As a rank: train and return the model on rank 0 (None elsewhere); else launch ranks.

    Args:
        data: the training file (CSV/TSV/Parquet), readable by every rank.
        model: an unfitted ``EmbeddingMF`` holding the parameters.
        nproc: ranks to start on this machine (when not already under torchrun).
        rank_args: the ``unrated`` arguments each started rank runs (a ``fit`` command that
            writes the model file from rank 0).
        timeout: seconds before the launched ranks are stopped (None: no limit).
        user_col: the user id column, as for :func:`unrated.read_interactions`.
        item_col: the item id column.
        weight_col: the weight column (read, but ``mf`` trains on binary data).
    """
    if not isinstance(model, EmbeddingMF):
        raise InvalidParameterError(
            f"--engine torchrun trains 'mf' only (PyTorch), got {model.key!r}"
        )
    model.check_params()
    if model.tower > 0:
        raise InvalidParameterError("--engine torchrun trains mf without a tower: set tower=0")
    if under_torchrun():
        # Idle OpenMP threads (numba's pool, torch's) must sleep, not spin: spinning threads
        # of one rank steal the cores of the others (on 2 cores, 2 ranks ran 10x slower).
        # libgomp reads this when it loads, so before torch is imported.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import_torch()
        return train_rank(Path(data), model, columns=(user_col, item_col, weight_col))
    import_torch()
    launch(rank_args, nproc=nproc, timeout=timeout)
    return None


def launch(args: list[str], *, nproc: int, timeout: float | None = None) -> None:
    """Run ``unrated ARGS`` as ``nproc`` torchrun ranks on 127.0.0.1; errors become one line."""
    port = _free_port()
    threads = max(1, (os.cpu_count() or 1) // nproc)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        f"--nproc-per-node={nproc}",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint=127.0.0.1:{port}",
        "--local-addr=127.0.0.1",
        "--max-restarts=0",
        "--monitor-interval=0.5",
        "-m",
        "unrated",
        *args,
    ]
    env = os.environ | {
        "OMP_NUM_THREADS": str(threads),
        "NUMBA_NUM_THREADS": str(threads),
        "UNRATED_PROGRESS": "0",
    }
    env.setdefault("GLOO_SOCKET_IFNAME", "lo")  # gloo's own connections on loopback too
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(command, stderr=errors, env=env, start_new_session=True)  # noqa: S603
        try:
            with _sigterm_raises():
                code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            raise EngineError(
                f"torchrun did not finish within {timeout:g} s and was stopped"
            ) from None
        except _TerminatedError:
            _stop(process)
            raise EngineError("stopped by SIGTERM; the ranks were stopped too") from None
        except KeyboardInterrupt:
            _stop(process)
            raise
        errors.seek(0)
        lines = errors.read().splitlines()
    for line in lines:
        if line.startswith("warning: "):
            print(line, file=sys.stderr)
    if code != 0:
        raise EngineError(f"torchrun failed: {_failure(lines, code)}")


def _failure(lines: list[str], code: int) -> str:
    """The one line that says why the ranks failed: a rank's own error line if it wrote one."""
    for line in lines:
        if line.startswith("error: "):
            return line.removeprefix("error: ")
    # torchrun's summary ends with "Root Cause (first observed failure):", then the rank's
    # "rank : 1 (local_rank: 1)", "exitcode : -11 (pid: 123)", "traceback : Signal 11 ..."
    cause = next((n for n, line in enumerate(lines) if line.startswith("Root Cause")), 0)
    facts: dict[str, str] = {}
    for line in lines[cause:]:
        key, sep, value = line.strip().partition(":")
        if sep and key.strip() in ("rank", "exitcode", "traceback"):
            facts.setdefault(key.strip(), value.strip())
    if facts:
        return "; ".join(f"{key} {value}" for key, value in facts.items())
    text = [line.strip() for line in lines if line.strip().strip("=-")]
    return text[-1] if text else f"exit code {code}"


class _TerminatedError(Exception):
    """SIGTERM arrived while the ranks were running."""


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into ``_TerminatedError``, so that the ranks (own session) stop too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise _TerminatedError

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def train_rank(
    data: Path, model: EmbeddingMF, *, columns: tuple[str | None, str | None, str | None]
) -> EmbeddingMF | None:
    """This rank's part: read the shard, train with the others; rank 0 returns the model."""
    torch = import_torch()
    import numba
    import torch.distributed as dist

    from unrated.engines._ddp import train_shard
    from unrated.engines._shards import gather_interactions, read_shard

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ["LOCAL_RANK"])
    # the numba kernels (id mapping, negatives) get this rank's share of the cores, as torch
    numba.set_num_threads(max(1, min(numba.get_num_threads(), torch.get_num_threads())))
    device = model.resolved_device()
    if device == "cuda":
        torch.cuda.set_device(local_rank)
    backend = "nccl" if device == "cuda" else "gloo"
    dist.init_process_group(backend, timeout=timedelta(seconds=COLLECTIVE_TIMEOUT))
    try:
        # data-size exchanges (ids, counts, tables) on CPU tensors: a gloo group
        group = dist.new_group(backend="gloo") if backend == "nccl" else dist.group.WORLD
        user_col, item_col, weight_col = columns
        shard = read_shard(
            data,
            rank=rank,
            world=world,
            group=group,
            user_col=user_col,
            item_col=item_col,
            weight_col=weight_col,
        )
        trained = train_shard(
            model,
            shard,
            rank=rank,
            world=world,
            group=group,
            device=f"cuda:{local_rank}" if device == "cuda" else "cpu",
        )
        interactions = gather_interactions(shard, rank=rank, world=world, group=group)
        # A rank that left now would close its sockets under rank 0, which may still be
        # reading that rank's piece: a close with unread bytes resets the connection.
        dist.barrier(group=group)
    finally:
        dist.destroy_process_group()
    if interactions is None:
        return None
    model.restore(
        users=interactions.users,
        items=interactions.items,
        seen=interactions.matrix,
        arrays=trained.tables | {"item_prior": trained.item_prior},
        # the ranks that trained the model, and the digest of the parameters they all ended with
        info={"engine": "torchrun", "ranks": world, "parameters_digest": trained.digest},
        trained_on=interactions.fingerprint(),
    )
    model.best_epoch_, model.validation_ndcg_ = trained.best_epoch, trained.validation_ndcg
    return model


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End torchrun and its ranks (their own process group), politely, then not."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
