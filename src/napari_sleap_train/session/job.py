"""The one way a :class:`~napari_sleap_train.protocol.job.TrainJob` is made (no Qt).

:func:`make_train_job` turns pipeline settings into a job; the dock
(:func:`dock_train_job`), ``napari-sleap-train train`` and ``export-job`` all
call it, so equal settings give equal jobs. It is also where the anchor part is
written into the model heads (the session stores it once, in the pipeline).

For the dock, the labels as they are in napari right now (including unsaved
point edits) are written to a new snapshot file in the runs folder; the user's
project file is never touched.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from typing import Any
from pathlib import Path

from napari_sleap_train.config.model import PipelineConfig, PredictOn
from napari_sleap_train.predictions.frame_selection import FrameSelection, select_frames
from napari_sleap_train.protocol.job import TrainJob

from .settings import TrainingSession

#: sub-folder of the runs folder holding the labels each run trained on
SNAPSHOT_FOLDER = "labels"
#: sub-folder of the runs folder receiving the predictions made after training
PREDICTIONS_FOLDER = "predictions"


class JobError(ValueError):
    """The settings cannot make a training job (message in plain words)."""


def make_train_job(
    pipeline: PipelineConfig,
    labels_path: str | Path,
    *,
    runs_folder: str | Path | None = None,
    predict_frames: Iterable[tuple[int, int]] = (),
    predictions_path: str | Path | None = None,
    resume: Iterable[str] = (),
    evaluate: bool = True,
) -> TrainJob:
    """The training job for ``pipeline`` on ``labels_path``.

    Paths are taken as given (the caller decides what they are relative to);
    nothing is read or written. The job's pipeline is an independent copy that
    holds only the models of its kind, each with its ``kind`` and the
    pipeline's anchor part in its head, and whose runs folder is the job's.

    Parameters
    ----------
    pipeline
        The settings (left unchanged).
    labels_path
        The project the child trains on.
    runs_folder
        Parent of the run folders; ``None``: ``pipeline.runs_folder``.
    predict_frames
        ``(video, frame)`` pairs to predict on after training.
    predictions_path
        Where those predictions go (``None``: next to the project).
    resume
        Run folders to continue training in.
    evaluate
        Evaluate the trained models on their validation frames.

    Raises
    ------
    JobError
        The pipeline lacks the settings of one of its models.
    """
    missing = [k.value for k in pipeline.kind.model_kinds if k not in pipeline.models]
    if missing:
        raise JobError(f"The {pipeline.kind.value} pipeline has no settings for the {', '.join(missing)} model.")
    settings = copy.deepcopy(pipeline)
    settings.models = pipeline.trained_models()
    runs = str(runs_folder if runs_folder is not None else pipeline.runs_folder)
    settings.runs_folder = runs
    return TrainJob(
        labels_path=str(labels_path),
        pipeline=settings,
        runs_folder=runs,
        predict_frames=list(predict_frames),
        predictions_path=None if predictions_path is None else str(predictions_path),
        resume=list(resume),
        evaluate=evaluate,
    )


def video_lengths(project) -> list[int | None]:
    """Frame count of each video, ``None`` for videos that cannot be read."""
    return [
        project.frame_count(i) if project.video_available(i) else None
        for i in range(len(project.videos))
    ]


def predict_selection(session: TrainingSession, video: int = 0, frame: int = 0) -> FrameSelection:
    """Frames the *Predict on* choice selects for the open project."""
    project = session.project
    if project is None:
        return FrameSelection([], "no project is open")
    p = session.pipeline
    if p.predict_on is PredictOn.NOTHING:
        return FrameSelection([], "prediction is turned off (predict on: nothing)")
    return select_frames(
        project.labels,
        p.predict_on,
        n=p.predict_n_frames,
        current_video=video,
        current_frame=frame,
        video_lengths=video_lengths(project),
        labels_path=project.path,
    )


def dock_train_job(session: TrainingSession, video: int = 0, frame: int = 0) -> TrainJob:
    """The dock's training job for the current settings and viewer position.

    Writes the labels snapshot (and makes the runs folder) first.

    Raises
    ------
    JobError
        No project is open or it has no labeled frames.
    OSError
        The runs folder or the snapshot cannot be written.
    """
    project = session.project
    if project is None:
        raise JobError("Open a SLEAP project (.slp) before training.")
    if not project.user_frames():
        raise JobError(f"{project.name} has no labeled frames: label a few frames before training.")
    pipeline = session.pipeline
    runs = Path(pipeline.runs_folder).expanduser()
    if not runs.is_absolute():
        base = project.path.parent if project.path is not None else Path.cwd()
        runs = base / runs
    runs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%y%m%d_%H%M%S")
    snap_dir = runs / SNAPSHOT_FOLDER
    snap_dir.mkdir(exist_ok=True)
    snapshot = snap_dir / f"{pipeline.run_name_prefix}{project.name}.{stamp}.slp"
    n = 1
    while snapshot.exists():
        snapshot = snap_dir / f"{pipeline.run_name_prefix}{project.name}.{stamp}_{n}.slp"
        n += 1
    project.snapshot(snapshot)
    selection = predict_selection(session, video, frame)
    predictions = runs / PREDICTIONS_FOLDER / f"{snapshot.name[: -len('.slp')]}.predictions.slp"
    predictions.parent.mkdir(exist_ok=True)
    return make_train_job(
        pipeline,
        snapshot,
        runs_folder=runs,
        predict_frames=selection.frames,
        predictions_path=predictions,
    )


def snapshot_of(job: Any) -> Path | None:
    """The job's labels file when it is the snapshot the dock wrote (``<runs>/labels/*.slp``)."""
    labels, runs = getattr(job, "labels_path", None), getattr(job, "runs_folder", None)
    if not labels or not runs:
        return None
    labels = Path(labels)
    return labels if labels.parent == Path(runs) / SNAPSHOT_FOLDER else None
