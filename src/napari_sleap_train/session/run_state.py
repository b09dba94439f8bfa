"""What the training run looks like right now, as an evented pure-Python object.

The child process reports :mod:`napari_sleap_train.protocol.events` events; the
run controller hands each one to :func:`apply_event` on the GUI thread, which
updates a :class:`TrainingState` and emits its psygnal signals. The loss plot
and the run panel only read this object, so everything here is testable
without Qt and without a child process.

Losses are kept in growable numpy buffers: appending a batch point is O(1)
amortised and the plot can hand views of the buffers to pyqtgraph.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

import numpy as np
from psygnal import Signal

from napari_sleap_train.protocol import events as ev


class RunStatus(str, Enum):
    """Life cycle of one run (what the Run button and status line reflect)."""

    IDLE = "idle"
    STARTING = "starting"
    TRAINING = "training"
    PREDICTING = "predicting"
    FINISHED = "finished"
    STOPPED = "stopped"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def is_running(self) -> bool:
        """True while a child process is (supposed to be) working."""
        return self in (RunStatus.STARTING, RunStatus.TRAINING, RunStatus.PREDICTING)

    @property
    def is_final(self) -> bool:
        """True once the run ended, however it ended."""
        return self in (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.CANCELLED, RunStatus.FAILED)


_DONE_STATUS = {
    "finished": RunStatus.FINISHED,
    "stopped": RunStatus.STOPPED,
    "cancelled": RunStatus.CANCELLED,
    "failed": RunStatus.FAILED,
}


class GrowableArray:
    """A 1-D float buffer that doubles its capacity when full.

    ``data`` is a view of the filled part; it stays valid until the next
    append that grows the buffer.
    """

    def __init__(self, capacity: int = 256) -> None:
        self._buf = np.empty(max(int(capacity), 1), dtype=np.float64)
        self._n = 0

    def append(self, value: float) -> None:
        if self._n == self._buf.size:
            grown = np.empty(self._buf.size * 2, dtype=np.float64)
            grown[: self._n] = self._buf[: self._n]
            self._buf = grown
        self._buf[self._n] = value
        self._n += 1

    def clear(self) -> None:
        self._n = 0

    @property
    def data(self) -> np.ndarray:
        return self._buf[: self._n]

    def __len__(self) -> int:
        return self._n


class LossHistory:
    """Losses of one model of the pipeline.

    Batch points sit at a fractional epoch: batch ``b`` (0-based) of epoch
    ``e`` with ``B`` batches per epoch is at ``x = e + (b + 1) / B``, so the
    last batch of an epoch lands on the same ``x = e + 1`` as that epoch's
    train/validation loss.
    """

    def __init__(self, model: str, epochs: int = 0, batches_per_epoch: int = 0, patience: int = 0) -> None:
        self.model = model
        self.epochs = epochs
        self.batches_per_epoch = batches_per_epoch
        self.patience = patience
        self.batch_x = GrowableArray(1024)
        self.batch_loss = GrowableArray(1024)
        self.epoch_index = GrowableArray(64)  # 0-based epoch numbers
        self.train_loss = GrowableArray(64)
        self.val_loss = GrowableArray(64)
        self.learning_rate = GrowableArray(64)
        self.best_epoch: int | None = None
        self.best_val_loss: float = math.nan
        self._seen_batches_in_epoch = 0

    def add_batch(self, epoch: int, batch: int, loss: float) -> float:
        """Record one batch loss; returns its fractional-epoch x."""
        per_epoch = self.batches_per_epoch
        if per_epoch <= 0:
            # Unknown length (e.g. a generator dataset): grow as batches come.
            self._seen_batches_in_epoch = max(self._seen_batches_in_epoch, batch + 1)
            per_epoch = self._seen_batches_in_epoch
        x = epoch + (batch + 1) / max(per_epoch, batch + 1)
        self.batch_x.append(x)
        self.batch_loss.append(loss)
        return x

    def add_epoch(self, event: ev.Epoch) -> None:
        """Record one epoch's train/validation loss and the best so far."""
        self.epoch_index.append(event.epoch)
        self.train_loss.append(event.train_loss)
        self.val_loss.append(event.val_loss)
        self.learning_rate.append(event.learning_rate)
        if _finite(event.best_val_loss):
            self.best_epoch = event.best_epoch
            self.best_val_loss = float(event.best_val_loss)
        elif _finite(event.val_loss) and not (event.val_loss >= self.best_val_loss):
            # The child did not say: track the minimum ourselves.
            self.best_epoch = event.epoch
            self.best_val_loss = float(event.val_loss)
        if event.patience:
            self.patience = event.patience

    @property
    def n_epochs(self) -> int:
        return len(self.epoch_index)

    @property
    def epoch_x(self) -> np.ndarray:
        """x of the epoch points: the end of each epoch (``epoch + 1``)."""
        return self.epoch_index.data + 1.0

    @property
    def best_x(self) -> float | None:
        """x of the best epoch (where the marker goes), or None."""
        return None if self.best_epoch is None else float(self.best_epoch + 1)


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


