"""Training mirrored over several devices (tf.distribute), exercised on CPU.

``device="cpu:2"`` splits the CPU into two logical devices and trains under
``MirroredStrategy`` — the same code path as ``gpu:all`` on a multi-GPU
workstation. Runs through the real child process; TensorFlow never enters
this process.
"""

from __future__ import annotations

import json

import pytest

from napari_sleap_train.config.model import PipelineKind
from napari_sleap_train.protocol.events import Batch, Done, Epoch, Error, Message, ModelStarted, Started
from napari_sleap_train.runner.process import EngineProcess
from tests.runner.tiny_project import make_tiny_project, tiny_job


@pytest.fixture(scope="module")
def tiny_slp(tmp_path_factory):
    return make_tiny_project(tmp_path_factory.mktemp("tiny"), n_frames=10)


def _run(job, work):
    proc = EngineProcess(work_dir=work)
    proc.start(job)
    return list(proc.events()), proc


def test_mirrored_over_two_logical_cpus_trains(tmp_path, tiny_slp):
    job = tiny_job(tiny_slp, tmp_path / "runs", kind=PipelineKind.SINGLE_INSTANCE, epochs=2, batches=3)
    job.pipeline.device = "cpu:2"
    events, proc = _run(job, tmp_path / "work")
    errors = [e for e in events if isinstance(e, Error)]
    assert not errors, errors[0].message + errors[0].traceback
    started = next(e for e in events if isinstance(e, Started))
    assert "mirrored over 2 logical CPU devices" in started.description
    notes = [e.text for e in events if isinstance(e, Message)]
    assert any("MirroredStrategy over 2 devices" in t for t in notes)
    assert len([e for e in events if isinstance(e, Epoch)]) == 2
    assert all(e.loss == e.loss for e in events if isinstance(e, Batch))  # finite, not NaN
    assert isinstance(events[-1], Done) and events[-1].status == "finished"
    run_dir = next(e for e in events if isinstance(e, ModelStarted)).run_dir
    saved = json.loads((tmp_path / "runs" / run_dir.split("/")[-1] / "config.json").read_text())
    assert saved["optimization"]["batch_size"] == 4  # per device, as configured
    assert proc.returncode == 0


@pytest.mark.parametrize(
    "device, words",
    [("gpu:all", "Every GPU was requested"), ("gpu:0,1", "GPU 0 was requested"), ("npu", "Unknown device")],
)
def test_unavailable_devices_are_plain_errors(tmp_path, tiny_slp, device, words):
    job = tiny_job(tiny_slp, tmp_path / "runs", kind=PipelineKind.SINGLE_INSTANCE, epochs=1, batches=1)
    job.pipeline.device = device
    events, _ = _run(job, tmp_path / "work")
    error = next(e for e in events if isinstance(e, Error))
    assert words in error.message and error.kind == "hardware"
    assert isinstance(events[-1], Done) and events[-1].status == "failed"


def test_multi_worker_without_tf_config_is_explained(tmp_path, tiny_slp, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    job = tiny_job(tiny_slp, tmp_path / "runs", kind=PipelineKind.SINGLE_INSTANCE, epochs=1, batches=1)
    job.pipeline.multi_worker = True
    events, _ = _run(job, tmp_path / "work")
    error = next(e for e in events if isinstance(e, Error))
    assert "TF_CONFIG" in error.message
    assert list((tmp_path / "runs").glob("*")) == []


def test_training_child_runs_below_normal_priority(tmp_path, tiny_slp):
    """The GUI must win the CPU over the trainer on a 2-core laptop."""
    import os

    import psutil

    job = tiny_job(tiny_slp, tmp_path / "runs", kind=PipelineKind.SINGLE_INSTANCE, epochs=1, batches=1)
    proc = EngineProcess(work_dir=tmp_path / "work")
    proc.start(job)
    niceness = None
    for _event in proc.events():
        if niceness is None and proc.pid is not None:
            try:
                niceness = psutil.Process(proc.pid).nice()
            except psutil.NoSuchProcess:
                pass
    assert niceness is not None and niceness > os.nice(0)
