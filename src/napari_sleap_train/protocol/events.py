"""Typed events (child -> parent) and commands (parent -> child).

The training child process writes one JSON object per line; every object has a
``"type"`` key naming one of the classes below. Both sides use these classes,
so a field added here is known to the engine, the runner, the widget and the
CLI at once. No Qt, no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class Event:
    """Base class of everything the child reports."""

    type: ClassVar[str] = "event"

    def to_json(self) -> str:
        """Serialise as one line of JSON."""
        payload = dataclasses.asdict(self)
        payload["type"] = self.type
        return json.dumps(payload, allow_nan=True)


@dataclass
class Started(Event):
    """The child is up: what it runs on and what it will do."""

    type: ClassVar[str] = "started"
    pid: int = 0
    hardware: str = "cpu"  # "cpu", "gpu", "metal"
    device_names: list[str] = field(default_factory=list)
    description: str = ""  # plain words, e.g. "CPU (2 cores), no GPU found"
    tensorflow_version: str = ""
    models: list[str] = field(default_factory=list)  # model kinds in order


@dataclass
class Status(Event):
    """A stage of the run began (feedback before the first batch)."""

    type: ClassVar[str] = "status"
    model: str = ""
    stage: str = ""  # "loading labels", "building pipeline", "compiling", "training", "predicting", ...
    detail: str = ""


@dataclass
class ModelStarted(Event):
    """Training of one model of the pipeline begins."""

    type: ClassVar[str] = "model_started"
    model: str = ""
    run_dir: str = ""
    epochs: int = 0
    batches_per_epoch: int = 0
    n_train: int = 0
    n_val: int = 0
    input_shape: list[int] = field(default_factory=list)
    crop_size: int | None = None
    receptive_field: int = 0
    patience: int = 0
    parameters: int = 0


@dataclass
class Batch(Event):
    """One training batch finished."""

    type: ClassVar[str] = "batch"
    model: str = ""
    epoch: int = 0  # 0-based
    batch: int = 0  # 0-based within the epoch
    loss: float = float("nan")
    elapsed: float = 0.0  # seconds since this model started


@dataclass
class Epoch(Event):
    """One epoch finished (train and validation loss)."""

    type: ClassVar[str] = "epoch"
    model: str = ""
    epoch: int = 0  # 0-based
    train_loss: float = float("nan")
    val_loss: float = float("nan")
    learning_rate: float = 0.0
    elapsed: float = 0.0  # seconds since this model started
    epoch_time: float = 0.0
    best_epoch: int = 0
    best_val_loss: float = float("nan")
    epochs_without_improvement: int = 0
    patience: int = 0
    eta: float | None = None  # seconds left for this model, when known


@dataclass
class Checkpoint(Event):
    """A model file was written."""

    type: ClassVar[str] = "checkpoint"
    model: str = ""
    epoch: int = 0
    path: str = ""
    best: bool = True


@dataclass
class ModelFinished(Event):
    """One model of the pipeline is done training."""

    type: ClassVar[str] = "model_finished"
    model: str = ""
    run_dir: str = ""
    reason: str = ""  # "completed", "early_stopping", "stopped", "time_limit"
    best_epoch: int = 0
    best_val_loss: float = float("nan")
    epochs_trained: int = 0


@dataclass
class PredictProgress(Event):
    """Inference progress."""

    type: ClassVar[str] = "predict_progress"
    done: int = 0
    total: int = 0


@dataclass
class Predictions(Event):
    """Predictions were written to a new ``.slp`` file."""

    type: ClassVar[str] = "predictions"
    path: str = ""
    n_frames: int = 0
    n_instances: int = 0
    explanation: str = ""  # why there are no frames, when n_frames == 0
    n_tracks: int = 0  # tracks the tracker assigned the predictions to (0: not tracked)
    tracking: str = ""  # what the tracker did, in words ("" when no tracker ran)


@dataclass
class Metrics(Event):
    """Evaluation results of a model or pipeline."""

    type: ClassVar[str] = "metrics"
    model: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    path: str = ""


@dataclass
class Message(Event):
    """Free text for the user (info or warning)."""

    type: ClassVar[str] = "message"
    text: str = ""
    level: str = "info"  # "info", "warning"


@dataclass
class Error(Event):
    """The run failed. ``message`` is plain words; ``traceback`` for experts."""

    type: ClassVar[str] = "error"
    message: str = ""
    kind: str = "crash"  # "oom", "config", "data", "hardware", "crash"
    hint: str = ""
    traceback: str = ""


@dataclass
class Done(Event):
    """The child is about to exit."""

    type: ClassVar[str] = "done"
    status: str = "finished"  # "finished", "stopped", "cancelled", "failed"
    run_dirs: list[str] = field(default_factory=list)
    predictions_path: str | None = None


AnyEvent = (
    Started
    | Status
    | ModelStarted
    | Batch
    | Epoch
    | Checkpoint
    | ModelFinished
    | PredictProgress
    | Predictions
    | Metrics
    | Message
    | Error
    | Done
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        Started,
        Status,
        ModelStarted,
        Batch,
        Epoch,
        Checkpoint,
        ModelFinished,
        PredictProgress,
        Predictions,
        Metrics,
        Message,
        Error,
        Done,
    )
}


def parse_event(line: str) -> Event:
    """Parse one JSON line from the child.

    Lines that are not JSON events (a library printing to the wrong stream)
    come back as a :class:`Message` so nothing is lost and nothing crashes.
    """
    line = line.strip()
    try:
        payload = json.loads(line)
    except json.JSONDecodeError:
        return Message(text=line, level="info")
    if not isinstance(payload, dict) or payload.get("type") not in EVENT_TYPES:
        return Message(text=line, level="info")
    cls = EVENT_TYPES[payload.pop("type")]
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in payload.items() if k in names})


# ----------------------------------------------------------------- commands


@dataclass
class Command:
    """Base class of what the parent sends to the child (one JSON line on stdin)."""

    type: ClassVar[str] = "command"

    def to_json(self) -> str:
        payload = dataclasses.asdict(self)
        payload["type"] = self.type
        return json.dumps(payload)


@dataclass
class StopCommand(Command):
    """Finish the current batch, keep the best model, go on with the pipeline."""

    type: ClassVar[str] = "stop"


@dataclass
class CancelCommand(Command):
    """End now; the partial run folders are removed."""

    type: ClassVar[str] = "cancel"


@dataclass
class SetLRCommand(Command):
    """Change the learning rate of the model being trained."""

    type: ClassVar[str] = "set_lr"
    learning_rate: float = 1e-4


COMMAND_TYPES: dict[str, type[Command]] = {cls.type: cls for cls in (StopCommand, CancelCommand, SetLRCommand)}


def parse_command(line: str) -> Command | None:
    """Parse one command line; ``None`` for anything unknown."""
    try:
        payload = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(payload, dict) or payload.get("type") not in COMMAND_TYPES:
        return None
    cls = COMMAND_TYPES[payload.pop("type")]
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in payload.items() if k in names})
