"""The labeling loop in a napari viewer: accept predictions, add instances node by node, go where the work is.

:class:`LabelingController` binds one project's layers (public napari API only):

* a double-click on a prediction (``viewer.mouse_double_click_callbacks``, so it
  works whichever layer is active) makes it a user instance, as in SLEAP;
* moving a predicted point makes that instance a user instance with the moved
  node; deleting every point of a prediction removes it (deleting some of them
  accepts the rest);
* napari's Add mode on the labels layer places, with each click, the next node
  of the current instance that has no point (a new instance when there is none
  on the frame or it is complete), instead of copying the node and instance of
  the last point selected (which made one-point instances on other frames);
* keys (``viewer.bind_key``), listed in :data:`KEYS`.

The decisions (which node, which frame, which template) are the project's
(:mod:`napari_sleap_train.project.labeling`); this module only reads the viewer.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_sleap_train.io.binding import bind_project, project_layer
from napari_sleap_train.io.prediction_edits import PredictionLayerEdits, rows_of
from napari_sleap_train.project.labeling import (
    ReviewItem,
    ReviewOrder,
    next_in_order,
    next_missing_node,
    step_frame,
)
from napari_sleap_train.project.model import SleapProject

#: key -> (action name, what it does), bound on the viewer
KEYS: dict[str, tuple[str, str]] = {
    "Alt-A": ("accept", "accept the prediction under the cursor (or the selected one)"),
    "Shift-Alt-A": ("accept_frame", "accept every prediction on this frame"),
    "Control-I": ("add_instance", "add an instance at the cursor"),
    "Alt-V": ("mark_not_visible", "mark the next node (or the selected points) not visible"),
    "Alt-Right": ("next_labeled", "next labeled frame"),
    "Alt-Left": ("previous_labeled", "previous labeled frame"),
    "Alt-S": ("next_suggestion", "next unlabeled suggested frame"),
    "Alt-W": ("next_worst", "next prediction to review (lowest score or new poses first: the review order)"),
}
#: frames the new-poses order ranks (each pick is compared with every prediction)
NEW_POSE_PICKS = 100
#: how near (in point sizes) a double-click must land to a predicted node
CLICK_MARGIN_SIZES = 3.0


@dataclass
class CurrentInstance:
    """The user instance being labeled and the node the next click places."""

    video_index: int
    frame_index: int
    inst_id: int
    n_placed: int
    n_nodes: int
    next_node: str | None

    @property
    def partial(self) -> bool:
        return self.n_placed < self.n_nodes


class LabelingController(PredictionLayerEdits):
    """Accept/correct, add and navigate for one project in one viewer.

    Parameters
    ----------
    viewer
        The napari viewer showing the project.
    project
        The project (its layers are bound with :func:`~napari_sleap_train.io.binding.bind_project`).
    on_change
        Called after anything the dock shows changed (current instance, frame, predictions).
    """

    def __init__(self, viewer: Any, project: SleapProject, on_change: Callable[[], None] | None = None) -> None:
        self._viewer = weakref.ref(viewer)
        self.project = project
        self.on_change = on_change
        self.current: tuple[int, int, int] | None = None
        self.chosen_node: str | None = None
        self._last_node: dict[tuple[int, int, int], int] = {}
        self._skipped: dict[tuple[int, int, int], set[int]] = {}
        self._pending_removal: dict[tuple[int, int, int], set[str]] = {}
        self._busy = False
        self._labels: Any = None
        self._predictions: Any = None
        self.message = ""
        #: which frames with predictions come first in the review list and for Alt-W
        self.review_order = ReviewOrder.SCORE
        bind_project(project, viewer.layers)
        viewer.mouse_double_click_callbacks.append(self._on_double_click)
        for key, (name, _) in KEYS.items():
            viewer.bind_key(key, self._key_action(name), overwrite=True)
        self.rebind()
        self._follow_frames()

    # -- viewer facts ------------------------------------------------------------------
    @property
    def viewer(self) -> Any:
        return self._viewer()

    @property
    def _lead_cols(self) -> tuple[int, ...]:
        return (0, 1) if self.project.multi_video else (0,)

    def position(self) -> tuple[int, int]:
        """(video, frame) the viewer shows."""
        step = self.viewer.dims.current_step
        return (int(step[0]), int(step[1])) if self.project.multi_video else (0, int(step[0]))

    def go_to(self, frame: tuple[int, int] | None) -> bool:
        """Show ``(video, frame)``; returns False when there is nowhere to go."""
        if frame is None:
            return False
        dims = self.viewer.dims
        if self.project.multi_video:
            dims.set_current_step(0, frame[0])
            dims.set_current_step(1, frame[1])
        else:
            dims.set_current_step(0, frame[1])
        self._changed()
        return True

    def _cursor_xy(self) -> np.ndarray:
        pos = self.viewer.cursor.position
        return np.array([pos[-1], pos[-2]], float)

    def view_centre_xy(self) -> np.ndarray:
        viewer = self.viewer
        scene = getattr(viewer, "scene", None)  # napari >= 0.9 (viewer.camera before)
        centre = (scene.camera if scene is not None else viewer.camera).center
        return np.array([centre[-1], centre[-2]], float)

    def _point_size(self) -> float:
        layer = self._predictions or self._labels
        return float(np.mean(layer.size)) if layer is not None and len(layer.data) else 8.0

    # -- layer events ------------------------------------------------------------------
    def rebind(self) -> None:
        """Follow the project's current labels and predictions layers (after layers were replaced)."""
        bind_project(self.project, self.viewer.layers)
        labels = project_layer(self.project, "labels")
        predictions = project_layer(self.project, "predictions")
        if labels is not self._labels:
            if self._labels is not None:
                self._labels.events.data.disconnect(self._on_labels_data)
                self._labels.selected_data.events.items_changed.disconnect(self._on_labels_selected)
            self._labels = labels
            if labels is not None:
                labels.events.data.connect(self._on_labels_data)
                labels.selected_data.events.items_changed.connect(self._on_labels_selected)
        if predictions is not self._predictions:
            if self._predictions is not None:
                self._predictions.events.data.disconnect(self._on_predictions_data)
            self._predictions = predictions
            if predictions is not None:
                predictions.events.data.connect(self._on_predictions_data)

    def close(self) -> None:
        """Stop listening to the viewer and its layers."""
        if self._labels is not None:
            self._labels.events.data.disconnect(self._on_labels_data)
            self._labels.selected_data.events.items_changed.disconnect(self._on_labels_selected)
        if self._predictions is not None:
            self._predictions.events.data.disconnect(self._on_predictions_data)
        viewer = self.viewer
        self._stop_following_frames(viewer)
        self._labels = self._predictions = None
        if viewer is not None:
            if self._on_double_click in viewer.mouse_double_click_callbacks:
                viewer.mouse_double_click_callbacks.remove(self._on_double_click)
            for key in KEYS:
                viewer.bind_key(key, None)

    def _on_labels_data(self, event: Any) -> None:
        action = str(getattr(event, "action", ""))
        if action == "adding" and tuple(getattr(event, "data_indices", ())) == (-1,):
            self._prepare_click()
        elif action == "added" and not self._busy:
            rows = [i if i >= 0 else len(self._labels.data) + i for i in event.data_indices]
            if rows and len(self._labels.data):
                self._took_row(rows[-1])
        if action.endswith("ed"):
            self._changed()

    def _on_labels_selected(self, event: Any) -> None:
        if self._busy or self._labels is None:
            return
        rows = sorted(self._labels.selected_data)
        if rows and rows[-1] < len(self._labels.data):
            self._took_row(rows[-1], placed=False)
            self._changed()

    def _took_row(self, row: int, placed: bool = True) -> None:
        """Make the instance of a labels row current (``placed``: the row was just added)."""
        feats = self._labels.features
        lead = np.rint(np.asarray(self._labels.data)[row, list(self._lead_cols)]).astype(int)
        video, frame = (int(lead[0]), int(lead[1])) if self.project.multi_video else (0, int(lead[0]))
        key = (video, frame, int(feats["instance"].iloc[row]))
        self.current = key
        if placed:
            node = feats["node"].iloc[row]
            if node in self.project.node_names:
                self._last_node[key] = self.project.node_names.index(node)
            self.chosen_node = None

    def _layer_xy(self, key: tuple[int, int, int]) -> np.ndarray:
        """``(K, 2)`` xy of an instance as the labels layer shows it now (NaN: no point)."""
        names = self.project.node_names
        xy = np.full((len(names), 2), np.nan)
        frame = key[:2] if self.project.multi_video else key[1:2]
        rows = rows_of(self._labels, self._lead_cols, frame, key[2])
        data = np.asarray(self._labels.data) if len(rows) else None
        for r in rows:
            node = self._labels.features["node"].iloc[r]
            if node in names:
                xy[names.index(node)] = data[r, [-1, -2]]
        return xy

    def _new_instance_id(self) -> int:
        ids = [self.project.next_instance_id]
        for layer in (self._labels, self._predictions):
            if layer is not None and len(layer.data):
                ids.append(int(layer.features["instance"].max()) + 1)
        return max(ids)

    def next_placement(self) -> tuple[int, str, str] | None:
        """(instance id, node, track) the next Add-mode click on this frame gets."""
        names = self.project.node_names
        if not names:
            return None
        video, frame = self.position()
        key = self.current
        if key is not None and key[:2] == (video, frame):
            xy = self._layer_xy(key)
            if self.chosen_node in names and np.isnan(xy[names.index(self.chosen_node)]).any():
                node = names.index(self.chosen_node)
            else:
                node = next_missing_node(xy, self._skipped.get(key, ()), self._last_node.get(key))
            if node is not None and (~np.isnan(xy[:, 0])).any():
                frame_rows = rows_of(
                    self._labels, self._lead_cols, key[:2] if self.project.multi_video else key[1:2], key[2]
                )
                track = str(self._labels.features["track"].iloc[frame_rows[0]]) if len(frame_rows) else ""
                return key[2], names[node], track
        first = self.chosen_node if self.chosen_node in names else names[0]
        return self._new_instance_id(), first, ""

    def _prepare_click(self) -> None:
        """Before napari adds a clicked point: give it the instance and node it belongs to."""
        placement = self.next_placement()
        if placement is None or self._labels is None:
            return
        inst_id, node, track = placement
        self._labels.feature_defaults = {
            "instance": inst_id,
            "node": node,
            "track": track,
            "score": np.nan,
            "user": True,
        }

    def _accept(self, video: int, frame: int, ids: list[int] | None) -> int | None:
        self._busy = True
        try:
            new = self.project.promote_predictions(video, frame, ids)
        finally:
            self._busy = False
        if not new:
            return None
        self.current = (video, frame, new[-1])
        return new[-1]

    def _selected_predictions(self) -> list[int]:
        layer = self._predictions
        if layer is None or not layer.selected_data:
            return []
        video, frame = self.position()
        shown = set(self.project.predicted_instance_ids(video, frame))
        ids = layer.features["instance"].to_numpy()[sorted(layer.selected_data)]
        return [int(i) for i in dict.fromkeys(ids) if int(i) in shown]

    def accept(self, at_xy: np.ndarray | None = None, margin: float | None = None) -> int | None:
        """Accept the selected prediction, else the one nearest ``at_xy`` (default: the cursor)."""
        video, frame = self.position()
        ids = self._selected_predictions()
        if not ids:
            at = self._cursor_xy() if at_xy is None else at_xy
            pid = self.project.prediction_at(video, frame, at, np.inf if margin is None else margin)
            ids = [pid] if pid is not None else []
        if not ids:
            self.message = f"Frame {frame} has no prediction to accept."
            self._changed()
            return None
        new_id = self._accept(video, frame, ids)
        self.message = f"Frame {frame}: accepted {len(ids)} prediction(s) as user instance(s)."
        self._changed()
        return new_id

    def accept_frame(self) -> list[int]:
        """Accept every shown prediction of the current frame."""
        video, frame = self.position()
        self._busy = True
        try:
            new = self.project.promote_predictions(video, frame)
        finally:
            self._busy = False
        if new:
            self.current = (video, frame, new[-1])
        self.message = (
            f"Frame {frame}: accepted {len(new)} prediction(s)."
            if new
            else f"Frame {frame} has no prediction to accept."
        )
        self._changed()
        return new

    def add_instance(self, at_xy: np.ndarray | None = None) -> int:
        """Place a whole instance at ``at_xy`` (default: view centre).

        It is a copy of the nearest prediction, else the mean labeled pose.
        """
        video, frame = self.position()
        at = self.view_centre_xy() if at_xy is None else np.asarray(at_xy, float)
        xy, source = self.project.instance_template(video, frame, at)
        self._busy = True
        try:
            new_id = self.project.add_user_instance(video, frame, xy)
        finally:
            self._busy = False
        self.current = (video, frame, new_id)
        self.message = f"Frame {frame}: new instance from the {source}; drag its nodes into place."
        self._changed()
        return new_id

    def mark_not_visible(self) -> str | None:
        """The next node (in Add mode), else the selected labels points, become not visible.

        (In Add mode napari selects each point just placed, so there the next node is meant.)
        Returns the node name.
        """
        names = self.project.node_names
        layer = self._labels
        if layer is not None and str(layer.mode) != "add" and layer.selected_data:
            rows = sorted(layer.selected_data)
            node = str(layer.features["node"].iloc[rows[-1]])
            layer.remove(rows)
            self.message = f"{len(rows)} point(s) marked not visible."
            self._changed()
            return node
        placement = self.next_placement()
        key = self.current
        if placement is None or key is None or placement[0] != key[2]:
            self.message = "Place a point of an instance first; then its next node can be marked not visible."
            self._changed()
            return None
        node = placement[1]
        self._skipped.setdefault(key, set()).add(names.index(node))
        self.chosen_node = None
        self.message = f"{node} marked not visible."
        self._changed()
        return node

    def next_labeled(self, direction: int = 1) -> bool:
        return self.go_to(step_frame(self.project.user_frames(), self.position(), direction))

    def next_suggestion(self) -> bool:
        target = step_frame(self.project.unlabeled_suggestions(), self.position(), 1)
        if target is None:
            self.message = "No unlabeled suggested frame left."
            self._changed()
        return self.go_to(target)

    def review_queue(self, limit: int | None = None) -> list[ReviewItem]:
        """The project's frames to review in :attr:`review_order` (new poses: at most :data:`NEW_POSE_PICKS`)."""
        if self.review_order is ReviewOrder.NEW_POSES:
            limit = NEW_POSE_PICKS if limit is None else min(limit, NEW_POSE_PICKS)
        return self.project.review_queue(limit, self.review_order)

    def next_worst(self) -> bool:
        queue = [it.frame for it in self.review_queue()]
        target = next_in_order(queue, self.position())
        if target is None:
            self.message = "No prediction left to review."
            self._changed()
        return self.go_to(target)

    def current_instance(self) -> CurrentInstance | None:
        """The instance being labeled on the current frame, with its next node."""
        key = self.current
        if key is None or key[:2] != self.position() or self._labels is None:
            return None
        xy = self._layer_xy(key)
        n = int((~np.isnan(xy[:, 0])).sum())
        if n == 0:
            return None
        placement = self.next_placement()
        node = placement[1] if placement is not None and placement[0] == key[2] else None
        return CurrentInstance(key[0], key[1], key[2], n, len(xy), node)

    # -- bindings ----------------------------------------------------------------------
    def _key_action(self, name: str) -> Callable[[Any], None]:
        def run(viewer: Any) -> None:
            if name == "accept":
                self.accept()
            elif name == "add_instance":
                self.add_instance(self._cursor_xy())
            elif name == "previous_labeled":
                self.next_labeled(-1)
            else:
                getattr(self, name)()

        run.__doc__ = next(text for action, text in KEYS.values() if action == name)
        return run

    def _on_double_click(self, viewer: Any, event: Any) -> None:
        video, frame = self.position()
        pos = np.asarray(event.position, float)
        pid = self.project.prediction_at(video, frame, (pos[-1], pos[-2]), CLICK_MARGIN_SIZES * self._point_size())
        if pid is not None:
            self._drop_click_point(pos)
            self._accept(video, frame, [pid])
            self.message = f"Frame {frame}: accepted the prediction as a user instance."
            self._changed()

    def _drop_click_point(self, position: np.ndarray) -> None:
        """Remove the point napari's Add mode placed with the first click of this double-click."""
        layer = self._labels
        if layer is None or str(layer.mode) != "add" or not len(layer.data):
            return
        last = np.asarray(layer.data)[-1]
        inst_id = int(layer.features["instance"].iloc[-1])
        lead = tuple(int(v) for v in np.rint(last[list(self._lead_cols)]))
        alone = len(rows_of(layer, self._lead_cols, lead, inst_id)) == 1
        if alone and np.allclose(last[-2:], position[-2:], atol=1.0):
            self._busy = True
            try:
                layer.remove([len(layer.data) - 1])
            finally:
                self._busy = False
            self.current = None

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
