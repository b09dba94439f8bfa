"""``napari-sleap-train train PROJECT.slp``: train a pipeline headless.

The job runs in the same child process the widget uses (through
:class:`~napari_sleap_train.runner.process.EngineProcess`), so a run behaves the
same in napari, in a terminal and on a cluster. Progress is printed as
readable lines (or raw JSON events with ``--json``). Ctrl-C once stops
training (the best model is kept and the pipeline goes on); twice cancels.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
from pathlib import Path

#: --predict choices -> PredictOn values (frames are chosen here, without TensorFlow)
PREDICT_CHOICES = "suggested | labeled | random:N | none"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``train`` subcommand."""
    p = subparsers.add_parser(
        "train",
        help="train a top-down or single-instance pipeline on a SLEAP project",
        description=(
            "Train every model of a pipeline on the user-labeled frames of PROJECT, in a child "
            "process, printing progress. Run folders go to --run-dir "
            "(<run-dir>/<YYMMDD_HHMMSS>.<model>/). Ctrl-C stops (keeps the best model), "
            "a second Ctrl-C cancels (removes the run folders)."
        ),
    )
    p.add_argument("project", metavar="PROJECT.slp", help="the SLEAP project (.slp or .pkg.slp)")
    p.add_argument("--pipeline", choices=["top-down", "single-instance"], default="top-down")
    p.add_argument("--profile", action="append", default=[], metavar="NAME",
                   help="built-in profile for the model of its kind (repeatable, e.g. baseline.centroid); "
                        "default: the cpu.* profiles when no GPU is found, else the baseline ones")
    p.add_argument("--config", action="append", default=[], metavar="CFG.json",
                   help="training config (ours or SLEAP's training_config.json) for the model of its kind "
                        "(repeatable)")
    p.add_argument("--run-dir", default=None, metavar="DIR",
                   help="folder for the run folders (default: models/ next to the project)")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs per model")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--patience", type=int, default=None, help="early-stopping patience in epochs")
    p.add_argument("--time-limit", type=float, default=None, metavar="MIN",
                   help="wall-time budget of the whole pipeline in minutes (data preparation included), "
                        "split between the models (cpu profiles: 30%% centroid, 70%% centered instance); "
                        "each model stops in time keeping its best checkpoint")
    p.add_argument("--model-time-limit", type=float, default=None, metavar="MIN",
                   help="wall-time limit of each model's training in minutes")
    p.add_argument("--snapshot-minutes", default=None, metavar="M[,M...]",
                   help="also keep copies of each model's best checkpoint at these minutes of the pipeline "
                        "budget (best_model.at<M>min.keras; e.g. 5,10)")
    p.add_argument("--batches-per-epoch", type=int, default=None, help="batches per epoch (default: one pass)")
    p.add_argument("--device", default="auto",
                   help="auto, cpu, gpu:N, or several GPUs mirrored: gpu:0,1 / gpu:all (default: auto)")
    p.add_argument("--precision", choices=["auto", "mixed", "float32"], default="auto",
                   help="mixed = float16 compute with float32 weights; auto: mixed on NVIDIA GPUs with "
                        "tensor cores (compute capability 7.0+), float32 elsewhere")
    p.add_argument("--xla", choices=["auto", "on", "off"], default="auto",
                   help="XLA compilation of the training step; auto: on for NVIDIA GPUs, off on CPU and Apple")
    p.add_argument("--multi-worker", action="store_true",
                   help="train across machines with MultiWorkerMirroredStrategy (needs TF_CONFIG on each worker)")
    p.add_argument("--anchor-part", default=None, help="node the crops centre on (default: bounding-box middle)")
    p.add_argument("--predict", default="none", help=f"frames to predict after training: {PREDICT_CHOICES}")
    p.add_argument("--json", action="store_true", help="print raw JSON events on stdout")
    p.set_defaults(func=run)
    return p


class TrainCliError(ValueError):
    """Bad command-line input (printed without a traceback)."""


