"""What happens to a running training when napari or the dock closes: the user decides.

Closing never deletes a trained model silently. When a run is going, the
user is asked (:func:`ask_how_to_end`) whether to

* stop training and keep the models (the default, also for Escape): the
  child finishes its batch, keeps the best model and every finished one, and
  exits on its own after napari is gone; or
* cancel: the model being trained is discarded (finished models are kept).

:class:`CloseGuard` watches the napari main window (found by walking Qt
parents, no napari internals) and asks before the window closes.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QMainWindow, QMessageBox, QWidget


class CloseChoice(Enum):
    """How to end a run whose window is closing."""

    KEEP = "keep"  # stop training, keep the best model and the finished ones
    CANCEL = "cancel"  # discard the model being trained


def ask_how_to_end(parent: QWidget, what: str) -> CloseChoice:
    """Ask whether closing ``what`` ("napari", "the training panel") keeps or cancels the run."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Training is running")
    box.setText(f"A training run is going. Closing {what} ends it.")
    box.setInformativeText(
        "Keep: training stops after the current batch; the best model so far and every finished "
        'model stay in the run folder (list them under "your trained runs" next time).\n'
        "Discard: the model being trained is deleted; finished models are kept."
    )
    keep = box.addButton("Stop and keep models", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Discard model in training", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return CloseChoice.KEEP if box.clickedButton() is keep else CloseChoice.CANCEL


def main_window_of(widget: QWidget) -> QMainWindow | None:
    """The QMainWindow ``widget`` lives in (also when its dock floats), if any."""
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QMainWindow):
        parent = parent.parentWidget()
    return parent


class CloseGuard(QObject):
    """Event filter on a main window: calls ``on_close()`` when it is about to close.

    A child of the widget it serves, so it (and the filter) goes away with it.
    """

    def __init__(self, owner: QWidget, on_close: Callable[[], None]) -> None:
        super().__init__(owner)
        self._on_close = on_close
        self.watched: QMainWindow | None = None

    def watch(self, window: QMainWindow | None) -> None:
        if window is self.watched:
            return
        if self.watched is not None:
            self.watched.removeEventFilter(self)
        self.watched = window
        if window is not None:
            window.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.watched and event.type() == QEvent.Type.Close:
            self._on_close()
        return False  # the window closes either way
