"""The Keras callback that reports progress and obeys the user.

:class:`TrainingMonitor` is the only callback the training loop needs:

* per batch: a ``Batch`` event (the batch's own loss, not Keras's running
  mean), the ``set_lr`` / ``stop`` / ``cancel`` commands, the wall-time limit;
* per epoch: learning-rate plateau or cosine schedule, early stopping, the best
  and latest checkpoints, a row of ``training_log.csv`` and an ``Epoch`` event
  with ETA and plateau counters.

Why a single callback: the order of these steps matters (checkpoint before the
event that says "best epoch", stop decision after the log row), and one object
holds the state a resumed run must restore.
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass
from pathlib import Path

import keras

from napari_sleap_train.config.model import LRSchedule, OptimizationConfig
from napari_sleap_train.engine.protocol import Channel
from napari_sleap_train.engine.schedule import EarlyStopping, Plateau, cosine_lr
from napari_sleap_train.runner.events import Batch, Checkpoint, Epoch

BEST_MODEL = "best_model.keras"
LATEST_MODEL = "latest_model.keras"
TRAINING_LOG = "training_log.csv"
LOG_FIELDS = ("epoch", "loss", "val_loss", "lr", "time")


@dataclass
class StopReason:
    """Why training ended: "completed", "early_stopping", "stopped", "time_limit"."""

    value: str = "completed"


def read_training_log(path: str | Path) -> list[dict[str, float]]:
    """Rows of a ``training_log.csv`` as floats (empty list if there is none)."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _lr_of(model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def _set_lr(model, lr: float) -> None:
    model.optimizer.learning_rate.assign(float(lr))


