"""Bring a run's predictions into the viewer without freezing it.

A whole-video predictions file is thousands of frames. Reading it, merging it
into the project (SLEAP's rules) and building the predictions layer's rows and
skeleton run in a napari ``thread_worker``, on a snapshot of the project taken
when the load starts (:mod:`~napari_sleap_train.project.merge_plan`), with a
progress bar in napari's activity dock. Back on the GUI thread only cheap steps
remain: the frames take their new instance lists (frames the user changed
meanwhile are merged again from what they hold now, so no edit is lost) and the
layers are set once from the tables built in the worker. One load at a time: a
newer one replaces the older.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from napari.qt.threading import thread_worker
from napari.utils import progress
from qtpy.QtCore import QTimer

from napari_sleap_train.io.binding import add_empty_prediction_layers
from napari_sleap_train.io.layers import PREDICTION_ROLES
from napari_sleap_train.project.errors import PredictionsError
from napari_sleap_train.project.merge import load_predictions
from napari_sleap_train.project.merge_plan import MergeSnapshot, PreparedMerge, prepare_merge, take_snapshot

from .results import ResultsError, ShownPredictions, show_merged, show_predictions


@dataclass(frozen=True)
class _ReadFailed:
    """Why the file could not be read (returned, not raised: a worker's exception aborts it noisily)."""

    message: str


def _read(path: str, snapshot: MergeSnapshot | None) -> Iterator[None]:
    """Worker thread: read the file and, with a project, merge it against its snapshot (no Qt, no layers).

    A generator: each ``yield`` moves the activity dock's progress bar on.
    """
    try:
        labels = load_predictions(path)
        yield
        if snapshot is None:
            return labels
        return prepare_merge(snapshot, labels)
    except PredictionsError as exc:
        return _ReadFailed(str(exc))
    except Exception as exc:  # noqa: BLE001 - sleap-io/h5py raise many kinds; the user reads it
        return _ReadFailed(f"The predictions file {Path(path).name} could not be read ({type(exc).__name__}: {exc}).")


def _next_turn(step: Callable[[], None]) -> None:
    """Run ``step`` in a later turn of the Qt event loop (the GUI draws in between)."""
    QTimer.singleShot(0, step)


#: Time between inserting the two predictions layers (ms), so napari draws in between.
INSERT_SPACING_MS = 30


class PredictionLoader:
    """Loads and merges predictions off the GUI thread and shows them (see the module docstring)."""

    def __init__(self, viewer: Any) -> None:
        self.viewer = viewer
        self._worker = None
        self._generation = 0
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
        added: list = []
        worker = thread_worker(
            _read,
            start_thread=False,
            progress={"total": 2, "desc": f"Reading and merging predictions {Path(path).name}"},
        )(str(path), snapshot)

        def returned(result: Any) -> None:
            if generation != self._generation:
                return  # a newer load took over
            self._set_busy(None)
            if isinstance(result, _ReadFailed):
                self._remove_if_empty(added)
                on_error(result.message)
                return
            try:
                if isinstance(result, PreparedMerge):
                    shown = show_merged(self.viewer, project, result, defer=_next_turn)
                else:  # no project: the file's predictions on their own, named after it
                    with progress(total=0, desc="Showing predictions"):
                        shown = show_predictions(self.viewer, path, None)
            except ResultsError as exc:
                on_error(str(exc))
                return
            on_shown(shown)

        def errored(exc: BaseException) -> None:
            if generation == self._generation:
                self._set_busy(None)
                self._remove_if_empty(added)
                on_error(f"The predictions could not be read: {exc}")

        worker.returned.connect(returned)
        worker.errored.connect(errored)
        self._set_busy(worker)
        if project is None:
            worker.start()
        else:  # napari takes long to insert a layer: do it first, then read in the worker
            self._insert_empty_layers(project, generation, added, then=worker.start)

    def _insert_empty_layers(self, project: Any, generation: int, added: list, then: Callable[[], None]) -> None:
        """Insert the missing predictions layers empty, one per turn of the event loop, then call ``then``.

        Each insertion holds the GUI for a while (layer controls, visuals, a
        repaint); one per turn lets napari draw and handle input in between.
        They come before the worker starts: while it runs Python, the GUI
        thread shares the interpreter with it and the same work takes twice
        as long. A load replaced meanwhile inserts and starts nothing.
        """
        roles = list(PREDICTION_ROLES)

        def step() -> None:
            if generation != self._generation:
                return
            added.extend(add_empty_prediction_layers(project, self.viewer.layers, roles=(roles.pop(0),)))
            QTimer.singleShot(INSERT_SPACING_MS, step if roles else then)

        step()

    def _remove_if_empty(self, layers: list) -> None:
        """Take out the empty layers a failed load added (the user's layers stay)."""
        for layer in layers:
            if layer in self.viewer.layers and not len(layer.data):
                self.viewer.layers.remove(layer)

    def _set_busy(self, worker: Any) -> None:
        self._worker = worker
        if self.on_busy_changed is not None:
            self.on_busy_changed(worker is not None)

    def wait(self, timeout: float = 30.0) -> None:
        """Block until the current load finished (tests; processes Qt events)."""
        from qtpy.QtCore import QCoreApplication, QElapsedTimer

        timer = QElapsedTimer()
        timer.start()
        while self.busy and timer.elapsed() < timeout * 1000:
            QCoreApplication.processEvents()