class TrainingState:
    """State of the current run; updated only through :func:`apply_event`.

    Signals (psygnal, emitted synchronously on the thread that applies the
    event, which is the GUI thread in the widget):

    ``changed()``
        Any summary field changed (status line, buttons).
    ``batch_added(model)`` / ``epoch_added(model)``
        New loss points for ``model``.
    ``model_started(model)``
        A new model of the pipeline began (the plot switches to it).
    ``reset()``
        Everything was cleared for a new run.
    ``error(Error)``, ``message(Message)``, ``predictions_ready(Predictions)``,
    ``metrics_added(Metrics)``, ``finished(Done)``
        One-off happenings the panel reacts to.
    """

    changed = Signal()
    batch_added = Signal(str)
    epoch_added = Signal(str)
    model_started = Signal(str)
    reset = Signal()
    error = Signal(object)
    message = Signal(object)
    predictions_ready = Signal(object)
    metrics_added = Signal(object)
    finished = Signal(object)

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._clear()

    def _clear(self) -> None:
        self.status: RunStatus = RunStatus.IDLE
        self.stage: str = ""
        self.stage_detail: str = ""
        self.models: list[str] = []  # planned model kinds, in order
        self.model: str = ""  # model being trained
        self.histories: dict[str, LossHistory] = {}
        self.epoch: int | None = None  # last finished epoch (0-based)
        self.current_epoch: int = 0  # epoch in progress (0-based)
        self.epochs: int = 0  # planned epochs of the current model
        self.batch: int | None = None  # last finished batch within current_epoch
        self.batches_per_epoch: int = 0
        self.n_train: int = 0
        self.n_val: int = 0
        self.learning_rate: float | None = None
        self.last_train_loss: float | None = None
        self.last_val_loss: float | None = None
        self.last_batch_loss: float | None = None
        self.best_epoch: int | None = None
        self.best_val_loss: float | None = None
        self.epochs_without_improvement: int = 0
        self.patience: int = 0
        self.model_elapsed: float = 0.0  # seconds since the current model started (child clock)
        self.eta: float | None = None  # seconds left for the current model at eta_at
        self.eta_at: float | None = None  # our clock when eta was reported
        self.started_at: float | None = None  # our clock when the run started
        self.ended_at: float | None = None
        self.hardware: str = ""  # plain words from Started.description
        self.tensorflow_version: str = ""
        self.pid: int | None = None
        self.run_dirs: list[str] = []
        self.checkpoints: dict[str, str] = {}  # model -> last best checkpoint path
        self.finish_reasons: dict[str, str] = {}  # model -> ModelFinished.reason
        self.predict_done: int = 0
        self.predict_total: int = 0
        self.predictions: ev.Predictions | None = None
        self.predictions_path: str | None = None
        self.metrics: dict[str, dict[str, Any]] = {}  # model ("" = pipeline) -> values
        self.metrics_paths: dict[str, str] = {}
        self.messages: list[ev.Message] = []
        self.last_error: ev.Error | None = None
        self.done: ev.Done | None = None

    # ------------------------------------------------------------ actions

    def begin(self) -> None:
        """Clear everything for a new run and mark it as starting."""
        self._clear()
        self.status = RunStatus.STARTING
        self.stage = "starting"
        self.started_at = self._clock()
        self.reset.emit()
        self.changed.emit()

    def fail(self, message: str, hint: str = "", kind: str = "crash") -> None:
        """Mark the run as failed from the parent side (e.g. the child could not start)."""
        apply_event(self, ev.Error(message=message, hint=hint, kind=kind))
        apply_event(self, ev.Done(status="failed", run_dirs=list(self.run_dirs)))

    # ------------------------------------------------------------ derived

    @property
    def is_running(self) -> bool:
        return self.status.is_running

    @property
    def history(self) -> LossHistory | None:
        """Loss history of the current model."""
        return self.histories.get(self.model)

    def elapsed(self) -> float:
        """Wall seconds since the run started (frozen once it ended)."""
        if self.started_at is None:
            return 0.0
        end = self.ended_at if self.ended_at is not None else self._clock()
        return max(0.0, end - self.started_at)

    def eta_now(self) -> float | None:
        """Seconds left for the current model, counted down since the last report."""
        if self.eta is None or self.eta_at is None or not self.status.is_running:
            return None
        return max(0.0, self.eta - (self._clock() - self.eta_at))

    @property
    def model_position(self) -> tuple[int, int]:
        """(1-based index of the current model, number of models)."""
        if self.model in self.models:
            return self.models.index(self.model) + 1, len(self.models)
        return (1 if self.model else 0), max(len(self.models), 1 if self.model else 0)

    def history_for(self, model: str) -> LossHistory:
        if model not in self.histories:
            self.histories[model] = LossHistory(model)
        return self.histories[model]