def build_job(args: argparse.Namespace):
    """Turn parsed arguments into a :class:`~napari_sleap_train.protocol.job.TrainJob`.

    Raises
    ------
    TrainCliError
        Unknown profile, unreadable config, config of the wrong kind, bad value.
    """
    from napari_sleap_train.config.model import PipelineKind, Precision, Switch
    from napari_sleap_train.config.profiles import default_pipeline, get_profile, load_training_config
    from napari_sleap_train.config.serialize import ConfigError
    from napari_sleap_train.protocol.job import TrainJob

    project = Path(args.project)
    if not project.is_file():
        raise TrainCliError(f"project file not found: {project}")
    kind = PipelineKind(args.pipeline)
    try:
        device = args.device.strip().lower()
        hardware = "gpu" if device.startswith("gpu") else ("cpu" if device.startswith("cpu") else "auto")
        pipeline = default_pipeline(kind, hardware)
        chosen = [get_profile(name) for name in args.profile]
        chosen += [load_training_config(path) for path in args.config]
    except ConfigError as exc:
        raise TrainCliError(str(exc)) from exc
    for cfg in chosen:
        if cfg.kind not in kind.model_kinds:
            wanted = ", ".join(k.value for k in kind.model_kinds)
            raise TrainCliError(f"a {cfg.kind.value} config does not fit the {kind.value} pipeline (needs {wanted})")
        pipeline.models[cfg.kind] = cfg
    for name, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--patience", args.patience), ("--batches-per-epoch", args.batches_per_epoch)):
        if value is not None and value < 1:
            raise TrainCliError(f"{name} must be at least 1, got {value}")
    if args.learning_rate is not None and not args.learning_rate > 0:
        raise TrainCliError(f"--learning-rate must be positive, got {args.learning_rate}")
    for name, value in (("--time-limit", args.time_limit), ("--model-time-limit", args.model_time_limit)):
        if value is not None and not value > 0:
            raise TrainCliError(f"{name} must be a positive number of minutes, got {value}")
    pipeline.time_limit_minutes = args.time_limit
    pipeline.snapshot_minutes = _minutes_list(args.snapshot_minutes)
    for cfg in pipeline.models.values():
        opt = cfg.optimization
        if args.epochs is not None:
            opt.epochs = args.epochs
        if args.batch_size is not None:
            opt.batch_size = args.batch_size
        if args.learning_rate is not None:
            opt.learning_rate = args.learning_rate
        if args.patience is not None:
            opt.early_stopping.patience = args.patience
        if args.model_time_limit is not None:
            opt.time_limit_minutes = args.model_time_limit
        if args.batches_per_epoch is not None:
            opt.batches_per_epoch = args.batches_per_epoch
    if args.anchor_part is not None:
        pipeline.anchor_part = args.anchor_part
        pipeline.sync_shared()
    pipeline.device = args.device
    pipeline.multi_worker = bool(args.multi_worker)
    pipeline.precision = Precision(args.precision)
    pipeline.xla = Switch(args.xla)
    runs = Path(args.run_dir) if args.run_dir else project.resolve().parent / "models"
    pipeline.runs_folder = str(runs)
    job = TrainJob(labels_path=str(project.resolve()), pipeline=pipeline, runs_folder=str(runs.resolve()))
    job.predict_frames = _predict_frames(args.predict, project)
    return job


def check_output_paths(job) -> str | None:
    """Why the job's run folders or predictions cannot be written (``None``: they can).

    Called before the child starts, so a read-only disk or a ``--run-dir`` that
    is a file fails in a second with one line, not after TensorFlow loaded.
    """
    from napari_sleap_train.outputs import OutputError, check_output_folder
    from napari_sleap_train.predictions.merge import predictions_path

    folders = [job.runs_folder]
    if job.predict_frames:
        folders.append(str(Path(job.predictions_path or predictions_path(job.labels_path)).parent))
    try:
        for folder in folders:
            check_output_folder(folder)
    except OutputError as exc:
        return str(exc)
    return None


def _minutes_list(text: str | None) -> list[float]:
    if not text:
        return []
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise TrainCliError(f"--snapshot-minutes takes minutes separated by commas (e.g. 5,10), got {text!r}") from None
    if any(not v > 0 for v in values):
        raise TrainCliError(f"--snapshot-minutes must be positive minutes, got {text!r}")
    return values


def _predict_frames(text: str, project: Path) -> list[tuple[int, int]]:
    from napari_sleap_train.config.model import PredictOn

    head, _, rest = (text or "none").strip().lower().partition(":")
    if head in ("none", "nothing") and not rest:
        return []
    if head == "suggested" and not rest:
        on, n = PredictOn.SUGGESTED_FRAMES, 0
    elif head == "labeled" and not rest:
        on, n = PredictOn.USER_LABELED_FRAMES, 0
    elif head == "random":
        try:
            n = int(rest) if rest else 20
        except ValueError:
            n = 0
        if n < 1:
            raise TrainCliError(f"--predict random:N needs a whole number N >= 1, got {text!r}")
        on = PredictOn.RANDOM_FRAMES
    else:
        raise TrainCliError(f"--predict {text!r} is not understood; use {PREDICT_CHOICES}")
    import sleap_io as sio

    from napari_sleap_train.predictions.frame_selection import select_frames

    try:
        labels = sio.load_slp(str(project))
    except Exception as exc:  # sleap-io/h5py errors vary
        raise TrainCliError(f"could not read {project.name}: {exc}") from exc
    selection = select_frames(labels, on, n=n or 20, labels_path=project)
    if not selection.frames:
        print(f"Nothing to predict after training: {selection.explanation}.", file=sys.stderr)
    return list(selection.frames)


