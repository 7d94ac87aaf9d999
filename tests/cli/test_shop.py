"""A shop export on the command line: --clean, baskets, the basket split, re-buys."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import CliRun
from tests.data.test_clean import EXPORT


def test_fit_a_shop_export_with_clean(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text(EXPORT, encoding="utf-8")
    refused = cli("fit", "export.csv", "--out", "m.unrated", "-m", "popular", expect=2)
    assert "--clean drops rows without one (guest checkouts)" in refused.stderr
    result = cli("fit", "export.csv", "--out", "m.unrated", "-m", "popular", "--clean")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: export.csv: 6 of 10 rows dropped: 2 without a CustomerID (guest checkouts); "
        "2 with a negative Quantity (returns, cancellations); 1 with Quantity 0; "
        "1 bought and then returned in full (netted out)"
    ]
    shown = cli("recommend", "m.unrated", "--user", "12583", "-k", "1").stdout
    assert "85123A" in shown and "WHITE HANGING HEART" in shown  # descriptions as names
