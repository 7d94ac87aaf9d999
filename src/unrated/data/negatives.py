"""NegativeSampler: items a user did not interact with, drawn in bulk for the SGD models.

Implicit feedback has no negatives; models such as ``mf`` and ``bpr`` learn from sampled
"probably not interested" items (Rendle et al. 2009; Mikolov et al. 2013 for the
popularity**0.75 distribution). Every draw is checked against the user's positives and
redrawn if it is one of them, so a user's own item is never used as a negative.

Draws come from a counter-based generator (SplitMix64 of seed and position), so the output
depends only on the seed and the inputs — not on the thread count — while the kernel runs in
parallel.
"""

from __future__ import annotations

from functools import cached_property

import numba
import numpy as np
import scipy.sparse as sp

from unrated._checks import check_choice, check_float, check_int
from unrated._parallel import threads_for

SAMPLERS = ("uniform", "popularity")
RESAMPLE = ("epoch", "once")
#: Random draws per negative before falling back to an exact walk over the user's non-items.
MAX_TRIES = 32

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class NegativeSampler:
    """Draws, for each stored (user, item) pair of ``positives``, items the user has not.

    Args:
        positives: users × items CSR; every stored entry counts as a positive.
        sampler: ``"uniform"`` over the catalogue, or ``"popularity"``: item j with
            probability ∝ n_j**alpha, where n_j is its number of users.
        alpha: the popularity exponent (0.75 as in word2vec, Mikolov et al. 2013; 0 is
            uniform, 1 is proportional to popularity).
        negatives: draws per positive pair.
        resample: ``"epoch"`` draws new negatives for every epoch; ``"once"`` draws them at
            the first epoch and reuses them (the common first attempt).
        seed: the draws depend only on this seed and the epoch number.
        item_counts: users per item to take the popularity from, instead of ``positives``
            (a shard of the users that samples as the whole data would).

    Attributes:
        probabilities: (n_items,) the proposal distribution q before rejection; its log is
            the logQ correction of sampled softmax (Yi et al. 2019).
        users, items: (nnz,) the positive pairs, row-major, aligned with :meth:`draw`'s rows.
    """

    def __init__(
        self,
        positives: sp.csr_matrix,
        *,
        sampler: str = "uniform",
        alpha: float = 0.75,
        negatives: int = 1,
        resample: str = "epoch",
        seed: int = 0,
        item_counts: np.ndarray | None = None,
    ) -> None:
        owner = "NegativeSampler"
        self.sampler = check_choice(sampler, "sampler", owner, SAMPLERS)
        self.alpha = check_float(alpha, "sampler_alpha", owner)
        self.negatives = check_int(negatives, "negatives", owner)
        self.resample = check_choice(resample, "resample", owner, RESAMPLE)
        self.seed = int(seed)
        matrix = sp.csr_matrix(positives)
        if not matrix.has_sorted_indices:
            matrix = matrix.sorted_indices()
        self.indptr = matrix.indptr.astype(np.int64, copy=False)
        self.indices = matrix.indices.astype(np.int32, copy=False)
        self.n_items = int(matrix.shape[1])
        counts = np.diff(self.indptr)
        self.items = self.indices
        #: Users with at least one item they have not interacted with (others get -1).
        self.has_negatives = counts < self.n_items
        if self.sampler == "uniform":
            weights = np.ones(self.n_items)
        else:
            popularity = (
                np.bincount(self.indices, minlength=self.n_items).astype(np.float64)
                if item_counts is None
                else np.asarray(item_counts, dtype=np.float64)
            )
            weights = np.where(popularity > 0, popularity**self.alpha, 0.0)
        self.probabilities = weights / max(weights.sum(), 1e-300)
        self._accept, self._alias = _alias_table(self.probabilities)
        self._cached: np.ndarray | None = None

    @cached_property
    def users(self) -> np.ndarray:
        """The user of each positive (int32, aligned with :attr:`items`), made when asked."""
        return np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int32), np.diff(self.indptr))

    def draw(self, epoch: int) -> np.ndarray:
        """(nnz, negatives) int32 negatives for the positives of epoch ``epoch``.

        With ``resample="once"`` every epoch gets the draw of epoch 0. A user who has every
        item gets -1 (there is nothing to draw).
        """
        if self.resample == "once":
            if self._cached is None:
                self._cached = self.sample(self.users, seed=_stream(self.seed, 0))
            return self._cached
        return self.sample(self.users, seed=_stream(self.seed, epoch))

    def sample(self, users: np.ndarray, *, seed: int, negatives: int | None = None) -> np.ndarray:
        """(len(users), negatives) int32 items, each not a positive of its row's user."""
        count = (
            self.negatives
            if negatives is None
            else check_int(negatives, "negatives", "NegativeSampler.sample")
        )
        out = np.empty((len(users), count), dtype=np.int32)
        with threads_for(out.size / 2):
            _sample(
                np.asarray(users, dtype=np.int32),
                self.indptr,
                self.indices,
                self._accept,
                self._alias,
                self.probabilities,
                self.sampler == "popularity",
                np.uint64(seed),
                out,
            )
        return out


