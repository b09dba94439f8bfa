"""StatusText: frequently changing status lines without re-laying out the dock."""

from __future__ import annotations

import pytest
from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from napari_sleap_train.widgets.status_text import StatusText


class LayoutRequests(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt naming)
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def _host(qtbot, child: QWidget) -> tuple[QWidget, LayoutRequests]:
    host = QWidget()
    layout = QVBoxLayout(host)
    layout.addWidget(QLabel("above"))
    layout.addWidget(child)
    qtbot.addWidget(host)
    host.resize(300, 120)
    host.show()
    qtbot.waitExposed(host)
    requests = LayoutRequests()
    host.installEventFilter(requests)
    return host, requests


@pytest.mark.parametrize("widget_type, relayouts", [(StatusText, False), (QLabel, True)])
def test_new_text_does_not_relayout_the_parent(qtbot, widget_type, relayouts) -> None:
    child = widget_type()
    child.setText("epoch 1/50, batch 1/20 · elapsed 0:01")
    host, requests = _host(qtbot, child)
    qtbot.wait(50)
    requests.count = 0
    for i in range(5):
        child.setText(f"epoch 1/50, batch {i + 2}/20 · elapsed 0:{i + 2:02d}{'!' * i}")
        qtbot.wait(20)
    # the control (QLabel) shows the test can fail: its size hint changes with the text
    assert (requests.count > 0) is relayouts


def test_lines_are_kept_whole_and_the_height_follows_the_line_count(qtbot) -> None:
    text = StatusText()
    qtbot.addWidget(text)
    one = text.height()
    long_line = "Training on CPU: 2 cores (no GPU found) " + "x" * 200
    text.setText(f"Centroid (1/2) · epoch 3/50\n{long_line}")
    assert text.text().splitlines()[1] == long_line  # elided only when painted
    assert text.height() > one
    text.resize(120, text.height())
    assert not text.grab().isNull()  # paints (elided to 120 px) without error
    text.setText("")
    assert text.text() == "" and text.height() <= one
