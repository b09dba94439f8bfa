"""The fast CPU recipe: pipeline time budget, snapshots, time-aware cosine schedule, full batches."""

from __future__ import annotations

import io
import json
import math
import time

import keras
import numpy as np
import pytest

from napari_sleap_train.cli import build_parser
from napari_sleap_train.cli.train import TrainCliError, build_job
from napari_sleap_train.config.model import LRSchedule, ModelKind, OptimizationConfig, PipelineKind
from napari_sleap_train.config.profiles import get_profile
from napari_sleap_train.engine.budget import PipelineBudget, Snapshot, snapshot_name
from napari_sleap_train.engine.callbacks import BEST_MODEL, SNAPSHOTS, TrainingMonitor
from napari_sleap_train.engine.channel import Channel
from napari_sleap_train.engine.dataset import ExampleMaker, make_datasets
from napari_sleap_train.engine.errors import EngineConfigError
from napari_sleap_train.engine.labeled_data import FrameStore, LabeledData
from napari_sleap_train.engine.pipeline import profile_note, run_train_job
from napari_sleap_train.engine.schedule import cosine_lr
from napari_sleap_train.protocol.events import Epoch, Message, ModelFinished
from tests.engine.keras_helpers import events_of, regression_data, tiny_model
from tests.runner.tiny_project import make_tiny_project, tiny_config, tiny_job


@pytest.fixture(scope="module")
def tiny_slp(tmp_path_factory):
    return make_tiny_project(tmp_path_factory.mktemp("tiny"), n_frames=10)


# ------------------------------------------------------------------ budget


def test_budget_splits_what_is_left_by_share():
    start = time.monotonic() - 60.0  # one minute already spent (data preparation)
    budget = PipelineBudget(11.0, [0.4, 0.6], start=start)
    deadline, seconds = budget.next_model()
    assert seconds == pytest.approx(0.4 * 600.0, abs=1.0)
    assert deadline == pytest.approx(time.monotonic() + seconds, abs=1.0)
    # the first model stopped early: the second gets all that is left, not just 60%
    budget.start -= 100.0
    _, second = budget.next_model()
    assert second == pytest.approx(600.0 - 100.0, abs=1.0)


def test_no_budget_means_no_deadline():
    budget = PipelineBudget(None, [1.0, 1.0])
    assert budget.next_model() == (None, None) and budget.seconds_left is None
    snaps = budget.snapshots([10, 5], None)
    assert [(s.seconds, s.name) for s in snaps] == [(300.0, "best_model.at5min.keras"), (600.0, snapshot_name(10))]


def test_snapshots_scale_to_the_models_share():
    budget = PipelineBudget(20.0, [0.4, 0.6])
    snaps = budget.snapshots([5, 10, 20, 30], model_seconds=480.0)
    # 5 and 10 minutes of the pipeline budget = a quarter and a half of the model's 8 minutes;
    # 20 (the end) and 30 are the final best_model.keras itself
    assert [s.seconds for s in snaps] == [pytest.approx(120.0), pytest.approx(240.0)]
    assert [s.name for s in snaps] == ["best_model.at5min.keras", "best_model.at10min.keras"]
    assert "20 min pipeline budget" in snaps[0].label


@pytest.mark.parametrize("minutes, shares", [(0, [1.0]), (-1, [1.0]), (5, [0.0, 0.0]), (5, [1.0, -1.0])])
def test_bad_budgets_are_explained(minutes, shares):
    with pytest.raises(EngineConfigError, match="time limit|shares"):
        PipelineBudget(minutes, shares)


def test_bad_snapshot_minutes():
    with pytest.raises(EngineConfigError, match="positive"):
        PipelineBudget(None, [1.0]).snapshots([0], None)


# --------------------------------------------------------- monitor + schedule


