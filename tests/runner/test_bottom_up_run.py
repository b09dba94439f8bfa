"""A tiny bottom-up run through the real training child: trains, predicts, writes its run folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.config.model import ModelKind, PipelineKind, TrainingConfig
from napari_sleap_train.config.serialize import load_json
from napari_sleap_train.config.sleap_json import read_sleap_config
from napari_sleap_train.protocol.events import Batch, Done, Epoch, Error, Message, ModelFinished, ModelStarted
from napari_sleap_train.runner.process import EngineProcess
from tests.runner.tiny_project import make_tiny_project, tiny_job


def _run(job, work, stop_after_epoch: int | None = None):
    proc = EngineProcess(work_dir=work)
    proc.start(job)
    events = []
    for event in proc.events():
        events.append(event)
        if isinstance(event, Epoch) and event.epoch == stop_after_epoch:
            proc.stop()
    return events


def test_bottom_up_trains_stops_and_predicts_through_the_child(tmp_path):
    slp = make_tiny_project(tmp_path / "p", n_frames=8, edge=("tail", "head"))  # against the node order
    runs = tmp_path / "runs"
    # many epochs: Stop after the second one keeps the best model and goes on to predict
    job = tiny_job(slp, runs, PipelineKind.BOTTOM_UP, epochs=100, batches=2)
    job.predict_frames = [(0, 0), (0, 1)]
    job.predictions_path = str(tmp_path / "pred.slp")
    events = _run(job, tmp_path / "work", stop_after_epoch=1)
    errors = [e for e in events if isinstance(e, Error)]
    assert not errors, errors[0].message
    assert isinstance(events[-1], Done) and events[-1].status == "stopped"
    assert events[-1].predictions_path == job.predictions_path
    (started,) = [e for e in events if isinstance(e, ModelStarted)]
    assert started.model == "multi_instance" and started.input_shape == [64, 64, 1]
    epochs = [e for e in events if isinstance(e, Epoch)]
    assert 2 <= len(epochs) < 100 and all(np.isfinite(e.train_loss) and np.isfinite(e.val_loss) for e in epochs)
    assert any(isinstance(e, Batch) for e in events)
    (finished,) = [e for e in events if isinstance(e, ModelFinished)]
    assert finished.reason == "stopped"
    run = Path(finished.run_dir)
    assert (run / "best_model.keras").is_file()
    # the run folder names its fields, for SLEAP and for our own predictor
    for cfg in (read_sleap_config(run / "training_config.json"), load_json(TrainingConfig, run / "config.json")):
        assert cfg.kind is ModelKind.MULTI_INSTANCE and cfg.pafs.edges == [["tail", "head"]]
        assert cfg.head.part_names == ["head", "tail"]  # channel order (SLEAP's embedded skeleton lists tail first)
    sleap = json.loads((run / "training_config.json").read_text())
    assert sleap["model"]["heads"]["multi_instance"]["pafs"]["output_stride"] == 4
    # predictions were made on the asked frames and merged into a copy of the project
    pred = sio.load_slp(job.predictions_path, open_videos=False)
    assert {lf.frame_idx for lf in pred.labeled_frames if lf.predicted_instances} <= {0, 1}
    assert sum(len(lf.user_instances) for lf in pred.labeled_frames) == 16  # every user instance kept


def test_bottom_up_trains_on_windows_and_predicts_whole_frames_through_the_child(tmp_path):
    slp = make_tiny_project(tmp_path / "p", n_frames=8, edge=("head", "tail"))
    runs = tmp_path / "runs"
    job = tiny_job(slp, runs, PipelineKind.BOTTOM_UP, epochs=2, batches=2, train_crop_size=32)
    job.predict_frames = [(0, 0), (0, 1)]
    job.predictions_path = str(tmp_path / "pred.slp")
    events = _run(job, tmp_path / "work")
    errors = [e for e in events if isinstance(e, Error)]
    assert not errors, errors[0].message
    assert isinstance(events[-1], Done) and events[-1].status == "finished"
    texts = [e.text for e in events if isinstance(e, Message)]
    assert any("random 32x32 windows of the 64x64 network input" in t for t in texts), texts
    (finished,) = [e for e in events if isinstance(e, ModelFinished)]
    run = Path(finished.run_dir)
    # the window size is our setting; SLEAP's training_config.json has no field for it and stays readable
    assert load_json(TrainingConfig, run / "config.json").optimization.train_crop_size == 32
    assert "train_crop_size" not in (run / "training_config.json").read_text()
    assert read_sleap_config(run / "training_config.json").kind is ModelKind.MULTI_INSTANCE
    # the 32x32-trained model took the whole 64x64 frames: prediction ran and wrote its file
    assert events[-1].predictions_path == job.predictions_path
    assert len(sio.load_slp(job.predictions_path, open_videos=False).labeled_frames) >= 8


def test_bottom_up_without_skeleton_edges_is_a_plain_config_error(tmp_path):
    slp = make_tiny_project(tmp_path / "p", n_frames=4)  # no edges
    events = _run(tiny_job(slp, tmp_path / "runs", PipelineKind.BOTTOM_UP), tmp_path / "work")
    (error,) = [e for e in events if isinstance(e, Error)]
    assert "skeleton has none" in error.message and error.kind == "config"
    assert not any(isinstance(e, ModelStarted) for e in events)


@pytest.fixture(autouse=True)
def _quiet_tf(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
