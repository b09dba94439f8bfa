"""The Keras callback that reports progress and obeys the user.

:class:`TrainingMonitor` is the only callback the training loop needs:

* per batch: a ``Batch`` event (the batch's own loss, not Keras's running
  mean), the ``set_lr`` / ``stop`` / ``cancel`` commands, the wall-time limit
  (the model's own ``time_limit_minutes`` and/or a deadline given by the
  pipeline's budget), the cosine schedule (which decays over the time budget
  when there is one) and best-model snapshots at chosen minutes;
* per epoch: learning-rate plateau or cosine schedule, early stopping, the best
  and latest checkpoints, a row of ``training_log.csv`` and an ``Epoch`` event
  with ETA and plateau counters.

Why a single callback: the order of these steps matters (checkpoint before the
event that says "best epoch", stop decision after the log row), and one object
holds the state a resumed run must restore.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import keras

from napari_sleap_train.config.model import LRSchedule, OptimizationConfig
from napari_sleap_train.engine.budget import Snapshot
from napari_sleap_train.engine.channel import Channel
from napari_sleap_train.engine.run_files import copy_file, save_model, write_text
from napari_sleap_train.engine.schedule import EarlyStopping, Plateau, cosine_lr
from napari_sleap_train.protocol.events import Batch, Checkpoint, Epoch

BEST_MODEL = "best_model.keras"
LATEST_MODEL = "latest_model.keras"
TRAINING_LOG = "training_log.csv"
LOG_FIELDS = ("epoch", "loss", "val_loss", "lr", "time")
SNAPSHOTS = "snapshots.json"


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
    deadline
        ``time.monotonic()`` value at which training stops (a share of the
        pipeline's time budget); combined with ``opt.time_limit_minutes``.
    snapshots
        Best-model copies to take at given training times (see :class:`Snapshot`).
    batches_per_epoch
        Batches in an epoch, so the cosine schedule can move every batch.
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
        deadline: float | None = None,
        snapshots: list[Snapshot] | None = None,
        batches_per_epoch: int | None = None,
    ):
        super().__init__()
        self.model_name = model_name
        self.channel = channel
        self.run_dir = Path(run_dir)
        self.opt = opt
        self.initial_epoch = initial_epoch
        self.save_checkpoints = save_checkpoints
        self.deadline = deadline
        self.pending_snapshots = sorted(snapshots or [], key=lambda s: s.seconds)
        self.snapshots_taken: list[dict] = []
        self.batches_per_epoch = batches_per_epoch
        self._warmup_end: float | None = None  # elapsed seconds when the cosine warm-up ended
        self._lr_scale = 1.0  # a set_lr command under the cosine schedule rescales the whole curve
        # Seconds from an epoch's last batch to the end of its validation and
        # checkpoints: a time-limited run stops that much early to end on time.
        self._tail = 0.0
        self._last_batch_end = time.monotonic()
        es, pl = opt.early_stopping, opt.plateau
        self.early = EarlyStopping(es.patience, es.min_delta, es.enabled)
        self.plateau = Plateau(
            pl.factor,
            pl.patience,
            pl.cooldown,
            pl.min_delta,
            pl.min_lr,
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
        """Seconds until the time limit or deadline (``None``: no limit)."""
        left = []
        if self.opt.time_limit_minutes is not None:
            left.append(self.opt.time_limit_minutes * 60.0 - self.elapsed)
        if self.deadline is not None:
            left.append(self.deadline - time.monotonic())
        return min(left) if left else None

    def _time_fraction(self) -> float:
        """Share of the time budget used since the warm-up ended (0 without a limit)."""
        left = self._time_left()
        if left is None or self._warmup_end is None:
            return 0.0
        used = self.elapsed - self._warmup_end
        total = used + max(left, 0.0)
        return 1.0 if total <= 0 else min(1.0, used / total)

    def _take_snapshots(self, final: bool = False) -> None:
        """Copy the best model for every snapshot whose time has come (all at the end).

        Before the first epoch ends there is no best model yet; a snapshot due
        then is taken as soon as there is one.
        """
        best = self.run_dir / BEST_MODEL
        while self.pending_snapshots and (final or self.elapsed >= self.pending_snapshots[0].seconds):
            if not self.save_checkpoints:
                self.pending_snapshots.clear()
                return
            if not best.exists():
                if final:
                    return
                break  # no best model yet (before the first epoch ended): take it when there is one
            snap = self.pending_snapshots.pop(0)
            copy_file(best, self.run_dir / snap.name)
            self.snapshots_taken.append(
                {
                    "file": snap.name,
                    "label": snap.label,
                    "requested_seconds": round(snap.seconds, 3),
                    "elapsed_seconds": round(self.elapsed, 3),
                    "best_epoch": self.early.best_epoch,
                    "best_val_loss": self.early.best if math.isfinite(self.early.best) else None,
                    "training_ended": final,
                }
            )
            write_text(self.run_dir / SNAPSHOTS, json.dumps(self.snapshots_taken, indent=2) + "\n")

    # ------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        self.channel.check_cancel()
        self._t0 = time.monotonic()
        if self.initial_epoch >= self.opt.warmup_epochs:
            self._warmup_end = self.elapsed  # no warm-up left (or none at all)
        if self.opt.lr_schedule == LRSchedule.COSINE:
            _set_lr(self.model, self._cosine(self.initial_epoch))

    def on_train_end(self, logs=None):
        self._take_snapshots(final=True)

    def _cosine(self, epoch: float) -> float:
        return self._lr_scale * cosine_lr(
            epoch,
            self.opt.epochs,
            self.opt.learning_rate,
            self.opt.warmup_epochs,
            self.opt.plateau.min_lr,
            self._time_fraction(),
        )

    def _epoch_position(self, batch: int) -> float:
        return self._epoch + (batch / self.batches_per_epoch if self.batches_per_epoch else 0.0)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = int(epoch)
        self._epoch_t0 = time.monotonic()
        self._prev_mean = 0.0
        if self._warmup_end is None and epoch >= self.opt.warmup_epochs:
            self._warmup_end = self.elapsed
        if self.opt.lr_schedule == LRSchedule.COSINE:
            _set_lr(self.model, self._cosine(epoch))

    def on_train_batch_begin(self, batch, logs=None):
        # Also here: the first batch traces the graph (slow), so a cancel that
        # arrived meanwhile should not wait for it.
        self.channel.check_cancel()
        lr = self.channel.take_learning_rate()
        cosine = self.opt.lr_schedule == LRSchedule.COSINE
        if lr is not None:
            if cosine:  # keep the schedule's shape, at the user's level from now on
                self._lr_scale = 1.0
                planned = self._cosine(self._epoch_position(batch))
                self._lr_scale = lr / planned if planned > 0 else 1.0
            _set_lr(self.model, lr)
        elif batch > 0 and cosine and self.batches_per_epoch:
            # Move within the epoch too: epochs are long on CPU and a time
            # budget may end mid-epoch.
            _set_lr(self.model, self._cosine(self._epoch_position(batch)))

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
        if left is not None and left <= self._tail:
            self._request_stop("time_limit")
        if self.pending_snapshots:
            self._take_snapshots()
        self._last_batch_end = time.monotonic()

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
            save_model(self.model, path)  # atomic: a kill or a full disk keeps the previous best
            self.channel.emit(Checkpoint(model=self.model_name, epoch=epoch, path=str(path), best=True))
        if self.save_checkpoints:
            save_model(self.model, self.run_dir / LATEST_MODEL)
        self._append_log(epoch, train_loss, val_loss, lr)
        if self.pending_snapshots:
            self._take_snapshots()

        next_lr = self.plateau.update(val_loss, lr)
        if next_lr != lr:
            _set_lr(self.model, next_lr)

        if self.early.should_stop:
            self._request_stop("early_stopping")
        left = self._time_left()
        self._tail = max(self._tail, time.monotonic() - self._last_batch_end)
        if left is not None and left <= self._tail:
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
        # Rewritten whole and renamed (a few kB): a full disk or kill -9 leaves the
        # previous complete log, never a cut last row.
        path = self.run_dir / TRAINING_LOG
        text = path.read_text() if path.exists() else ",".join(LOG_FIELDS) + "\n"
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(
            [epoch, repr(loss), repr(val_loss), repr(lr), f"{self.elapsed:.3f}"]
        )
        write_text(path, text + buf.getvalue())