def _fmt_time(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def describe_event(event) -> str | None:
    """One readable line for an event (``None``: nothing worth printing)."""
    from napari_sleap_train.protocol import events as ev

    if isinstance(event, ev.Started):
        return f"running on {event.description} (TensorFlow {event.tensorflow_version})"
    if isinstance(event, ev.Status):
        who = f"[{event.model}] " if event.model else ""
        return f"{who}{event.stage}" + (f": {event.detail}" if event.detail else "")
    if isinstance(event, ev.ModelStarted):
        crop = f", crop {event.crop_size}px" if event.crop_size else ""
        return (
            f"[{event.model}] {event.n_train} training / {event.n_val} validation examples, "
            f"input {'x'.join(map(str, event.input_shape))}{crop}, receptive field {event.receptive_field}px, "
            f"{event.parameters:,} parameters; up to {event.epochs} epochs of {event.batches_per_epoch} batches "
            f"-> {event.run_dir}"
        )
    if isinstance(event, ev.Epoch):
        best = " *best*" if event.best_epoch == event.epoch else f" (best {event.best_epoch + 1})"
        plateau = (
            f", {event.epochs_without_improvement}/{event.patience} epochs without improvement"
            if event.epochs_without_improvement else ""
        )
        return (
            f"[{event.model}] epoch {event.epoch + 1}: loss {event.train_loss:.4g}, val {event.val_loss:.4g}"
            f"{best}, lr {event.learning_rate:.2g}, {event.epoch_time:.1f}s{plateau}, ETA {_fmt_time(event.eta)}"
        )
    if isinstance(event, ev.ModelFinished):
        return (
            f"[{event.model}] finished ({event.reason.replace('_', ' ')}) after {event.epochs_trained} epochs; "
            f"best epoch {event.best_epoch + 1}, val loss {event.best_val_loss:.4g}"
        )
    if isinstance(event, ev.Predictions):
        text = f"predictions: {event.n_instances} instances on {event.n_frames} frames -> {event.path}"
        return text + (f" ({event.explanation})" if event.explanation else "")
    if isinstance(event, ev.Metrics):
        keys = ("oks_map", "pck", "dist_p50")
        shown = ", ".join(f"{k} {event.values[k]:.3g}" for k in keys if isinstance(event.values.get(k), float))
        return f"metrics ({event.model}): {shown or 'see ' + event.path}"
    if isinstance(event, ev.Message):
        return ("warning: " if event.level == "warning" else "") + event.text
    if isinstance(event, ev.Error):
        return f"error: {event.message}" + (f" ({event.hint})" if event.hint else "")
    if isinstance(event, ev.Done):
        dirs = "".join(f"\n  {d}" for d in event.run_dirs)
        return f"{event.status}{dirs}" + (f"\npredictions: {event.predictions_path}" if event.predictions_path else "")
    return None


def run(args: argparse.Namespace) -> int:
    """Run the job; exit 0 finished/stopped, 1 failed or cancelled, 2 bad input."""
    from napari_sleap_train.protocol.events import Done, Error
    from napari_sleap_train.runner.process import EngineProcess, EngineProcessError

    try:
        job = build_job(args)
    except TrainCliError as exc:
        print(f"napari-sleap-train train: error: {exc}", file=sys.stderr)
        return 2
    problem = check_output_paths(job)
    if problem:
        print(f"napari-sleap-train train: error: {problem}", file=sys.stderr)
        return 2
    proc = EngineProcess()
    try:
        proc.start(job)
    except EngineProcessError as exc:
        print(f"napari-sleap-train train: error: {exc}", file=sys.stderr)
        return 1

    interrupts = 0

    def on_sigint(signum, frame):
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            print("\nstopping: finishing the current batch and keeping the best model "
                  "(Ctrl-C again to cancel)", file=sys.stderr)
            proc.stop()
        else:
            print("\ncancelling", file=sys.stderr)
            proc.cancel()

    previous = signal.signal(signal.SIGINT, on_sigint)
    done = None
    failed = False
    try:
        for event in proc.events():
            if args.json:
                print(event.to_json(), flush=True)
            else:
                line = describe_event(event)
                if line:
                    stream = sys.stderr if isinstance(event, Error) else sys.stdout
                    print(line, file=stream, flush=True)
                    if isinstance(event, Error) and event.traceback and event.kind == "crash":
                        print(event.traceback, file=sys.stderr)
            failed = failed or isinstance(event, Error)
            if isinstance(event, Done):
                done = event
    finally:
        signal.signal(signal.SIGINT, previous)
    if done is None or done.status in ("failed", "cancelled") or failed:
        if proc.log_path is not None and not args.json:
            print(f"log: {proc.log_path}", file=sys.stderr)
        return 1
    return 0