# --------------------------------------------------------------- reducers


def apply_event(state: TrainingState, event: ev.Event) -> None:
    """Update ``state`` with one event from the child and emit its signals.

    Unknown event types are ignored (a newer child may send more).
    """
    handler = _HANDLERS.get(type(event))
    if handler is not None:
        handler(state, event)


def _ensure_running(state: TrainingState) -> None:
    if state.started_at is None:
        state.started_at = state._clock()
    if not state.status.is_running and not state.status.is_final:
        state.status = RunStatus.STARTING


def _on_started(state: TrainingState, event: ev.Started) -> None:
    _ensure_running(state)
    state.pid = event.pid or None
    state.hardware = event.description or event.hardware.upper()
    state.tensorflow_version = event.tensorflow_version
    state.models = list(event.models)
    state.changed.emit()


def _on_status(state: TrainingState, event: ev.Status) -> None:
    _ensure_running(state)
    state.stage = event.stage
    state.stage_detail = event.detail
    if event.model:
        state.model = event.model
    if event.stage == "predicting" and not state.status.is_final:
        state.status = RunStatus.PREDICTING
    state.changed.emit()


def _on_model_started(state: TrainingState, event: ev.ModelStarted) -> None:
    _ensure_running(state)
    state.status = RunStatus.TRAINING
    state.model = event.model
    if event.model not in state.models:
        state.models.append(event.model)
    state.histories[event.model] = LossHistory(
        event.model, epochs=event.epochs, batches_per_epoch=event.batches_per_epoch, patience=event.patience
    )
    state.stage = "training"
    state.stage_detail = ""
    state.epochs = event.epochs
    state.batches_per_epoch = event.batches_per_epoch
    state.n_train, state.n_val = event.n_train, event.n_val
    state.patience = event.patience
    state.epoch = None
    state.current_epoch = 0
    state.batch = None
    state.last_train_loss = state.last_val_loss = state.last_batch_loss = None
    state.best_epoch = None
    state.best_val_loss = None
    state.epochs_without_improvement = 0
    state.model_elapsed = 0.0
    state.eta = state.eta_at = None
    if event.run_dir and event.run_dir not in state.run_dirs:
        state.run_dirs.append(event.run_dir)
    state.model_started.emit(event.model)
    state.changed.emit()


def _on_batch(state: TrainingState, event: ev.Batch) -> None:
    _ensure_running(state)
    model = event.model or state.model
    if model != state.model:
        state.model = model
    if state.status is RunStatus.STARTING:
        state.status = RunStatus.TRAINING
    state.stage, state.stage_detail = "training", ""  # batches flow: earlier stages are over
    state.history_for(model).add_batch(event.epoch, event.batch, event.loss)
    state.current_epoch = event.epoch
    state.batch = event.batch
    state.last_batch_loss = event.loss
    state.model_elapsed = event.elapsed
    state.batch_added.emit(model)
    state.changed.emit()


