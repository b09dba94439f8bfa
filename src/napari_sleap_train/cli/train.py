"""``napari-sleap-train train PROJECT.slp``: train a pipeline headless.

The job runs in the same child process the widget uses (through
:class:`~napari_sleap_train.runner.process.EngineProcess`), so a run behaves the
same in napari, in a terminal and on a cluster. Progress is printed as
readable lines (or raw JSON events with ``--json``).

Ctrl-C once stops training: the model being trained keeps its best
checkpoint, no later model starts, the finished models are kept. Ctrl-C again
ends at once, discarding only the model being trained. SIGTERM (a cluster's
time limit) and SIGHUP (the terminal closed) stop like the first Ctrl-C and
print what was kept; even SIGKILL keeps everything trained (the engine stops
when its parent goes away).
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
from pathlib import Path

from napari_sleap_train.cli.job_options import (
    JobOptionsError,
    add_reuse_options,
    add_settings_options,
    pipeline_from_args,
    reuse_args,
)
from napari_sleap_train.cli.progress import Progress, is_terminal

#: --predict choices -> PredictOn values (frames are chosen here, without TensorFlow)
PREDICT_CHOICES = "suggested | labeled | random:N | none"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``train`` subcommand."""
    p = subparsers.add_parser(
        "train",
        help="train a top-down, bottom-up, single-instance, top-down-id or bottom-up-id pipeline on a SLEAP project",
        description=(
            "Train every model of a pipeline on the user-labeled frames of PROJECT, in a child "
            "process, printing progress. Run folders go to --run-dir "
            "(<run-dir>/<YYMMDD_HHMMSS>.<model>/). Ctrl-C, SIGTERM or SIGHUP stop training keeping "
            "every model trained so far (no later model starts); a second Ctrl-C ends at once, "
            "discarding only the model being trained."
        ),
    )
    p.add_argument(
        "project",
        metavar="PROJECT.slp",
        nargs="?",
        default=None,
        help="the SLEAP project (.slp or .pkg.slp); not with --job",
    )
    p.add_argument(
        "--job",
        default=None,
        metavar="JOB.json",
        help="run a job file (as the dock and export-job write it; relative paths are taken from "
        "its folder); the other options change its settings",
    )
    add_settings_options(p)
    add_reuse_options(p)
    p.add_argument(
        "--run-dir",
        default=None,
        metavar="DIR",
        help="folder for the run folders (default: models/ next to the project)",
    )
    p.add_argument(
        "--predict",
        default=None,
        help=f"frames to predict after training: {PREDICT_CHOICES} (default: none, or the job's)",
    )
    p.add_argument("--json", action="store_true", help="print raw JSON events on stdout")
    p.set_defaults(func=run)
    return p


class TrainCliError(ValueError):
    """Bad command-line input (printed without a traceback)."""


def build_job(args: argparse.Namespace):
    """Turn parsed arguments into a :class:`~napari_sleap_train.protocol.job.TrainJob`.

    The settings come from the options (:func:`~.job_options.pipeline_from_args`),
    on top of the job file's with ``--job``; the job is made by the session's
    :func:`~napari_sleap_train.session.job.make_train_job`, as in the dock.

    Raises
    ------
    TrainCliError
        Unknown profile, unreadable config or job file, config of the wrong kind, bad value.
    """
    from napari_sleap_train.config.serialize import ConfigError
    from napari_sleap_train.protocol.job import TrainJob, load_job
    from napari_sleap_train.session.job import JobError, make_train_job

    base = None
    if args.job is not None:
        if args.project is not None:
            raise TrainCliError("give PROJECT.slp or --job JOB.json, not both")
        job_path = Path(args.job)
        try:
            base = load_job(job_path)
        except ConfigError as exc:
            raise TrainCliError(str(exc)) from exc
        if not isinstance(base, TrainJob):
            raise TrainCliError(f"{job_path} is a prediction job; use napari-sleap-train predict")
        folder = job_path.resolve().parent
        project = folder / base.labels_path  # an absolute path stays as it is
    elif args.project is None:
        raise TrainCliError("give the project to train on (PROJECT.slp) or a job file (--job JOB.json)")
    else:
        project = Path(args.project)
    if not project.is_file():
        raise TrainCliError(f"project file not found: {project}")
    try:
        pipeline = pipeline_from_args(args, None if base is None else base.pipeline)
    except JobOptionsError as exc:
        raise TrainCliError(str(exc)) from exc
    if args.run_dir:
        runs = Path(args.run_dir).resolve()
    elif base is not None:
        runs = folder / base.runs_folder
    else:
        runs = project.resolve().parent / "models"
    if base is None or args.predict is not None:
        frames, predictions = _predict_frames(args.predict or "none", project), None
    else:
        frames = base.predict_frames
        predictions = None if base.predictions_path is None else folder / base.predictions_path
    reuse = reuse_args(args)
    if base is not None:  # the job file's runs, then the options'
        for name in reuse:
            reuse[name] = [str(folder / r) for r in getattr(base, name)] + reuse[name]
    try:
        return make_train_job(
            pipeline,
            project.resolve(),
            runs_folder=runs,
            predict_frames=frames,
            predictions_path=predictions,
            evaluate=True if base is None else base.evaluate,
            node_names=_node_names(project),
            **reuse,
        )
    except JobError as exc:
        raise TrainCliError(str(exc)) from exc


