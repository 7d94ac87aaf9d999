"""write_report: a comparison as report.html (self-contained), results.json, results.csv, PNGs."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from unrated._atomic import atomic_path
from unrated.evaluation.compare import WARM_UP_USERS, Comparison, ModelResult
from unrated.evaluation.metrics import LABELS, PER_USER_METRICS, metric_label
from unrated.evaluation.plots import write_plots
from unrated.evaluation.repeat import REPEAT_METRICS
from unrated.evaluation.sampled import WARNING as SAMPLED_WARNING

_CAPTIONS = {
    "metrics": "Mean per model with 95% bootstrap intervals over users.",
    "ndcg_curve": "NDCG@K as the list grows: where the curves cross, the better model depends "
    "on how many items you show.",
    "recall_by_history": "Recall by the number of training items per user: light users are "
    "where models differ most.",
    "popularity": "Where recommendations fall in the popularity ranking of the catalogue: "
    "a curve above the dashed line favours bestsellers more than the purchases do.",
}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222;
       padding: 0 1rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: right; }
th:nth-child(2), td:nth-child(2) { text-align: left; }
.ci { color: #777; font-size: 0.75rem; white-space: nowrap; }
.scroll { overflow-x: auto; } code { overflow-wrap: anywhere; }
.best { background: #eef6ee; }
#all-metrics { font-size: 0.8rem; } #all-metrics th, #all-metrics td { padding: 0.3rem 0.3rem; }
figure { margin: 1.5rem 0; } img { max-width: 100%; }
.note { color: #555; } .warn { color: #a33; }
"""

#: What each metric header means (the legend of the "all metrics" table).
_MEANINGS = {
    "ndcg": "normalised discounted cumulative gain",
    "recall": "hits / |test_u|",
    "truncated_recall": "truncated recall, hits / min(K, |test_u|)",
    "precision": "hits / K",
    "map": "mean average precision",
    "mrr": "mean reciprocal rank of the first hit",
    "hit_rate": "share of users with at least one hit",
}


