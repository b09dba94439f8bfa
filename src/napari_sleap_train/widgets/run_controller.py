"""Glue between the engine child process and the GUI thread.

:class:`RunController` starts one engine process per run and reads its events
in a napari ``thread_worker`` (a generator that yields each event). The
worker's ``yielded`` signal is delivered on the GUI thread, where the event is
applied to the :class:`~.training_state.TrainingState`; nothing in the worker
thread touches Qt widgets or the state.

The process is created by an injectable factory, so tests (and a future
remote runner) can hand in anything with the :class:`EngineLike` methods, e.g.
an ``EngineProcess`` that launches a fake engine script.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from napari.qt.threading import thread_worker

from napari_sleap_train.runner import events as ev
from napari_sleap_train.widgets.training_state import TrainingState, apply_event


class EngineLike(Protocol):
    """What the controller needs from ``runner.process.EngineProcess``."""

    def start(self, job: Any) -> None: ...
    def events(self) -> Iterator[ev.Event]: ...
    def stop(self) -> None: ...
    def cancel(self) -> None: ...
    def set_lr(self, learning_rate: float) -> None: ...
    def terminate(self) -> None: ...


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
        self.process: EngineLike | None = None
        self.worker = None
        self._reader_done = threading.Event()
        self._reader_done.set()
        self._closed = False
        self._stop_requested = False
        self._cancel_requested = False

    # ------------------------------------------------------------ queries

    @property
    def is_running(self) -> bool:
        """True from :meth:`start` until the child's last event was applied."""
        return self.process is not None

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
        self.process = process
        self._reader_done.clear()
        worker = _read_events(process, self._reader_done)
        worker.yielded.connect(self._on_event)
        worker.errored.connect(self._on_reader_error)
        worker.finished.connect(self._on_reader_finished)
        self.worker = worker
        worker.start()
        return True

    def stop(self) -> None:
        """Stop early: the child keeps the best model and goes on to predict."""
        if self.process is not None and not self._stop_requested:
            self._stop_requested = True
            self._send(self.process.stop)

    def cancel(self) -> None:
        """End now; the child removes this run's folders."""
        if self.process is not None and not self._cancel_requested:
            self._cancel_requested = True
            self._send(self.process.cancel)

    def set_lr(self, learning_rate: float) -> None:
        """Change the learning rate of the model being trained."""
        if self.process is not None:
            self._send(lambda: self.process.set_lr(learning_rate))

    def _send(self, command: Callable[[], None]) -> None:
        try:
            command()
        except OSError:
            # The child already exited (broken pipe): its Done/exit is on the way.
            pass

    def shutdown(self, timeout: float | None = None) -> None:
        """End the child at once and wait for the reader thread (widget or napari closing).

        Safe to call more than once and when nothing runs. Events still queued
        for the GUI thread are dropped.
        """
        self._closed = True
        process = self.process
        if process is not None:
            process.terminate()
        self._reader_done.wait(self.SHUTDOWN_TIMEOUT if timeout is None else timeout)
        self.process = None
        self.worker = None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the reader thread ended (tests, CLI-like use)."""
        return self._reader_done.wait(timeout)

    # ------------------------------------------------------------ worker slots (GUI thread)

    def _on_event(self, event: ev.Event) -> None:
        if self._closed:
            return
        apply_event(self.state, event)
        if isinstance(event, ev.Done):
            self.process = None

    def _on_reader_error(self, exc: BaseException) -> None:
        if self._closed:
            return
        self.process = None
        if self.state.is_running:
            self.state.fail(f"Lost contact with the training process: {exc}")

    def _on_reader_finished(self) -> None:
        if self._closed:
            return
        self.process = None
        self.worker = None
        if self.state.is_running:
            # The runner synthesises Error + Done when the child dies; this is
            # the last line of defence if it did not.
            self.state.fail("The training process ended without reporting why.",
                            hint="Run the same job with `napari-sleap-train train` to see its output.")


@thread_worker(start_thread=False)
def _read_events(process: EngineLike, done: threading.Event) -> Iterator[ev.Event]:
    """Yield the child's events (worker thread: no Qt, no state here)."""
    try:
        for event in process.events():
            yield event
    finally:
        done.set()
