"""A few lines of read-only status text that change often without re-laying out the dock.

``QLabel.setText`` calls ``updateGeometry``: Qt then re-lays out the parent
layouts in a later event-loop pass and repaints again. For text that changes
several times a second (elapsed time, batch counts) in a window holding
napari's OpenGL canvas, every extra pass is a whole-window composite (15+ ms
with software OpenGL). :class:`StatusText` has a height fixed by its number
of lines and paints its lines itself, so new text costs one repaint of its
own rectangle, in the same pass as the rest of the update.
"""

from __future__ import annotations

from qtpy.QtCore import QRect, Qt
from qtpy.QtGui import QPainter, QPalette
from qtpy.QtWidgets import QSizePolicy, QWidget


class StatusText(QWidget):
    """Lines of text, each elided in the middle to the widget's width.

    Parameters
    ----------
    lines
        Lines of room to start with; :meth:`setText` grows (or shrinks) the
        room only when the number of lines changes, which is rare.
    parent
        Qt parent widget.
    """

    def __init__(self, lines: int = 1, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lines: list[str] = []
        self._room = -1
        # The dock decides the width; the text never widens it.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._set_room(lines)

    def text(self) -> str:
        """The full text (lines joined by newlines), as given."""
        return "\n".join(self._lines)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt naming, like QLabel)
        """Show ``text``; repaints only when it changed."""
        lines = text.split("\n") if text else []
        if lines == self._lines:
            return
        self._lines = lines
        if len(lines) != self._room:
            self._set_room(len(lines))
        self.update()

    def _set_room(self, n: int) -> None:
        self._room = n
        spacing = self.fontMetrics().lineSpacing()
        self.setFixedHeight(n * spacing + (2 if n else 0))

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        metrics = self.fontMetrics()
        spacing = metrics.lineSpacing()
        width = self.width()
        for i, line in enumerate(self._lines):
            shown = metrics.elidedText(line, Qt.TextElideMode.ElideMiddle, width)
            rect = QRect(0, 1 + i * spacing, width, spacing)
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)
        painter.end()