def write_report(comparison: Comparison, folder: str | Path) -> dict[str, Path]:
    """Write the report files into ``folder`` (created if needed); returns name -> path."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    plots = write_plots(comparison, target)
    document = comparison.to_dict()
    paths = {"json": target / "results.json", "csv": target / "results.csv"}
    with atomic_path(paths["json"]) as temporary:
        temporary.write_text(json.dumps(document, indent=2), encoding="utf-8")
    with atomic_path(paths["csv"]) as temporary:
        comparison.to_frame().write_csv(temporary)
    paths["html"] = target / "report.html"
    with atomic_path(paths["html"]) as temporary:
        temporary.write_text(_html(comparison, document, plots), encoding="utf-8")
    return paths | plots


def _cell(result: ModelResult, metric: str) -> str:
    interval = result.intervals[metric]
    return (
        f"<td>{interval.mean:.4f}<br><span class=ci>"
        f"{interval.low:.4f}–{interval.high:.4f}</span></td>"
    )


def _model_cell(result: ModelResult) -> str:
    sampled = "".join(
        f"<br><span class=warn>{html.escape(k)} {v:.4f}</span>"
        for k, v in (result.sampled or {}).items()
    )
    return f"<td><code>{html.escape(result.spec)}</code>{sampled}</td>"


def _leaderboard(comparison: Comparison) -> str:
    """The main table: the key metrics, the paired test against the best, and the costs."""
    e = html.escape
    cutoff = max(comparison.k)
    key = [f"ndcg@{cutoff}", f"recall@{cutoff}"]
    rows = []
    for rank, result in enumerate(comparison.results, start=1):
        test = result.versus_best
        versus = (
            "best"
            if test is None
            else (
                f"{test.difference.mean:+.4f} (p={test.p_value:.2g}"
                f"{', differs' if test.significant else ', within noise'})"
            )
        )
        memory = result.peak_memory_bytes
        rows.append(
            f"<tr class={'best' if rank == 1 else 'row'}><td>{rank}</td>{_model_cell(result)}"
            f"{''.join(_cell(result, m) for m in key)}<td>{e(versus)}</td>"
            f"<td>{result.fit_seconds:.2f}</td><td>{result.warmup_seconds:.2f}</td>"
            f"<td>{result.report.seconds:.2f}</td>"
            f"<td>{'' if memory is None else f'{memory / 2**20:.0f}'}</td></tr>"
        )
    head = "".join(f"<th>{e(metric_label(m))}</th>" for m in key)
    return (
        f"<table id=leaderboard><thead><tr><th>#</th><th>model</th>{head}"
        f"<th>vs best ({e(metric_label(comparison.primary))})</th><th>fit s</th>"
        "<th>warm-up s</th><th>recommend s</th><th>fit memory MiB</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _all_metrics(comparison: Comparison) -> tuple[str, str]:
    """The second table (every metric at every K) and its legend, in the headers' terms."""
    e = html.escape
    cutoff = max(comparison.k)
    names = ("ndcg", "recall", "truncated_recall")
    metrics = [f"{name}@{k}" for name in names for k in comparison.k]
    metrics += [f"{name}@{cutoff}" for name in PER_USER_METRICS if name not in names]
    repeat = list(REPEAT_METRICS) if comparison.include_seen else []
    metrics += [f"{name}@{cutoff}" for name in repeat]
    rows = "".join(
        f"<tr class={'best' if rank == 1 else 'row'}><td>{rank}</td>{_model_cell(result)}"
        f"{''.join(_cell(result, m) for m in metrics)}</tr>"
        for rank, result in enumerate(comparison.results, start=1)
    )
    head = "".join(f"<th>{e(metric_label(m))}</th>" for m in metrics)
    table = (
        f"<table id=all-metrics><thead><tr><th>#</th><th>model</th>{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    legend = "; ".join(f"{e(LABELS[name])}@K: {e(_MEANINGS[name])}" for name in PER_USER_METRICS)
    legend += "".join(f"; {e(name)}@K: {e(REPEAT_METRICS[name])}" for name in repeat)
    return table, legend


def _html(comparison: Comparison, document: dict[str, object], plots: dict[str, Path]) -> str:
    e = html.escape
    data = document["data"]
    assert isinstance(data, dict)  # noqa: S101 (built by to_dict just above)
    figures = "".join(
        f"<figure><img alt='{e(name)}' src='data:image/png;base64,"
        f"{base64.b64encode(path.read_bytes()).decode()}'><figcaption>{e(_CAPTIONS[name])}"
        "</figcaption></figure>"
        for name, path in plots.items()
    )
    warning = (
        f"<p class=warn>Sampled metrics (labelled “sampled”) are shown on request: "
        f"{e(SAMPLED_WARNING)}.</p>"
        if any(r.sampled for r in comparison.results)
        else ""
    )
    all_metrics, legend = _all_metrics(comparison)
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>unrated comparison</title>
<style>{_STYLE}</style></head><body>
<h1>Which model works on this data?</h1>
<p class=note>unrated {e(str(document["unrated_version"]))}, {e(str(document["created"]))}.
Train: {e(str(data["train"]))} ({data["users"]:,} users, {data["items"]:,} items,
{data["train_pairs"]:,} pairs; fingerprint <code>{e(str(data["fingerprint"]))}</code>).
Test: {e(str(data["test"] or "held out from train"))} ({data["test_pairs"]:,} pairs,
{document["evaluated_users"]:,} users evaluated).
Split: <code>{e(comparison.split.protocol)}</code>.</p>
<p class=note>Protocol: {e(comparison.best.report.note)}. Intervals: 95% bootstrap over users
({comparison.rounds} resamples, seed {comparison.seed}).</p>
{warning}
<div class=scroll>{_leaderboard(comparison)}</div>
<p class=note id=leaderboard-legend>vs best: mean paired difference in
{e(metric_label(comparison.primary))} against the best model, with a paired t-test; “within
noise” when its 95% bootstrap interval contains 0. fit s: the timed fit, which comes after
an untimed warm-up fit on {WARM_UP_USERS} users; warm-up s: that warm-up, mostly the one-off
compilation of the model's numba kernels in a new process. recommend s: ranking the full
catalogue for every test user and scoring it. fit memory MiB: peak resident memory that the
timed fit added to the process (sampled every 5 ms, after freed memory was handed back to
the system).</p>
<h2>All metrics</h2>
<div class=scroll>{all_metrics}</div>
<p class=note id=metrics-legend>{legend}.</p>
{figures}
</body></html>
"""
