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
import dataclasses
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from napari_sleap_train.config.model import ModelKind, PipelineConfig, PredictOn
from napari_sleap_train.config.profiles import list_trained_runs
from napari_sleap_train.config.runs import RunError, check_reuse, read_run
from napari_sleap_train.config.tracking import TrackerSettings
from napari_sleap_train.predictions.frame_selection import FrameSelection, select_frames
from napari_sleap_train.protocol.job import PredictJob, TrainJob

from .identity import is_identity_pipeline, run_block
from .reuse import Reuse, reuse_lists
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
    init_from: Iterable[str] = (),
    use: Iterable[str] = (),
    evaluate: bool = True,
    node_names: Iterable[str] | None = None,
) -> TrainJob:
    """The training job for ``pipeline`` on ``labels_path``.

    Paths are taken as given (the caller decides what they are relative to);
    nothing is written; the configs of reused runs are read to check them
    (:func:`~napari_sleap_train.config.runs.check_reuse`). The job's pipeline is an independent copy that
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
    init_from
        Trained runs whose weights start new runs of their model kind (fine-tuning).
    use
        Trained runs used as they are (their model kind is not trained).
    evaluate
        Evaluate the trained models on their validation frames.
    node_names
        The project's body parts, when known: reused runs must predict these.

    Raises
    ------
    JobError
        The pipeline lacks the settings of one of its models, or a reused run
        does not fit (kind, network, body parts, nothing to resume).
    """
    missing = [k.value for k in pipeline.kind.model_kinds if k not in pipeline.models]
    if missing:
        raise JobError(f"The {pipeline.kind.value} pipeline has no settings for the {', '.join(missing)} model.")
    settings = copy.deepcopy(pipeline)
    settings.models = pipeline.trained_models()
    if node_names is not None:
        _check_edges(settings, list(node_names))
    runs = str(runs_folder if runs_folder is not None else pipeline.runs_folder)
    settings.runs_folder = runs
    reuse = {"use": [str(p) for p in use], "init_from": [str(p) for p in init_from], "resume": [str(p) for p in resume]}
    try:
        check_reuse(settings, node_names=node_names, **reuse)
    except RunError as exc:
        raise JobError(f"{exc}.") from None
    return TrainJob(
        labels_path=str(labels_path),
        pipeline=settings,
        runs_folder=runs,
        predict_frames=list(predict_frames),
        predictions_path=None if predictions_path is None else str(predictions_path),
        evaluate=evaluate,
        **reuse,
    )


def _check_edges(pipeline: PipelineConfig, node_names: list[str]) -> None:
    """Refuse part affinity field edges that name body parts the project does not have."""
    for cfg in pipeline.models.values():
        if cfg.kind is not ModelKind.MULTI_INSTANCE or cfg.pafs.edges is None:
            continue
        unknown = sorted({n for edge in cfg.pafs.edges for n in edge} - set(node_names))
        if unknown:
            raise JobError(
                f"The bottom-up model's part affinity field edges name {', '.join(unknown)}, "
                f"which the skeleton does not have (body parts: {', '.join(node_names)})."
            )


def video_lengths(project) -> list[int | None]:
    """Frame count of each video, ``None`` for videos that cannot be read."""
    return [project.frame_count(i) if project.video_available(i) else None for i in range(len(project.videos))]


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
    block = run_block(session)
    if block:
        raise JobError(block)
    pipeline = session.pipeline
    if is_identity_pipeline(pipeline.kind):  # the classes are the tracks: no tracker, as `train` has it
        pipeline = dataclasses.replace(pipeline, tracking=TrackerSettings(tracker="none"))
    reuse = reuse_lists(session.reuse, pipeline.kind.model_kinds)
    try:  # before anything is written
        check_reuse(session.snapshot(), node_names=list(project.node_names), **reuse)
    except RunError as exc:
        raise JobError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
    runs = runs_folder_of(session)
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
        node_names=list(project.node_names),
        **reuse,
    )


def runs_folder_of(session: TrainingSession) -> Path:
    """The runs folder as an absolute path (a relative one is taken from the project's folder)."""
    runs = Path(session.pipeline.runs_folder).expanduser()
    if not runs.is_absolute():
        project = session.project
        base = project.path.parent if project is not None and project.path is not None else Path.cwd()
        runs = base / runs
    return runs


def predict_runs(session: TrainingSession) -> list[str]:
    """The run folder each model of the pipeline predicts with.

    The run the model's tab uses or resumes, else the newest trained run of
    its kind in the runs folder, else the run it starts from.

    Raises
    ------
    JobError
        A model has no trained run.
    """
    runs, out, missing = runs_folder_of(session), [], []
    for kind in session.model_kinds:
        choice = session.reuse[kind]
        if choice.active and choice.how in (Reuse.USE, Reuse.RESUME):
            out.append(str(choice.run))
            continue
        found = list_trained_runs(runs, kind)
        if found:
            out.append(str(found[0]))
        elif choice.active:
            out.append(str(choice.run))
        else:
            missing.append(kind.value.replace("_", " "))
    if missing:
        raise JobError(
            f"No trained {' or '.join(missing)} model in {runs}: press Run to train one, or pick a run "
            "under 'Use trained run' in the model's tab."
        )
    return out


def dock_predict_job(session: TrainingSession, video: int = 0, frame: int = 0) -> PredictJob:
    """The dock's Predict job: the pipeline's trained runs on the *Predict on* frames, no training.

    Raises
    ------
    JobError
        No project, a model without a trained run, or no frames chosen (with why).
    """
    project = session.project
    if project is None:
        raise JobError("Open a SLEAP project (.slp) before predicting.")
    if project.path is None or not Path(project.path).is_file():
        raise JobError(f"Save {project.name} to a file first: prediction reads its videos from there.")
    model_dirs = predict_runs(session)
    nodes = list(project.node_names)
    for folder in model_dirs:
        try:
            run = read_run(folder)
        except RunError as exc:
            raise JobError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
        if run.part_names is not None and run.part_names != nodes:
            raise JobError(
                f"{run.folder.name} predicts the body parts {', '.join(run.part_names)}; "
                f"{project.name} has {', '.join(nodes)}."
            )
    selection = predict_selection(session, video, frame)
    if not selection.frames:
        raise JobError(f"Nothing to predict: {selection.explanation}.")
    runs = runs_folder_of(session)
    out = runs / PREDICTIONS_FOLDER / f"{project.name}.{time.strftime('%y%m%d_%H%M%S')}.predictions.slp"
    n = 1
    while out.exists():
        out = out.with_name(f"{project.name}.{time.strftime('%y%m%d_%H%M%S')}_{n}.predictions.slp")
        n += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    p = session.pipeline
    return PredictJob(
        labels_path=str(project.path),
        model_dirs=model_dirs,
        frames=selection.frames,
        output_path=str(out),
        device=p.device,
        max_instances=p.max_instances,
        views=p.test_time_views,
    )


def snapshot_of(job: Any) -> Path | None:
    """The job's labels file when it is the snapshot the dock wrote (``<runs>/labels/*.slp``)."""
    labels, runs = getattr(job, "labels_path", None), getattr(job, "runs_folder", None)
    if not labels or not runs:
        return None
    labels = Path(labels)
    return labels if labels.parent == Path(runs) / SNAPSHOT_FOLDER else None
