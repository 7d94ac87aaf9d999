"""Absurd sizes in a model spec are refused before allocating, naming the parameter to lower."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import unrated as ur
from tests.cli_runner import run_cli
from tests.counts import count
from unrated._memory import PeakMemory, check_memory
from unrated.models.registry import MODELS, make_model

#: 300,000 items bought once each by two users: small data, a large catalogue.
WIDE = 300_000


def small() -> sp.csr_matrix:
    rng = np.random.default_rng(0)
    dense = (rng.random((30, 12)) < 0.3).astype(np.float32)
    dense[:, 0] = 1.0
    return sp.csr_matrix(dense)


def wide() -> sp.csr_matrix:
    rows = np.arange(WIDE) % 2
    return sp.csr_matrix((np.ones(WIDE, np.float32), (rows, np.arange(WIDE))), shape=(2, WIDE))


ABSURD = [
    ("ials:factors=1000000000", small, "lower 'factors'"),
    (f"ials:factors={10**30}", small, "lower 'factors'"),
    ("bpr:factors=100000000000", small, "lower 'factors'"),
    ("bpr:negatives=1000000000000", small, "lower 'negatives'"),
    ("mf:factors=100000000000", small, "lower 'factors'"),
    (f"mf:negatives={10**40}", small, "lower 'negatives'"),
    ("mf:tower=100000000000", small, "lower 'tower'"),
    ("item-knn:neighbors=1000000000", wide, "lower 'neighbors'"),
    ("ease", wide, "use 'item-knn' or 'ials'"),
]


@pytest.mark.parametrize(("spec", "data", "remedy"), ABSURD, ids=[a[0][:30] for a in ABSURD])
def test_absurd_sizes_are_refused_before_allocating(
    spec: str, data: Callable[[], sp.csr_matrix], remedy: str
) -> None:
    matrix = data()
    model = make_model(spec)
    with PeakMemory() as peak, pytest.raises(ur.MemoryLimitError) as caught:
        model.fit(matrix)
    message = str(caught.value)
    assert message.startswith(f"{type(model).__name__} needs "), message
    assert "is available: " + remedy in message and "\n" not in message, message
    assert len(message) < 300, message
    assert peak.extra_bytes is None or peak.extra_bytes < 256 * 2**20, peak.extra_bytes
    count("memory: absurd model sizes refused")


@pytest.mark.parametrize("key", list(MODELS))
@pytest.mark.filterwarnings("ignore:sasrec. the data has no time:UserWarning")  # a set, here
def test_every_model_estimates_and_normal_parameters_fit(key: str) -> None:
    model = MODELS[key]()
    costs = model._memory_costs(30, 12, 120)
    assert costs and all(cost.bytes >= 0 and cost.remedy for cost in costs)
    check_memory(type(model).__name__, costs)  # does not raise
    params = {"epochs": 2} if "epochs" in model.param_names() else {}
    model.set_params(**params).fit(small())
    assert model.is_fitted


GOWALLA = (29_858, 40_981, 810_128)


@pytest.mark.parametrize(
    "spec", [*MODELS, "ials:factors=4096", "mf:tower=64", "item-knn:neighbors=1000"]
)
def test_estimates_for_gowalla_stay_realistic(spec: str) -> None:
    """Specs that run on Gowalla on a 16 GiB machine are estimated below 12 GiB."""
    costs = make_model(spec)._memory_costs(*GOWALLA)
    assert sum(cost.bytes for cost in costs) < 12 * 2**30


def test_estimates_grow_with_their_parameter() -> None:
    shape = (1_000, 2_000, 50_000)
    for spec, name in [("ials", "factors"), ("bpr", "negatives"), ("mf", "tower")]:
        totals = [
            sum(c.bytes for c in make_model(f"{spec}:{name}={v}")._memory_costs(*shape))
            for v in (1, 10, 1000, 10**20)
        ]
        assert totals == sorted(totals) and totals[-1] > 2**60, (spec, totals)


@pytest.mark.parametrize("spec", ["ials:factors=1000000000", f"ials:factors={10**30}"])
def test_cli_fit_with_absurd_factors_exits_2_with_one_line(spec: str, tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("user_id,item_id\n" + "".join(f"{u},{u % 5}\n" for u in range(40)))
    out = tmp_path / "m.unrated"
    result = run_cli("fit", data, "--model", spec, "--out", out)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith("error: IALS needs "), result.stderr
    assert "Traceback" not in result.stderr
    assert "lower 'factors'" in lines[0] and "unexpected" not in lines[0]
    assert not out.exists()
