"""The predictions layer of a whole-video prediction: the frames around the current one.

napari's Points layer does per-point work in Python whenever its number of
points changes (symbols, colours, features): for a whole-video prediction,
tens of thousands of points (over a million for an hour of video), setting
the layer would hold the GUI for a long while. Beyond :data:`WINDOW_POINTS`
rows the predictions layer holds the frames around the current one (about
:data:`WINDOW_POINTS` rows, whole frames) and is refilled from the full table
kept here when the viewer's frame comes near the window's edge
(:meth:`~napari_sleap_train.io.binding.LayerBinding.follow_frame`). The project keeps every prediction; the
window is only what the layer shows, and the layer's skeleton follows its rows
as after any edit (:class:`~napari_sleap_train.io.live_skeleton.SkeletonFollower`).

Accepted and deleted predictions leave the full table too
(:meth:`PredictionWindow.drop_instances`), so they do not come back when the
window moves. Imports neither napari nor Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from napari_sleap_train.io import layer_sync
from napari_sleap_train.io.live_skeleton import frame_codes

#: A predictions layer with more rows than this shows only the frames around the current one.
WINDOW_POINTS = 2000


@dataclass
class PredictionWindow:
    """Every shown prediction's row, sorted by frame, and the rows the layer holds now.

    Attributes
    ----------
    data, features, colors
        The rows (``(N, D)``), their features and direct face colours (``(N, 4)``), by frame.
    codes
        Each row's frame code (:func:`~napari_sleap_train.io.live_skeleton.frame_codes`), ascending.
    multi_video
        Rows are ``[video, frame, y, x]``.
    span
        Rows ``[lo, hi)`` the layer holds.
    """

    data: np.ndarray
    features: pd.DataFrame
    colors: np.ndarray | None
    codes: np.ndarray
    multi_video: bool
    span: tuple[int, int] = (0, 0)

    @classmethod
    def of(
        cls, data: np.ndarray, features: pd.DataFrame, colors: np.ndarray | None, multi_video: bool
    ) -> PredictionWindow:
        """The window over a layer's full rows (any order)."""
        data = np.asarray(data, dtype=float)
        codes = frame_codes(data, multi_video)
        order = np.argsort(codes, kind="stable")
        colors = None if colors is None else np.asarray(colors)[order]
        return cls(data[order], features.iloc[order].reset_index(drop=True), colors, codes[order], multi_video)

    def __len__(self) -> int:
        return len(self.codes)

    def rows_around(self, code: int) -> tuple[int, int]:
        """Rows ``[lo, hi)`` of whole frames around frame ``code``: at most :data:`WINDOW_POINTS`."""
        n = len(self.codes)
        if n <= WINDOW_POINTS:
            return 0, n
        middle = int(np.searchsorted(self.codes, code))
        lo = min(max(0, middle - WINDOW_POINTS // 2), n - WINDOW_POINTS)
        hi = lo + WINDOW_POINTS
        if lo > 0 and self.codes[lo] == self.codes[lo - 1]:  # a frame cut in two stays out
            lo = int(np.searchsorted(self.codes, self.codes[lo], side="right"))
        if hi < n and self.codes[hi] == self.codes[hi - 1]:
            hi = int(np.searchsorted(self.codes, self.codes[hi], side="left"))
        return lo, max(lo, hi)

    def needs_move(self, code: int) -> bool:
        """Frame ``code`` is outside the middle half of the window (and the window can move that way)."""
        lo, hi = self.span
        if lo >= hi:
            return len(self.codes) > 0
        first, last = int(self.codes[lo]), int(self.codes[hi - 1])
        margin = (last - first) // 4
        return (lo > 0 and code < first + margin) or (hi < len(self.codes) and code > last - margin)

    def show(self, layer: object, code: int) -> None:
        """Fill ``layer`` with the rows around frame ``code``."""
        lo, hi = self.span = self.rows_around(code)
        colors = None if self.colors is None else self.colors[lo:hi]
        layer_sync.replace_content(layer, self.data[lo:hi], self.features.iloc[lo:hi].reset_index(drop=True), colors)

    def drop_instances(self, instance_ids: set[int]) -> int:
        """Forget the rows of some instances (accepted or deleted); the layer's own rows are the caller's."""
        if not instance_ids or not len(self.codes):
            return 0
        keep = ~self.features["instance"].isin(list(instance_ids)).to_numpy()
        dropped = int((~keep).sum())
        if not dropped:
            return 0
        lo, hi = self.span
        before = np.zeros(len(keep), bool)
        before[lo:hi] = True
        self.data, self.codes = self.data[keep], self.codes[keep]
        self.features = self.features[keep].reset_index(drop=True)
        self.colors = None if self.colors is None else self.colors[keep]
        inside = np.flatnonzero(before[keep])
        self.span = (int(inside[0]), int(inside[-1]) + 1) if len(inside) else (0, 0)
        return dropped

    def recolor(self, layer: object, colors: np.ndarray) -> None:
        """New face colours for every row (e.g. by track); the layer's rows take theirs now."""
        self.colors = np.asarray(colors)
        lo, hi = self.span
        if hi > lo:
            layer.face_color = self.colors[lo:hi]

    def shown_rows(self) -> tuple[np.ndarray, pd.DataFrame]:
        """Every row and its features (what the layer would hold without a window)."""
        return self.data, self.features
