"""A fake engine for GUI and runner tests: a real child process that speaks the protocol, no TensorFlow.

Shared by the run-controller, run-panel and dock tests (a helpers module, not a test module).
"""

from __future__ import annotations

import json
import stat
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from napari_sleap_train.config.model import PipelineConfig
from napari_sleap_train.protocol.job import TrainJob
from napari_sleap_train.runner.process import EngineProcess

FAKE_ENGINE = textwrap.dedent(
    '''
    """Fake training child: speaks the event protocol, trains nothing."""
    import json, os, random, shutil, sys, threading, time
    from pathlib import Path

    from napari_sleap_train.protocol import events as ev

    job = json.loads(Path(sys.argv[1]).read_text())
    opts = json.loads(sys.argv[2])
    models = opts.get("models", ["centroid", "centered_instance"])
    epochs, batches = opts.get("epochs", 3), opts.get("batches", 4)
    delay = opts.get("batch_delay", 0.005)
    runs = Path(job["runs_folder"])
    rng = random.Random(0)
    commands = []

    def emit(event):
        try:
            sys.stdout.write(event.to_json() + "\\n")
            sys.stdout.flush()
        except (BrokenPipeError, OSError, ValueError):
            commands.append("stop")  # parent gone

    def read_commands():
        for line in sys.stdin:
            command = ev.parse_command(line)
            if command is not None:
                commands.append(command.type)
        if not opts.get("hang"):
            commands.append("stop")  # parent gone: stop, keeping what is trained (never an orphan)

    threading.Thread(target=read_commands, daemon=True).start()

    def wait_for_command():
        deadline = time.monotonic() + 60
        while not commands and time.monotonic() < deadline:
            time.sleep(0.01)

    if opts.get("hang"):
        emit(ev.Status(stage="loading labels"))
        while True:
            time.sleep(1)  # ignores stop, cancel and EOF alike

    current, finished = [], []

    def cancelled():
        if "cancel" in commands:  # only the model being trained is discarded
            for folder in current:
                shutil.rmtree(folder, ignore_errors=True)
            emit(ev.Done(status="cancelled", run_dirs=finished))
            sys.exit(0)

    for stage in ("loading labels", "building pipeline"):
        emit(ev.Status(model=models[0], stage=stage, detail="fake"))
        time.sleep(opts.get("stage_delay", 0.01))
    emit(ev.Started(pid=os.getpid(), hardware="cpu", description="CPU (2 cores), no GPU found",
                    tensorflow_version="fake", models=models))
    emit(ev.Status(model=models[0], stage="compiling"))
    stopped_any = False
    run_dirs = []
    for mi, model in enumerate(models):
        run_dir = runs / f"fake.{model}"
        if stopped_any:
            break  # a stop ends the pipeline's training
        run_dir.mkdir(parents=True, exist_ok=True)
        current[:] = [run_dir]
        run_dirs.append(str(run_dir))
        emit(ev.ModelStarted(model=model, run_dir=str(run_dir), epochs=epochs, batches_per_epoch=batches,
                             n_train=9, n_val=1, patience=opts.get("patience", 5)))
        best, best_epoch, stopped, early = float("inf"), 0, False, False
        for e in range(epochs):
            for b in range(batches):
                cancelled()
                if "stop" in commands:
                    commands.remove("stop")
                    stopped = stopped_any = True
                    break
                loss = 1.0 / (1 + e + b / batches)
                if opts.get("realistic"):  # noisy decay to a floor, like a real run
                    t = e + b / batches
                    loss = (0.002 + 0.03 * 0.8 ** t) * (1 + 0.35 * rng.random()) * (1 + 3 * (mi == 0) * 0.5 ** (8 * t))
                emit(ev.Batch(model=model, epoch=e, batch=b, loss=loss, elapsed=0.1))
                if opts.get("wait_at") == [mi, e, b]:
                    wait_for_command()
                    continue
                time.sleep(delay)
            if stopped:
                break
            if opts.get("error_at") == [mi, e]:
                emit(ev.Error(message="The computer ran out of memory while training.", kind="oom",
                              hint="Lower the batch size or the input scaling."))
                emit(ev.Done(status="failed", run_dirs=run_dirs))
                sys.exit(1)
            if opts.get("crash_at") == [mi, e]:
                sys.stderr.write("Segmentation fault (pretend)\\n")
                os._exit(3)
            val = 0.5 + abs(e - 1) * 0.1
            train = 1.0 / (1 + e)
            if opts.get("realistic"):
                train = (0.002 + 0.03 * 0.8 ** (e + 0.5)) * 1.15
                val = (0.0035 + 0.03 * 0.8 ** (e + 1)) * (1 + 0.08 * rng.random()) + 0.00001 * max(0, e - 14) ** 2
            if val < best:
                best, best_epoch = val, e
                (run_dir / "best_model.keras").write_text("fake")
                emit(ev.Checkpoint(model=model, epoch=e, path=str(run_dir / "best_model.keras")))
            emit(ev.Epoch(model=model, epoch=e, train_loss=train, val_loss=val, learning_rate=1e-4,
                          elapsed=0.1 * (e + 1), epoch_time=0.1, best_epoch=best_epoch, best_val_loss=best,
                          epochs_without_improvement=e - best_epoch, patience=opts.get("patience", 5),
                          eta=0.1 * (epochs - e - 1)))
            if opts.get("realistic") and e - best_epoch >= opts.get("patience", 5):
                early = True
                break
        reason = "stopped" if stopped else ("early_stopping" if early else "completed")
        if not (run_dir / "best_model.keras").exists():
            (run_dir / "best_model.keras").write_text("fake")
        current.clear()
        finished.append(str(run_dir))
        emit(ev.ModelFinished(model=model, run_dir=str(run_dir), reason=reason,
                              best_epoch=best_epoch, best_val_loss=best, epochs_trained=e + 1))
    cancelled()
    predictions = None
    if opts.get("predictions_src") and len(finished) == len(models):
        emit(ev.Status(stage="predicting", detail="2 frames"))
        for i in range(2):
            emit(ev.PredictProgress(done=i + 1, total=2))
            time.sleep(delay)
        predictions = job.get("predictions_path") or str(runs / "predictions.slp")
        shutil.copy(opts["predictions_src"], predictions)
        n_frames = opts.get("n_pred_frames", 1)
        emit(ev.Predictions(path=predictions, n_frames=n_frames, n_instances=2 * n_frames,
                            explanation=opts.get("explanation", "")))
    if opts.get("metrics"):
        emit(ev.Metrics(model=models[-1], values=opts["metrics"], path=str(runs / "metrics.json")))
    emit(ev.Done(status="stopped" if stopped_any else "finished", run_dirs=run_dirs, predictions_path=predictions))
    '''
)


