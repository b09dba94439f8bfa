"""Reusing trained runs in the engine: start from (fine-tune), use as it is, resume.

TensorFlow in-process (engine tests only). Tiny single-instance models on the
tiny project, fixed seeds: the same data and settings from scratch and from a
trained run, so the only difference is the starting weights.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from napari_sleap_train.config.model import ModelKind, PipelineKind
from napari_sleap_train.engine.channel import Channel
from napari_sleap_train.engine.init_weights import copy_run_weights
from napari_sleap_train.engine.pipeline import run_train_job
from napari_sleap_train.engine.schedule import FINE_TUNE_LR_FRACTION
from napari_sleap_train.engine.sleap_weights import ModelLoadError
from napari_sleap_train.engine.unet import build_model
from napari_sleap_train.protocol.events import (
    Batch,
    Done,
    Epoch,
    Error,
    Message,
    ModelStarted,
)
from tests.engine.keras_helpers import events_of
from tests.runner.tiny_project import make_tiny_project, tiny_job

SI = ModelKind.SINGLE_INSTANCE


def _run(job):
    buf = io.StringIO()
    status = run_train_job(job, Channel(buf))
    return status, events_of(buf)


def _single_job(slp: Path, runs: Path, epochs: int, batches: int = 4):
    job = tiny_job(slp, runs, kind=PipelineKind.SINGLE_INSTANCE, epochs=epochs, batches=batches)
    job.pipeline.anchor_part = None
    job.evaluate = False
    return job


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny project and a single-instance run trained on it for a few epochs."""
    root = tmp_path_factory.mktemp("reuse")
    slp = make_tiny_project(root / "p", n_frames=12, n_animals=1)
    # A tiny network sometimes settles on the all-zero map first (loss ~0.003, the same as an
    # untrained one), which would make "starts lower than scratch" meaningless: train until it
    # has really learned the blobs (final loss well under the first epoch's), a few seeds at most.
    for seed in range(3):
        job = _single_job(slp, root / f"runs{seed}", epochs=12, batches=8)
        opt = job.pipeline.models[SI].optimization
        opt.learning_rate = 3e-3  # learns the blobs in ~100 batches
        opt.seed = seed
        status, events = _run(job)
        assert status == "finished", [e for e in events if isinstance(e, Error)]
        losses = [e.train_loss for e in events if isinstance(e, Epoch)]
        if losses[-1] < 0.3 * losses[0]:
            return slp, Path(events[-1].run_dirs[0])
    pytest.fail(f"the tiny model did not learn in 3 tries (epoch losses {losses})")


def test_start_from_a_run_begins_with_a_lower_loss_than_scratch(trained, tmp_path):
    slp, run = trained
    scratch_status, scratch = _run(_single_job(slp, tmp_path / "a", epochs=1))
    job = _single_job(slp, tmp_path / "b", epochs=1)
    job.init_from = [str(run)]
    status, tuned = _run(job)
    assert scratch_status == status == "finished", [e for e in tuned if isinstance(e, Error)]
    first = lambda events: next(e for e in events if isinstance(e, Epoch))  # noqa: E731
    assert first(tuned).train_loss < 0.5 * first(scratch).train_loss  # measured: about 1/15
    first_batch = lambda events: next(e for e in events if isinstance(e, Batch)).loss  # noqa: E731
    assert first_batch(tuned) < first_batch(scratch)
    # a new run folder; the source run is left as it was
    new_dir = Path(tuned[-1].run_dirs[0])
    assert new_dir != run and new_dir.parent == tmp_path / "b"
    assert any("starts from the weights of" in e.text for e in tuned if isinstance(e, Message))


def _train_losses(run: Path) -> list[float]:
    rows = (run / "training_log.csv").read_text().splitlines()
    col = rows[0].split(",").index("loss")
    return [float(r.split(",")[col]) for r in rows[1:]]


