"""Run a whole job in the child process: every model of the pipeline, then prediction.

Event flow of a :class:`~napari_sleap_train.protocol.job.TrainJob`::

    Status("loading labels")          # no TensorFlow yet: bad input fails in ~1 s
    Status("starting TensorFlow")
    Started(hardware, description, models)
    Status("loading frames", "120/300 frames decoded")
    for each model (centroid, then centered instance; or single instance):
        Status(model, "building pipeline") / Status(model, "compiling")
        ModelStarted(run_dir, epochs, batches_per_epoch, ...)
        Status(model, "training")
        Batch ... Epoch (+ Checkpoint when the best model improves) ...
        ModelFinished(reason, best_epoch, ...)
    Status("evaluating") + Metrics                       # when job.evaluate
    Status("predicting") + PredictProgress/Predictions   # when frames were chosen
    Done(status, run_dirs, predictions_path)

On failure: ``Error(message, kind, hint, traceback)`` then ``Done("failed")``.
On cancel: the run folders this job created are deleted, ``Done("cancelled")``.

Prediction and evaluation are delegated to :mod:`napari_sleap_train.engine.prediction_jobs`:
``predict_job(job: PredictJob, channel) -> str | None`` emits ``PredictProgress``
and ``Predictions`` and returns the written path; ``evaluate_runs(run_dirs,
labels_path, channel)`` emits ``Metrics`` for the validation frames.
"""

from __future__ import annotations

import importlib
import os
import shutil
import time
import traceback
from pathlib import Path

from napari_sleap_train.config.model import ModelKind, TrainingConfig
from napari_sleap_train.config.profiles import PROFILES
from napari_sleap_train.config.serialize import ConfigError, load_json, save_json
from napari_sleap_train.engine.budget import PipelineBudget
from napari_sleap_train.engine.errors import Cancelled, EngineConfigError, EngineDataError, describe_exception
from napari_sleap_train.engine.channel import Channel
from napari_sleap_train.protocol.events import Done, Error, Message, ModelFinished, Started, Status
from napari_sleap_train.protocol.job import PredictJob, TrainJob

CONFIG_NAME = "config.json"  # our own format (config/serialize.py)


def make_run_dir(runs_folder: str | Path, kind: ModelKind, prefix: str = "", run_name: str | None = None) -> Path:
    """Create ``<runs_folder>/<prefix><YYMMDD_HHMMSS>.<kind>`` (SLEAP's naming), never reusing one."""
    runs = Path(runs_folder)
    runs.mkdir(parents=True, exist_ok=True)
    base = run_name or f"{prefix}{time.strftime('%y%m%d_%H%M%S')}.{kind.value}"
    path, n = runs / base, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            path = runs / f"{base}_{n}"
            n += 1


def load_labels(path: str | Path):
    """Read the project with sleap-io, with a plain message on failure."""
    import sleap_io as sio

    path = Path(path)
    if not path.exists():
        raise EngineDataError(f"The project file {path} does not exist.", hint="check the path of the .slp file")
    try:
        return sio.load_slp(str(path))
    except Exception as exc:  # h5py/sleap-io raise many kinds of errors on bad files
        raise EngineDataError(
            f"Could not read the project {path.name}: it is not a valid SLEAP file ({type(exc).__name__}: {exc}).",
            hint="open it in SLEAP or napari to check it, or pick another file",
        ) from exc


def pipeline_models(job: TrainJob) -> list[TrainingConfig]:
    """Model configs of the job in training order, with shared settings applied."""
    pipeline = job.pipeline
    if pipeline.anchor_part is not None:
        pipeline.sync_shared()
    for kind, cfg in pipeline.models.items():
        cfg.kind = kind
    missing = [k.value for k in pipeline.kind.model_kinds if k not in pipeline.models]
    if missing:
        raise EngineConfigError(
            f"The {pipeline.kind.value} pipeline needs a config for: {', '.join(missing)}.",
        )
    return pipeline.ordered_models()


def profile_note(hardware: str, models: list[TrainingConfig]) -> Message | None:
    """A message saying which profiles run on this hardware, and a warning for a poor fit."""
    names = [cfg.profile for cfg in models]
    if hardware == "cpu" and names and all(n and n.startswith("cpu.") for n in names):
        return Message(text=(
            f"No GPU in use: training with the CPU profiles ({', '.join(names)}): smaller networks, "
            "a higher learning rate and short epochs, for a usable model in minutes. Pick another "
            "profile to change this."
        ))
    # only built-in GPU profiles are called slow: a user's own config may be anything
    made_for_gpus = [n for n in names if n in PROFILES and not n.startswith("cpu.")]
    if hardware == "cpu" and made_for_gpus:
        return Message(level="warning", text=(
            f"No GPU in use: {'profile' if len(made_for_gpus) == 1 else 'profiles'} "
            f"{', '.join(made_for_gpus)} {'was' if len(made_for_gpus) == 1 else 'were'} made for GPUs "
            "and train slowly on a CPU; the cpu.* profiles give a usable model much sooner."
        ))
    if hardware != "cpu" and any(n and n.startswith("cpu.") for n in names):
        return Message(text=(
            "A GPU is in use with CPU profiles: training is quick but a baseline profile may be more accurate."
        ))
    return None