class FakeEngine:
    """Factory of real EngineProcess objects that run the fake engine script."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.script = folder / "fake_engine.py"
        self.script.write_text(FAKE_ENGINE)
        self.options: dict = {}
        self.processes: list[EngineProcess] = []

    def __call__(self) -> EngineProcess:
        # EngineProcess runs `<python> -m napari_sleap_train.engine JOB.json --parent`;
        # this wrapper "python" runs the fake with the job file ($3) instead.
        n = len(self.processes)
        wrapper = self.folder / f"python_{n}"
        wrapper.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{self.script}' \"$3\" '{json.dumps(self.options)}'\n")
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        process = EngineProcess(python=str(wrapper), work_dir=self.folder / f"work_{n}")
        self.processes.append(process)
        return process

    @property
    def last(self) -> EngineProcess:
        return self.processes[-1]


def make_job(tmp_path: Path, **kwargs) -> TrainJob:
    return TrainJob(
        labels_path=str(tmp_path / "project.slp"),
        pipeline=PipelineConfig(),
        runs_folder=str(tmp_path / "models"),
        **kwargs,
    )


def assert_reaped(pid: int) -> None:
    """The child is gone: not running and not a zombie waiting to be reaped."""
    if psutil.pid_exists(pid):
        try:
            status = psutil.Process(pid).status()
        except psutil.NoSuchProcess:
            return
        pytest.fail(f"child {pid} still exists with status {status!r}")