def test_start_from_a_run_uses_the_fine_tuning_schedule_and_keeps_what_it_knew(trained, tmp_path):
    slp, run = trained
    job = _single_job(slp, tmp_path / "tuned", epochs=2)
    opt = job.pipeline.models[SI].optimization
    opt.learning_rate, opt.warmup_epochs = 3e-3, 1  # the source run's scratch rate, with a warm-up
    job.init_from = [str(run)]
    status, events = _run(job)
    assert status == "finished", [e for e in events if isinstance(e, Error)]
    notes = [e.text for e in events if isinstance(e, Message) and "Fine-tuning schedule" in e.text]
    assert len(notes) == 1 and run.name in notes[0] and "no warm-up" in notes[0], notes
    epochs = [e for e in events if isinstance(e, Epoch)]
    assert epochs[0].learning_rate == pytest.approx(3e-3 * FINE_TUNE_LR_FRACTION)  # no warm-up, lower peak
    # the first epoch refines the trained weights instead of undoing them: near the source's last
    # loss (epoch losses of a few augmented batches at ~3e-5 wobble by tens of percent), where the
    # scratch schedule (warm-up to the full rate) starts about 25x above it
    assert epochs[0].train_loss <= 3.0 * _train_losses(run)[-1]
    # the run folder records the rate it trained with
    cfg = json.loads((Path(events[-1].run_dirs[0]) / "config.json").read_text())
    assert cfg["optimization"]["learning_rate"] == pytest.approx(3e-3 * FINE_TUNE_LR_FRACTION)


def test_an_explicit_fine_tuning_rate_wins(trained, tmp_path):
    slp, run = trained
    job = _single_job(slp, tmp_path / "tuned", epochs=1)
    job.pipeline.models[SI].optimization.fine_tune_learning_rate = 5e-4
    job.init_from = [str(run)]
    status, events = _run(job)
    assert status == "finished", [e for e in events if isinstance(e, Error)]
    assert next(e for e in events if isinstance(e, Epoch)).learning_rate == pytest.approx(5e-4)
    assert any("fine-tuning learning rate set for this model" in e.text for e in events if isinstance(e, Message))


def test_scratch_runs_keep_the_configured_schedule(trained, tmp_path):
    slp, _ = trained
    job = _single_job(slp, tmp_path / "scratch", epochs=1)
    opt = job.pipeline.models[SI].optimization
    status, events = _run(job)
    assert status == "finished", [e for e in events if isinstance(e, Error)]
    assert not any("Fine-tuning schedule" in e.text for e in events if isinstance(e, Message))
    assert next(e for e in events if isinstance(e, Epoch)).learning_rate == pytest.approx(opt.learning_rate)


def test_start_from_another_network_is_refused_before_training(trained, tmp_path):
    slp, run = trained
    job = _single_job(slp, tmp_path, epochs=1)
    job.pipeline.models[SI].model.filters = 8  # the run has 4
    job.init_from = [str(run)]
    status, events = _run(job)
    assert status == "failed"
    error = next(e for e in events if isinstance(e, Error))
    assert "network differs" in error.message and "filters 4 in the run, 8 in the settings" in error.message
    assert not any(isinstance(e, (ModelStarted, Batch)) for e in events)


def test_start_from_a_run_of_another_skeleton_is_refused(trained, tmp_path):
    slp, run = trained
    other = make_tiny_project(tmp_path / "other", n_frames=6, n_animals=1)
    # same images, other body-part names
    import sleap_io as sio

    labels = sio.load_slp(str(other))
    labels.skeletons[0].nodes[0].name = "nose"
    renamed = tmp_path / "renamed.slp"
    sio.save_slp(labels, str(renamed), verbose=False)
    job = _single_job(renamed, tmp_path / "runs", epochs=1)
    job.init_from = [str(run)]
    status, events = _run(job)
    assert status == "failed"
    error = next(e for e in events if isinstance(e, Error))
    assert "head, tail" in error.message and "nose, tail" in error.message
    assert not any(isinstance(e, ModelStarted) for e in events)


def test_copy_weights_refuses_a_head_of_another_size(trained):
    _, run = trained
    cfg = json.loads((run / "config.json").read_text())
    from napari_sleap_train.config.model import TrainingConfig
    from napari_sleap_train.config.serialize import from_dict

    model = build_model(from_dict(TrainingConfig, cfg), 3, 1)  # 3 body parts; the run has 2
    with pytest.raises(ModelLoadError, match="another shape"):
        copy_run_weights(model, run)