def _resume_dirs(job: TrainJob) -> dict[ModelKind, Path]:
    found: dict[ModelKind, Path] = {}
    for folder in job.resume:
        folder = Path(folder)
        try:
            cfg = load_json(TrainingConfig, folder / CONFIG_NAME)
        except ConfigError as exc:
            raise EngineConfigError(f"Cannot resume from {folder}: {exc}") from exc
        found[cfg.kind] = folder
    return found


def _write_configs(run_dir: Path, initial: TrainingConfig, resolved: TrainingConfig, labels) -> None:
    """``initial_config.json`` / ``training_config.json`` in SLEAP's layout, ``config.json`` in ours."""
    save_json(resolved, run_dir / CONFIG_NAME)
    try:
        from napari_sleap_train.config.sleap_json import write_sleap_config
    except ImportError:
        return
    skeleton = labels.skeleton if labels.skeletons else None
    write_sleap_config(initial, run_dir / "initial_config.json", skeleton=skeleton)
    write_sleap_config(resolved, run_dir / "training_config.json", skeleton=skeleton)


def _predict(job: TrainJob, run_dirs: list[str], channel: Channel) -> str | None:
    """Prediction hook after training (see the module docstring)."""
    if not job.predict_frames:
        return None
    try:
        inference = importlib.import_module("napari_sleap_train.engine.prediction_jobs")
    except ImportError:
        channel.emit(Message(text="Prediction is not available in this installation; skipped.", level="warning"))
        return None
    from napari_sleap_train.predictions.merge import predictions_path

    channel.emit(Status(stage="predicting", detail=f"{len(job.predict_frames)} frames"))
    predict = PredictJob(
        labels_path=job.labels_path,
        model_dirs=list(run_dirs),
        frames=list(job.predict_frames),
        output_path=job.predictions_path or str(predictions_path(job.labels_path)),
        device=job.pipeline.device,
        max_instances=job.pipeline.max_instances,
    )
    return inference.predict_job(predict, channel)


def _evaluate(job: TrainJob, run_dirs: list[str], channel: Channel) -> None:
    """Evaluate the trained pipeline on its validation frames (never fails the run)."""
    if not job.evaluate or not run_dirs:
        return
    try:
        inference = importlib.import_module("napari_sleap_train.engine.prediction_jobs")
    except ImportError:
        return
    channel.emit(Status(stage="evaluating", detail="predicting the validation frames"))
    try:
        inference.evaluate_runs(run_dirs, job.labels_path, channel)
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - the models are trained; report and go on
        channel.emit(Message(text=f"Evaluation skipped: {describe_exception(exc)[0]}", level="warning"))


