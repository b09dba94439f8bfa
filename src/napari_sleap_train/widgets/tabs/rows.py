"""Row and section containers shared by the tabs' sections (magicgui only)."""

from __future__ import annotations

from magicgui.widgets import Container


def row(*widgets, label: str = "", tooltip: str = "") -> Container:
    """Widgets side by side on one labeled row."""
    box = Container(widgets=list(widgets), layout="horizontal", labels=False, label=label)
    box.margins = (0, 0, 0, 0)
    if tooltip:
        box.tooltip = tooltip
        for w in widgets:
            w.tooltip = w.tooltip or tooltip
    return box


def section(*widgets) -> Container:
    """Labeled rows stacked, slightly indented: the body of a collapsible section."""
    box = Container(widgets=list(widgets), labels=True)
    box.margins = (4, 0, 0, 0)
    return box
