"""Keep a skeleton Vectors layer in step with edits of its keypoints Points layer.

napari's Points layer reports edits through ``layer.events.data`` with an
``action`` (``adding``/``added``, ``changing``/``changed``, ``removing``/``removed``)
and the ``data_indices`` of the rows concerned. The ``-ing`` event comes before
the edit (so rows about to move or disappear still tell their frame); the
``-ed`` event after it. :class:`SkeletonFollower` collects the frames touched
by an edit and redraws only those frames' edges; replacing the whole data
(``layer.data = ...``) or the features table redraws every edge.

Edges are computed from the layer's rows (``node`` and ``instance`` features),
not from the project, so what is drawn is always what the user sees. This module
uses napari's event objects by duck typing and imports neither napari nor Qt.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

#: Rows touched by more than this share of the layer are redrawn in one go.
_FULL_REDRAW_FRACTION = 0.5


def frame_codes(data: np.ndarray, multi_video: bool) -> np.ndarray:
    """One int64 code per row for its (video, frame): ``video * 2**32 + frame``."""
    data = np.asarray(data)
    if len(data) == 0:
        return np.empty(0, np.int64)
    lead = np.rint(np.nan_to_num(data[:, : 2 if multi_video else 1], nan=-1)).astype(np.int64)
    return (lead[:, 0] << 32) + lead[:, 1] if multi_video else lead[:, 0]


def _node_codes(features: pd.DataFrame, node_names: Sequence[str]) -> np.ndarray:
    """Index of each row's node in ``node_names`` (-1: none or unknown)."""
    n = len(features)
    if "node" not in features:
        return np.full(n, -1, np.int64)
    col = features["node"]
    if isinstance(col.dtype, pd.CategoricalDtype) and list(col.cat.categories) == list(node_names):
        return col.cat.codes.to_numpy().astype(np.int64)
    return pd.Index(list(node_names)).get_indexer(col.to_numpy(dtype=object)).astype(np.int64)


def _instance_ids(features: pd.DataFrame) -> np.ndarray:
    if "instance" not in features:
        return np.full(len(features), -1, np.int64)
    ids = pd.to_numeric(features["instance"], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isnan(ids), -1, ids).astype(np.int64)


def edge_vectors_from_rows(
    data: np.ndarray,
    node_codes: np.ndarray,
    instance_ids: np.ndarray,
    edges: np.ndarray,
    multi_video: bool,
) -> np.ndarray:
    """Skeleton edges of Points rows as napari vectors ``(E, 2, D)``.

    Rows are grouped per (video, frame, instance); within a group the last row
    of a node wins (as when the project reads the layer back). Rows without a
    known node or with NaN coordinates are ignored; edges with a missing end
    are left out.

    Parameters
    ----------
    data
        ``(N, D)`` rows ``[frame, y, x]`` or ``[video, frame, y, x]``.
    node_codes
        ``(N,)`` node index of each row (-1 = unknown).
    instance_ids
        ``(N,)`` instance id of each row.
    edges
        ``(E, 2)`` pairs of node indices.
    multi_video
        Rows carry a leading video coordinate.
    """
    data = np.asarray(data, dtype=np.float64)
    ndim = 4 if multi_video else 3
    empty = np.empty((0, 2, ndim), np.float64)
    if len(data) == 0 or len(edges) == 0:
        return empty
    ok = (node_codes >= 0) & ~np.isnan(data).any(axis=1)
    rows = np.flatnonzero(ok)
    if not len(rows):
        return empty
    n_lead = ndim - 2
    lead = np.rint(data[rows, :n_lead]).astype(np.int64)
    keys = np.column_stack([lead, instance_ids[rows]])
    uniq, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.ravel()
    k = int(max(node_codes.max(), edges.max())) + 1
    xy = np.full((len(uniq), k, 2), np.nan)
    xy[group, node_codes[rows]] = data[rows][:, -2:]  # later rows overwrite earlier ones
    src, dst = xy[:, edges[:, 0]], xy[:, edges[:, 1]]  # (G, E, 2) as (y, x)
    good = ~(np.isnan(src).any(axis=-1) | np.isnan(dst).any(axis=-1))
    g_idx, _ = np.nonzero(good)
    if not len(g_idx):
        return empty
    out = np.zeros((len(g_idx), 2, ndim), np.float64)
    out[:, 0, :n_lead] = uniq[g_idx, :n_lead]
    out[:, 0, -2:] = src[good]
    out[:, 1, -2:] = dst[good] - src[good]
    return out