def _stream(seed: int, epoch: int) -> int:
    """A 64-bit seed for one epoch's draws."""
    mixed = np.random.SeedSequence([int(seed) & (2**63 - 1), int(epoch)]).generate_state(
        1, np.uint64
    )
    return int(mixed[0])


def _alias_table(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias method (Vose 1991): O(1) draws from a discrete distribution."""
    n = len(probabilities)
    scaled = probabilities * n
    accept = np.ones(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int32)
    small = [i for i in np.flatnonzero(scaled < 1.0).tolist()]
    large = [i for i in np.flatnonzero(scaled >= 1.0).tolist()]
    while small and large:
        s, g = small.pop(), large.pop()
        accept[s], alias[s] = scaled[s], g
        scaled[g] = scaled[g] + scaled[s] - 1.0
        (small if scaled[g] < 1.0 else large).append(g)
    return accept, alias


@numba.njit(inline="always")
def _mix(x: np.uint64) -> np.uint64:
    """SplitMix64's finaliser (Steele et al. 2014)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(inline="always")
def _uniform(x: np.uint64) -> float:
    return np.int64(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(inline="always")
def _below(x: np.uint64, n: np.uint64) -> np.int64:
    """An integer in [0, n) from the top 31 bits of ``x`` (n < 2**31; Lemire's multiply-shift)."""
    return np.int64(((x >> np.uint64(33)) * n) >> np.uint64(31))


@numba.njit
def _exact(
    indices: np.ndarray,
    start: int,
    stop: int,
    weights: np.ndarray,
    popularity: bool,
    n_items: int,
    u: float,
) -> int:
    """Draw from the user's non-items directly (for users who own most of the catalogue)."""
    total, free = 0.0, 0
    pos = start
    for j in range(n_items):
        if pos < stop and indices[pos] == j:
            pos += 1
            continue
        free += 1
        total += weights[j] if popularity else 1.0
    if free == 0:
        return -1
    use_weights = popularity and total > 0.0
    if not use_weights:
        total = float(free)
    target = u * total
    pos, acc, last = start, 0.0, -1
    for j in range(n_items):
        if pos < stop and indices[pos] == j:
            pos += 1
            continue
        w = weights[j] if use_weights else 1.0
        if w > 0.0:
            last = j
            acc += w
            if acc > target:
                return j
    return last


@numba.njit(parallel=True, cache=True)
def _sample(
    users: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    accept: np.ndarray,
    alias: np.ndarray,
    weights: np.ndarray,
    popularity: bool,
    seed: np.uint64,
    out: np.ndarray,
) -> None:
    """Fill ``out[r, k]`` with a non-positive of ``users[r]``.

    A run of equal users shares one byte map of the user's items (O(1) checks).
    """
    n_rows, count = out.shape
    n_items = len(accept)
    base = _mix(seed)
    starts = np.flatnonzero(np.diff(users)) + 1
    run_starts = np.concatenate((np.zeros(1, np.int64), starts.astype(np.int64)))
    run_stops = np.concatenate((run_starts[1:], np.full(1, n_rows, np.int64)))
    n_runs = len(run_starts) if n_rows > 0 else 0
    n_chunks = min(n_runs, 256)
    for chunk in numba.prange(n_chunks):
        owned = np.zeros(n_items, dtype=np.bool_)
        for run in range(chunk * n_runs // n_chunks, (chunk + 1) * n_runs // n_chunks):
            user = users[run_starts[run]]
            start, stop = indptr[user], indptr[user + 1]
            for pos in range(start, stop):
                owned[indices[pos]] = True
            for r in range(run_starts[run], run_stops[run]):
                for k in range(count):
                    out[r, k] = _draw_one(
                        owned,
                        start,
                        stop,
                        indices,
                        accept,
                        alias,
                        weights,
                        popularity,
                        base,
                        r * count + k,
                    )
            for pos in range(start, stop):
                owned[indices[pos]] = False


@numba.njit(inline="always")
def _draw_one(
    owned: np.ndarray,
    start: int,
    stop: int,
    indices: np.ndarray,
    accept: np.ndarray,
    alias: np.ndarray,
    weights: np.ndarray,
    popularity: bool,
    base: np.uint64,
    position: int,
) -> int:
    n_items = np.uint64(len(accept))
    state = _mix(base ^ _mix(np.uint64(position) + _GOLDEN))
    for _ in range(MAX_TRIES):
        state += _GOLDEN
        item = _below(_mix(state), n_items)
        if popularity:
            state += _GOLDEN
            if _uniform(_mix(state)) >= accept[item]:
                item = alias[item]
        if not owned[item]:
            return int(item)
    state += _GOLDEN
    return int(
        _exact(indices, start, stop, weights, popularity, len(accept), _uniform(_mix(state)))
    )
