"""export-job carries the runs a job reuses (use / start from / resume) into the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sleap_io as sio

from napari_sleap_train.cli import build_parser
from napari_sleap_train.cli.train import build_job
from napari_sleap_train.config.model import ModelKind
from napari_sleap_train.config.profiles import default_pipeline
from napari_sleap_train.config.runs import read_run
from napari_sleap_train.export import ExportJobError, export_job, extract_job
from napari_sleap_train.protocol.job import load_job
from tests.runner.tiny_project import write_run_folder


def _runs(sample_copy: Path, where: Path, resumable: bool = False) -> dict[ModelKind, Path]:
    """A trained run of each top-down model kind, fitting the sample's skeleton."""
    nodes = sio.load_slp(str(sample_copy), open_videos=False).skeleton.node_names
    pipeline = default_pipeline("top-down", "cpu")
    out = {}
    for kind, cfg in pipeline.models.items():
        cfg.kind = kind
        cfg.head.anchor_part = "trunk"
        out[kind] = write_run_folder(where / f"260101_000000.{kind.value}", cfg, nodes, resumable=resumable)
    return out


def _export_cli(sample_copy: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "napari_sleap_train.cli", "export-job", str(sample_copy), "-o", str(out),
         "--device", "cpu", "--anchor-part", "trunk", *options],
        capture_output=True,
        text=True,
    )  # fmt: skip


def _job_as_train_sh_builds_it(folder: Path):
    """What ``train.sh`` (``napari-sleap-train train --job job.json``) would run, built without training."""
    return build_job(build_parser().parse_args(["train", "--job", str(folder / "job.json")]))


def test_used_and_start_from_runs_travel_with_the_package(sample_copy, tmp_path):
    runs = _runs(sample_copy, tmp_path / "home" / "models")
    proc = _export_cli(
        sample_copy,
        tmp_path / "job.zip",
        "--use", str(runs[ModelKind.CENTROID]),
        "--init-from", str(runs[ModelKind.CENTERED_INSTANCE]),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # another machine: the runs at home are gone, only the package is there
    shutil.rmtree(tmp_path / "home")
    folder = extract_job(tmp_path / "job.zip", tmp_path / "elsewhere")
    saved = load_job(folder / "job.json")
    assert saved.use == ["models/260101_000000.centroid"]
    assert saved.init_from == ["reused/260101_000000.centered_instance"]
    job = _job_as_train_sh_builds_it(folder)
    assert [Path(p) for p in job.use] == [folder / "models" / "260101_000000.centroid"]
    assert [Path(p) for p in job.init_from] == [folder / "reused" / "260101_000000.centered_instance"]
    assert read_run(job.use[0]).kind is ModelKind.CENTROID
    assert read_run(job.init_from[0]).kind is ModelKind.CENTERED_INSTANCE


def test_resumed_run_goes_on_in_the_package_runs_folder(sample_copy, tmp_path):
    runs = _runs(sample_copy, tmp_path / "home", resumable=True)
    centroid = runs[ModelKind.CENTROID]
    proc = _export_cli(sample_copy, tmp_path / "job.zip", "--resume", str(centroid), "--epochs", "5")
    assert proc.returncode == 0, proc.stderr
    shutil.rmtree(tmp_path / "home")
    folder = extract_job(tmp_path / "job.zip", tmp_path / "elsewhere")
    job = _job_as_train_sh_builds_it(folder)
    resumed = folder / "models" / centroid.name
    assert [Path(p) for p in job.resume] == [resumed]
    assert (resumed / "latest_model.keras").is_file() and (resumed / "training_log.csv").is_file()
    assert read_run(resumed).can_resume


def test_same_named_runs_get_distinct_places_and_missing_ones_a_plain_error(sample_copy, tmp_path):
    a = _runs(sample_copy, tmp_path / "a")[ModelKind.CENTROID]
    b = _runs(sample_copy, tmp_path / "b")[ModelKind.CENTERED_INSTANCE]
    (tmp_path / "c").mkdir()
    b = b.rename(tmp_path / "c" / a.name)  # same folder name, another folder, other kind
    pipeline = default_pipeline("top-down", "cpu")
    pipeline.anchor_part = "trunk"
    out = export_job(sample_copy, pipeline, tmp_path / "job.zip", reuse={"use": [str(a), str(b)]})
    saved = load_job(extract_job(out, tmp_path / "x") / "job.json")
    assert saved.use == [f"models/{a.name}", f"models/{a.name}-2"]
    with pytest.raises(ExportJobError, match="does not exist"):
        export_job(sample_copy, pipeline, tmp_path / "job2.zip", reuse={"use": [str(tmp_path / "nothing")]})
    assert not (tmp_path / "job2.zip").exists()
