"""Failures become plain Error events (run in-process with a fake channel)."""

from __future__ import annotations

import io

import pytest
import tensorflow as tf

from napari_sleap_train.config.model import PipelineKind
from napari_sleap_train.engine import train as train_module
from napari_sleap_train.engine.channel import Channel
from napari_sleap_train.engine.errors import HardwareError, describe_exception
from napari_sleap_train.engine.hardware import parse_device, setup_device
from napari_sleap_train.engine.pipeline import run_train_job
from napari_sleap_train.protocol.events import Done, Error, ModelStarted, parse_event
from tests.runner.tiny_project import make_tiny_project, tiny_job


@pytest.fixture(scope="module")
def tiny_slp(tmp_path_factory):
    return make_tiny_project(tmp_path_factory.mktemp("tiny"), n_animals=1)


def _run(job):
    buf = io.StringIO()
    status = run_train_job(job, Channel(buf))
    return status, [parse_event(line) for line in buf.getvalue().splitlines()]


def test_out_of_memory_gives_batch_size_hint(tmp_path, tiny_slp, monkeypatch):
    def fake_fit(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[4,64,64,16]")

    monkeypatch.setattr(train_module, "fit", fake_fit)
    status, events = _run(tiny_job(tiny_slp, tmp_path / "runs", kind=PipelineKind.SINGLE_INSTANCE))
    assert status == "failed"
    error = next(e for e in events if isinstance(e, Error))
    assert error.kind == "oom" and error.message == "Training ran out of memory."
    assert "lower the batch size or input scaling" in error.hint
    assert isinstance(events[-1], Done) and events[-1].status == "failed"
    assert any(isinstance(e, ModelStarted) for e in events)


def test_memory_error_maps_to_oom_too():
    assert describe_exception(MemoryError())[1] == "oom"
    assert describe_exception(RuntimeError("boom"))[1] == "crash"


def test_missing_gpu_is_a_hardware_error(tmp_path, tiny_slp):
    job = tiny_job(tiny_slp, tmp_path / "runs", kind=PipelineKind.SINGLE_INSTANCE)
    job.pipeline.device = "gpu:3"
    status, events = _run(job)
    error = next(e for e in events if isinstance(e, Error))
    assert error.kind == "hardware"
    assert "GPU 3 was requested" in error.message and "no GPU found" in error.message
    assert "cpu" in error.hint
    assert status == "failed"


def test_device_strings():
    assert parse_device("auto") == ("auto", None) and parse_device("GPU:1") == ("gpu", 1)
    with pytest.raises(HardwareError, match="Unknown device"):
        parse_device("tpu")
    info = setup_device("cpu")
    assert info.hardware == "cpu" and "core" in info.description