def test_cosine_decays_over_the_time_budget():
    assert cosine_lr(5, 200, 1e-3, 1, 1e-6, time_fraction=0.0) == pytest.approx(cosine_lr(5, 200, 1e-3, 1, 1e-6))
    assert cosine_lr(5, 200, 1e-3, 1, 1e-6, time_fraction=0.5) == pytest.approx(0.5 * (1e-3 + 1e-6))
    assert cosine_lr(5, 200, 1e-3, 1, 1e-6, time_fraction=1.0) == pytest.approx(1e-6)
    # fractional epochs during warm-up grow linearly up to the peak, never above it
    assert cosine_lr(0.5, 200, 1e-3, 2) == pytest.approx(0.75e-3)
    assert cosine_lr(1.99, 200, 1e-3, 2) == pytest.approx(1e-3)


def test_deadline_stops_training_and_anneals_the_rate(tmp_path):
    buf = io.StringIO()
    opt = OptimizationConfig(epochs=100_000, learning_rate=1e-2, lr_schedule=LRSchedule.COSINE, warmup_epochs=0)
    opt.early_stopping.enabled = False
    monitor = TrainingMonitor(
        "centroid",
        Channel(buf),
        tmp_path,
        opt,
        save_checkpoints=False,
        deadline=time.monotonic() + 3.0,
        batches_per_epoch=4,
    )
    model = tiny_model(1e-2)
    x, y = regression_data()
    model.fit(x, y, batch_size=4, epochs=100_000, validation_data=(x, y), callbacks=[monitor], verbose=0)
    epochs = [e for e in events_of(buf) if isinstance(e, Epoch)]
    assert monitor.reason.value == "time_limit"
    assert 1 < len(epochs) < 100_000
    # the epoch-count schedule alone would still be at the peak; the time budget brought it down
    assert epochs[0].learning_rate > 5e-3 and epochs[-1].learning_rate < 0.2 * 1e-2
    # the ETA never promises more than the budget has left
    assert all(e.eta is None or e.eta <= 3.0 for e in epochs)


def test_a_three_epoch_cosine_run_reaches_the_minimum_only_at_its_end(tmp_path):
    """Issue 15: "0.001 -> 2e-06 -> 1e-06" over 3 epochs: the last epoch was trained at the floor."""
    buf = io.StringIO()
    opt = OptimizationConfig(epochs=3, learning_rate=1e-3, lr_schedule=LRSchedule.COSINE, warmup_epochs=1)
    opt.plateau.min_lr = 1e-6
    monitor = TrainingMonitor("centroid", Channel(buf), tmp_path, opt, save_checkpoints=False, batches_per_epoch=4)
    model = tiny_model(1e-3)
    x, y = regression_data(16)
    model.fit(x, y, batch_size=4, epochs=3, validation_data=(x, y), callbacks=[monitor], verbose=0)
    lrs = [e.learning_rate for e in events_of(buf) if isinstance(e, Epoch)]
    assert len(lrs) == 3 and lrs[0] == pytest.approx(1e-3)
    assert lrs[1] > 0.3 * lrs[0]  # the middle epoch ends about half way down (it was near the floor)
    assert opt.plateau.min_lr < lrs[2] < 0.1 * lrs[1]  # the last one decays towards the floor, all of it used
    # the schedule ends at the floor exactly when the last epoch ends
    assert cosine_lr(3.0, 3, 1e-3, 1, 1e-6) == pytest.approx(1e-6)
    assert cosine_lr(2.0, 3, 1e-3, 1, 1e-6) == pytest.approx(0.5 * (1e-3 + 1e-6))


