"""Qt glue for the tabs: collapsible sections and scrollable pages.

This is one of the two places in ``widgets/tabs`` that touch Qt directly: magicgui has no collapsible container,
and superqt's ``QCollapsible`` (installed with napari) keeps the model tabs short
enough for a 1366x768 screen.
"""

from __future__ import annotations

from magicgui.widgets import Container
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFrame, QScrollArea, QSizePolicy, QWidget
from superqt import QCollapsible


def collapsible(title: str, content: Container, expanded: bool = False) -> QCollapsible:
    """Wrap a magicgui container in a titled section that folds open on click."""
    section = QCollapsible(title)
    section.setObjectName(f"section:{title}")
    section.setDuration(0)  # no animation: instant, and deterministic in tests
    section.layout().setContentsMargins(0, 2, 0, 2)  # collapsed sections stack tightly
    section.layout().setSpacing(2)
    content.native.setContentsMargins(0, 0, 0, 0)
    section.addWidget(content.native)
    if expanded:
        section.expand(animate=False)
    else:
        section.collapse(animate=False)
    return section


def add_qt(container: Container, widget: QWidget) -> None:
    """Append a plain Qt widget (a section) to a magicgui container's layout."""
    container.native.layout().addWidget(widget)


def add_stretch(container: Container) -> None:
    """Push the container's content to the top."""
    container.native.layout().addStretch(1)


def scroll_page(container: Container) -> QScrollArea:
    """Put a tab's content in a vertical scroll area without a frame."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
    area.setWidget(container.native)
    return area


def set_decimals(spinbox, decimals: int) -> None:
    """Show ``decimals`` digits and step by ~10% of the value (learning rates)."""
    from qtpy.QtWidgets import QAbstractSpinBox

    spinbox.native.setDecimals(decimals)
    spinbox.native.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)


def compact_combo(combo, chars: int = 12) -> None:
    """Let a combo box shrink below its longest item (the dock is narrow)."""
    from qtpy.QtWidgets import QComboBox

    native = combo.native
    native.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    native.setMinimumContentsLength(chars)


def wrap(label) -> None:
    """Let a magicgui Label wrap its text instead of widening the dock."""
    label.native.setWordWrap(True)
    label.native.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    label.native.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)


def fixed_width(widget) -> None:
    """Keep a magicgui widget (a small button) at its natural width; its neighbours get the room."""
    widget.native.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)


def choose_folder(parent, caption: str, start: str) -> str:
    """Ask for a folder (``""``: the user cancelled)."""
    from qtpy.QtWidgets import QFileDialog

    return QFileDialog.getExistingDirectory(getattr(parent, "native", parent), caption, start)


def inline_label(text: str, tooltip: str = ""):
    """A small label inside a :func:`pair_row`, naming the field after it."""
    from magicgui.widgets import Label

    label = Label(value=text, tooltip=tooltip)
    label.native.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
    return label


def pair_row(label: str, widgets: list) -> Container:
    """Short fields side by side in one form row (the dock must fit a 1366x768 screen).

    Spin boxes lose their +/- buttons (arrow keys and the wheel still step) so two fit the dock's width.
    """
    from qtpy.QtWidgets import QAbstractSpinBox

    for widget in widgets:
        if isinstance(widget.native, QAbstractSpinBox):
            widget.native.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
            # napari's style sheet gives spin boxes a 90 px minimum width; a style sheet beats setMinimumWidth
            widget.native.setStyleSheet("min-width: 56px;")
    row = Container(widgets=widgets, layout="horizontal", labels=False, label=label)
    row.margins = (0, 0, 0, 0)
    row.native.layout().setSpacing(4)
    return row
