"""`benchmarks/params.py`, the source of every parameter count in the docs:
its weight groups cover every weight once, and its counts follow from the
equations' shapes."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import params  # noqa: E402

pytestmark = pytest.mark.core


def test_groups_cover_every_weight_and_follow_the_shapes():
    args = params.parse_args(["--features", "6", "--units", "16",
                              "--num-heads", "2"])
    d, n, D, k = 16, 2, 6, 8
    for gates, maps in (("separate", 2), ("tied", 1)):
        layer = params.nrnm_layer(args, D, memory_gates=gates)
        groups = params.weight_groups(layer)
        assert sum(groups.values()) == layer.count_params()
        assert groups["LSTM backbone"] == 4 * d * (D + d + 1)
        assert groups["memory gate U_m"] == (n * d) ** 2
        assert groups["memory projection P"] == n * d * d
        assert groups["gate channel maps"] == maps * 2 * d * d
        assert groups["gate unit mixing"] == 2 * n * (k + n)


def test_report_counts_the_arrangements():
    args = params.parse_args(["--features", "6", "--units", "16",
                              "--num-heads", "2", "--classes", "3"])
    lines = params.report(args)
    lstm_lstm = 4 * 16 * (6 + 16 + 1) + 4 * 16 * (16 + 16 + 1) + 17 * 3
    assert f"| LSTM, LSTM | {lstm_lstm:,} |" in lines
    assert any(line.startswith("| **total** |") for line in lines)


def test_design_page_shows_the_scripts_tables():
    """docs/design.md's parameter tables are the script's output at the
    paper's NTU setting, line for line (re-run the script when they differ)."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "design.md").read_text()
    for line in params.report(params.parse_args([])):
        assert line in page.splitlines(), line