class SkeletonFollower:
    """Redraw a Vectors layer's skeleton edges when its Points layer is edited.

    Holds weak references to both layers; once either is gone the follower
    disconnects itself. Keep the follower alive (the project holds it): napari
    keeps only a weak reference to bound-method callbacks.

    Parameters
    ----------
    points, vectors
        The keypoints layer and its skeleton layer.
    node_names
        Node names, in the order of the ``node`` feature's categories.
    edges
        Skeleton edges as pairs of node names (edges naming unknown nodes are ignored).
    multi_video
        Points are ``[video, frame, y, x]``.
    """

    def __init__(
        self,
        points: Any,
        vectors: Any,
        node_names: Sequence[str],
        edges: Iterable[tuple[str, str]],
        multi_video: bool,
    ) -> None:
        names = list(node_names)
        pairs = [(names.index(a), names.index(b)) for a, b in edges if a in names and b in names]
        self.node_names = names
        self.edges = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        self.multi_video = multi_video
        self._points = weakref.ref(points)
        self._vectors = weakref.ref(vectors)
        self._pending: set[int] = set()
        self._pending_all = False
        self._muted = 0
        points.events.data.connect(self._on_data)
        # ``properties`` fires when the features table is replaced (not on every move)
        points.events.properties.connect(self._on_features_replaced)

    @property
    def points_layer(self) -> Any:
        return self._points()

    @property
    def vectors_layer(self) -> Any:
        return self._vectors()

    def disconnect(self) -> None:
        """Stop following (safe to call twice)."""
        points = self._points()
        if points is None:
            return
        for emitter, callback in (
            (points.events.data, self._on_data),
            (points.events.properties, self._on_features_replaced),
        ):
            try:
                emitter.disconnect(callback)
            except (TypeError, ValueError, RuntimeError):
                pass

    @contextmanager
    def muted(self) -> Iterator[None]:
        """Ignore the Points layer's edits inside (the caller sets the skeleton itself)."""
        self._muted += 1
        try:
            yield
        finally:
            self._muted -= 1
            self._pending.clear()
            self._pending_all = False

    def _alive(self) -> tuple[Any, Any] | None:
        points, vectors = self._points(), self._vectors()
        if points is None or vectors is None:
            self.disconnect()
            return None
        return points, vectors

    def _codes_at(self, data: np.ndarray, indices: Sequence[int]) -> set[int]:
        idx = np.asarray([int(i) for i in indices], dtype=np.int64)
        n = len(data)
        idx = idx[(idx >= -n) & (idx < n)]
        if not len(idx):
            return set()
        return set(frame_codes(np.asarray(data)[idx], self.multi_video).tolist())

    def _on_data(self, event: Any) -> None:
        if self._muted:
            return
        layers = self._alive()
        if layers is None:
            return
        points, _ = layers
        action = str(getattr(event, "action", "changed"))
        indices = tuple(getattr(event, "data_indices", ()) or ())
        data = points.data
        many = len(indices) > max(8, _FULL_REDRAW_FRACTION * max(len(data), 1))
        if action in ("changing", "removing"):
            # rows still hold their old frame: remember it
            if many:
                self._pending_all = True
            else:
                self._pending |= self._codes_at(getattr(event, "value", data), indices)
            return
        if action == "adding":
            return
        if many or self._pending_all:
            frames = None
        else:
            frames = set(self._pending)
            if action in ("added", "changed"):
                frames |= self._codes_at(data, indices)
        self._pending.clear()
        self._pending_all = False
        self.refresh(frames)

    def _on_features_replaced(self, _event: Any = None) -> None:
        if not self._muted and self._alive() is not None:
            self.refresh(None)

    def refresh(self, frames: Iterable[int] | None = None) -> int:
        """Redraw the edges of some frames (codes from :func:`frame_codes`), or of all.

        Returns
        -------
        int
            Number of edges drawn for those frames.
        """
        layers = self._alive()
        if layers is None:
            return 0
        points, vectors = layers
        data = np.asarray(points.data)
        features = points.features
        if frames is None:
            rows = slice(None)
        else:
            wanted = np.fromiter(frames, dtype=np.int64)
            rows = np.flatnonzero(np.isin(frame_codes(data, self.multi_video), wanted))
        node_codes = _node_codes(features, self.node_names)[rows]
        ids = _instance_ids(features)[rows]
        new = edge_vectors_from_rows(data[rows], node_codes, ids, self.edges, self.multi_video)
        if frames is None:
            vectors.data = new
            return len(new)
        old = np.asarray(vectors.data)
        here = np.isin(frame_codes(old[:, 0, :], self.multi_video), wanted) if len(old) else np.zeros(0, bool)
        n_here = int(here.sum())
        if n_here == len(new) and n_here:
            # same number of edges (points moved): write them in place and re-slice.
            # Setting ``data`` would re-measure every edge of the video (~50 ms on
            # 35k edges); the frame coordinates do not change, so neither do the
            # layer's frame range and the slicing.
            old[here] = new
            vectors.refresh(thumbnail=False, extent=False, highlight=False)
        elif n_here or len(new):
            vectors.data = np.concatenate([old[~here], new]) if len(old) else new
        return len(new)