def _on_epoch(state: TrainingState, event: ev.Epoch) -> None:
    _ensure_running(state)
    model = event.model or state.model
    state.model = model
    if state.status is RunStatus.STARTING:
        state.status = RunStatus.TRAINING
    state.stage, state.stage_detail = "training", ""
    history = state.history_for(model)
    history.add_epoch(event)
    state.epoch = event.epoch
    state.current_epoch = event.epoch + 1
    state.batch = None
    state.last_train_loss = event.train_loss
    state.last_val_loss = event.val_loss
    state.learning_rate = event.learning_rate
    state.best_epoch = history.best_epoch
    state.best_val_loss = None if history.best_epoch is None else history.best_val_loss
    state.epochs_without_improvement = event.epochs_without_improvement
    if event.patience:
        state.patience = event.patience
    state.model_elapsed = event.elapsed
    state.eta = event.eta
    state.eta_at = state._clock() if event.eta is not None else None
    state.epoch_added.emit(model)
    state.changed.emit()


def _on_checkpoint(state: TrainingState, event: ev.Checkpoint) -> None:
    if event.best and event.path:
        state.checkpoints[event.model or state.model] = event.path
    state.changed.emit()


def _on_model_finished(state: TrainingState, event: ev.ModelFinished) -> None:
    model = event.model or state.model
    state.finish_reasons[model] = event.reason
    if event.run_dir and event.run_dir not in state.run_dirs:
        state.run_dirs.append(event.run_dir)
    if event.best_epoch is not None and _finite(event.best_val_loss):
        history = state.history_for(model)
        history.best_epoch = event.best_epoch
        history.best_val_loss = float(event.best_val_loss)
        if model == state.model:
            state.best_epoch = event.best_epoch
            state.best_val_loss = float(event.best_val_loss)
    state.eta = state.eta_at = None
    state.changed.emit()


def _on_predict_progress(state: TrainingState, event: ev.PredictProgress) -> None:
    _ensure_running(state)
    if not state.status.is_final:
        state.status = RunStatus.PREDICTING
    state.stage = "predicting"
    state.predict_done = event.done
    state.predict_total = event.total
    state.changed.emit()


def _on_predictions(state: TrainingState, event: ev.Predictions) -> None:
    state.predictions = event
    state.predictions_path = event.path or None
    state.predictions_ready.emit(event)
    state.changed.emit()


def _on_metrics(state: TrainingState, event: ev.Metrics) -> None:
    state.metrics[event.model] = dict(event.values)
    if event.path:
        state.metrics_paths[event.model] = event.path
    state.metrics_added.emit(event)
    state.changed.emit()


def _on_message(state: TrainingState, event: ev.Message) -> None:
    state.messages.append(event)
    state.message.emit(event)


def _on_error(state: TrainingState, event: ev.Error) -> None:
    state.last_error = event
    state.error.emit(event)
    state.changed.emit()


def _on_done(state: TrainingState, event: ev.Done) -> None:
    state.done = event
    state.status = _DONE_STATUS.get(event.status, RunStatus.FAILED)
    for run_dir in event.run_dirs:
        if run_dir not in state.run_dirs:
            state.run_dirs.append(run_dir)
    if event.status == "cancelled":
        # The child removed the partial run folders.
        state.run_dirs = list(event.run_dirs)
    if event.predictions_path:
        state.predictions_path = event.predictions_path
    state.stage = ""
    state.stage_detail = ""
    state.eta = state.eta_at = None
    state.ended_at = state._clock()
    state.finished.emit(event)
    state.changed.emit()


_HANDLERS: dict[type, Callable[[TrainingState, Any], None]] = {
    ev.Started: _on_started,
    ev.Status: _on_status,
    ev.ModelStarted: _on_model_started,
    ev.Batch: _on_batch,
    ev.Epoch: _on_epoch,
    ev.Checkpoint: _on_checkpoint,
    ev.ModelFinished: _on_model_finished,
    ev.PredictProgress: _on_predict_progress,
    ev.Predictions: _on_predictions,
    ev.Metrics: _on_metrics,
    ev.Message: _on_message,
    ev.Error: _on_error,
    ev.Done: _on_done,
}
