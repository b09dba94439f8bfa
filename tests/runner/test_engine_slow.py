"""Longer end-to-end training runs through EngineProcess (marked slow)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sleap_io as sio

from napari_sleap_train.config.model import ModelKind, PipelineKind
from napari_sleap_train.protocol.events import Done, Epoch, ModelFinished
from napari_sleap_train.runner.process import EngineProcess
from tests.runner.tiny_project import make_tiny_project, tiny_job

pytestmark = pytest.mark.slow


def _run(job, work: Path):
    proc = EngineProcess(work_dir=work)
    proc.start(job)
    events = list(proc.events())
    assert isinstance(events[-1], Done), events[-3:]
    return events


def test_loss_goes_down_on_a_learnable_problem(tmp_path):
    slp = make_tiny_project(tmp_path / "p", n_frames=16, n_animals=1)
    job = tiny_job(slp, tmp_path / "runs", kind=PipelineKind.SINGLE_INSTANCE, epochs=8, batches=8)
    job.pipeline.anchor_part = None
    events = _run(job, tmp_path / "work")
    epochs = [e for e in events if isinstance(e, Epoch)]
    assert len(epochs) == 8
    assert epochs[-1].val_loss < 0.8 * epochs[0].val_loss
    assert epochs[-1].train_loss < epochs[0].train_loss


def test_bottom_up_learns_two_animals(tmp_path):
    """Trained on the tiny two-animal project, the bottom-up model finds both animals on its frames."""
    import numpy as np

    # the edge runs against the node order: the run folder must still say which channel is which
    slp = make_tiny_project(tmp_path / "p", n_frames=24, edge=("tail", "head"))
    job = tiny_job(slp, tmp_path / "runs", kind=PipelineKind.BOTTOM_UP, epochs=30, batches=8)
    cfg = job.pipeline.models[ModelKind.MULTI_INSTANCE]
    cfg.model.filters = 16
    cfg.optimization.early_stopping.enabled = False
    job.predict_frames = [(0, f) for f in range(24)]
    job.predictions_path = str(tmp_path / "pred.slp")
    events = _run(job, tmp_path / "work")
    epochs = [e for e in events if isinstance(e, Epoch)]
    assert epochs[-1].val_loss < 0.5 * epochs[0].val_loss
    pred = sio.load_slp(job.predictions_path, open_videos=False)
    errors, found = [], 0
    for lf in pred.labeled_frames:
        truth = np.stack([i.numpy() for i in lf.user_instances])
        for inst in lf.predicted_instances:
            pts = inst.numpy()
            d = np.linalg.norm(truth - pts[None], axis=-1)  # (animals, nodes)
            errors.append(np.nanmin(np.nanmax(d, axis=1)))  # both parts of one animal
            found += 1
    assert found >= 0.8 * 2 * 24  # most animals found, on frames with two each
    assert np.median(errors) < 2.0  # and both parts of each assembled on the same animal


def test_resume_continues_after_the_last_epoch(tmp_path):
    slp = make_tiny_project(tmp_path / "p", n_animals=1)
    job = tiny_job(slp, tmp_path / "runs", kind=PipelineKind.SINGLE_INSTANCE, epochs=2)
    job.pipeline.anchor_part = None
    first = _run(job, tmp_path / "w1")
    run_dir = first[-1].run_dirs[0]
    job.resume = [run_dir]
    job.pipeline.models[ModelKind.SINGLE_INSTANCE].optimization.epochs = 4
    second = _run(job, tmp_path / "w2")
    assert [e.epoch for e in second if isinstance(e, Epoch)] == [2, 3]
    assert second[-1].run_dirs == [run_dir]
    assert next(e for e in second if isinstance(e, ModelFinished)).epochs_trained == 4
    rows = (Path(run_dir) / "training_log.csv").read_text().splitlines()
    assert len(rows) == 1 + 4


def test_fly_clip_subset_trains_both_models(tmp_path, shared_data):
    labels = sio.load_slp(str(shared_data / "fly" / "clip.slp"))
    subset = sio.Labels(
        labeled_frames=list(labels.labeled_frames[:20]),
        videos=list(labels.videos),
        skeletons=list(labels.skeletons),
        tracks=list(labels.tracks),
    )
    slp = tmp_path / "fly20.slp"
    sio.save_slp(subset, str(slp), verbose=False)
    job = tiny_job(slp, tmp_path / "runs", epochs=2, batches=3)
    job.pipeline.anchor_part = None
    centroid = job.pipeline.models[ModelKind.CENTROID]
    centroid.data.input_scaling = 0.125  # 1024 -> 128
    centered = job.pipeline.models[ModelKind.CENTERED_INSTANCE]
    centered.data.input_scaling = 0.5
    events = _run(job, tmp_path / "work")
    done = events[-1]
    assert done.status == "finished", [e for e in events if type(e).__name__ == "Error"]
    assert [Path(d).name.split(".")[-1] for d in done.run_dirs] == ["centroid", "centered_instance"]
    for d in done.run_dirs:
        assert (Path(d) / "best_model.keras").is_file() and (Path(d) / "training_config.json").is_file()
