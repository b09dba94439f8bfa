"""Glue between the engine child process and the GUI thread.

:class:`RunController` starts one engine process per run and reads its events
in a napari ``thread_worker`` (a generator that yields each event). The
worker's ``yielded`` signal is delivered on the GUI thread, where the event is
applied to the :class:`~napari_sleap_train.session.run_state.TrainingState`; nothing in the worker
thread touches Qt widgets or the state.

The process is created by an injectable factory, so tests (and a future
remote runner) can hand in anything with the :class:`EngineLike` methods, e.g.
an ``EngineProcess`` that launches a fake engine script.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from napari.qt.threading import thread_worker

from napari_sleap_train.protocol import events as ev
from napari_sleap_train.session.run_state import TrainingState, apply_event


class EngineLike(Protocol):
    """What the controller needs from ``runner.process.EngineProcess``."""

    def start(self, job: Any) -> None: ...
    def events(self) -> Iterator[ev.Event]: ...
    def stop(self) -> None: ...
    def cancel(self) -> None: ...
    def set_lr(self, learning_rate: float) -> None: ...
    def terminate(self, grace: float = 3.0, keep: bool = True) -> None: ...


ProcessFactory = Callable[[], EngineLike]


def default_process_factory() -> EngineLike:
    """A real :class:`~napari_sleap_train.runner.process.EngineProcess`."""
    from napari_sleap_train.runner.process import EngineProcess

    return EngineProcess()


class RunAlreadyRunningError(RuntimeError):
    """A second run was started while one is still going."""

    def __init__(self) -> None:
        super().__init__("A training run is already in progress: stop or cancel it first.")


class RunController:
    """Start, steer and end one training run at a time.

    Parameters
    ----------
    state
        Updated on the GUI thread with every event of the child.
    process_factory
        Makes an unstarted engine process; defaults to ``EngineProcess()``.

    Notes
    -----
    A plain Python object (not a ``QObject``) on purpose: it must outlive the
    widgets that own it long enough to end the child from their ``destroyed``
    handlers.
    """

    #: seconds :meth:`shutdown` waits for the reader thread after terminating the child
    SHUTDOWN_TIMEOUT = 10.0

    def __init__(self, state: TrainingState, process_factory: ProcessFactory | None = None) -> None:
        self.state = state
        self.process_factory = process_factory or default_process_factory
        self._run: _Run | None = None  # the run whose events drive the state
        self._readers: list[_Run] = []  # runs whose reader thread has not ended yet
        self._closed = False
        self._stop_requested = False
        self._cancel_requested = False

    # ------------------------------------------------------------ queries

    @property
    def process(self) -> EngineLike | None:
        """The engine process of the current run (``None`` once its Done arrived)."""
        return None if self._run is None else self._run.process

    @property
    def is_running(self) -> bool:
        """True from :meth:`start` until the child's last event was applied."""
        return self._run is not None

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested

    # ------------------------------------------------------------ commands

    def start(self, job: Any) -> bool:
        """Start the child for ``job`` and begin reading its events.

        Returns False (with the state marked failed and the reason in its
        ``last_error``) when the process could not be started.
        """
        if self._closed:
            raise RuntimeError("This run controller was shut down.")
        if self.is_running:
            raise RunAlreadyRunningError()
        self._stop_requested = self._cancel_requested = False
        self.state.begin()
        try:
            process = self.process_factory()
            process.start(job)
        except Exception as exc:  # noqa: BLE001 (shown to the user, not swallowed)
            self.state.fail(
                f"The training process could not be started: {exc}",
                hint="Check the output folder and the installation of napari-sleap-train.",
            )
            return False
        run = _Run(process)
        self._run = run
        self._readers.append(run)
        worker = _read_events(process, run.reader_done)
        # Each run's slots know their run: a late signal of an older run
        # (its child still exiting) never touches the current one.
        worker.yielded.connect(lambda event: self._on_event(run, event))
        worker.errored.connect(lambda exc: self._on_reader_error(run, exc))
        worker.finished.connect(lambda: self._on_reader_finished(run))
        run.worker = worker
        worker.start()
        return True

    def stop(self) -> None:
        """Stop training: the model being trained keeps its best checkpoint and no later
        model starts; predictions follow when every model of the pipeline is trained."""
        if self.process is not None and not self._stop_requested:
            self._stop_requested = True
            self._send(self.process.stop)

    def cancel(self) -> None:
        """End now; the child removes the folder of the model being trained (finished ones stay)."""
        if self.process is not None and not self._cancel_requested:
            self._cancel_requested = True
            self._send(self.process.cancel)

    def set_lr(self, learning_rate: float) -> None:
        """Change the learning rate of the model being trained."""
        process = self.process
        if process is not None:
            self._send(lambda: process.set_lr(learning_rate))

    def _send(self, command: Callable[[], Any]) -> None:
        try:
            command()
        except OSError:
            # The child already exited (broken pipe): its Done/exit is on the way.
            pass

    def shutdown(self, timeout: float | None = None, keep: bool = True) -> None:
        """End every child and wait for the reader threads (widget or napari closing).

        ``keep`` (the default; never delete silently): the child stops, keeping
        its best model and every finished one, and exits on its own.
        ``keep=False`` (the user chose to cancel): the model being trained is
        discarded and the child killed if it does not exit in time.
        Safe to call more than once and when nothing runs. Events still queued
        for the GUI thread are dropped.
        """
        self._closed = True
        self._run = None
        for run in list(self._readers):
            run.process.terminate(keep=keep)
        deadline = time.monotonic() + (self.SHUTDOWN_TIMEOUT if timeout is None else timeout)
        for run in list(self._readers):
            run.wait(deadline - time.monotonic())
        self._readers = [run for run in self._readers if not run.ended]

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every reader thread ended (its child exited and was reaped)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        return all(run.wait(None if deadline is None else deadline - time.monotonic()) for run in list(self._readers))

    # ------------------------------------------------------------ worker slots (GUI thread)

    def _on_event(self, run: _Run, event: ev.Event) -> None:
        if self._closed or run is not self._run:
            return
        if isinstance(event, ev.Done):
            self._run = None  # the run is over for the GUI; the child may take a moment to exit
        apply_event(self.state, event)

    def _on_reader_error(self, run: _Run, exc: BaseException) -> None:
        if self._closed or run is not self._run:
            return
        self._run = None
        if self.state.is_running:
            self.state.fail(f"Lost contact with the training process: {exc}")

    def _on_reader_finished(self, run: _Run) -> None:
        if run in self._readers:
            self._readers.remove(run)
        if self._closed or run is not self._run:
            return
        self._run = None
        if self.state.is_running:
            # The runner synthesises Error + Done when the child dies; this is
            # the last line of defence if it did not.
            self.state.fail(
                "The training process ended without reporting why.",
                hint="Run the same job with `napari-sleap-train train` to see its output.",
            )


class _Run:
    """One started child and the thread reading it."""

    def __init__(self, process: EngineLike) -> None:
        self.process = process
        self.worker = None
        self.reader_done = threading.Event()

    @property
    def ended(self) -> bool:
        """The reader is finished, or was aborted (napari quits all workers when it closes)."""
        if self.reader_done.is_set():
            return True
        worker = self.worker
        return worker is not None and worker.abort_requested and not worker.is_running

    def wait(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        while not self.ended:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self.reader_done.wait(0.02)
        return True


@thread_worker(start_thread=False)
def _read_events(process: EngineLike, done: threading.Event) -> Iterator[ev.Event]:
    """Yield the child's events (worker thread: no Qt, no state here)."""
    try:
        yield from process.events()
    finally:
        done.set()
