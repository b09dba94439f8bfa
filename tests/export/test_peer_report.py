"""``benchmarks.peer``: the figures, table and JSON of the sleap-nn comparison.

Nothing here installs or imports sleap-nn (or TensorFlow): the step results
are the records the two step scripts write, built by hand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.peer import (
    REFERENCE,
    ROW_NAMES,
    format_report,
    make_row,
    rows_from_steps,
    topdown_rate,
    write_json,
)


def _steps(ours: dict[str, list[float]], peer: dict[str, list[float]]) -> dict:
    key = {"train": "samples_per_s", "infer": "frames_per_s"}
    return {
        step: {
            "ours": [{key[step.split(".")[0]]: v} for v in ours[step]],
            "peer": [{key[step.split(".")[0]]: v} for v in peer.get(step, [])],
        }
        for step in ours
    }


def test_ratio_is_ours_over_peer():
    row = make_row(6.0, 1.5, "samples/s")
    assert row == {"ours": 6.0, "peer": 1.5, "ratio": 4.0, "unit": "samples/s"}
    assert make_row(3.0, 0.0, "frames/s")["ratio"] is None  # a peer that measured nothing: no ratio


def test_rows_take_the_median_of_repeats_and_combine_the_default_models():
    ours = {
        "train.equal.centroid": [4.0, 6.0, 5.0],
        "train.equal.centered_instance": [2.0, 2.0],
        "infer.equal": [3.0, 5.0],
        "train.default.centroid": [10.0],
        "train.default.centered_instance": [40.0],
        "infer.default": [9.0],
    }
    peer = {
        "train.equal.centroid": [1.0, 1.0, 4.0],
        "train.equal.centered_instance": [1.0, 3.0],
        "infer.equal": [2.0, 2.0],
        "train.default.centroid": [1.0],
        "train.default.centered_instance": [1.0],
        "infer.default": [3.0],
    }
    rows = rows_from_steps(_steps(ours, peer))
    assert list(rows) == list(ROW_NAMES)
    assert rows["train_centroid"]["ours"] == 5.0 and rows["train_centroid"]["peer"] == 1.0
    assert rows["train_centroid"]["ratio"] == 5.0
    assert rows["train_centered_instance"]["ratio"] == 1.0  # medians 2.0 and 2.0
    assert rows["infer_topdown"] == {"ours": 4.0, "peer": 2.0, "ratio": 2.0, "unit": "frames/s"}
    # one centroid + one centered-instance sample: 1 / (1/10 + 1/40) = 8; peer 1 / (1 + 1) = 0.5
    assert rows["cpu_default_train"]["ours"] == pytest.approx(8.0)
    assert rows["cpu_default_train"]["ratio"] == pytest.approx(16.0)
    assert rows["cpu_default_infer"]["ratio"] == pytest.approx(3.0)


def test_a_step_without_both_systems_gives_no_row():
    ours = {"train.equal.centroid": [4.0], "infer.equal": [3.0]}
    rows = rows_from_steps(_steps(ours, {"train.equal.centroid": [2.0]}))
    assert list(rows) == ["train_centroid"]


def test_table_and_json(tmp_path):
    report = {
        "machine": {"cpu": "test"},
        "rows": {"train_centroid": make_row(4.5, 1.5, "samples/s"), "infer_topdown": make_row(2.0, 4.0, "frames/s")},
        "load_average": {"mean": 2.5, "min": 1.0, "max": 4.0},
    }
    text = format_report(report)
    lines = text.splitlines()
    assert lines[0].split() == ["figure", "ours", "sleap-nn", "ours/sleap-nn", "unit"]
    assert lines[2].split() == ["train_centroid", "4.5", "1.5", "3.00x", "samples/s"]
    assert lines[3].split() == ["infer_topdown", "2", "4", "0.50x", "frames/s"]
    assert "mean 2.50, min 1.00, max 4.00" in lines[-1]
    target = write_json(report, tmp_path / "sub" / "peer.json")
    assert json.loads(target.read_text()) == report
    assert [p.name for p in target.parent.iterdir()] == ["peer.json"]  # no temporary left


def test_committed_reference_follows_the_format():
    """The README's figures: rows named as the issue asks, ratio = ours / peer."""
    data = json.loads(Path(REFERENCE).read_text())
    assert data["machine"]["cpu"]
    assert set(data["rows"]) <= set(ROW_NAMES) and data["rows"]
    for name, row in data["rows"].items():
        assert set(row) == {"ours", "peer", "ratio", "unit"}, name
        assert row["unit"] in ("samples/s", "frames/s")
        assert math.isclose(row["ratio"], row["ours"] / row["peer"], rel_tol=1e-9), name
    assert topdown_rate(2.0, 2.0) == 1.0
