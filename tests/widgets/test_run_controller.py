"""RunController with the real EngineProcess driving a FAKE engine script.

The fake engine is a small Python program that speaks the real protocol
(JSON-line events on stdout, commands on stdin) with sleeps in between, so the
thread worker, the pipes, Stop/Cancel and terminate are exercised for real,
without TensorFlow. ``EngineProcess(python=...)`` is pointed at a wrapper
script that runs the fake instead of ``python -m napari_sleap_train.engine``.

The helpers here (``fake_engine`` fixture, ``make_job``) are reused by the
run-panel tests.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from napari_sleap_train.config.model import PipelineConfig
from napari_sleap_train.protocol import events as ev
from napari_sleap_train.protocol.job import TrainJob
from napari_sleap_train.runner.process import EngineProcess
from napari_sleap_train.widgets.run_controller import RunAlreadyRunningError, RunController
from napari_sleap_train.session.run_state import RunStatus, TrainingState

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
        wrapper.write_text(
            "#!/bin/sh\n"
            f"exec '{sys.executable}' '{self.script}' \"$3\" '{json.dumps(self.options)}'\n"
        )
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        process = EngineProcess(python=str(wrapper), work_dir=self.folder / f"work_{n}")
        self.processes.append(process)
        return process

    @property
    def last(self) -> EngineProcess:
        return self.processes[-1]


@pytest.fixture
def fake_engine(tmp_path: Path) -> FakeEngine:
    return FakeEngine(tmp_path)


def make_job(tmp_path: Path, **kwargs) -> TrainJob:
    return TrainJob(labels_path=str(tmp_path / "project.slp"), pipeline=PipelineConfig(),
                    runs_folder=str(tmp_path / "models"), **kwargs)


def assert_reaped(pid: int) -> None:
    """The child is gone: not running and not a zombie waiting to be reaped."""
    if psutil.pid_exists(pid):
        try:
            status = psutil.Process(pid).status()
        except psutil.NoSuchProcess:
            return
        pytest.fail(f"child {pid} still exists with status {status!r}")


def wait_final(qtbot, state: TrainingState, timeout: int = 20000) -> None:
    qtbot.waitUntil(lambda: state.status.is_final, timeout=timeout)


@pytest.fixture
def controller(qtbot, fake_engine: FakeEngine):
    state = TrainingState()
    ctl = RunController(state, fake_engine)
    yield ctl
    ctl.shutdown(timeout=10)


def test_full_fake_run_applies_every_event(qtbot, controller: RunController, fake_engine: FakeEngine,
                                           tmp_path: Path) -> None:
    fake_engine.options = {"epochs": 3, "batches": 4, "metrics": {"oks_map": 0.5}}
    seen: list[str] = []
    controller.state.changed.connect(lambda: seen.append(controller.state.status.value))
    assert controller.start(make_job(tmp_path))
    assert controller.is_running
    wait_final(qtbot, controller.state)
    state = controller.state
    assert state.status is RunStatus.FINISHED
    assert not controller.is_running
    assert state.hardware == "CPU (2 cores), no GPU found"
    for model in ("centroid", "centered_instance"):
        history = state.histories[model]
        assert len(history.batch_x) == 12 and history.n_epochs == 3
        assert history.best_epoch == 1
    assert state.metrics == {"centered_instance": {"oks_map": 0.5}}
    assert state.run_dirs == [str(tmp_path / "models" / "fake.centroid"),
                              str(tmp_path / "models" / "fake.centered_instance")]
    # stages before training were seen (feedback before the first epoch)
    assert seen[0] == "starting" and "training" in seen
    assert controller.wait(5)
    assert_reaped(fake_engine.last.pid)


def test_second_start_while_running_is_refused(qtbot, controller: RunController, fake_engine: FakeEngine,
                                               tmp_path: Path) -> None:
    fake_engine.options = {"wait_at": [0, 0, 0]}
    controller.start(make_job(tmp_path))
    with pytest.raises(RunAlreadyRunningError):
        controller.start(make_job(tmp_path))
    controller.cancel()
    wait_final(qtbot, controller.state)


def test_stop_keeps_best_model_and_ends_the_training(qtbot, controller: RunController, fake_engine: FakeEngine,
                                                     tmp_path: Path) -> None:
    fake_engine.options = {"epochs": 3, "batches": 4, "wait_at": [0, 1, 0]}
    controller.start(make_job(tmp_path))
    qtbot.waitUntil(lambda: controller.state.histories.get("centroid") is not None
                    and controller.state.histories["centroid"].n_epochs == 1, timeout=20000)
    controller.stop()
    assert controller.stop_requested
    wait_final(qtbot, controller.state)
    state = controller.state
    assert state.status is RunStatus.STOPPED
    # a stop ends the pipeline's training: the next model never starts
    assert state.finish_reasons == {"centroid": "stopped"}
    assert not (tmp_path / "models" / "fake.centered_instance").exists()
    assert state.histories["centroid"].n_epochs == 1
    assert (tmp_path / "models" / "fake.centroid" / "best_model.keras").exists()
    assert controller.wait(10)
    assert_reaped(fake_engine.last.pid)


def test_cancel_discards_the_run(qtbot, controller: RunController, fake_engine: FakeEngine, tmp_path: Path) -> None:
    fake_engine.options = {"wait_at": [0, 0, 2]}
    controller.start(make_job(tmp_path))
    qtbot.waitUntil(lambda: (tmp_path / "models" / "fake.centroid").exists()
                    and controller.state.batch == 2, timeout=20000)
    controller.cancel()
    wait_final(qtbot, controller.state)
    assert controller.state.status is RunStatus.CANCELLED
    assert controller.state.run_dirs == []
    assert not (tmp_path / "models" / "fake.centroid").exists()
    assert controller.wait(10)
    assert_reaped(fake_engine.last.pid)


def test_error_event_fails_the_run(qtbot, controller: RunController, fake_engine: FakeEngine,
                                   tmp_path: Path) -> None:
    fake_engine.options = {"error_at": [0, 0]}
    errors = []
    controller.state.error.connect(errors.append)
    controller.start(make_job(tmp_path))
    wait_final(qtbot, controller.state)
    assert controller.state.status is RunStatus.FAILED
    assert errors and errors[0].kind == "oom" and "batch size" in errors[0].hint


def test_crash_without_done_is_reported(qtbot, controller: RunController, fake_engine: FakeEngine,
                                        tmp_path: Path) -> None:
    fake_engine.options = {"crash_at": [0, 1]}
    controller.start(make_job(tmp_path))
    wait_final(qtbot, controller.state)
    state = controller.state
    assert state.status is RunStatus.FAILED
    assert state.last_error is not None and "exit code 3" in state.last_error.message
    assert "Segmentation fault (pretend)" in state.last_error.message
    assert controller.wait(10)
    assert_reaped(fake_engine.last.pid)


def test_process_that_cannot_start_fails_cleanly(qtbot, tmp_path: Path) -> None:
    state = TrainingState()
    ctl = RunController(state, lambda: EngineProcess(python=str(tmp_path / "no-such-python")))
    assert ctl.start(make_job(tmp_path)) is False
    assert state.status is RunStatus.FAILED and not ctl.is_running
    assert "could not be started" in state.last_error.message


def test_shutdown_mid_run_ends_child_without_zombie(qtbot, controller: RunController, fake_engine: FakeEngine,
                                                    tmp_path: Path) -> None:
    fake_engine.options = {"wait_at": [0, 0, 1]}
    controller.start(make_job(tmp_path))
    qtbot.waitUntil(lambda: controller.state.batch == 1, timeout=20000)
    pid = fake_engine.last.pid
    assert psutil.pid_exists(pid)
    controller.shutdown()
    assert fake_engine.last.returncode is not None
    assert controller.wait(0)  # the reader thread ended
    assert_reaped(pid)
    assert not controller.is_running


def test_shutdown_kills_a_child_that_ignores_commands(qtbot, controller: RunController, fake_engine: FakeEngine,
                                                      tmp_path: Path) -> None:
    fake_engine.options = {"hang": True}
    controller.start(make_job(tmp_path))
    qtbot.waitUntil(lambda: controller.state.stage == "loading labels", timeout=20000)
    pid = fake_engine.last.pid
    t0 = time.monotonic()
    controller.shutdown(keep=False)  # the user chose to cancel
    assert time.monotonic() - t0 < 15  # grace period, then killed (not a benchmark: just "it returns")
    assert_reaped(pid)


def test_fake_engine_stops_and_keeps_when_parent_pipe_closes(tmp_path: Path, fake_engine: FakeEngine) -> None:
    """No orphan when the parent dies without terminate (stdin EOF), and nothing trained is lost."""
    fake_engine.options = {"wait_at": [0, 0, 0]}
    process = fake_engine()
    process.start(make_job(tmp_path))
    events = process.events()
    for event in events:
        if isinstance(event, ev.Batch):
            break
    process._proc.stdin.close()
    assert process._proc.wait(timeout=10) == 0
    assert (tmp_path / "models" / "fake.centroid" / "best_model.keras").exists()
    assert not (tmp_path / "models" / "fake.centered_instance").exists()