def test_set_lr_rescales_the_cosine_schedule(tmp_path):
    buf = io.StringIO()
    opt = OptimizationConfig(epochs=4, learning_rate=1e-2, lr_schedule=LRSchedule.COSINE, warmup_epochs=0)
    channel = Channel(buf)
    monitor = TrainingMonitor("centroid", channel, tmp_path, opt, save_checkpoints=False, batches_per_epoch=4)
    channel.handle_command_line('{"type": "set_lr", "learning_rate": 0.001}')
    model = tiny_model(1e-2)
    x, y = regression_data()
    model.fit(x, y, batch_size=4, epochs=4, validation_data=(x, y), callbacks=[monitor], verbose=0)
    lrs = [e.learning_rate for e in events_of(buf) if isinstance(e, Epoch)]
    # a tenth of the schedule from the command on, still decaying (not reset to the peak next batch)
    assert lrs[0] == pytest.approx(0.1 * cosine_lr(0.75, 4, 1e-2, 0, opt.plateau.min_lr), rel=1e-3)
    assert lrs[0] < 1.01e-3 and lrs[1] < lrs[0] and lrs[-1] < lrs[1]


def test_snapshots_copy_the_best_model(tmp_path):
    buf = io.StringIO()
    opt = OptimizationConfig(epochs=3, learning_rate=1e-2)
    snaps = [Snapshot(0.0, "best_model.at1min.keras", "early"), Snapshot(1e9, "best_model.at9min.keras", "late")]
    monitor = TrainingMonitor("centroid", Channel(buf), tmp_path, opt, snapshots=snaps)
    model = tiny_model(1e-2)
    x, y = regression_data()
    model.fit(x, y, batch_size=4, epochs=3, validation_data=(x, y), callbacks=[monitor], verbose=0)
    assert (tmp_path / BEST_MODEL).exists()
    # taken as soon as a best model existed (after epoch 0), and the late one when training ended
    taken = json.loads((tmp_path / SNAPSHOTS).read_text())
    assert [t["file"] for t in taken] == ["best_model.at1min.keras", "best_model.at9min.keras"]
    assert taken[0]["best_epoch"] == 0 and not taken[0]["training_ended"]
    assert taken[1]["training_ended"] and taken[1]["best_epoch"] == monitor.early.best_epoch
    assert (tmp_path / "best_model.at9min.keras").read_bytes() == (tmp_path / BEST_MODEL).read_bytes()
    restored = keras.models.load_model(tmp_path / "best_model.at1min.keras")
    assert restored.count_params() == model.count_params()


# ---------------------------------------------------------------- pipeline


def test_pipeline_budget_stops_both_models(tmp_path, tiny_slp):
    job = tiny_job(tiny_slp, tmp_path / "runs", epochs=100_000, batches=2)
    job.evaluate = False
    job.pipeline.models[ModelKind.CENTROID].optimization.time_share = 0.4
    job.pipeline.models[ModelKind.CENTERED_INSTANCE].optimization.time_share = 0.6
    for model in job.pipeline.models.values():  # a tiny model can plateau within its share on a fast machine
        model.optimization.early_stopping.enabled = False
    job.pipeline.time_limit_minutes = 0.3
    job.pipeline.snapshot_minutes = [0.15]
    buf = io.StringIO()
    assert run_train_job(job, Channel(buf)) == "finished"
    events = events_of(buf)
    finished = [e for e in events if isinstance(e, ModelFinished)]
    assert [f.reason for f in finished] == ["time_limit", "time_limit"]
    assert all(0 < f.epochs_trained < 100_000 for f in finished)
    budgets = [e.text for e in events if isinstance(e, Message) and e.text.startswith("Time budget")]
    assert len(budgets) == 2 and "centroid trains for up to" in budgets[0] and "0.3 min pipeline budget" in budgets[0]
    share = float(budgets[0].split("up to ")[1].split(" of the ")[0])
    left = float(budgets[0].split(" of the ")[1].split(" min left")[0])
    assert share == pytest.approx(0.4 * left, abs=0.051)
    for f in finished:
        epochs = [e for e in events if isinstance(e, Epoch) and e.model == f.model]
        assert all(e.eta is not None and e.eta <= 0.3 * 60 for e in epochs[:-1])
        # half of the budget: a snapshot of the best model at that point
        assert (tmp_path / "runs" / f.run_dir.split("/")[-1] / snapshot_name(0.15)).exists()


