"""The engine child refuses unusable output folders and sizes before TensorFlow loads (any caller: dock, CLI, job)."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_sleap_train.protocol.events import Done, Error, Started
from napari_sleap_train.runner.process import EngineProcess
from tests.cli.output_places import read_only_folder, under_a_file
from tests.runner.tiny_project import make_tiny_project, tiny_job


@pytest.fixture(scope="module")
def tiny_slp(tmp_path_factory) -> Path:
    return make_tiny_project(tmp_path_factory.mktemp("tiny"))


def _refused(job, work: Path) -> Error:
    proc = EngineProcess(work_dir=work)
    proc.start(job)
    events = list(proc.events())
    assert not any(isinstance(e, Started) for e in events)  # TensorFlow never loaded
    assert isinstance(events[-1], Done) and events[-1].status == "failed"
    (error,) = [e for e in events if isinstance(e, Error)]
    return error


def test_run_folder_under_a_file(tmp_path, tiny_slp):
    error = _refused(tiny_job(tiny_slp, under_a_file(tmp_path)), tmp_path / "work")
    assert error.kind == "data" and error.message.startswith("The run folder cannot be used: ")
    assert "is a file, not a folder" in error.message


def test_predictions_folder_on_a_read_only_disk(tmp_path, tiny_slp):
    job = tiny_job(tiny_slp, tmp_path / "runs")
    job.predict_frames = [(0, 0)]
    with read_only_folder(tmp_path) as folder:
        job.predictions_path = str(folder / "predictions.slp")
        error = _refused(job, tmp_path / "work")
    assert "predictions folder cannot be used" in error.message and "read-only" in error.message
    assert not (tmp_path / "runs").exists()


def test_batch_larger_than_the_examples(tmp_path, tiny_slp):
    job = tiny_job(tiny_slp, tmp_path / "runs")
    for cfg in job.pipeline.models.values():
        cfg.optimization.batch_size = 500
    error = _refused(job, tmp_path / "work")
    assert error.kind == "config"
    assert "The batch size (500) is larger than the 8 training examples of the centroid model" in error.message
