"""write_report: a comparison as report.html (self-contained), results.json, results.csv, PNGs."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from unrated._atomic import atomic_path
from unrated.evaluation.compare import Comparison
from unrated.evaluation.metrics import PER_USER_METRICS
from unrated.evaluation.plots import write_plots
from unrated.evaluation.protocol import PROTOCOL_NOTE
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
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: right; }
th:nth-child(2), td:nth-child(2) { text-align: left; }
.ci { color: #777; font-size: 0.75rem; white-space: nowrap; }
.scroll { overflow-x: auto; } code { white-space: nowrap; }
.best { background: #eef6ee; }
figure { margin: 1.5rem 0; } img { max-width: 100%; }
.note { color: #555; } .warn { color: #a33; }
"""


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


def _html(comparison: Comparison, document: dict[str, object], plots: dict[str, Path]) -> str:
    e = html.escape
    data = document["data"]
    assert isinstance(data, dict)  # noqa: S101 (built by to_dict just above)
    metrics = [
        f"{name}@{k}" for name in ("ndcg", "recall", "truncated_recall") for k in comparison.k
    ]
    metrics += [
        f"{name}@{max(comparison.k)}"
        for name in PER_USER_METRICS
        if name not in ("ndcg", "recall", "truncated_recall")
    ]
    head = "".join(f"<th>{e(m)}</th>" for m in metrics)
    rows = []
    for rank, result in enumerate(comparison.results, start=1):
        cells = "".join(
            f"<td>{result.intervals[m].mean:.4f}<br><span class=ci>"
            f"{result.intervals[m].low:.4f}–{result.intervals[m].high:.4f}</span></td>"
            for m in metrics
        )
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
        cost = (
            f"<td>{result.fit_seconds:.2f}</td><td>{result.report.seconds:.2f}</td>"
            f"<td>{'' if memory is None else f'{memory / 2**20:.0f}'}</td>"
        )
        sampled = (
            ""
            if result.sampled is None
            else "<br>".join(
                f"<span class=warn>{e(k)} {v:.4f}</span>" for k, v in result.sampled.items()
            )
        )
        rows.append(
            f"<tr class={'best' if rank == 1 else 'row'}><td>{rank}</td>"
            f"<td><code>{e(result.spec)}</code>{'<br>' + sampled if sampled else ''}</td>"
            f"{cells}<td>{e(versus)}</td>{cost}</tr>"
        )
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
<p class=note>Protocol: {e(PROTOCOL_NOTE)}. Intervals: 95% bootstrap over users
({comparison.rounds} resamples, seed {comparison.seed}). “vs best”: mean paired difference
in {e(comparison.primary)} against the best model, with a paired t-test; “within noise” when
its 95% bootstrap interval contains 0.</p>
{warning}
<div class=scroll><table><thead><tr><th>#</th><th>model</th>{head}
<th>vs best ({e(comparison.primary)})</th><th>fit s</th><th>recommend s</th>
<th>peak MiB</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></div>
<p class=note>tRecall = truncated recall, P = precision, Hit = hit rate.</p>
{figures}
</body></html>
"""


def _short(metric: str) -> str:
    names = {
        "ndcg": "NDCG",
        "recall": "Recall",
        "truncated_recall": "tRecall",
        "precision": "P",
        "map": "MAP",
        "mrr": "MRR",
        "hit_rate": "Hit",
    }
    name, _, cutoff = metric.partition("@")
    return f"{names.get(name, name)}@{cutoff}"
