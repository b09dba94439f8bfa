"""Turn the dock's settings into a :class:`~napari_sleap_train.protocol.job.TrainJob` (no Qt).

The child process reads the project from disk, so the labels as they are in
napari right now (including unsaved point edits) are written to a new
snapshot file in the runs folder; the user's project file is never touched.
"""

from __future__ import annotations

import time
from pathlib import Path

from napari_sleap_train.config.model import PredictOn
from napari_sleap_train.predictions.frame_selection import FrameSelection, select_frames
from napari_sleap_train.protocol.job import TrainJob

from .state import PipelineState

#: sub-folder of the runs folder holding the labels each run trained on
SNAPSHOT_FOLDER = "labels"
#: sub-folder of the runs folder receiving the predictions made after training
PREDICTIONS_FOLDER = "predictions"


class JobError(ValueError):
    """The settings cannot make a training job (message in plain words)."""


def video_lengths(project) -> list[int | None]:
    """Frame count of each video, ``None`` for videos that cannot be read."""
    return [
        project.frame_count(i) if project.video_available(i) else None
        for i in range(len(project.videos))
    ]


def predict_selection(
    state: PipelineState, video: int = 0, frame: int = 0
) -> FrameSelection:
    """Frames the *Predict on* choice selects for the open project."""
    project = state.project
    if project is None:
        return FrameSelection([], "no project is open")
    p = state.pipeline
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


def build_train_job(state: PipelineState, video: int = 0, frame: int = 0) -> TrainJob:
    """A training job for the current settings and the viewer position.

    Raises
    ------
    JobError
        No project is open or it has no labeled frames.
    """
    project = state.project
    if project is None:
        raise JobError("Open a SLEAP project (.slp) before training.")
    if not project.user_frames():
        raise JobError(
            f"{project.name} has no labeled frames: label a few frames before training."
        )
    pipeline = state.snapshot()
    runs = Path(pipeline.runs_folder).expanduser()
    if not runs.is_absolute():
        base = project.path.parent if project.path is not None else Path.cwd()
        runs = base / runs
    runs.mkdir(parents=True, exist_ok=True)
    pipeline.runs_folder = str(runs)
    stamp = time.strftime("%y%m%d_%H%M%S")
    snap_dir = runs / SNAPSHOT_FOLDER
    snap_dir.mkdir(exist_ok=True)
    snapshot = snap_dir / f"{pipeline.run_name_prefix}{project.name}.{stamp}.slp"
    n = 1
    while snapshot.exists():
        snapshot = (
            snap_dir / f"{pipeline.run_name_prefix}{project.name}.{stamp}_{n}.slp"
        )
        n += 1
    project.snapshot(snapshot)
    selection = predict_selection(state, video, frame)
    predictions = (
        runs / PREDICTIONS_FOLDER / f"{snapshot.name[: -len('.slp')]}.predictions.slp"
    )
    predictions.parent.mkdir(exist_ok=True)
    return TrainJob(
        labels_path=str(snapshot),
        pipeline=pipeline,
        runs_folder=str(runs),
        predict_frames=list(selection.frames),
        predictions_path=str(predictions),
    )