def test_validation_batches_are_always_full(tiny_slp):
    import sleap_io as sio

    labels = sio.load_slp(str(tiny_slp))
    cfg = tiny_config(ModelKind.CENTROID)
    data = LabeledData.from_labels(labels, 0.3)  # 3 validation frames, batch of 2
    maker = ExampleMaker(cfg, data, FrameStore(labels, [s.key for s in data.samples]))
    sets = make_datasets(maker, 2, 1, 1, None)
    assert sets.n_val == 3 and sets.val_batches == 2
    batches = [x for x, _ in sets.val.take(2 * sets.val_batches)]
    assert [int(b.shape[0]) for b in batches] == [2, 2, 2, 2]
    # every epoch sees the same examples (the short batch is topped up from the start)
    np.testing.assert_array_equal(batches[0], batches[2])
    np.testing.assert_array_equal(batches[1], batches[3])
    np.testing.assert_array_equal(batches[1][1], batches[0][0])
    assert sets.train.element_spec[0].shape[0] == 2  # static batch size: traced once


def test_frame_store_reads_through_short_gaps(tiny_slp):
    import sleap_io as sio

    labels = sio.load_slp(str(tiny_slp))
    store = FrameStore(labels, [(0, 0), (0, 5), (0, 9)])
    # frames 1-4 and 6-8 were read in order instead of seeking (a seek decodes from a keyframe)
    assert store.preloaded and store.decode_count == 3 and store.skipped_reads == 7
    fresh = sio.load_slp(str(tiny_slp)).videos[0]
    for f in (0, 5, 9):
        np.testing.assert_array_equal(store[(0, f)], np.asarray(fresh[f]).reshape(store[(0, f)].shape))


# ----------------------------------------------------------- messages, CLI


def test_profile_note_says_why_the_cpu_profiles_run():
    cpu = [get_profile("cpu.centroid"), get_profile("cpu.centered_instance")]
    note = profile_note("cpu", cpu)
    assert note.level == "info" and "No GPU" in note.text and "cpu.centroid" in note.text
    slow = profile_note("cpu", [get_profile("baseline.centroid")])
    assert slow.level == "warning" and "baseline.centroid" in slow.text
    mixed = profile_note("cpu", [get_profile("cpu.centroid"), get_profile("baseline_medium_rf.topdown")])
    assert "profile baseline_medium_rf.topdown was made for GPUs" in mixed.text and "cpu.centroid" not in mixed.text
    custom = get_profile("cpu.centered_instance")
    custom.profile = "my_lab.fast"  # a user's own config: nothing to say about it
    assert profile_note("cpu", [get_profile("cpu.centroid"), custom]) is None
    assert "CPU profiles" in profile_note("gpu", cpu).text
    assert profile_note("gpu", [get_profile("baseline.centroid")]) is None


def test_cli_time_limit_is_the_pipeline_budget(tmp_path, tiny_slp):
    args = build_parser().parse_args(
        [
            "train",
            str(tiny_slp),
            "--run-dir",
            str(tmp_path),
            "--device",
            "cpu",
            "--time-limit",
            "20",
            "--model-time-limit",
            "15",
            "--snapshot-minutes",
            "5,10",
        ]
    )
    job = build_job(args)
    assert job.pipeline.time_limit_minutes == 20 and job.pipeline.snapshot_minutes == [5.0, 10.0]
    assert [c.profile for c in job.pipeline.ordered_models()] == ["cpu.centroid", "cpu.centered_instance"]
    assert all(c.optimization.time_limit_minutes == 15 for c in job.pipeline.ordered_models())
    for bad in (["--time-limit", "-5"], ["--snapshot-minutes", "5,x"], ["--snapshot-minutes", "-1"]):
        with pytest.raises(TrainCliError, match="time-limit|snapshot-minutes"):
            build_job(build_parser().parse_args(["train", str(tiny_slp), *bad]))
    assert math.isclose(job.pipeline.models[ModelKind.CENTROID].optimization.time_share, 0.3)
    assert job.pipeline.kind == PipelineKind.TOP_DOWN
