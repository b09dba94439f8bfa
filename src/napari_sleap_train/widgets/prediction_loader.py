"""Bring a run's predictions into the viewer without freezing it.

A whole-video predictions file is thousands of frames. Reading it, merging it
into the project (SLEAP's rules) and building the predictions layer's rows and
skeleton run in a helper process (:mod:`~napari_sleap_train.project.merge_service`),
waited for by a napari ``thread_worker``, on a snapshot of the project taken
when the load starts (:mod:`~napari_sleap_train.project.merge_plan`), with a
progress bar in napari's activity dock once it has taken a second. Back on the
GUI thread only cheap steps remain: the frames take their new instance lists
(frames the user changed meanwhile are merged again from what they hold now, so
no edit is lost) and the layers are set once from the tables built in the
helper. One load at a time: a newer one replaces the older.

Inserting a layer is what napari does slowest (layer controls, visuals, shaders:
a few hundred ms with software OpenGL), so the predictions layers go in early and
empty (:meth:`PredictionLoader.prepare`, when a run starts predicting), and a
merge only sets their data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from napari.qt.threading import thread_worker
from napari.utils import progress
from qtpy.QtCore import QTimer

from napari_sleap_train.io.binding import add_empty_prediction_layers, bind_project
from napari_sleap_train.io.layers import PREDICTION_ROLES
from napari_sleap_train.project.errors import PredictionsError
from napari_sleap_train.project.merge import load_predictions
from napari_sleap_train.project.merge_plan import MergeSnapshot, PreparedMerge, take_snapshot
from napari_sleap_train.project.merge_service import MergeService, read_failure, shared_service

from .results import ResultsError, ShownPredictions, show_merged, show_predictions


@dataclass(frozen=True)
class _ReadFailed:
    """Why the file could not be read (returned, not raised: a worker's exception aborts it noisily)."""

    message: str


def _read(path: str, snapshot: MergeSnapshot | None, service: MergeService) -> Any:
    """Worker thread: read the file and, with a project, merge it against its snapshot (no Qt, no layers).

    With a project the helper process reads and merges
    (:mod:`~napari_sleap_train.project.merge_service`): this thread only waits
    for it, so the GUI thread does not wait for Python's lock meanwhile.
    """
    try:
        if snapshot is None:
            return load_predictions(path)
        return service.merge(path, snapshot)
    except PredictionsError as exc:
        return _ReadFailed(str(exc))
    except Exception as exc:  # noqa: BLE001 - sleap-io/h5py raise many kinds; the user reads it
        return _ReadFailed(read_failure(path, exc))


@dataclass
class _Preparation:
    """Predictions layers being inserted (:meth:`PredictionLoader.prepare`)."""

    project: Any
    waiting: list[Callable[[], None]]  # called once the layers are in
    bar: Any = None  # the activity dock's progress bar


#: A load shows a progress bar in napari's activity dock once it has taken this long (ms).
PROGRESS_AFTER_MS = 1000

#: Time between two long GUI steps (inserting a layer, setting one) in ms, so napari draws in between.
INSERT_SPACING_MS = 30


class PredictionLoader:
    """Loads and merges predictions off the GUI thread and shows them (see the module docstring)."""

    def __init__(self, viewer: Any, service: MergeService | None = None) -> None:
        self.viewer = viewer
        #: the helper process that reads and merges (one per napari process)
        self.service = service if service is not None else shared_service()
        self._worker = None
        self._generation = 0
        self._prepared: list = []  # empty predictions layers inserted by prepare(), not filled yet
        self._preparing: _Preparation | None = None
        self._closed = False
        #: the activity dock's bar of a load that has taken longer than PROGRESS_AFTER_MS (else ``None``)
        self.progress_bar: Any = None
        # one timer of the loader's own (a pending single shot would keep the dock alive after it closed)
        self._bar_timer = QTimer()
        self._bar_timer.setSingleShot(True)
        self._bar_timer.timeout.connect(self._show_bar)
        self._bar_name = ""
        #: called on the GUI thread when a load starts or ends (the dock shows it)
        self.on_busy_changed: Callable[[bool], None] | None = None

    @property
    def worker(self) -> Any:
        """The napari worker of the load under way (``None`` when idle)."""
        return self._worker

    @property
    def busy(self) -> bool:
        """A file is being read or merged."""
        return self._worker is not None

    def prepare(self, project: Any, then: Callable[[], None] | None = None) -> None:
        """Insert the project's missing predictions layers, empty, one per turn of the event loop.

        Each insertion holds the GUI for a while (layer controls, visuals, a
        repaint); one per turn lets napari draw and handle input in between,
        with a progress bar in the activity dock. A merge then only sets their
        data. The user's active layer stays active. ``then`` is called once
        the layers are in (at once when they are there already).
        """
        if self._closed:
            return
        if self._preparing is not None:
            if self._preparing.project is project:
                if then is not None:
                    self._preparing.waiting.append(then)
                return
            self._stop_preparing()  # another project's: it stops where it is, its loads go on
        self.service.start()  # predictions are coming: the helper loads its libraries meanwhile
        found = bind_project(project, self.viewer.layers)
        roles = [r for r in PREDICTION_ROLES if r not in found]
        if not roles:
            if then is not None:
                then()
            return
        state = _Preparation(project, [then] if then is not None else [])
        self._preparing = state  # before the progress bar: napari processes events while making it
        state.bar = progress(total=len(roles), desc="Preparing the predictions layers")

        def step() -> None:
            if self._preparing is not state:
                return  # stopped (or replaced by another project's preparation)
            self._prepared.extend(add_empty_prediction_layers(project, self.viewer.layers, roles=(roles.pop(0),)))
            state.bar.update(1)  # napari processes events here too
            if self._preparing is not state:
                return
            if roles:
                QTimer.singleShot(INSERT_SPACING_MS, step)
                return
            self._preparing = None
            state.bar.close()
            for callback in state.waiting:
                QTimer.singleShot(INSERT_SPACING_MS, callback)

        QTimer.singleShot(0, step)  # the progress bar appears first

    def _stop_preparing(self, run_waiting: bool = True) -> None:
        """End an insertion under way; the loads waiting for it go on (they insert what is missing)."""
        state, self._preparing = self._preparing, None
        if state is None:
            return
        if state.bar is not None:
            state.bar.close()
        for callback in state.waiting if run_waiting else ():
            QTimer.singleShot(0, callback)

    def _next_turn(self, step: Callable[[], None]) -> None:
        """Run ``step`` in a later turn of the Qt event loop, after napari drew (unless closed)."""
        QTimer.singleShot(INSERT_SPACING_MS, lambda: None if self._closed else step())

    def close(self) -> None:
        """The dock is closing: pending steps do nothing, a load under way shows nothing."""
        self._closed = True
        self._bar_timer.stop()
        self._generation += 1
        self._stop_preparing(run_waiting=False)
        self._worker = None
        if self.progress_bar is not None:
            self.progress_bar.close()
            self.progress_bar = None

    def release(self) -> None:
        """No predictions are coming (the run ended without): take out the empty layers :meth:`prepare` inserted.

        Nothing happens while a load is under way (it fills them).
        """
        if self.busy:
            return
        self._stop_preparing()
        self._remove_if_empty(self._prepared)
        self._prepared = []

    def load(
        self,
        path: str | Path,
        project: Any,
        on_shown: Callable[[ShownPredictions], None],
        on_error: Callable[[str], None],
    ) -> None:
        """Read and merge ``path`` in a worker, then show it and call ``on_shown`` (GUI thread)."""
        self._generation += 1
        generation = self._generation
        snapshot = take_snapshot(project) if project is not None else None
        worker = thread_worker(_read, start_thread=False)(str(path), snapshot, self.service)

        def started() -> None:
            self._bar_name = Path(path).name
            self._bar_timer.start(PROGRESS_AFTER_MS)

        def detach() -> None:
            # napari keeps a finished worker registered as a task of its window: our slots must not
            # keep this loader (and through it the dock and viewer) alive with it
            for signal, slot in (
                (worker.returned, returned),
                (worker.errored, errored),
                (worker.started, started),
            ):
                try:
                    signal.disconnect(slot)
                except (TypeError, RuntimeError):
                    pass

        def returned(result: Any) -> None:
            detach()
            if generation != self._generation:
                return  # a newer load took over
            if isinstance(result, _ReadFailed):
                self._set_busy(None)
                self.release()
                on_error(result.message)
                return
            later: list[Callable[[], None]] = []  # the layers, set in a later turn
            try:
                if isinstance(result, PreparedMerge):
                    shown = show_merged(self.viewer, project, result, defer=later.append)
                else:  # no project: the file's predictions on their own, named after it
                    with progress(total=0, desc="Showing predictions"):
                        shown = show_predictions(self.viewer, path, None)
            except ResultsError as exc:
                self._set_busy(None)
                on_error(str(exc))
                return
            self._prepared = []  # filled: they are the user's layers now

            def finish() -> None:
                if generation != self._generation:
                    return
                if later:  # one step per turn, busy until the last
                    later.pop(0)()
                    self._next_turn(finish)
                    return
                self._set_busy(None)
                on_shown(shown)

            if later:
                self._next_turn(finish)  # the project took the merge in this turn, the layers follow
            else:
                finish()

        def errored(exc: BaseException) -> None:
            detach()
            if generation == self._generation:
                self._set_busy(None)
                self.release()
                on_error(f"The predictions could not be read: {exc}")

        worker.returned.connect(returned)
        worker.errored.connect(errored)
        worker.started.connect(started)
        self._set_busy(worker)
        if project is None:
            worker.start()
        else:  # the layers go in first (if the run did not prepare them), then the worker reads
            self.prepare(project, then=lambda: worker.start() if generation == self._generation else None)

    def _show_bar(self) -> None:
        # A load that is over within PROGRESS_AFTER_MS gets no bar (as Qt's QProgressDialog's
        # minimum duration): making one relays napari's window out, a GUI stall of its own.
        if self._closed or self._worker is None or self.progress_bar is not None:
            return
        self.progress_bar = progress(total=0, desc=f"Reading and merging predictions {self._bar_name}")

    def _remove_if_empty(self, layers: list) -> None:
        """Take out the empty layers a failed load added (the user's layers stay)."""
        for layer in layers:
            if layer in self.viewer.layers and not len(layer.data):
                self.viewer.layers.remove(layer)

    def _set_busy(self, worker: Any) -> None:
        self._worker = worker
        if worker is None:
            self._bar_timer.stop()
            if self.progress_bar is not None:
                self.progress_bar.close()
                self.progress_bar = None
        if self.on_busy_changed is not None:
            self.on_busy_changed(worker is not None)

    def wait(self, timeout: float = 30.0) -> None:
        """Block until the current load finished (tests; processes Qt events)."""
        from qtpy.QtCore import QCoreApplication, QElapsedTimer

        timer = QElapsedTimer()
        timer.start()
        while self.busy and timer.elapsed() < timeout * 1000:
            QCoreApplication.processEvents()