def test_a_used_model_is_not_trained(trained, tmp_path):
    slp, run = trained
    job = _single_job(slp, tmp_path / "runs", epochs=1)
    job.use = [str(run)]
    status, events = _run(job)
    assert status == "finished", [e for e in events if isinstance(e, Error)]
    assert not any(isinstance(e, (ModelStarted, Batch, Epoch)) for e in events)
    assert any(
        f"using the trained model {run} as it is (not retrained)" in e.text for e in events if isinstance(e, Message)
    )
    assert events[-1].run_dirs == [str(run)]
    assert not (tmp_path / "runs").exists() or not any(p.is_dir() for p in (tmp_path / "runs").iterdir())


def test_start_from_a_sleap_model_folder(shared_data, tmp_path):
    """A SLEAP 1.4 centroid model (best_model.h5) initialises a new centroid run."""
    from napari_sleap_train.config.profiles import load_training_config

    folder = shared_data / "models" / "minimal_instance.UNet.centroid"
    slp = shared_data / "minimal" / "minimal_instance.slp"
    job = tiny_job(slp, tmp_path / "runs", epochs=1, batches=1)
    job.pipeline.anchor_part = None
    job.evaluate = False
    job.pipeline.kind = PipelineKind.TOP_DOWN
    sleap_cfg = load_training_config(folder)
    centroid = job.pipeline.models[ModelKind.CENTROID]
    centroid.model = sleap_cfg.model
    job.pipeline.models[ModelKind.CENTERED_INSTANCE].optimization.epochs = 1
    job.init_from = [str(folder)]
    job.use = []
    status, events = _run(job)
    assert status == "finished", [e for e in events if isinstance(e, Error)]
    assert any("minimal_instance.UNet.centroid (fine-tuning)" in e.text for e in events if isinstance(e, Message))
    assert isinstance(events[-1], Done) and len(events[-1].run_dirs) == 2


def test_resume_continues_epochs_and_the_learning_rate_schedule(trained, tmp_path):
    slp, _ = trained
    job = _single_job(slp, tmp_path / "runs", epochs=3, batches=2)
    opt = job.pipeline.models[SI].optimization
    opt.plateau.patience, opt.plateau.cooldown, opt.plateau.min_delta = 1, 0, 1e9  # lower the rate every epoch
    opt.early_stopping.patience = 100
    status, first = _run(job)
    assert status == "finished", [e for e in first if isinstance(e, Error)]
    run = first[-1].run_dirs[0]
    last_lr = [e for e in first if isinstance(e, Epoch)][-1].learning_rate
    assert last_lr < opt.learning_rate  # the schedule moved

    opt.epochs = 5
    job.resume = [run]
    status, second = _run(job)
    assert status == "finished", [e for e in second if isinstance(e, Error)]
    epochs = [e for e in second if isinstance(e, Epoch)]
    assert [e.epoch for e in epochs] == [3, 4]  # after the last epoch, not from 0
    assert not any("Fine-tuning schedule" in e.text for e in second if isinstance(e, Message))
    assert second[-1].run_dirs == [run]  # the same folder, no new run
    # the rate goes on from where it was (optimizer state and plateau restored), never back to the start
    assert epochs[0].learning_rate <= last_lr < opt.learning_rate
    rows = (Path(run) / "training_log.csv").read_text().splitlines()
    assert len(rows) == 1 + 5


def test_resume_of_a_sleap_folder_is_refused(shared_data, tmp_path):
    slp = shared_data / "minimal" / "minimal_instance.slp"
    job = tiny_job(slp, tmp_path / "runs", epochs=1, batches=1)
    job.resume = [str(shared_data / "models" / "minimal_instance.UNet.centroid")]
    status, events = _run(job)
    assert status == "failed"
    message = next(e for e in events if isinstance(e, Error)).message
    assert "Cannot resume minimal_instance.UNet.centroid: it has no latest_model.keras" in message
