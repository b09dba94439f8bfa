"""Bring a run's predictions into the viewer without freezing it.

Reading a predictions ``.slp`` (a whole video: thousands of frames) runs in a
napari ``thread_worker`` with a progress bar in napari's activity dock; the
merge into the project and the layer update follow on the GUI thread (they
touch the project the layers are bound to and the layers themselves), under
a second progress bar. One load at a time: a newer one replaces the older.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from napari.qt.threading import thread_worker
from napari.utils import progress

from napari_sleap_train.project.errors import PredictionsError
from napari_sleap_train.project.merge import load_predictions

from .results import ResultsError, ShownPredictions, show_predictions


@dataclass(frozen=True)
class _ReadFailed:
    """Why the file could not be read (returned, not raised: a worker's exception aborts it noisily)."""

    message: str


def _read(path: str) -> Any:
    """Worker thread: read the file (sleap-io only; no Qt, no layers)."""
    try:
        return load_predictions(path)
    except PredictionsError as exc:
        return _ReadFailed(str(exc))
    except Exception as exc:  # noqa: BLE001 - sleap-io/h5py raise many kinds; the user reads it
        return _ReadFailed(f"The predictions file {Path(path).name} could not be read ({type(exc).__name__}: {exc}).")


class PredictionLoader:
    """Loads predictions off the GUI thread and shows them (see the module docstring)."""

    def __init__(self, viewer: Any) -> None:
        self.viewer = viewer
        self._worker = None
        self._generation = 0

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
        """Read ``path`` in a worker, then merge it into ``project`` and call ``on_shown`` (GUI thread)."""
        self._generation += 1
        generation = self._generation
        worker = thread_worker(
            _read,
            start_thread=False,
            progress={"total": 0, "desc": f"Reading predictions {Path(path).name}"},
        )(str(path))

        def returned(labels: Any) -> None:
            if generation != self._generation:
                return  # a newer load took over
            self._worker = None
            if isinstance(labels, _ReadFailed):
                on_error(labels.message)
                return
            with progress(total=2, desc="Merging predictions into the project") as bar:
                try:
                    source = labels if project is not None else path  # alone: named after its file
                    shown = show_predictions(self.viewer, source, project, on_merged=lambda: bar.update(1))
                except ResultsError as exc:
                    on_error(str(exc))
                    return
                bar.update(1)
            on_shown(shown)

        def errored(exc: BaseException) -> None:
            if generation == self._generation:
                self._worker = None
                on_error(f"The predictions could not be read: {exc}")

        worker.returned.connect(returned)
        worker.errored.connect(errored)
        self._worker = worker
        worker.start()

    def wait(self, timeout: float = 30.0) -> None:
        """Block until the current load finished (tests; processes Qt events)."""
        from qtpy.QtCore import QCoreApplication, QElapsedTimer

        timer = QElapsedTimer()
        timer.start()
        while self.busy and timer.elapsed() < timeout * 1000:
            QCoreApplication.processEvents()