def run_train_job(job: TrainJob, channel: Channel) -> str:
    """Train every model of ``job`` and predict; return the final status.

    Emits every event including the final ``Done``; never raises (errors
    become ``Error`` events).
    """
    created: list[Path] = []
    run_dirs: list[str] = []
    stopped = False
    job_start = time.monotonic()  # a pipeline time budget counts data preparation too
    try:
        channel.emit(Status(stage="loading labels", detail=str(job.labels_path)))
        labels = load_labels(job.labels_path)
        models = pipeline_models(job)
        resume = _resume_dirs(job)
        budget = PipelineBudget(
            job.pipeline.time_limit_minutes, [m.optimization.time_share for m in models], start=job_start
        )

        # Deferred imports: the checks above run before TensorFlow loads.
        from napari_sleap_train.engine.labeled_data import FrameStore, LabeledData
        from napari_sleap_train.engine.preflight import check_job
        from napari_sleap_train.data.errors import DataError
        from napari_sleap_train.data.training_inputs import anchor_index_of

        for cfg in models:
            data = LabeledData.from_labels(labels, cfg.data.validation_fraction, cfg.optimization.seed)
            try:
                anchor_index_of(cfg, data.node_names)
            except DataError as exc:
                raise EngineConfigError(str(exc), hint="choose an anchor part from the skeleton") from exc
        check_job(job, models, labels, channel.emit)  # output folders; batch, crop, memory, network size
        channel.check_cancel()

        channel.emit(Status(stage="starting TensorFlow", detail="loading TensorFlow and finding devices"))
        from napari_sleap_train.engine.hardware import setup_device

        info = setup_device(job.pipeline.device)
        channel.emit(
            Started(
                pid=os.getpid(),
                hardware=info.hardware,
                device_names=info.device_names,
                description=info.description,
                tensorflow_version=info.tensorflow_version,
                models=[m.kind.value for m in models],
            )
        )
        note = profile_note(info.hardware, models)
        if note is not None:
            channel.emit(note)
        from napari_sleap_train.engine.acceleration import choose_acceleration

        acceleration = choose_acceleration(info, job.pipeline.precision, job.pipeline.xla)
        channel.emit(Message(text=(
            f"Computation: {acceleration.summary}" + (f" ({acceleration.reason})." if acceleration.reason else ".")
        )))
        from napari_sleap_train.engine.distribute import describe, make_strategy
        from napari_sleap_train.engine.train import train_model

        strategy = make_strategy(info, job.pipeline.multi_worker)
        if strategy.num_replicas_in_sync > 1:
            channel.emit(Message(text=(
                f"Training with {describe(strategy)}: each batch of the configured size runs on every device."
            )))

        keys = [s.key for s in data.samples]
        frames = FrameStore(
            labels, keys,
            progress=lambda done, total: channel.emit(
                Status(stage="loading frames", detail=f"{done}/{total} frames decoded")
            ),
        )
        runs_folder = job.runs_folder or job.pipeline.runs_folder
        for cfg in models:
            channel.check_cancel()
            kind = cfg.kind
            data = LabeledData.from_labels(labels, cfg.data.validation_fraction, cfg.optimization.seed)
            if kind in resume:
                run_dir = resume[kind]
            else:
                run_dir = make_run_dir(runs_folder, kind, job.pipeline.run_name_prefix, cfg.run_name)
                created.append(run_dir)
            run_dirs.append(str(run_dir))
            left = budget.seconds_left
            deadline, seconds = budget.next_model()
            if seconds is not None:
                channel.emit(Message(text=(
                    f"Time budget: {kind.value} trains for up to {seconds / 60:.1f} of the {left / 60:.1f} min "
                    f"left of the {budget.minutes:g} min pipeline budget."
                )))
            snapshots = budget.snapshots(job.pipeline.snapshot_minutes, seconds)
            result = train_model(
                cfg, data, frames, run_dir, channel, resume=kind in resume, deadline=deadline,
                snapshots=snapshots, strategy=strategy, acceleration=acceleration,
            )
            _write_configs(run_dir, cfg, result.resolved, labels)
            data.write_split(run_dir)
            stopped = stopped or result.reason == "stopped"
            channel.stop_requested.clear()  # a stop ends this model only
            channel.emit(
                ModelFinished(
                    model=kind.value,
                    run_dir=str(run_dir),
                    reason=result.reason,
                    best_epoch=result.best_epoch,
                    best_val_loss=result.best_val_loss,
                    epochs_trained=result.epochs_trained,
                )
            )
        channel.check_cancel()
        _evaluate(job, run_dirs, channel)
        channel.check_cancel()
        predictions = _predict(job, run_dirs, channel)
        status = "stopped" if stopped else "finished"
        channel.emit(Done(status=status, run_dirs=run_dirs, predictions_path=predictions))
        return status
    except Cancelled:
        for folder in created:
            shutil.rmtree(folder, ignore_errors=True)
        channel.emit(Done(status="cancelled", run_dirs=[]))
        return "cancelled"
    except BaseException as exc:  # noqa: BLE001 - everything must reach the user
        message, kind, hint = describe_exception(exc)
        channel.emit(Error(message=message, kind=kind, hint=hint, traceback=traceback.format_exc()))
        channel.emit(Done(status="failed", run_dirs=run_dirs))
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "failed"


def run_predict_job(job: PredictJob, channel: Channel) -> str:
    """Predict with existing models (``python -m napari_sleap_train.engine`` on a PredictJob)."""
    try:
        from napari_sleap_train.engine.hardware import setup_device

        info = setup_device(job.device)
        channel.emit(
            Started(
                pid=os.getpid(), hardware=info.hardware, device_names=info.device_names,
                description=info.description, tensorflow_version=info.tensorflow_version,
            )
        )
        inference = importlib.import_module("napari_sleap_train.engine.prediction_jobs")
        channel.emit(Status(stage="predicting", detail=f"{len(job.frames)} frames"))
        path = inference.predict_job(job, channel)
        channel.emit(Done(status="finished", predictions_path=path))
        return "finished"
    except Cancelled:
        channel.emit(Done(status="cancelled"))
        return "cancelled"
    except BaseException as exc:  # noqa: BLE001
        message, kind, hint = describe_exception(exc)
        channel.emit(Error(message=message, kind=kind, hint=hint, traceback=traceback.format_exc()))
        channel.emit(Done(status="failed"))
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "failed"

