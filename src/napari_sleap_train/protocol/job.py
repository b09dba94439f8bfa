"""What the child process is asked to do, as JSON-serialisable dataclasses.

A :class:`TrainJob` trains every model of a pipeline and optionally predicts
afterwards; a :class:`PredictJob` only predicts with existing model folders.
Both are written to a JSON file that the child reads
(``python -m napari_sleap_train.engine JOB.json``), so the exact same job can
be exported and run on another machine. No Qt, no TensorFlow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from napari_sleap_train.config.model import DEFAULT_TEST_TIME_VIEWS, PipelineConfig
from napari_sleap_train.config.serialize import ConfigError, from_dict, to_dict
from napari_sleap_train.config.tracking import TrackerSettings


def _frames(frames) -> list[tuple[int, int]]:
    return [(int(v), int(f)) for v, f in frames]


@dataclass
class TrainJob:
    """Train the models of a pipeline, then optionally predict.

    Attributes
    ----------
    labels_path
        The ``.slp`` / ``.pkg.slp`` project with user-labeled frames.
    pipeline
        Pipeline kind and one :class:`TrainingConfig` per model.
    runs_folder
        Parent folder of the run folders (``<runs_folder>/<YYMMDD_HHMMSS>.<kind>``).
    predict_frames
        (video index, frame index) pairs to predict on after training; empty: none.
    predictions_path
        Where predictions are written (default: next to the project,
        ``<project>.predictions.slp``).
    resume
        Run folders to continue training in (one per model kind at most): the
        model continues from its last epoch (weights, optimizer state, epoch
        count, learning-rate schedule and early-stopping state).
    init_from
        Trained run folders (ours or SLEAP 1.4's) whose weights initialise a new
        run of their model kind (fine-tuning); the architecture and body parts
        must match.
    use
        Trained run folders (ours or SLEAP 1.4's) used as they are: their model
        kind is not trained, prediction uses them.
    evaluate
        Evaluate the trained models on their validation frames (when available).

    The tracker run on the predictions made after training is ``pipeline.tracking``.
    """

    labels_path: str
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    runs_folder: str = "models"
    predict_frames: list[tuple[int, int]] = field(default_factory=list)
    predictions_path: str | None = None
    resume: list[str] = field(default_factory=list)
    init_from: list[str] = field(default_factory=list)
    use: list[str] = field(default_factory=list)
    evaluate: bool = True

    def __post_init__(self) -> None:
        self.predict_frames = _frames(self.predict_frames)
        self.resume, self.init_from, self.use = (
            [str(p) for p in paths] for paths in (self.resume, self.init_from, self.use)
        )


@dataclass
class PredictJob:
    """Predict with trained model folders on chosen frames.

    Attributes
    ----------
    labels_path
        Project whose videos are predicted on.
    model_dirs
        Run folders (top-down: centroid and centered instance; or single instance).
    frames
        (video index, frame index) pairs.
    output_path
        ``.slp`` file the predictions are written to.
    device
        ``"auto"``, ``"cpu"`` or ``"gpu:N"``.
    peak_threshold
        Minimum confidence-map value of a peak.
    batch_size
        Frames per inference batch.
    max_instances
        Keep at most this many instances per frame (``None``: no limit).
    views
        Top-down: test-time views of each centered-instance crop
        (:data:`~napari_sleap_train.config.model.TEST_TIME_VIEWS`).
    tracking
        Tracker run on the predictions before they are written (default: none).
    """

    labels_path: str
    model_dirs: list[str] = field(default_factory=list)
    frames: list[tuple[int, int]] = field(default_factory=list)
    output_path: str = "predictions.slp"
    device: str = "auto"
    peak_threshold: float = 0.2
    batch_size: int = 4
    max_instances: int | None = None
    views: int = DEFAULT_TEST_TIME_VIEWS
    tracking: TrackerSettings = field(default_factory=lambda: TrackerSettings(tracker="none"))

    def __post_init__(self) -> None:
        self.frames = _frames(self.frames)


AnyJob = TrainJob | PredictJob
_JOB_TYPES: dict[str, type] = {"train": TrainJob, "predict": PredictJob}


def save_job(job: AnyJob, path: str | Path) -> Path:
    """Write a job file (JSON with a ``"job"`` key naming its type)."""
    name = "train" if isinstance(job, TrainJob) else "predict"
    payload = {"job": name, **to_dict(job)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def load_job(path: str | Path) -> AnyJob:
    """Read a job file written by :func:`save_job`.

    Raises
    ------
    ConfigError
        The file is missing, not JSON, or holds unknown settings.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"Job file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"Job file {path} is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or payload.get("job") not in _JOB_TYPES:
        raise ConfigError(f"{path} is not a training or prediction job (missing 'job': 'train'|'predict').")
    cls = _JOB_TYPES[payload.pop("job")]
    return from_dict(cls, payload)
