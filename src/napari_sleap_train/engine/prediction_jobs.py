"""Prediction and evaluation jobs (child process): load projects, write files, emit events.

:func:`predict_job` runs a :class:`~napari_sleap_train.protocol.job.PredictJob`
(predict, merge into a copy of the project, write a new ``.slp``, evaluate the
labeled frames among them); :func:`evaluate_runs` evaluates freshly trained
models on their validation frames and writes ``metrics.json``. Model inference
itself is :mod:`napari_sleap_train.engine.inference`.

Every file is written atomically (:mod:`napari_sleap_train.outputs`): a full
disk leaves no partial file behind, and a failure says "Prediction failed"
with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import sleap_io as sio

from napari_sleap_train.config.model import DEFAULT_TEST_TIME_VIEWS
from napari_sleap_train.engine.errors import (
    Cancelled,
    EngineDataError,
    EngineError,
    PredictionError,
    describe_exception,
)
from napari_sleap_train.engine.inference import Predictor, load_predictor
from napari_sleap_train.outputs import OutputError, check_output_file

Emit = Callable[[object], None]

#: Hint of a prediction whose output could not be written.
OUTPUT_HINT = "free some disk space or choose another output folder, then run again"


def _open_project(path: str | Path):
    """Open a project (``SleapProject``) with its videos found the way the viewer finds them."""
    from napari_sleap_train.project.model import SleapProject

    try:
        return SleapProject.load(path)
    except Exception as exc:
        raise EngineDataError(str(exc)) from exc


def _load_project(path: str | Path) -> sio.Labels:
    """The labels of :func:`_open_project`."""
    return _open_project(path).labels


def track_predictions(predicted: sio.Labels, settings, project, emit: Emit):
    """Put the new predictions on tracks (before they are merged and written).

    ``predicted`` shares the project's videos, so the flow tracker reads its
    frames through ``project``; a video it cannot read makes the tracker fall
    back to ``simple`` with a warning (the predictions are not lost). New track
    names avoid the project's own track names.

    Returns
    -------
    LabelsTrackingReport or None
        ``None`` when ``settings.tracker`` is ``none``.
    """
    import copy

    from napari_sleap_train.protocol.events import Message, Status
    from napari_sleap_train.tracking import track_labels

    if settings is None or not settings.enabled:
        return None
    settings = copy.deepcopy(settings)
    used = sorted({predicted.videos.index(lf.video) for lf in predicted.labeled_frames})
    frame = None
    if settings.uses_frames:
        missing = [i for i in used if project is None or not project.video_available(i)]
        if missing:
            emit(
                Message(
                    level="warning",
                    text=(
                        "The flow tracker needs the video frames and video "
                        f"{', '.join(str(i) for i in missing)} could not be read: tracked with the simple tracker."
                    ),
                )
            )
            settings.tracker = "simple"
        else:
            frame = project.frame
    emit(
        Status(
            model="", stage="tracking", detail=f"{settings.tracker} tracker on {len(predicted.labeled_frames)} frames"
        )
    )
    if project is None:
        return track_labels(predicted, settings, frame=frame)
    # The project's own tracks (the same objects, so merging keeps them) and its user
    # instances on a track anchor the tracking; new tracks get other names.
    predicted.tracks[:] = list(project.labels.tracks)
    added = _add_track_anchors(predicted, project.labels)
    try:
        return track_labels(predicted, settings, frame=frame)
    finally:
        _remove_track_anchors(predicted, added)


def _add_track_anchors(predicted: sio.Labels, project_labels: sio.Labels) -> list[sio.LabeledFrame]:
    """Put the project's tracked user instances into ``predicted`` (removed again after tracking).

    Returns the labeled frames that were added for them (frames without predictions).
    """
    frames = {(id(lf.video), lf.frame_idx): lf for lf in predicted.labeled_frames}
    videos = {id(v) for v in predicted.videos}
    added = []
    for lf in project_labels.labeled_frames:
        if id(lf.video) not in videos:
            continue
        users = [inst for inst in lf.user_instances if inst.track is not None]
        if not users:
            continue
        target = frames.get((id(lf.video), lf.frame_idx))
        if target is None:
            target = sio.LabeledFrame(video=lf.video, frame_idx=lf.frame_idx, instances=[])
            predicted.labeled_frames.append(target)
            added.append(target)
        target.instances.extend(users)
    if added:
        predicted.labeled_frames.sort(key=lambda f: (predicted.videos.index(f.video), f.frame_idx))
    return added


def _remove_track_anchors(predicted: sio.Labels, added: list[sio.LabeledFrame]) -> None:
    gone = {id(lf) for lf in added}
    predicted.labeled_frames[:] = [lf for lf in predicted.labeled_frames if id(lf) not in gone]
    for lf in predicted.labeled_frames:
        lf.instances = [inst for inst in lf.instances if isinstance(inst, sio.PredictedInstance)]


def _throttled_progress(emit: Emit, total: int, min_interval: float = 0.25) -> Callable[[int, int], None]:
    from napari_sleap_train.protocol.events import PredictProgress

    last = [0.0]

    def report(done: int, total_: int) -> None:
        now = time.monotonic()
        if done >= total_ or now - last[0] >= min_interval:
            last[0] = now
            emit(PredictProgress(done=done, total=total_))

    return report


def run_prediction(
    predictor: Predictor,
    labels: sio.Labels,
    frames: Sequence[tuple[int, int]],
    labels_path: str | Path,
    output_path: str | Path | None,
    emit: Emit,
    should_stop: Callable[[], bool] | None = None,
    explanation: str = "",
    tracking=None,
    project=None,
) -> tuple[Path | None, sio.Labels | None]:
    """Predict, track, merge into a copy of the project, save a new file, report events.

    Emits ``PredictProgress`` while running and one ``Predictions`` event at
    the end (with an explanation instead of a path when there were no frames).
    With ``tracking`` (``TrackerSettings``) the predictions are put on tracks
    first (:func:`track_predictions`; ``project`` gives the flow tracker its frames).

    Returns
    -------
    path, predictions
        The written file and the new predictions alone (both ``None`` when
        there were no frames).
    """
    from napari_sleap_train.predictions.merge import write_predictions
    from napari_sleap_train.protocol.events import Message, Predictions

    if not frames:
        emit(
            Predictions(
                path="",
                n_frames=0,
                n_instances=0,
                explanation=explanation or "no frames were chosen for prediction",
            )
        )
        return None, None
    predicted = predictor.predict(labels, frames, _throttled_progress(emit, len(frames)), should_stop)
    if predictor.classes is not None and tracking is not None and tracking.enabled:
        # identity models put every animal on its class's track: a tracker would only undo that
        from napari_sleap_train.protocol.events import Message

        emit(
            Message(
                level="warning",
                text=f"No {tracking.tracker} tracking: the identity model's classes are the tracks.",
            )
        )
        tracking = None
    report = track_predictions(predicted, tracking, project, emit) if predicted.labeled_frames else None
    out_path, result = write_predictions(labels, predicted, labels_path, output_path)
    for warning in result.warnings:
        emit(Message(level="warning", text=f"Predictions: {warning}."))
    n_found = len(predicted.labeled_frames)
    note = explanation
    if n_found == 0:
        note = (
            f"no animals were found on the {len(frames)} frames (no confidence peak above {predictor.peak_threshold:g})"
        )
    emit(
        Predictions(
            path=str(out_path),
            n_frames=len(frames),
            n_instances=result.n_instances,
            explanation=note,
            n_tracks=report.n_tracks if report is not None else 0,
            tracking=report.summary() if report is not None else "",
        )
    )
    return out_path, predicted


def evaluate_frames(
    predictor: Predictor,
    labels: sio.Labels,
    frames: Sequence[tuple[int, int]],
    emit: Emit | None = None,
    run_dirs: Sequence[str | Path] = (),
    model_name: str = "",
):
    """Predict on labeled frames and compare with the user's labels.

    Writes ``metrics.json`` into every folder of ``run_dirs`` and emits a
    ``Metrics`` event when ``emit`` is given.

    Returns
    -------
    napari_sleap_train.evaluate.EvaluationResult or None
        ``None`` when ``frames`` is empty.
    """
    from napari_sleap_train.evaluate import evaluate, write_metrics
    from napari_sleap_train.protocol.events import Message, Metrics

    frames = [(int(v), int(f)) for v, f in frames]
    if not frames:
        return None
    predicted = predictor.predict(labels, frames)
    result = evaluate(labels, predicted, frames=frames)
    written = []
    for folder in run_dirs:
        try:
            written.append(write_metrics(result, Path(folder) / "metrics.json"))
        except OutputError as exc:  # the models are trained: say what is missing and go on
            if emit is not None:
                emit(Message(level="warning", text=f"The metrics were not saved: {exc}"))
    if emit is not None:
        emit(Metrics(model=model_name, values=result.to_dict(), path=str(written[0]) if written else ""))
    return result


def _emitter(target) -> tuple[Emit, Callable[[], bool], Callable[[], None]]:
    """``(emit, should_stop, check_cancel)`` from a Channel or a plain callable."""
    if hasattr(target, "emit"):
        stop = getattr(target, "stop_requested", None)
        should_stop = (lambda: stop.is_set()) if stop is not None else (lambda: False)
        check_cancel = getattr(target, "check_cancel", lambda: None)
        return target.emit, should_stop, check_cancel
    return target, (lambda: False), (lambda: None)


def predict_job(job, emit) -> str | None:
    """Run a :class:`~napari_sleap_train.protocol.job.PredictJob`.

    Loads the project and the models, predicts on ``job.frames``, writes the
    merged project to ``job.output_path`` (a new file; when empty,
    ``predictions/<project>.<timestamp>.predictions.slp`` next to the project),
    and when some predicted frames carry user labels, evaluates on them
    (``<output>.metrics.json`` and a ``Metrics`` event).

    Parameters
    ----------
    job
        The prediction job.
    emit
        A callable receiving :mod:`napari_sleap_train.protocol.events` objects,
        or the engine's ``Channel`` (then a *stop* command ends prediction
        early, keeping what was predicted, and *cancel* raises ``Cancelled``).

    Returns
    -------
    str or None
        The written file (``None`` when there were no frames).

    Raises
    ------
    PredictionError
        Any failure other than a plain-words engine error, worded as
        "Prediction failed: ..." (the output could not be written, a crash).
    """
    try:
        return _predict_job(job, emit)
    except (Cancelled, EngineError):
        raise
    except OutputError as exc:
        reason = str(exc)
        raise PredictionError(
            f"Prediction failed: {reason[:1].lower()}{reason[1:]}", kind="data", hint=OUTPUT_HINT
        ) from exc
    except Exception as exc:  # worded for the user; the caller keeps the traceback
        message, kind, hint = describe_exception(exc, task="Prediction")
        raise PredictionError(message, kind=kind, hint=hint) from exc


def _predict_job(job, emit) -> str | None:
    from napari_sleap_train.evaluate import evaluate, write_metrics
    from napari_sleap_train.predictions.frame_selection import user_labeled_frames
    from napari_sleap_train.protocol.events import Message, Metrics, Status

    emit, should_stop, check_cancel = _emitter(emit)
    if job.output_path:  # before the models load: an unusable folder fails at once
        check_output_file(job.output_path)
    emit(Status(model="", stage="loading models", detail=", ".join(Path(d).name for d in job.model_dirs)))
    predictor = load_predictor(
        job.model_dirs,
        peak_threshold=job.peak_threshold,
        max_instances=job.max_instances,
        batch_size=job.batch_size,
        views=job.views,
    )
    project = _open_project(job.labels_path)
    labels = project.labels
    check_cancel()

    def stop() -> bool:
        check_cancel()
        return should_stop()

    out, predicted = run_prediction(
        predictor,
        labels,
        job.frames,
        job.labels_path,
        job.output_path or None,
        emit,
        stop,
        tracking=getattr(job, "tracking", None),
        project=project,
    )
    if out is None:
        return None
    labeled = sorted(set(job.frames) & user_labeled_frames(labels))
    if labeled:
        result = evaluate(labels, predicted, frames=labeled)
        try:
            path = write_metrics(result, out.with_name(out.name.removesuffix(".slp") + ".metrics.json"))
        except OutputError as exc:  # the predictions are written: keep them, say what is missing
            emit(Message(level="warning", text=f"The metrics were not saved: {exc}"))
            path = ""
        emit(Metrics(model="pipeline", values=result.to_dict(), path=str(path)))
    return str(out)


def _match_video(project: sio.Labels, video: sio.Video) -> int | None:
    names = [str(v.filename) for v in project.videos]
    if str(video.filename) in names:
        return names.index(str(video.filename))
    bases = [Path(n).name for n in names]
    base = Path(str(video.filename)).name
    return bases.index(base) if bases.count(base) == 1 else None


def evaluate_runs(
    run_dirs: Sequence[str | Path], labels_path: str | Path, emit, views: int = DEFAULT_TEST_TIME_VIEWS
) -> dict | None:
    """Evaluate freshly trained models on their held-out validation frames.

    The validation frames are the labeled frames of ``labels_gt.val.slp`` in
    the run folder of the node model (centered instance or single instance);
    the whole pipeline predicts on those frames of the project, the result is
    written as ``metrics.json`` into every run folder and emitted as a
    ``Metrics`` event (``model="pipeline"``). ``views``: the test-time views
    the pipeline predicts with, so the figures are those of its predictions.

    Returns
    -------
    dict or None
        The metrics (``EvaluationResult.to_dict()``), ``None`` when there are
        no validation frames.
    """
    from napari_sleap_train.protocol.events import Message

    emit, _, check_cancel = _emitter(emit)
    predictor = load_predictor(run_dirs, views=views)
    node_dir = predictor.node_model.path
    val_path = node_dir / "labels_gt.val.slp"
    if not val_path.is_file():
        emit(Message(text=f"No validation frames in {node_dir.name}; evaluation skipped.", level="warning"))
        return None
    labels = _load_project(labels_path)
    val = sio.load_slp(str(val_path), open_videos=False)
    frames = []
    for lf in val.labeled_frames:
        vi = _match_video(labels, lf.video)
        if vi is not None and lf.user_instances:
            frames.append((vi, int(lf.frame_idx)))
    if not frames:
        emit(Message(text="The validation frames are not in the project; evaluation skipped.", level="warning"))
        return None
    check_cancel()
    result = evaluate_frames(predictor, labels, frames, emit, run_dirs, model_name="pipeline")
    return None if result is None else result.to_dict()
