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

What is kept (see the README's Reliability section):

* ``stop`` (the Stop button, Ctrl-C once, the parent going away) ends the
  *pipeline's* training: the model being trained keeps its best checkpoint and
  no later model is started. Evaluation and prediction run only when every
  model of the pipeline is trained and the parent is still there to see them.
* ``cancel`` deletes only the folder of the model being trained; models that
  finished are kept and listed in ``Done("cancelled", run_dirs)``.
* Every run folder gets its configs when its model starts and its models by
  atomic rename, so a killed engine leaves folders usable up to their last
  good checkpoint (a folder without ``best_model.keras`` is not listed as a
  trained run).

Prediction and evaluation are delegated to :mod:`napari_sleap_train.engine.prediction_jobs`:
``predict_job(job: PredictJob, channel) -> str | None`` emits ``PredictProgress``
and ``Predictions`` and returns the written path; ``evaluate_runs(run_dirs,
labels_path, channel)`` emits ``Metrics`` for the validation frames.
"""

from __future__ import annotations

import copy
import importlib
import os
import shutil
import time
import traceback
from pathlib import Path

from napari_sleap_train.config.model import ModelKind, TrainingConfig
from napari_sleap_train.config.profiles import PROFILES
from napari_sleap_train.config.runs import RunError, TrainedRun, check_reuse
from napari_sleap_train.config.serialize import save_json
from napari_sleap_train.engine.budget import PipelineBudget
from napari_sleap_train.engine.channel import Channel
from napari_sleap_train.engine.errors import Cancelled, EngineConfigError, EngineDataError, describe_exception
from napari_sleap_train.engine.run_files import atomic_path, remove_leftover_temporaries
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
    """Open the project as the viewer and prediction do (videos looked for as SLEAP does).

    Raises
    ------
    EngineDataError
        The file is not a readable SLEAP project, or a video holding labeled
        frames cannot be opened (training needs their images).
    """
    from napari_sleap_train.project.errors import SleapFileError
    from napari_sleap_train.project.files import load_labels as open_labels

    try:
        opened = open_labels(path)
    except SleapFileError as exc:
        raise EngineDataError(str(exc), hint="open it in SLEAP or napari to check it, or pick another file") from exc
    labeled = {id(lf.video) for lf in opened.labels.labeled_frames if lf.user_instances}
    needed = [m for m in opened.missing_videos if id(opened.labels.videos[m.index]) in labeled]
    if needed:
        raise EngineDataError(
            f"{opened.path.name}: " + " ".join(m.problem for m in needed),
            hint="training needs the images of the labeled frames; put the video back next to the project",
        )
    return opened.labels


def pipeline_models(job: TrainJob) -> list[TrainingConfig]:
    """Model configs of the job in training order, with the pipeline's anchor part in their heads."""
    pipeline = job.pipeline
    missing = [k.value for k in pipeline.kind.model_kinds if k not in pipeline.models]
    if missing:
        raise EngineConfigError(
            f"The {pipeline.kind.value} pipeline needs a config for: {', '.join(missing)}.",
        )
    return list(pipeline.trained_models().values())


def profile_note(hardware: str, models: list[TrainingConfig]) -> Message | None:
    """A message saying which profiles run on this hardware, and a warning for a poor fit."""
    names = [cfg.profile for cfg in models]
    if hardware == "cpu" and names and all(n and n.startswith("cpu.") for n in names):
        return Message(
            text=(
                f"No GPU in use: training with the CPU profiles ({', '.join(names)}): smaller networks, "
                "a higher learning rate and short epochs, for a usable model in minutes. Pick another "
                "profile to change this."
            )
        )
    # only built-in GPU profiles are called slow: a user's own config may be anything
    made_for_gpus = [n for n in names if n in PROFILES and not n.startswith("cpu.")]
    if hardware == "cpu" and made_for_gpus:
        return Message(
            level="warning",
            text=(
                f"No GPU in use: {'profile' if len(made_for_gpus) == 1 else 'profiles'} "
                f"{', '.join(made_for_gpus)} {'was' if len(made_for_gpus) == 1 else 'were'} made for GPUs "
                "and train slowly on a CPU; the cpu.* profiles give a usable model much sooner."
            ),
        )
    if hardware != "cpu" and any(n and n.startswith("cpu.") for n in names):
        return Message(
            text=("A GPU is in use with CPU profiles: training is quick but a baseline profile may be more accurate.")
        )
    return None


def reused_runs(job: TrainJob, labels) -> dict[str, dict[ModelKind, TrainedRun]]:
    """The runs the job uses, starts from or resumes, checked against the labels' skeleton."""
    nodes = list(labels.skeleton.node_names) if labels.skeletons else None
    try:
        return check_reuse(job.pipeline, use=job.use, init_from=job.init_from, resume=job.resume, node_names=nodes)
    except RunError as exc:
        raise EngineConfigError(
            str(exc)[:1].upper() + str(exc)[1:] + ".",
            hint="pick a run of this project's skeleton and model kind, or train from scratch",
        ) from exc


def _write_configs(run_dir: Path, initial: TrainingConfig, resolved: TrainingConfig, labels) -> None:
    """``initial_config.json`` / ``training_config.json`` in SLEAP's layout, ``config.json`` in ours.

    Each is written under a temporary name and renamed, so none is ever half written.
    """
    with atomic_path(run_dir / CONFIG_NAME) as tmp:
        save_json(resolved, tmp)
    try:
        from napari_sleap_train.config.sleap_json import write_sleap_config
    except ImportError:
        return
    skeleton = labels.skeleton if labels.skeletons else None
    for name, cfg in (("initial_config.json", initial), ("training_config.json", resolved)):
        with atomic_path(run_dir / name) as tmp:
            write_sleap_config(cfg, tmp, skeleton=skeleton)


def _write_split(run_dir: Path, data) -> None:
    """The train/validation split files, each renamed into place when complete."""
    tmp_dir = run_dir / ".split.partial"
    tmp_dir.mkdir(exist_ok=True)
    try:
        data.write_split(tmp_dir)
        for path in tmp_dir.iterdir():
            os.replace(path, run_dir / path.name)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


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
        views=job.pipeline.test_time_views,
        tracking=copy.deepcopy(job.pipeline.tracking),
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
        inference.evaluate_runs(run_dirs, job.labels_path, channel, job.pipeline.test_time_views)
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - the models are trained; report and go on
        channel.emit(Message(text=f"Evaluation skipped: {describe_exception(exc)[0]}", level="warning"))


def run_train_job(job: TrainJob, channel: Channel) -> str:
    """Train every model of ``job`` and predict; return the final status.

    Emits every event including the final ``Done``; never raises (errors
    become ``Error`` events).
    """
    current: Path | None = None  # folder this job made for the model being trained
    trained: list[str] = []  # folders whose model finished training
    run_dirs: list[str] = []
    stopped = False
    job_start = time.monotonic()  # a pipeline time budget counts data preparation too
    try:
        channel.emit(Status(stage="loading labels", detail=str(job.labels_path)))
        labels = load_labels(job.labels_path)
        every_model = pipeline_models(job)
        reused = reused_runs(job, labels)
        used, resume = reused["use"], reused["resume"]
        init_from = reused["init_from"]
        models = [m for m in every_model if m.kind not in used]  # the models this job trains
        budget = PipelineBudget(  # shared by the models trained here (none: nothing to share)
            job.pipeline.time_limit_minutes, [m.optimization.time_share for m in models] or [1.0], start=job_start
        )

        # Deferred imports: the checks above run before TensorFlow loads.
        from napari_sleap_train.data.errors import DataError
        from napari_sleap_train.data.training_inputs import anchor_index_of, paf_edges_of
        from napari_sleap_train.engine.labeled_data import FrameStore, LabeledData
        from napari_sleap_train.engine.preflight import check_job, resolve_identity_classes

        for cfg in models:
            data = LabeledData.from_labels(labels, cfg.data.validation_fraction, cfg.optimization.seed)
            try:
                anchor_index_of(cfg, data.node_names)
            except DataError as exc:
                raise EngineConfigError(str(exc), hint="choose an anchor part from the skeleton") from exc
            if cfg.kind == ModelKind.MULTI_INSTANCE:
                try:
                    paf_edges_of(cfg, data.node_names, data.edge_names)
                except DataError as exc:
                    raise EngineConfigError(str(exc), hint="add edges to the skeleton") from exc
            if cfg.kind.is_identity:
                resolve_identity_classes(cfg, data, channel.emit)  # the track names; two at least
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
        channel.emit(
            Message(
                text=(
                    f"Computation: {acceleration.summary}"
                    + (f" ({acceleration.reason})." if acceleration.reason else ".")
                )
            )
        )
        from napari_sleap_train.engine.distribute import describe, make_strategy
        from napari_sleap_train.engine.train import train_model

        strategy = make_strategy(info, job.pipeline.multi_worker)
        if strategy.num_replicas_in_sync > 1:
            channel.emit(
                Message(
                    text=(
                        f"Training with {describe(strategy)}: each batch of the configured size runs on every device."
                    )
                )
            )

        for kind, run in used.items():
            channel.emit(
                Message(text=(f"{kind.value}: using the trained model {run.folder} as it is (not retrained)."))
            )
        for kind, run in init_from.items():
            channel.emit(
                Message(text=(f"{kind.value}: a new run starts from the weights of {run.folder.name} (fine-tuning)."))
            )
        for kind, run in resume.items():
            channel.emit(Message(text=f"{kind.value}: resuming {run.folder.name} after its last epoch."))
        frames = None
        if models:
            keys = [s.key for s in data.samples]
            frames = FrameStore(
                labels,
                keys,
                progress=lambda done, total: channel.emit(
                    Status(stage="loading frames", detail=f"{done}/{total} frames decoded")
                ),
            )
        runs_folder = job.runs_folder or job.pipeline.runs_folder
        for cfg in every_model:
            kind = cfg.kind
            if kind in used:
                run_dirs.append(str(used[kind].folder))
                continue
            channel.check_cancel()
            if channel.stop_requested.is_set():
                break  # a stop ends the pipeline's training: no later model starts
            data = LabeledData.from_labels(labels, cfg.data.validation_fraction, cfg.optimization.seed)
            if kind in resume:
                run_dir = resume[kind].folder
                remove_leftover_temporaries(run_dir)  # of a write that kill -9 cut short
            else:
                run_dir = make_run_dir(runs_folder, kind, job.pipeline.run_name_prefix, cfg.run_name)
                current = run_dir
            run_dirs.append(str(run_dir))
            left = budget.seconds_left
            deadline, seconds = budget.next_model()
            if seconds is not None:
                channel.emit(
                    Message(
                        text=(
                            f"Time budget: {kind.value} trains for up to {seconds / 60:.1f} of the {left / 60:.1f} min "
                            f"left of the {budget.minutes:g} min pipeline budget."
                        )
                    )
                )
            snapshots = budget.snapshots(job.pipeline.snapshot_minutes, seconds)

            def write_run_files(resolved, run_dir=run_dir, cfg=cfg, data=data) -> None:
                _write_configs(run_dir, cfg, resolved, labels)
                _write_split(run_dir, data)

            result = train_model(
                cfg,
                data,
                frames,
                run_dir,
                channel,
                resume=kind in resume,
                deadline=deadline,
                init_from=init_from[kind].folder if kind in init_from else None,
                snapshots=snapshots,
                strategy=strategy,
                acceleration=acceleration,
                on_ready=write_run_files,
            )
            current = None
            trained.append(str(run_dir))
            stopped = stopped or result.reason == "stopped"
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
        untrained = [m.kind.value for m in models[len(trained) :]]
        stopped = stopped or bool(untrained)
        predictions = None
        if untrained:
            channel.emit(
                Message(
                    level="warning",
                    text=(
                        f"Stopped before {', '.join(untrained)} was trained: kept {len(trained)} trained "
                        f"model{'s' if len(trained) != 1 else ''}; evaluation and prediction need every model "
                        "of the pipeline and were skipped."
                    ),
                )
            )
        elif channel.parent_lost.is_set():
            pass  # nobody is left to see metrics or predictions: end with the models saved
        else:
            _evaluate(job, run_dirs, channel)
            channel.check_cancel()
            predictions = _predict(job, run_dirs, channel)
        status = "stopped" if stopped else "finished"
        channel.emit(Done(status=status, run_dirs=run_dirs, predictions_path=predictions))
        return status
    except Cancelled:
        # only the model being trained goes; finished models are kept
        if current is not None:
            shutil.rmtree(current, ignore_errors=True)
        channel.emit(Done(status="cancelled", run_dirs=trained))
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
                pid=os.getpid(),
                hardware=info.hardware,
                device_names=info.device_names,
                description=info.description,
                tensorflow_version=info.tensorflow_version,
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