def check_output_paths(job) -> str | None:
    """Why the job's run folders or predictions cannot be written (``None``: they can).

    Called before the child starts, so a read-only disk or a ``--run-dir`` that
    is a file fails in a second with one line, not after TensorFlow loaded.
    """
    from napari_sleap_train.outputs import OutputError, check_output_folder
    from napari_sleap_train.predictions.merge import train_job_output_folders

    try:
        for _, folder in train_job_output_folders(job):
            check_output_folder(folder)
    except OutputError as exc:
        return str(exc)
    return None


def _node_names(project: Path) -> list[str] | None:
    """The project's body parts, to check reused runs against (``None`` if unreadable here)."""
    import sleap_io as sio

    try:
        labels = sio.load_slp(str(project), open_videos=False)
    except Exception:  # noqa: BLE001 - the engine reports an unreadable project in plain words
        return None
    return list(labels.skeleton.node_names) if labels.skeletons else None


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
            if event.epochs_without_improvement
            else ""
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
        if event.tracking:
            text += f"; tracks assigned ({event.n_tracks} tracks)"
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


def _say(text: str, stream=None) -> None:
    """Print, ignoring a terminal that is gone (SIGHUP) or a closed pipe."""
    try:
        print(text, file=stream or sys.stdout, flush=True)
    except (OSError, ValueError):
        pass


class RunBars:
    """tqdm bars of a run on a terminal: the batches of the epoch, then the frames predicted.

    Off (``enabled=False``: a pipe, a log, ``--json``) the run prints its
    usual lines only: one per epoch and stage, nothing per batch.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Progress | None = None
        self._batches: dict[str, int] = {}

    def on_event(self, event) -> None:
        """Move the bar for ``event`` (after its line was said)."""
        from napari_sleap_train.protocol import events as ev

        if not self.enabled:
            return
        if isinstance(event, ev.ModelStarted):
            self._batches[event.model] = event.batches_per_epoch
        elif isinstance(event, ev.Batch):
            if self.bar is None:
                total = self._batches.get(event.model) or None
                self.bar = Progress(f"[{event.model}] epoch {event.epoch + 1}", total, unit="batch", leave=False)
            self.bar.update_to(event.batch + 1)
        elif isinstance(event, ev.PredictProgress):
            if self.bar is None:
                self.bar = Progress("predicting", event.total, unit="frame", leave=False)
            self.bar.update_to(event.done, event.total)
        elif isinstance(event, (ev.Epoch, ev.ModelFinished, ev.Predictions, ev.Status, ev.Done, ev.Error)):
            self.close()  # the epoch's (or stage's) line stands for the finished bar

    def say(self, text: str, stream=None) -> None:
        """A line above the bar (or plainly, without one)."""
        if self.bar is not None:
            self.bar.write(text, stream or sys.stdout)
        else:
            _say(text, stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _Signals:
    """What the user (or the cluster) asked by signal while the run goes on.

    First SIGINT, any SIGTERM/SIGHUP: stop the pipeline keeping what is trained.
    Second SIGINT: cancel (only the model being trained is discarded).
    """

    HANDLED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

    def __init__(self, proc) -> None:
        self.proc = proc
        self.interrupts = 0
        self.received: int | None = None  # the first signal, for the exit code
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _Signals:
        for signum in self.HANDLED:
            self._previous[signum] = signal.signal(signum, self.handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def handle(self, signum, frame) -> None:
        self.received = self.received or signum
        name = signal.Signals(signum).name
        if signum == signal.SIGINT:
            self.interrupts += 1
            if self.interrupts > 1:
                _say(
                    "\ncancelling: ending now; the model being trained is discarded, finished models are kept",
                    sys.stderr,
                )
                self.proc.cancel()
                return
            _say(
                "\nstopping: finishing the current batch; the best model so far and every finished model "
                "are kept, no further model is trained (Ctrl-C again to end now, discarding the model "
                "being trained)",
                sys.stderr,
            )
        else:
            _say(f"\n{name}: stopping, keeping the best model so far and every finished model", sys.stderr)
        self.proc.stop()


def _kept_text(done) -> str:
    if done is None or not done.run_dirs:
        return "nothing was kept: no model had trained yet"
    return "kept:" + "".join(f"\n  {d}" for d in done.run_dirs)


def run(args: argparse.Namespace) -> int:
    """Run the job; exit 0 finished/stopped, 1 failed or cancelled, 2 bad input, 128+N after signal N."""
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

    done = None
    failed = False
    bars = RunBars(enabled=not args.json and is_terminal(sys.stderr))
    with _Signals(proc) as signals:
        for event in proc.events():
            if args.json:
                _say(event.to_json())
            else:
                line = describe_event(event)
                if line:
                    bars.say(line, sys.stderr if isinstance(event, Error) else sys.stdout)
                    if isinstance(event, Error) and event.traceback and event.kind == "crash":
                        bars.say(event.traceback, sys.stderr)
                bars.on_event(event)
            failed = failed or isinstance(event, Error)
            if isinstance(event, Done):
                done = event
    bars.close()
    if signals.received is not None and not args.json:
        _say(_kept_text(done), sys.stderr)
    if done is None or done.status == "failed" or failed:
        if proc.log_path is not None and proc.log_path.exists() and not args.json:
            _say(f"log: {proc.log_path}", sys.stderr)
        return 1
    if signals.received is not None and signals.received != signal.SIGINT:
        return 128 + int(signals.received)
    return 1 if done.status == "cancelled" else 0