class TrainingMonitor(keras.callbacks.Callback):
    """Events, commands, schedules, early stopping and checkpoints for one model.

    Parameters
    ----------
    model_name
        Model kind shown in events ("centroid", ...).
    channel
        Where events go and commands come from.
    run_dir
        Run folder for checkpoints and the training log.
    opt
        Optimisation settings (epochs, schedules, patience, time limit).
    initial_epoch
        First epoch index (non-zero when resuming).
    history
        Rows of an earlier ``training_log.csv`` to restore state from (resume).
    save_checkpoints
        Write ``best_model.keras`` / ``latest_model.keras`` (off in unit tests).
    """

    def __init__(
        self,
        model_name: str,
        channel: Channel,
        run_dir: str | Path,
        opt: OptimizationConfig,
        initial_epoch: int = 0,
        history: list[dict[str, float]] | None = None,
        save_checkpoints: bool = True,
    ):
        super().__init__()
        self.model_name = model_name
        self.channel = channel
        self.run_dir = Path(run_dir)
        self.opt = opt
        self.initial_epoch = initial_epoch
        self.save_checkpoints = save_checkpoints
        es, pl = opt.early_stopping, opt.plateau
        self.early = EarlyStopping(es.patience, es.min_delta, es.enabled)
        self.plateau = Plateau(
            pl.factor, pl.patience, pl.cooldown, pl.min_delta, pl.min_lr,
            enabled=pl.enabled and opt.lr_schedule == LRSchedule.PLATEAU,
        )
        self.reason = StopReason()
        self.epochs_done = 0
        self._epoch_times: list[float] = []
        self._time_offset = 0.0
        for row in history or []:
            self.early.update(int(row["epoch"]), row["val_loss"])
            self.plateau.update(row["val_loss"], row["lr"])
            self._time_offset = row["time"]
        self._t0 = time.monotonic()
        self._epoch_t0 = self._t0
        self._prev_mean = 0.0
        self._epoch = initial_epoch

    # --------------------------------------------------------- helpers
    @property
    def elapsed(self) -> float:
        """Seconds of training for this model, including earlier (resumed) runs."""
        return self._time_offset + time.monotonic() - self._t0

    def _request_stop(self, reason: str) -> None:
        if self.reason.value == "completed":
            self.reason.value = reason
        self.model.stop_training = True

    def _time_left(self) -> float | None:
        if self.opt.time_limit_minutes is None:
            return None
        return self.opt.time_limit_minutes * 60.0 - self.elapsed

    # ------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        self.channel.check_cancel()
        self._t0 = time.monotonic()
        if self.opt.lr_schedule == LRSchedule.COSINE:
            _set_lr(self.model, self._cosine(self.initial_epoch))

    def _cosine(self, epoch: int) -> float:
        return cosine_lr(
            epoch, self.opt.epochs, self.opt.learning_rate, self.opt.warmup_epochs,
            self.opt.plateau.min_lr,
        )

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = int(epoch)
        self._epoch_t0 = time.monotonic()
        self._prev_mean = 0.0
        if self.opt.lr_schedule == LRSchedule.COSINE:
            _set_lr(self.model, self._cosine(epoch))

    def on_train_batch_begin(self, batch, logs=None):
        # Also here: the first batch traces the graph (slow), so a cancel that
        # arrived meanwhile should not wait for it.
        self.channel.check_cancel()
        lr = self.channel.take_learning_rate()
        if lr is not None:
            _set_lr(self.model, lr)

    def on_train_batch_end(self, batch, logs=None):
        self.channel.check_cancel()
        mean = float((logs or {}).get("loss", math.nan))
        # Keras reports the running mean of the epoch; recover this batch's loss.
        loss = mean * (batch + 1) - self._prev_mean * batch
        self._prev_mean = mean
        self.channel.emit(
            Batch(model=self.model_name, epoch=self._epoch, batch=int(batch), loss=loss, elapsed=self.elapsed)
        )
        if self.channel.stop_requested.is_set():
            self._request_stop("stopped")
        left = self._time_left()
        if left is not None and left <= 0:
            self._request_stop("time_limit")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.channel.check_cancel()
        epoch_time = time.monotonic() - self._epoch_t0
        self._epoch_times.append(epoch_time)
        self.epochs_done += 1
        train_loss = float(logs.get("loss", math.nan))
        val_loss = float(logs.get("val_loss", math.nan))
        lr = _lr_of(self.model)

        improved = self.early.update(epoch, val_loss)
        if improved and self.save_checkpoints:
            path = self.run_dir / BEST_MODEL
            self.model.save(path)
            self.channel.emit(Checkpoint(model=self.model_name, epoch=epoch, path=str(path), best=True))
        if self.save_checkpoints:
            self.model.save(self.run_dir / LATEST_MODEL)
        self._append_log(epoch, train_loss, val_loss, lr)

        next_lr = self.plateau.update(val_loss, lr)
        if next_lr != lr:
            _set_lr(self.model, next_lr)

        if self.early.should_stop:
            self._request_stop("early_stopping")
        left = self._time_left()
        if left is not None and left <= 0:
            self._request_stop("time_limit")

        mean_epoch = sum(self._epoch_times[-5:]) / len(self._epoch_times[-5:])
        eta = None if self.model.stop_training else (self.opt.epochs - epoch - 1) * mean_epoch
        if eta is not None and left is not None:
            eta = min(eta, max(left, 0.0))
        self.channel.emit(
            Epoch(
                model=self.model_name,
                epoch=int(epoch),
                train_loss=train_loss,
                val_loss=val_loss,
                learning_rate=lr,
                elapsed=self.elapsed,
                epoch_time=epoch_time,
                best_epoch=max(self.early.best_epoch, 0),
                best_val_loss=self.early.best if math.isfinite(self.early.best) else math.nan,
                epochs_without_improvement=self.early.wait,
                patience=self.early.patience,
                eta=eta if eta is None else max(eta, 0.0),
            )
        )

    def _append_log(self, epoch: int, loss: float, val_loss: float, lr: float) -> None:
        path = self.run_dir / TRAINING_LOG
        new = not path.exists()
        with path.open("a", newline="") as fh:
            writer = csv.writer(fh)
            if new:
                writer.writerow(LOG_FIELDS)
            writer.writerow([epoch, repr(loss), repr(val_loss), repr(lr), f"{self.elapsed:.3f}"])

