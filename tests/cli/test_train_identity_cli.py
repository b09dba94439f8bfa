"""``napari-sleap-train train --pipeline top-down-id | bottom-up-id`` (the models train in a child process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_sleap_train.cli import build_parser, main
from napari_sleap_train.cli.train import build_job
from napari_sleap_train.config.model import ModelKind, PipelineKind
from napari_sleap_train.config.serialize import save_json
from tests.runner.tiny_project import make_tiny_project, tiny_config


@pytest.fixture(scope="module")
def tracked_slp(tmp_path_factory) -> Path:
    return make_tiny_project(tmp_path_factory.mktemp("tracked"), n_frames=8, tracks=("female", "male"))


@pytest.mark.parametrize(
    ("pipeline", "kinds"),
    [
        ("top-down-id", [ModelKind.CENTROID, ModelKind.MULTI_CLASS_TOPDOWN]),
        ("bottom-up-id", [ModelKind.MULTI_CLASS_BOTTOMUP]),
    ],
)
def test_build_job_identity_pipelines(tmp_path, tracked_slp, pipeline, kinds):
    argv = ["train", str(tracked_slp), "--run-dir", str(tmp_path / "runs"), "--pipeline", pipeline]
    job = build_job(build_parser().parse_args([*argv, "--device", "cpu", "--anchor-part", "head"]))
    assert job.pipeline.kind is PipelineKind(pipeline)
    assert list(job.pipeline.models) == kinds
    ident = job.pipeline.models[kinds[-1]]
    assert ident.kind is kinds[-1] and ident.identity.classes is None  # the engine takes the track names
    if kinds[-1] is ModelKind.MULTI_CLASS_TOPDOWN:
        assert ident.head.anchor_part == "head"


def test_train_top_down_id_runs_both_models(tmp_path, tracked_slp, capsys):
    configs = []
    for kind in (ModelKind.CENTROID, ModelKind.MULTI_CLASS_TOPDOWN):
        configs += ["--config", str(save_json(tiny_config(kind), tmp_path / f"{kind.value}.json"))]
    argv = ["train", str(tracked_slp), "--run-dir", str(tmp_path / "runs"), "--pipeline", "top-down-id", *configs]
    code = main([*argv, "--epochs", "2", "--batches-per-epoch", "2", "--device", "cpu", "--anchor-part", "head"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "learns 2 classes (female, male) from 16 of the 16 labeled instances" in out
    assert "[multi_class_topdown] finished (completed) after 2 epochs" in out
    assert len([p for p in (tmp_path / "runs").iterdir() if (p / "best_model.keras").exists()]) == 2


def test_train_identity_without_tracks_says_why(tmp_path, capsys):
    untracked = make_tiny_project(tmp_path / "p", n_frames=4)
    argv = ["train", str(untracked), "--run-dir", str(tmp_path / "runs"), "--pipeline", "bottom-up-id"]
    assert main([*argv, "--device", "cpu"]) != 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "learns who is who from the tracks" in text and "on no track" in text
