"""RunController with the real EngineProcess driving a FAKE engine script.

The fake engine is a small Python program that speaks the real protocol
(JSON-line events on stdout, commands on stdin) with sleeps in between, so the
thread worker, the pipes, Stop/Cancel and terminate are exercised for real,
without TensorFlow. ``EngineProcess(python=...)`` is pointed at a wrapper
script that runs the fake instead of ``python -m napari_sleap_train.engine``.

The fake engine itself is in ``tests/widgets/fake_engine.py``, shared with the
run-panel and dock tests.
"""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from napari_sleap_train.protocol import events as ev
from napari_sleap_train.runner.process import EngineProcess
from napari_sleap_train.session.run_state import RunStatus, TrainingState
from napari_sleap_train.widgets.run_controller import RunAlreadyRunningError, RunController
from tests.widgets.fake_engine import FakeEngine, assert_reaped, make_job


@pytest.fixture
def fake_engine(tmp_path: Path) -> FakeEngine:
    return FakeEngine(tmp_path)


def wait_final(qtbot, state: TrainingState, timeout: int = 20000) -> None:
    qtbot.waitUntil(lambda: state.status.is_final, timeout=timeout)


@pytest.fixture
def controller(qtbot, fake_engine: FakeEngine):
    state = TrainingState()
    ctl = RunController(state, fake_engine)
    yield ctl
    ctl.shutdown(timeout=10)


def test_full_fake_run_applies_every_event(
    qtbot, controller: RunController, fake_engine: FakeEngine, tmp_path: Path
) -> None:
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
    assert state.run_dirs == [
        str(tmp_path / "models" / "fake.centroid"),
        str(tmp_path / "models" / "fake.centered_instance"),
    ]
    # stages before training were seen (feedback before the first epoch)
    assert seen[0] == "starting" and "training" in seen
    assert controller.wait(5)
    assert_reaped(fake_engine.last.pid)


def test_second_start_while_running_is_refused(
    qtbot, controller: RunController, fake_engine: FakeEngine, tmp_path: Path
) -> None:
    fake_engine.options = {"wait_at": [0, 0, 0]}
    controller.start(make_job(tmp_path))
    with pytest.raises(RunAlreadyRunningError):
        controller.start(make_job(tmp_path))
    controller.cancel()
    wait_final(qtbot, controller.state)


def test_stop_keeps_best_model_and_ends_the_training(
    qtbot, controller: RunController, fake_engine: FakeEngine, tmp_path: Path
) -> None:
    fake_engine.options = {"epochs": 3, "batches": 4, "wait_at": [0, 1, 0]}
    controller.start(make_job(tmp_path))
    qtbot.waitUntil(
        lambda: (
            controller.state.histories.get("centroid") is not None
            and controller.state.histories["centroid"].n_epochs == 1
        ),
        timeout=20000,
    )
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
    qtbot.waitUntil(
        lambda: (tmp_path / "models" / "fake.centroid").exists() and controller.state.batch == 2, timeout=20000
    )
    controller.cancel()
    wait_final(qtbot, controller.state)
    assert controller.state.status is RunStatus.CANCELLED
    assert controller.state.run_dirs == []
    assert not (tmp_path / "models" / "fake.centroid").exists()
    assert controller.wait(10)
    assert_reaped(fake_engine.last.pid)


def test_error_event_fails_the_run(qtbot, controller: RunController, fake_engine: FakeEngine, tmp_path: Path) -> None:
    fake_engine.options = {"error_at": [0, 0]}
    errors = []
    controller.state.error.connect(errors.append)
    controller.start(make_job(tmp_path))
    wait_final(qtbot, controller.state)
    assert controller.state.status is RunStatus.FAILED
    assert errors and errors[0].kind == "oom" and "batch size" in errors[0].hint


def test_crash_without_done_is_reported(
    qtbot, controller: RunController, fake_engine: FakeEngine, tmp_path: Path
) -> None:
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


def test_shutdown_mid_run_ends_child_without_zombie(
    qtbot, controller: RunController, fake_engine: FakeEngine, tmp_path: Path
) -> None:
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


def test_shutdown_kills_a_child_that_ignores_commands(
    qtbot, controller: RunController, fake_engine: FakeEngine, tmp_path: Path
) -> None:
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
