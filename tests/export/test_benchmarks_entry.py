"""``python -m benchmarks``: discovery, listing, argument errors and the shared helpers.

The benchmarks themselves run in subprocesses; nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.common import describe_machine, format_table, machine_description, parse_figures

ROOT = Path(__file__).resolve().parents[2]


def _benchmarks(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_list_names_every_benchmark_module():
    proc = _benchmarks("--list")
    assert proc.returncode == 0, proc.stderr
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    expected = {p.stem for p in (ROOT / "benchmarks").glob("*.py") if not p.stem.startswith("_")} - {"common"}
    assert listed == expected
    assert {"io_open", "gui_latency", "sample_accuracy"} <= listed
    assert "opening a SLEAP project" in proc.stdout  # first docstring line as description
    assert "napari event-loop latency while a real training runs" in proc.stdout
    assert "accuracy on the procedural sample after a fixed training budget" in proc.stdout


def test_gui_and_sample_benchmarks_have_quick_settings():
    """Both run with ``--quick`` under ``python -m benchmarks --quick`` (their own small settings)."""
    from benchmarks.__main__ import QUICK_BUDGET_S, SETTINGS, _command, discover

    available = discover()
    for name in ("gui_latency", "sample_accuracy"):
        cmd = _command(name, available[name], quick=True)
        assert cmd[1:3] == ["-m", f"benchmarks.{name}"] and cmd[-1] == "--quick"
        assert _command(name, available[name], quick=False)[-1] != "--quick"
        assert 0 < SETTINGS[name].quick_timeout < QUICK_BUDGET_S


def test_sample_accuracy_parser_takes_a_budget():
    from benchmarks.sample_accuracy import build_parser

    args = build_parser().parse_args(["--budget-minutes", "2.5", "--test-frames", "50"])
    assert args.budget_minutes == 2.5 and args.test_frames == 50


def test_unknown_benchmark_is_refused():
    proc = _benchmarks("--only", "io_open,no_such_benchmark")
    assert proc.returncode == 2
    assert "unknown benchmark(s): no_such_benchmark" in proc.stderr
    assert "io_open" in proc.stderr  # lists what is available


def test_parse_figures_reads_label_value_lines():
    text = (
        "header without figures\nfps: 12.5 frames/s\nnote: none\nfps: 13 frames/s\nRSS 20 MB\n"
        "model load (2 run folders)     2.40 s\n"
        "predict() as shipped           0.50 frames/s  (untrained: 0 instances)\n"
        "centroid     profile a.b: input 64x64, 3 params\n"
    )
    assert parse_figures(text) == {
        "fps": "12.5 frames/s",
        "fps #2": "13 frames/s",
        "model load (2 run folders)": "2.40 s",
        "predict() as shipped": "0.50 frames/s  (untrained: 0 instances)",
        "centroid profile a.b": "input 64x64, 3 params",
    }


def test_format_table_aligns_columns():
    table = format_table([["a", 1.5], ["long name", None]], ["name", "value"])
    lines = table.splitlines()
    assert lines[0].split() == ["name", "value"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].index("1.5") == lines[0].index("value")
    assert lines[3].strip() == "long name"


def test_machine_description_without_tensorflow_import():
    machine = machine_description()
    assert machine["logical_cores"] >= 1
    assert machine["python"] == ".".join(map(str, sys.version_info[:3]))
    assert {"cpu", "ram_gb", "os", "tensorflow", "gpu"} <= set(machine)
    text = describe_machine(machine)
    assert "CPU:" in text and "GPU:" in text
    assert "tensorflow" not in sys.modules


@pytest.mark.slow
def test_quick_run_of_one_benchmark_writes_json(tmp_path):
    out = tmp_path / "results.json"
    proc = _benchmarks("--quick", "--only", "io_open", "--json", str(out), timeout=400)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    (result,) = data["results"]
    assert result["name"] == "io_open" and result["status"] == "ok"
    assert result["peak_rss_mb"] > 0 and result["figures"]
    assert data["machine"]["logical_cores"] >= 1
    assert "io_open" in proc.stdout and "peak RSS (subprocess)" in proc.stdout


def test_child_mode_prints_the_run_dict_as_one_marked_line(monkeypatch, capsys):
    """Modules with ``run(quick)`` report a dict; the runner reads it from one marked line."""
    import types

    from benchmarks.__main__ import RESULT_MARK, _flatten, main

    calls = []

    def run(quick: bool) -> dict:
        calls.append(quick)
        return {"fps": 12.5, "stages": {"centroid": 3.0}}

    module = types.ModuleType("benchmarks.fake_bench")
    module.run = run
    monkeypatch.setitem(sys.modules, "benchmarks.fake_bench", module)
    assert main(["--child", "fake_bench", "--quick"]) == 0
    assert calls == [True]
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith(RESULT_MARK)]
    figures = _flatten(json.loads(line[len(RESULT_MARK) :]))
    assert figures["fps"] == 12.5 and figures["stages.centroid"] == 3.0
    assert figures["peak RSS of the process (MB)"] > 0


@pytest.mark.parametrize("pipeline", ["top-down", "bottom-up", "top-down-id"])
def test_time_to_accuracy_passes_the_pipeline_to_train(pipeline):
    """``--pipeline`` reaches ``train`` as the pipeline it trains; top-down stays the default with its anchor."""
    from benchmarks.time_to_accuracy import _extra, build_parser
    from napari_sleap_train.cli import build_parser as cli_parser
    from napari_sleap_train.cli.job_options import pipeline_from_args
    from napari_sleap_train.config.model import ModelKind, PipelineKind

    argv = [] if pipeline == "top-down" else ["--pipeline", pipeline]
    extra = _extra(build_parser().parse_args(argv))
    train_args = cli_parser().parse_args(["train", "project.slp", "--device", "cpu", *extra])
    made = pipeline_from_args(train_args)
    assert made.kind is PipelineKind(pipeline)
    if pipeline == "top-down":
        assert made.anchor_part == "thorax"
        assert made.models[ModelKind.CENTERED_INSTANCE].profile == "cpu.centered_instance"
    elif pipeline == "top-down-id":  # the identity top-down pipeline keeps the centroid's anchor
        assert made.anchor_part == "thorax"
        assert made.kind.model_kinds == (ModelKind.CENTROID, ModelKind.MULTI_CLASS_TOPDOWN)
    else:
        assert "--anchor-part" not in extra  # a centroid setting; bottom-up has no centroid model
        assert made.kind.model_kinds == (ModelKind.MULTI_INSTANCE,)
        assert made.models[ModelKind.MULTI_INSTANCE].profile == "cpu.bottomup"


def test_time_to_accuracy_predicts_every_model_of_the_pipeline():
    from benchmarks.time_to_accuracy import model_order

    assert model_order({"centered_instance": 1, "centroid": 1}) == ["centroid", "centered_instance"]
    assert model_order({"multi_instance": 1}) == ["multi_instance"]
    assert model_order({"single_instance": 1}) == ["single_instance"]
    assert model_order({"multi_class_topdown": 1, "centroid": 1}) == ["centroid", "multi_class_topdown"]


def test_time_to_accuracy_targets_by_pipeline():
    from benchmarks.time_to_accuracy import TARGETS, meets_target

    bottom_up = {"detected": 0.92, "median_px": 2.5, "p90_px": 20.0, "oks_map": 0.5}
    assert meets_target(bottom_up, TARGETS["bottom-up"])
    assert not meets_target(bottom_up, TARGETS["top-down"])  # p90 and mAP too weak for top-down
    assert not meets_target({**bottom_up, "median_px": 3.5}, TARGETS["bottom-up"])
    assert not meets_target({**bottom_up, "detected": None}, TARGETS["bottom-up"])
