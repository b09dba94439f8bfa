"""Edits of the predictions layer that change the project: a dragged point accepts, Delete removes.

:class:`PredictionLayerEdits` is a part of :class:`~napari_sleap_train.io.labeling.LabelingController`
(it uses the controller's layers and its accept path). It also moves the predictions
layer's window (:mod:`~napari_sleap_train.io.prediction_window`) with the viewer's frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_sleap_train.io import layer_sync
from napari_sleap_train.io.binding import binding_of
from napari_sleap_train.io.live_skeleton import frame_codes


def rows_of(layer: Any, frame_cols: tuple[int, ...], frame: tuple[int, ...], inst_id: int) -> np.ndarray:
    """Row indices of one instance on one frame (``frame``: the values of the ``frame_cols`` columns)."""
    if layer is None or not len(layer.data) or "instance" not in layer.features:
        return np.empty(0, np.int64)
    data = np.asarray(layer.data)
    lead = np.rint(data[:, list(frame_cols)]).astype(np.int64)
    ids = layer.features["instance"].to_numpy()
    return np.flatnonzero((lead == np.asarray(frame)).all(axis=1) & (ids == inst_id))


class PredictionLayerEdits:
    """Drag and Delete on the predictions layer (mixed into ``LabelingController``)."""

    # -- the window follows the frame ----------------------------------------------------
    def _follow_frames(self) -> None:
        """Move the predictions window with the viewer's frame from now on (the controller starts it)."""
        binding = binding_of(self.project)
        binding.follows_frames = True
        binding.position = self._frame_code()
        self.viewer.dims.events.current_step.connect(self._on_frame_step)

    def _frame_code(self) -> int:
        """The shown frame's code, as :func:`~napari_sleap_train.io.live_skeleton.frame_codes` codes rows."""
        video, frame = self.position()
        multi = self.project.multi_video
        return int(frame_codes(np.array([[video, frame] if multi else [frame]], float), multi)[0])

    def _on_frame_step(self, _event: Any = None) -> None:
        self._busy = True  # refilling the predictions window is no edit
        try:
            binding_of(self.project).follow_frame(self._frame_code())
        finally:
            self._busy = False

    def _stop_following_frames(self, viewer: Any) -> None:
        """The controller closes: the predictions layer holds every prediction again."""
        if viewer is not None:
            try:
                viewer.dims.events.current_step.disconnect(self._on_frame_step)
            except (TypeError, ValueError, RuntimeError):
                pass
        binding = binding_of(self.project)
        binding.follows_frames = False
        window, binding.window = binding.window, None
        if window is not None and self._predictions is not None:
            data, features = window.shown_rows()
            layer_sync.replace_content(self._predictions, data, features, window.colors)

    def _on_predictions_data(self, event: Any) -> None:
        if self._busy or self._predictions is None:
            return
        action = str(getattr(event, "action", ""))
        indices = np.asarray(getattr(event, "data_indices", ()), dtype=np.int64)  # every row for a refresh
        rows = indices[indices >= 0].tolist() if action in ("changed", "removing") else []
        if action == "changed" and rows and set(rows) == set(self._predictions.selected_data):
            self._promote_moved(rows)  # a drag moves the selected points (not a refresh of the layer)
        elif action == "removing" and rows:
            feats = self._predictions.features
            lead = np.rint(np.asarray(self._predictions.data)[rows][:, list(self._lead_cols)]).astype(int)
            for r, ld in zip(rows, lead):
                key = (int(ld[0]), int(ld[1])) if self.project.multi_video else (0, int(ld[0]))
                key = (*key, int(feats["instance"].iloc[r]))
                self._pending_removal.setdefault(key, set()).add(str(feats["node"].iloc[r]))
        elif action == "removed" and self._pending_removal:
            pending, self._pending_removal = self._pending_removal, {}
            self._apply_removal(pending)
        if action.endswith("ed"):
            self._changed()

    def _promote_moved(self, rows: list[int]) -> None:
        """Predicted points the user dragged: their instances become user instances with the new positions."""
        layer = self._predictions
        data = np.asarray(layer.data)
        feats = layer.features
        moved: dict[tuple[int, int, int], dict[str, np.ndarray]] = {}
        for r in rows:
            lead = np.rint(data[r, list(self._lead_cols)]).astype(int)
            frame = (int(lead[0]), int(lead[1])) if self.project.multi_video else (0, int(lead[0]))
            key = (*frame, int(feats["instance"].iloc[r]))
            before = self.project.prediction_xy(*key)
            node = str(feats["node"].iloc[r])
            if before is None or node not in self.project.node_names:
                continue
            now = data[r, [-1, -2]]
            if not np.allclose(before[self.project.node_names.index(node)], now):
                moved.setdefault(key, {})[node] = now
        for (video, frame, pid), nodes in moved.items():
            new_id = self._accept(video, frame, [pid])
            if new_id is None:
                continue
            self._edit_user_rows((video, frame, new_id), move=nodes)
            self.message = f"Frame {frame}: the moved prediction is now a user instance."
        if moved:
            self._changed()

    def _apply_removal(self, pending: dict[tuple[int, int, int], set[str]]) -> None:
        """Predictions with all points deleted are removed; with some deleted, the rest is accepted."""
        removed = accepted = 0
        for (video, frame, pid), nodes in pending.items():
            left = rows_of(self._predictions, self._lead_cols, (video, frame)[-len(self._lead_cols) :], pid)
            if not len(left):
                removed += self.project.remove_predictions(video, frame, [pid])
                binding_of(self.project).forget_predictions({pid})
                continue
            # the remaining rows go back as they were before being accepted
            new_id = self._accept(video, frame, [pid])
            if new_id is not None:
                self._edit_user_rows((video, frame, new_id), remove=nodes)
                accepted += 1
        self.message = f"Removed {removed} prediction(s)" + (f", accepted {accepted}" if accepted else "") + "."
        self._changed()

    def _edit_user_rows(
        self, key: tuple[int, int, int], move: dict[str, np.ndarray] | None = None, remove: set[str] = frozenset()
    ) -> None:
        """Move or remove nodes of a user instance in the labels layer (the project folds it in on sync)."""
        layer = self._labels
        if layer is None:
            return
        frame = key[:2] if self.project.multi_video else key[1:2]
        rows = rows_of(layer, self._lead_cols, frame, key[2])
        nodes = layer.features["node"].to_numpy(dtype=object)
        self._busy = True
        try:
            if move:
                data = np.array(layer.data)
                for r in rows:
                    if nodes[r] in move:
                        data[r, -2:] = move[nodes[r]][::-1]
                layer.data = data
            gone = [int(r) for r in rows if nodes[r] in remove]
            if gone:
                layer.remove(gone)
        finally:
            self._busy = False

    # -- actions -----------------------------------------------------------------------
