"""The dock's *Labeling* panel: accept predictions, add instances, and go where the work is.

Buttons do what the keys of :data:`napari_sleap_train.io.labeling.KEYS` do (their
tooltips name the key); the line under them says which instance is being labeled,
which node the next click places (pick another in the node box), and whether the
instance is partial. The review list holds the frames whose predictions wait for
review, lowest instance score first or new poses first (the order box); clicking a
row goes there.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from napari_sleap_train.io.labeling import KEYS, LabelingController
from napari_sleap_train.project.labeling import ReviewOrder
from napari_sleap_train.project.model import SleapProject

#: frames listed in the review list
REVIEW_ROWS = 20
#: rows of the review list visible without scrolling
REVIEW_VISIBLE_ROWS = 3
_KEY_OF = {action: key for key, (action, _) in KEYS.items()}


def project_line(project: SleapProject) -> str:
    """The dock's project line: name, labeled frames (current, after edits), nodes, videos."""
    n = len(project.user_frames())
    n_videos = len(project.videos)
    return (
        f"<b>{project.name}</b>: {n} labeled frame{'s' if n != 1 else ''}, "
        f"{len(project.node_names)} nodes, {n_videos} video{'s' if n_videos != 1 else ''}"
    )


class LabelingPanel(QWidget):
    """Labeling controls for the project the dock shows.

    Parameters
    ----------
    viewer
        The napari viewer.
    """

    def __init__(self, viewer: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.controller: LabelingController | None = None
        self.buttons: dict[str, QPushButton] = {}

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(2)
        specs = [
            ("accept", "Accept", 0, 0),
            ("accept_frame", "Accept frame", 0, 1),
            ("add_instance", "Add instance", 0, 2),
            ("mark_not_visible", "Not visible", 0, 3),
            ("previous_labeled", "◀ Labeled", 1, 0),
            ("next_labeled", "Labeled ▶", 1, 1),
            ("next_suggestion", "Suggested ▶", 1, 2),
            ("next_worst", "Review ▶", 1, 3),
        ]
        for action, text, row, col in specs:
            button = QPushButton(text)
            key = _KEY_OF[action]
            what = KEYS[key][1]
            button.setToolTip(f"{what[0].upper()}{what[1:]} ({key}).")
            button.clicked.connect(lambda *_, a=action: self.run(a))
            grid.addWidget(button, row, col)
            self.buttons[action] = button
        self.buttons["accept"].setToolTip(
            "Accept the selected prediction, or the one nearest the cursor, as a user instance "
            f"({_KEY_OF['accept']}; or double-click it)."
        )
        self.buttons["add_instance"].setToolTip(
            "Add a whole instance at the view centre: a copy of the nearest prediction, else the "
            f"mean labeled pose ({_KEY_OF['add_instance']} places it at the cursor)."
        )

        self.node_box = QComboBox()
        self.node_box.setToolTip("The node the next click in Add mode places; pick another here.")
        self.node_box.activated.connect(self._on_node_picked)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        node_row = QHBoxLayout()
        node_row.setContentsMargins(0, 0, 0, 0)
        node_row.addWidget(QLabel("Next node:"))
        node_row.addWidget(self.node_box, stretch=1)

        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #ffb000;")
        self.warning.hide()

        self.review = QListWidget()
        self.review.setToolTip("Frames whose predictions wait for review, in the order beside: click to go there.")
        self.review.itemClicked.connect(self._on_review_clicked)
        self.review.setUniformItemSizes(True)
        self._fit_review(self.review.fontMetrics().height() + 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(grid)
        layout.addLayout(node_row)
        layout.addWidget(self.status)
        layout.addWidget(self.warning)
        self.review_title = QLabel("To review:")
        self.review_order = QComboBox()
        self.review_order.addItems([o.value + " first" for o in ReviewOrder])
        self.review_order.setToolTip(
            "Lowest score first, or new poses first: the frames whose predicted poses lie farthest from every "
            "labeled pose (and from each other). On a new recording the model fails on poses the labels never "
            "show; labeling such frames helps far more than labeling random ones. New poses need no scores."
        )
        self.review_order.currentIndexChanged.connect(self._on_order)
        title_row = QHBoxLayout()
        title_row.setContentsMargins(0, 0, 0, 0)
        title_row.addWidget(self.review_title, stretch=1)
        title_row.addWidget(self.review_order)
        layout.addLayout(title_row)
        layout.addWidget(self.review)
        #: the panel in a titled section that folds away (the dock shows this)
        self.section = QCollapsible("Labeling")
        self.section.setObjectName("section:Labeling")
        self.section.setDuration(0)
        self.section.layout().setContentsMargins(0, 2, 0, 2)
        self.section.addWidget(self)
        self.section.expand(animate=False)
        viewer.dims.events.current_step.connect(self._on_step)
        # the review list is refilled once per turn of the event loop, after the edits of this one
        self._review_timer = QTimer(self)
        self._review_timer.setSingleShot(True)
        self._review_timer.setInterval(0)
        self._review_timer.timeout.connect(self._fill_review)
        # a run's first predictions arrive as new layers: follow them, once per batch of
        # insertions (each rebind and review list costs time a merge's GUI step has not)
        self._layers_timer = QTimer(self)
        self._layers_timer.setSingleShot(True)
        self._layers_timer.setInterval(0)
        self._layers_timer.timeout.connect(self._rebind_now)
        viewer.layers.events.inserted.connect(self._on_layers)
        viewer.layers.events.removed.connect(self._on_layers)
        self.set_project(None)

    # -- project ------------------------------------------------------------------
    def set_project(self, project: SleapProject | None) -> None:
        """Label ``project`` (``None``: controls disabled)."""
        if self.controller is not None:
            if self.controller.project is project:
                self.controller.rebind()
                self.refresh()
                return
            self.controller.close()
            self.controller = None
        if project is not None:
            self.controller = LabelingController(self.viewer, project, on_change=self.refresh)
            self.controller.review_order = self._chosen_order()
        self.node_box.clear()
        if project is not None:
            self.node_box.addItems(project.node_names)
        self.setEnabled(project is not None)
        self.refresh()

    def run(self, action: str) -> Any:
        """Do a button's action (what its key does; buttons place new instances at the view centre)."""
        c = self.controller
        if c is None:
            return None
        if action == "previous_labeled":
            return c.next_labeled(-1)
        return getattr(c, action)()

    # -- display ------------------------------------------------------------------
    def refresh(self, full: bool = True) -> None:
        """Redraw the status line and node box; with ``full`` also the warning and review list.

        (Stepping through frames changes neither: it redraws only the line, so it stays fast
        on a project with thousands of predictions.)
        """
        c = self.controller
        if c is None:
            self.status.setText("Open a SLEAP project to label it.")
            self.review.clear()
            self.review.hide()
            self.warning.hide()
            return
        project = c.project
        video, frame = c.position()
        n_user = len(project.labeled_instances(video, frame))
        n_pred = len(project.predicted_instance_ids(video, frame))
        parts = [f"Frame {frame}: {n_user} user instance(s), {n_pred} prediction(s)"]
        current = c.current_instance()
        placement = c.next_placement()
        if current is not None:
            state = "<b>partial</b>" if current.partial else "complete"
            parts.append(f"instance {current.inst_id}: {current.n_placed} of {current.n_nodes} nodes ({state})")
        if placement is not None and (current is None or not current.partial or current.next_node is None):
            parts[-1] += "; a click in Add mode starts a new instance"
        if c.message:
            parts.append(c.message)
        self.status.setText("<br>".join(parts))
        if placement is not None:
            self.node_box.setCurrentText(placement[1])
        if not full:
            return
        warning = project.lone_point_warning()
        self.warning.setText(warning)
        self.warning.setVisible(bool(warning))
        self._review_timer.start()  # in the next turn: it goes over every prediction

    def _chosen_order(self) -> ReviewOrder:
        """The review order the order box shows (its items are :class:`ReviewOrder` in order)."""
        return list(ReviewOrder)[max(self.review_order.currentIndex(), 0)]

    def _on_order(self, *_: object) -> None:
        if self.controller is not None:
            self.controller.review_order = self._chosen_order()
            self._review_timer.start()

    def _fill_review(self) -> None:
        c = self.controller
        queue = c.review_queue(REVIEW_ROWS) if c is not None else []
        self.review.clear()
        for item in queue:
            row = QListWidgetItem(item.text)
            row.setData(Qt.ItemDataRole.UserRole, item.frame)
            self.review.addItem(row)
        if self.review.count():
            self._fit_review(self.review.sizeHintForRow(0))
        self.review.setVisible(bool(queue))  # an empty list would only take the settings' room
        self.review_title.setText(f"To review: {len(queue)} frame(s)" if queue else "To review: none waiting.")

    def _fit_review(self, row_height: int) -> None:
        """Show exactly :data:`REVIEW_VISIBLE_ROWS` rows (no half-cut row)."""
        self.review.setFixedHeight(row_height * REVIEW_VISIBLE_ROWS + 2 * self.review.frameWidth())

    def _on_review_clicked(self, item: QListWidgetItem) -> None:
        if self.controller is not None:
            self.controller.go_to(tuple(item.data(Qt.ItemDataRole.UserRole)))

    def _on_node_picked(self, index: int) -> None:
        if self.controller is not None and index >= 0:
            self.controller.chosen_node = self.node_box.itemText(index)
            self.refresh()

    def _on_step(self, *_: Any) -> None:
        if self.controller is not None:
            self.controller.message = ""
            self.refresh(full=False)

    def _on_layers(self, *_: Any) -> None:
        self._layers_timer.start()

    def _rebind_now(self) -> None:
        if self.controller is not None:
            self.controller.rebind()
            self.refresh()

    def close_panel(self) -> None:
        """Disconnect from the viewer (the dock's cleanup)."""
        self._layers_timer.stop()
        self._review_timer.stop()
        for signal, slot in (
            (self.viewer.dims.events.current_step, self._on_step),
            (self.viewer.layers.events.inserted, self._on_layers),
            (self.viewer.layers.events.removed, self._on_layers),
        ):
            try:
                signal.disconnect(slot)
            except (TypeError, ValueError, RuntimeError):
                pass
        if self.controller is not None:
            self.controller.close()
            self.controller = None
