"""``napari-sleap-train train``: job building, readable progress, JSON events (no TF here)."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import pytest

from napari_sleap_train.cli import build_parser, main
from napari_sleap_train.cli.train import build_job
from napari_sleap_train.config.model import ModelKind, PipelineKind, Precision
from napari_sleap_train.config.serialize import save_json
from napari_sleap_train.protocol.events import Done, Error, parse_event
from tests.runner.tiny_project import make_tiny_project, tiny_config

from .output_places import read_only_folder, run_cli, under_a_file


@pytest.fixture(scope="module")
def tiny_slp(tmp_path_factory) -> Path:
    return make_tiny_project(tmp_path_factory.mktemp("tiny"))


def _tiny_configs(folder: Path) -> list[str]:
    paths = []
    for kind in (ModelKind.CENTROID, ModelKind.CENTERED_INSTANCE):
        paths += ["--config", str(save_json(tiny_config(kind), folder / f"{kind.value}.json"))]
    return paths


def test_build_job_applies_overrides(tmp_path, tiny_slp):
    args = build_parser().parse_args(
        [
            "train",
            str(tiny_slp),
            "--run-dir",
            str(tmp_path / "runs"),
            "--epochs",
            "7",
            "--batch-size",
            "2",
            "--learning-rate",
            "0.01",
            "--patience",
            "3",
            "--time-limit",
            "1.5",
            "--device",
            "cpu",
            "--anchor-part",
            "head",
            "--profile",
            "baseline.centroid",
            "--predict",
            "labeled",
        ]
    )
    job = build_job(args)
    assert job.runs_folder == str((tmp_path / "runs").resolve())
    assert set(job.pipeline.models) == {ModelKind.CENTROID, ModelKind.CENTERED_INSTANCE}
    for cfg in job.pipeline.models.values():
        assert cfg.optimization.epochs == 7 and cfg.optimization.batch_size == 2
        assert cfg.optimization.learning_rate == 0.01 and cfg.optimization.early_stopping.patience == 3
        assert cfg.optimization.fine_tune_learning_rate is None  # --init-from runs: a tenth, as in the dock
        assert cfg.optimization.time_limit_minutes is None and cfg.head.anchor_part == "head"
    assert job.pipeline.time_limit_minutes == 1.5  # --time-limit is the whole pipeline's budget
    assert job.pipeline.models[ModelKind.CENTROID].profile == "baseline.centroid"
    assert job.pipeline.device == "cpu"
    assert job.pipeline.multi_worker is False
    assert sorted(job.predict_frames) == [(0, i) for i in range(10)]


def test_the_cpu_budget_is_twenty_minutes_unless_told_and_zero_lifts_it(tmp_path, tiny_slp, monkeypatch):
    monkeypatch.setenv("NAPARI_SLEAP_TRAIN_HARDWARE", "cpu")
    base = ["train", str(tiny_slp), "--run-dir", str(tmp_path / "runs"), "--device", "cpu"]
    assert build_job(build_parser().parse_args(base)).pipeline.time_limit_minutes == 20.0
    assert build_job(build_parser().parse_args([*base, "--time-limit", "0"])).pipeline.time_limit_minutes is None
    assert build_job(build_parser().parse_args([*base, "--time-limit", "5"])).pipeline.time_limit_minutes == 5.0
    with pytest.raises(Exception, match="0: no limit"):
        build_job(build_parser().parse_args([*base, "--time-limit", "-1"]))


def test_build_job_bottom_up(tmp_path, tiny_slp):
    args = build_parser().parse_args(
        ["train", str(tiny_slp), "--run-dir", str(tmp_path / "runs"), "--pipeline", "bottom-up", "--device", "cpu"]
    )
    job = build_job(args)
    assert job.pipeline.kind is PipelineKind.BOTTOM_UP
    assert list(job.pipeline.models) == [ModelKind.MULTI_INSTANCE]
    cfg = job.pipeline.models[ModelKind.MULTI_INSTANCE]
    assert cfg.kind is ModelKind.MULTI_INSTANCE and cfg.head.anchor_part is None
    assert cfg.pafs.output_stride >= cfg.model.output_stride


def test_build_job_several_gpus_and_multi_worker(tmp_path, tiny_slp):
    args = build_parser().parse_args(
        [
            "train",
            str(tiny_slp),
            "--run-dir",
            str(tmp_path / "runs"),
            "--device",
            "gpu:all",
            "--multi-worker",
        ]
    )
    job = build_job(args)
    assert job.pipeline.device == "gpu:all" and job.pipeline.multi_worker is True


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--profile", "no_such_profile"], "no_such_profile"),
        (["--profile", "baseline_medium_rf.single"], "does not fit the top-down pipeline"),
        (["--profile", "baseline_medium_rf.bottomup"], "does not fit the top-down pipeline"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--predict", "sometimes"], "is not understood"),
    ],
)
def test_bad_arguments_are_explained(tmp_path, tiny_slp, capsys, extra, message):
    assert main(["train", str(tiny_slp), "--run-dir", str(tmp_path), *extra]) == 2
    assert message in capsys.readouterr().err


def test_missing_project(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.slp")]) == 2
    assert "project file not found" in capsys.readouterr().err


def test_train_prints_readable_progress(tmp_path, tiny_slp, capsys):
    code = main(
        [
            "train",
            str(tiny_slp),
            "--run-dir",
            str(tmp_path / "runs"),
            *_tiny_configs(tmp_path),
            "--epochs",
            "2",
            "--batches-per-epoch",
            "2",
            "--device",
            "cpu",
            "--anchor-part",
            "head",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "running on CPU" in out
    assert "[centroid] epoch 1: loss" in out and "[centered_instance] epoch 2: loss" in out
    assert "[centered_instance] finished (completed) after 2 epochs" in out
    assert len([p for p in (tmp_path / "runs").iterdir() if (p / "best_model.keras").exists()]) == 2


def test_json_mode_prints_events_and_fails_cleanly(tmp_path, tiny_slp, capsys):
    code = main(
        [
            "train",
            str(tiny_slp),
            "--run-dir",
            str(tmp_path / "runs"),
            *_tiny_configs(tmp_path),
            "--anchor-part",
            "abdomen",
            "--json",
        ]
    )
    lines = capsys.readouterr().out.strip().splitlines()
    events = [parse_event(line) for line in lines]
    assert all(json.loads(line)["type"] for line in lines)
    error = next(e for e in events if isinstance(e, Error))
    assert "abdomen" in error.message and error.kind == "config"
    assert isinstance(events[-1], Done) and events[-1].status == "failed"
    assert code == 1
    assert "tensorflow" not in sys.modules


def test_job_file_is_run_with_its_settings_and_paths_from_its_folder(tmp_path, tiny_slp, monkeypatch):
    from napari_sleap_train.config.profiles import default_pipeline
    from napari_sleap_train.protocol.job import save_job
    from napari_sleap_train.session.job import make_train_job

    package = tmp_path / "package"
    package.mkdir()
    (package / "tiny.slp").write_bytes(tiny_slp.read_bytes())
    pipeline = default_pipeline("top-down", "cpu")
    pipeline.anchor_part = "head"
    pipeline.precision = Precision.FLOAT32
    pipeline.snapshot_minutes = [3.0]
    for cfg in pipeline.models.values():
        cfg.optimization.batch_size = 3
    written = make_train_job(
        pipeline, "tiny.slp", runs_folder="models", predict_frames=[(0, 1)], predictions_path="out/p.slp"
    )
    save_job(written, package / "job.json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    job = build_job(build_parser().parse_args(["train", "--job", "../package/job.json", "--epochs", "2"]))
    assert job.labels_path == str((package / "tiny.slp").resolve())
    assert job.runs_folder == job.pipeline.runs_folder == str((package / "models").resolve())
    assert job.predictions_path == str((package / "out/p.slp").resolve())
    assert job.predict_frames == [(0, 1)]
    assert [m.optimization.epochs for m in job.pipeline.models.values()] == [2, 2]  # the option wins
    assert [m.optimization.batch_size for m in job.pipeline.models.values()] == [3, 3]  # the rest is the job's
    assert [m.head.anchor_part for m in job.pipeline.models.values()] == ["head", "head"]
    assert job.pipeline.precision is Precision.FLOAT32 and job.pipeline.snapshot_minutes == [3.0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train"], "give the project to train on"),
        (["train", "--job", "nope.json"], "Job file not found"),
    ],
)
def test_project_or_job_is_needed(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("where", ["existing file", "under a file", "read-only disk"])
def test_unusable_run_dir_is_one_line_before_tensorflow(tmp_path, tiny_slp, where):
    with contextlib.ExitStack() as stack:
        if where == "existing file":
            run_dir = tmp_path / "runs.txt"
            run_dir.write_text("not a folder")
        elif where == "under a file":
            run_dir = under_a_file(tmp_path)
        else:
            run_dir = stack.enter_context(read_only_folder(tmp_path)) / "x"
        proc = run_cli(
            "train", str(tiny_slp), "--run-dir", str(run_dir), *_tiny_configs(tmp_path), "--device", "cpu", timeout=120
        )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "running on" not in proc.stdout  # TensorFlow never started
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("napari-sleap-train train: error: ")
    assert {
        "existing file": "is a file, not a folder",
        "under a file": "is a file, not a folder",
        "read-only disk": "read-only",
    }[where] in line
