"""TrainingMonitor: events, early stopping on a plateau, commands, checkpoints."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from napari_sleap_train.config.model import OptimizationConfig
from napari_sleap_train.engine.callbacks import BEST_MODEL, TRAINING_LOG, TrainingMonitor, read_training_log
from napari_sleap_train.engine.channel import Channel
from napari_sleap_train.engine.errors import Cancelled
from napari_sleap_train.engine.schedule import EarlyStopping, Plateau, cosine_lr
from napari_sleap_train.protocol.events import Batch, Checkpoint, Epoch
from tests.engine.keras_helpers import events_of, regression_data, tiny_model


def test_early_stopping_on_plateau_stops_after_patience(tmp_path):
    buf = io.StringIO()
    opt = OptimizationConfig(epochs=50, learning_rate=0.0)
    opt.early_stopping.patience = 2
    monitor = TrainingMonitor("centroid", Channel(buf), tmp_path, opt)
    model = tiny_model(0.0)  # learning rate 0: the validation loss never moves
    x, y = regression_data()
    model.fit(x, y, batch_size=4, epochs=50, validation_data=(x, y), callbacks=[monitor], verbose=0)
    epochs = [e for e in events_of(buf) if isinstance(e, Epoch)]
    assert len(epochs) == 3  # best at epoch 0, then 2 epochs without improvement
    assert monitor.reason.value == "early_stopping"
    assert [e.epochs_without_improvement for e in epochs] == [0, 1, 2]
    assert all(e.best_epoch == 0 and e.patience == 2 for e in epochs)
    assert epochs[-1].eta is None and epochs[0].eta is not None and epochs[0].eta >= 0
    assert all(math.isfinite(e.val_loss) for e in epochs)
    rows = read_training_log(tmp_path / TRAINING_LOG)
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert (tmp_path / BEST_MODEL).exists()
    checkpoints = [e for e in events_of(buf) if isinstance(e, Checkpoint)]
    assert [c.epoch for c in checkpoints] == [0]


def test_batch_events_carry_each_batch_loss_and_come_before_epoch(tmp_path):
    buf = io.StringIO()
    opt = OptimizationConfig(epochs=1, learning_rate=0.0)
    monitor = TrainingMonitor("centroid", Channel(buf), tmp_path, opt, save_checkpoints=False)
    model = tiny_model(0.0)
    x, y = regression_data()
    model.fit(x, y, batch_size=4, epochs=1, validation_data=(x, y), callbacks=[monitor], verbose=0, shuffle=False)
    events = events_of(buf)
    kinds = [type(e) for e in events]
    assert kinds == [Batch] * 4 + [Epoch]
    # With a fixed model each batch loss is that batch's MSE, not a running mean.
    pred = model.predict(x, verbose=0)
    expected = [float(np.mean((pred[i : i + 4] - y[i : i + 4]) ** 2)) for i in range(0, 16, 4)]
    np.testing.assert_allclose([e.loss for e in events[:4]], expected, rtol=1e-4)


def test_stop_command_finishes_batch_and_set_lr_applies(tmp_path):
    buf = io.StringIO()
    channel = Channel(buf)
    opt = OptimizationConfig(epochs=5, learning_rate=1e-3)
    monitor = TrainingMonitor("centered_instance", channel, tmp_path, opt, save_checkpoints=False)
    channel.handle_command_line('{"type": "set_lr", "learning_rate": 0.05}')
    channel.handle_command_line('{"type": "stop"}')
    model = tiny_model(1e-3)
    x, y = regression_data()
    model.fit(x, y, batch_size=4, epochs=5, validation_data=(x, y), callbacks=[monitor], verbose=0)
    events = events_of(buf)
    assert [type(e) for e in events] == [Batch, Epoch]  # one batch, then validation
    assert monitor.reason.value == "stopped"
    assert events[-1].learning_rate == pytest.approx(0.05)


def test_cancel_command_raises(tmp_path):
    channel = Channel(io.StringIO())
    channel.handle_command_line('{"type": "cancel"}')
    monitor = TrainingMonitor("centroid", channel, tmp_path, OptimizationConfig(), save_checkpoints=False)
    model = tiny_model(1e-3)
    x, y = regression_data()
    with pytest.raises(Cancelled):
        model.fit(x, y, batch_size=4, epochs=3, callbacks=[monitor], verbose=0)


def test_time_limit_stops(tmp_path):
    opt = OptimizationConfig(epochs=100, time_limit_minutes=0.0)
    monitor = TrainingMonitor("centroid", Channel(io.StringIO()), tmp_path, opt, save_checkpoints=False)
    model = tiny_model(1e-3)
    x, y = regression_data()
    model.fit(x, y, batch_size=4, epochs=100, validation_data=(x, y), callbacks=[monitor], verbose=0)
    assert monitor.reason.value == "time_limit"
    assert monitor.epochs_done == 1


def test_resume_restores_best_and_wait(tmp_path):
    history = [
        {"epoch": 0, "loss": 1.0, "val_loss": 1.0, "lr": 1e-4, "time": 3.0},
        {"epoch": 1, "loss": 0.9, "val_loss": 0.5, "lr": 1e-4, "time": 6.0},
        {"epoch": 2, "loss": 0.8, "val_loss": 0.6, "lr": 1e-4, "time": 9.0},
    ]
    monitor = TrainingMonitor(
        "centroid", Channel(io.StringIO()), tmp_path, OptimizationConfig(), initial_epoch=3, history=history
    )
    assert monitor.early.best_epoch == 1 and monitor.early.wait == 1
    assert monitor.elapsed >= 9.0


def test_plateau_halves_after_patience_then_cools_down():
    plateau = Plateau(factor=0.5, patience=2, cooldown=1, min_lr=1e-3)
    lrs, lr = [], 1.0
    for loss in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]:
        lr = plateau.update(loss, lr)
        lrs.append(lr)
    # Keras semantics: the cooldown epoch itself already counts towards the next wait.
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert Plateau(patience=1, min_lr=0.3).update(float("nan"), 0.4) == 0.3  # NaN waits; floor at min_lr
    stopper = EarlyStopping(patience=1, min_delta=0.1)
    assert stopper.update(0, 1.0) and not stopper.update(1, 0.95) and stopper.should_stop


def test_cosine_schedule_warms_up_and_decays():
    lrs = [cosine_lr(e, 10, 1e-3, warmup_epochs=2, min_lr=0.0) for e in range(11)]  # 10: the end of the run
    assert lrs[0] == pytest.approx(5e-4) and lrs[1] == pytest.approx(1e-3) and lrs[2] == pytest.approx(1e-3)
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)
    assert lrs[-2] > 1e-5  # the last epoch still starts above the floor
    assert all(a >= b for a, b in zip(lrs[2:], lrs[3:]))


def test_fine_tune_schedule_lowers_the_peak_and_drops_the_warm_up():
    from napari_sleap_train.engine.schedule import FINE_TUNE_LR_FRACTION, fine_tune_schedule

    plan = fine_tune_schedule(1e-3, 1, None, "run_a")
    assert plan.learning_rate == pytest.approx(1e-3 * FINE_TUNE_LR_FRACTION) and plan.warmup_epochs == 0
    assert "run_a" in plan.reason and "instead of 1 warm-up epochs" in plan.reason
    explicit = fine_tune_schedule(1e-3, 0, 2e-4, "run_a")
    assert explicit.learning_rate == 2e-4 and "set for this model" in explicit.reason
