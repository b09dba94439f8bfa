"""Tiny top-down-id and bottom-up-id runs through the real training child.

The tiny project puts each animal on its track (female, male) and leaves one
instance without one: it is counted in the log and left out of the class loss.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.config.model import ModelKind, PipelineKind, TrainingConfig
from napari_sleap_train.config.serialize import load_json
from napari_sleap_train.config.sleap_json import read_sleap_config
from napari_sleap_train.protocol.events import Done, Epoch, Error, Message, ModelFinished, Started
from napari_sleap_train.runner.process import EngineProcess
from tests.runner.tiny_project import make_tiny_project, tiny_job

KINDS = {
    PipelineKind.TOP_DOWN_ID: ModelKind.MULTI_CLASS_TOPDOWN,
    PipelineKind.BOTTOM_UP_ID: ModelKind.MULTI_CLASS_BOTTOMUP,
}


def _run(job, work: Path) -> list:
    proc = EngineProcess(work_dir=work)
    proc.start(job)
    return list(proc.events())


@pytest.mark.parametrize("pipeline", list(KINDS))
def test_identity_pipeline_trains_through_the_child(tmp_path, pipeline):
    slp = make_tiny_project(tmp_path / "p", n_frames=8, tracks=("female", "male"), untracked=1)
    job = tiny_job(slp, tmp_path / "runs", pipeline, epochs=2, batches=2)
    job.predict_frames = [(0, 0)]
    job.predictions_path = str(tmp_path / "pred.slp")
    events = _run(job, tmp_path / "work")
    errors = [e for e in events if isinstance(e, Error)]
    assert not errors, errors[0].message
    assert isinstance(events[-1], Done) and events[-1].status == "finished"
    texts = [e.text for e in events if isinstance(e, Message)]
    assert any("learns 2 classes (female, male) from 15 of the 16 labeled instances" in t for t in texts)
    assert any("has no track" in t and "left out of the class loss" in t for t in texts)
    kind = KINDS[pipeline]
    epochs = [e for e in events if isinstance(e, Epoch) and e.model == kind.value]
    assert len(epochs) == 2 and all(np.isfinite(e.val_loss) for e in epochs)
    (finished,) = [e for e in events if isinstance(e, ModelFinished) and e.model == kind.value]
    run = Path(finished.run_dir)
    assert (run / "best_model.keras").is_file()
    for cfg in (read_sleap_config(run / "training_config.json"), load_json(TrainingConfig, run / "config.json")):
        assert cfg.kind is kind and cfg.identity.classes == ["female", "male"]
        assert cfg.head.part_names == ["head", "tail"]
    sleap = json.loads((run / "training_config.json").read_text())
    head = sleap["model"]["heads"][kind.value]
    assert set(head) == {"confmaps", "class_vectors" if kind is ModelKind.MULTI_CLASS_TOPDOWN else "class_maps"}
    # predictions are written on the classes' tracks (none found yet after two epochs is fine)
    pred = sio.load_slp(job.predictions_path, open_videos=False)
    assert [t.name for t in pred.tracks] == ["female", "male"]


def test_a_project_without_two_tracks_is_refused_before_tensorflow_loads(tmp_path):
    slp = make_tiny_project(tmp_path / "p", n_frames=4)  # no tracks
    events = _run(tiny_job(slp, tmp_path / "runs", PipelineKind.BOTTOM_UP_ID), tmp_path / "work")
    assert not any(isinstance(e, Started) for e in events)
    assert isinstance(events[-1], Done) and events[-1].status == "failed"
    (error,) = [e for e in events if isinstance(e, Error)]
    assert "learns who is who from the tracks" in error.message and "on no track" in error.message
    assert "at least two tracks" in error.hint
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("pipeline", list(KINDS))
def test_tiny_identity_model_learns_who_is_who(tmp_path, pipeline):
    slp = make_tiny_project(tmp_path / "p", n_frames=24, tracks=("female", "male"))
    job = tiny_job(slp, tmp_path / "runs", pipeline, epochs=30, batches=8)
    job.pipeline.models[KINDS[pipeline]].model.filters = 16  # as the bottom-up slow test
    job.predict_frames = [(0, i) for i in range(24)]
    job.predictions_path = str(tmp_path / "pred.slp")
    events = _run(job, tmp_path / "work")
    assert isinstance(events[-1], Done) and events[-1].status == "finished"
    pred = sio.load_slp(job.predictions_path, open_videos=False)
    n = right = 0
    for lf in pred.labeled_frames:
        found = [i for i in lf.predicted_instances if not np.isnan(i.numpy()).all()]
        for user in lf.user_instances:
            n += 1
            if found:
                near = min(found, key=lambda p: np.nanmean(np.linalg.norm(p.numpy() - user.numpy(), axis=1)))
                right += near.track is not None and near.track.name == user.track.name
    assert n == 48 and right >= 0.8 * n, f"{right} of {n} identities right"
