"""Instances <-> tables: points rows with features, and skeleton edge vectors.

The tables are what a napari Points / Vectors layer holds, but this module
knows nothing of napari: rows are numpy arrays, features a pandas DataFrame.

Coordinate scheme (one for the whole plugin):

* one video: points are ``[frame, y, x]``;
* several videos: points are ``[video, frame, y, x]``.

Every visible node of an instance is one row. Missing (NaN / invisible) nodes
have no row. Feature columns: ``instance`` (int id, unique within a project),
``node`` (categorical node name), ``track`` (track name, ``""`` for none),
``score`` (instance score, NaN for user instances) and ``user`` (bool).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sleap_io as sio

FEATURE_COLUMNS = ("instance", "node", "track", "score", "user")


@dataclass(frozen=True)
class InstanceRef:
    """Where an instance lives and the id its points carry in the layers."""

    inst_id: int
    video_index: int
    frame_index: int
    instance: sio.Instance


def coord_prefix(ref: InstanceRef, multi_video: bool) -> tuple[int, ...]:
    """Leading (non-spatial) coordinates of an instance's rows."""
    return (ref.video_index, ref.frame_index) if multi_video else (ref.frame_index,)


def empty_features(node_names: Sequence[str]) -> pd.DataFrame:
    """A zero-row features table with the plugin's columns and dtypes."""
    return pd.DataFrame(
        {
            "instance": pd.Series([], dtype=np.int64),
            "node": pd.Categorical([], categories=list(node_names)),
            "track": pd.Series([], dtype=object),
            "score": pd.Series([], dtype=np.float64),
            "user": pd.Series([], dtype=bool),
        }
    )


def points_table(
    refs: Sequence[InstanceRef], node_names: Sequence[str], multi_video: bool
) -> tuple[np.ndarray, pd.DataFrame]:
    """Points rows and features for a list of instances.

    Parameters
    ----------
    refs
        Instances with their ids and locations.
    node_names
        All node names (categories of the ``node`` column, in skeleton order).
    multi_video
        Use ``[video, frame, y, x]`` instead of ``[frame, y, x]``.

    Returns
    -------
    data : (N, 3 or 4) float64 array
    features : pandas.DataFrame with :data:`FEATURE_COLUMNS`
    """
    ndim = 4 if multi_video else 3
    blocks, ids, nodes, tracks, scores, users = [], [], [], [], [], []
    for ref in refs:
        inst = ref.instance
        xy = inst.numpy()
        vis = ~np.isnan(xy).any(axis=1)
        n = int(vis.sum())
        if n == 0:
            continue
        block = np.empty((n, ndim), np.float64)
        block[:, : ndim - 2] = coord_prefix(ref, multi_video)
        block[:, -2] = xy[vis, 1]
        block[:, -1] = xy[vis, 0]
        blocks.append(block)
        names = np.asarray(inst.skeleton.node_names, dtype=object)[vis]
        nodes.append(names)
        ids.append(np.full(n, ref.inst_id, np.int64))
        tracks += [inst.track.name if inst.track is not None else ""] * n
        is_pred = isinstance(inst, sio.PredictedInstance)
        score = float(inst.score) if is_pred and inst.score is not None else np.nan
        scores.append(np.full(n, score))
        users.append(np.full(n, not is_pred))
    if not blocks:
        return np.empty((0, ndim), np.float64), empty_features(node_names)
    features = pd.DataFrame(
        {
            "instance": np.concatenate(ids),
            "node": pd.Categorical(np.concatenate(nodes), categories=list(node_names)),
            "track": pd.Series(tracks, dtype=object),
            "score": np.concatenate(scores),
            "user": np.concatenate(users),
        }
    )
    return np.concatenate(blocks), features


def edge_vectors(refs: Sequence[InstanceRef], multi_video: bool) -> np.ndarray:
    """Skeleton edges as napari vectors: ``(E, 2, D)`` of (start, displacement).

    The start carries the frame (and video) coordinate and the displacement is
    zero along those axes, so napari's slicing shows only the edges of the
    current frame. Edges with a missing end are left out.
    """
    ndim = 4 if multi_video else 3
    out = []
    for ref in refs:
        inst = ref.instance
        inds = inst.skeleton.edge_inds
        if not inds:
            continue
        xy = inst.numpy()
        e = np.asarray(inds, dtype=int)
        src, dst = xy[e[:, 0]], xy[e[:, 1]]
        ok = ~(np.isnan(src).any(axis=1) | np.isnan(dst).any(axis=1))
        if not ok.any():
            continue
        src, dst = src[ok], dst[ok]
        vec = np.zeros((len(src), 2, ndim), np.float64)
        vec[:, 0, : ndim - 2] = coord_prefix(ref, multi_video)
        vec[:, 0, -2:] = src[:, ::-1]
        vec[:, 1, -2:] = (dst - src)[:, ::-1]
        out.append(vec)
    if not out:
        return np.empty((0, 2, ndim), np.float64)
    return np.concatenate(out)


@dataclass
class GroupedPoints:
    """Layer rows grouped per instance and frame, as read back from a layer.

    Attributes
    ----------
    keys : (G, 3) int64
        (video index, frame index, instance id) of each group, in order of
        first appearance in the layer.
    xy : (G, K, 2) float64
        x, y of each node (in ``node_names`` order) of each group; NaN where the
        group has no row for that node. When a node has several rows in a group,
        the last row wins (e.g. the newest added point).
    tracks : list of str or None
        Track name of each group: the most common ``track`` value of its rows.
    """

    keys: np.ndarray
    xy: np.ndarray
    tracks: list[str | None]

    def __len__(self) -> int:
        return len(self.keys)


def _as_track(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value)
    return text if text else None


def group_points(
    data: np.ndarray, features: pd.DataFrame, multi_video: bool, node_names: Sequence[str]
) -> tuple[GroupedPoints, list[str]]:
    """Group layer rows per instance, keyed by (video, frame, instance id).

    Rows with NaN coordinates, without a node name, with a node name that is
    not in ``node_names`` or before the first frame are skipped; their problems
    are returned as plain-words messages.

    Returns
    -------
    groups : GroupedPoints
    problems : list of str
    """
    data = np.asarray(data, dtype=np.float64)
    k = len(node_names)
    problems: list[str] = []
    empty = GroupedPoints(np.empty((0, 3), np.int64), np.empty((0, k, 2)), [])
    n = len(data)
    if n == 0:
        return empty, problems
    expected = 4 if multi_video else 3
    if data.ndim != 2 or data.shape[1] != expected:
        raise ValueError(
            f"points must have {expected} columns "
            f"({'[video, frame, y, x]' if multi_video else '[frame, y, x]'}), got shape {data.shape}"
        )
    if features is None or len(features) != n:
        raise ValueError(f"{n} points but {0 if features is None else len(features)} feature rows")
    names = features["node"].to_numpy(dtype=object) if "node" in features else np.full(n, None, dtype=object)
    codes = pd.Index(list(node_names)).get_indexer(names).astype(np.int64)  # -1: unknown name
    ids = (
        pd.to_numeric(features["instance"], errors="coerce").to_numpy(dtype=float)
        if "instance" in features
        else np.full(n, -1.0)
    )
    ids = np.where(np.isnan(ids), -1, ids).astype(np.int64)
    tracks = features["track"].to_numpy(dtype=object) if "track" in features else np.full(n, None)
    lead = np.rint(np.nan_to_num(data[:, : expected - 2], nan=-1)).astype(np.int64)
    videos = lead[:, 0] if multi_video else np.zeros(n, np.int64)
    frames = lead[:, -1]

    bad_xy = np.isnan(data).any(axis=1)
    has_name = np.array([isinstance(v, str) and v != "" for v in names])
    bad_frame = (frames < 0) | (videos < 0)
    unknown = has_name & (codes < 0) & ~bad_xy
    if bad_xy.any():
        problems.append(f"{int(bad_xy.sum())} point(s) have no coordinates (NaN) and were skipped")
    if (~has_name & ~bad_xy).any():
        problems.append(f"{int((~has_name & ~bad_xy).sum())} point(s) have no node name and were skipped")
    if unknown.any():
        problems.append(
            f"points with node name(s) {sorted(set(names[unknown]))} are not in the skeleton and were skipped"
        )
    early = bad_frame & ~bad_xy & (codes >= 0)
    if early.any():
        problems.append(f"{int(early.sum())} point(s) lie before the first frame or video and were skipped")
    rows = np.flatnonzero(~bad_xy & (codes >= 0) & ~bad_frame)
    if not len(rows):
        return empty, problems

    keys = np.column_stack([videos[rows], frames[rows], ids[rows]])
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    # renumber groups by first appearance so the output follows the layer's order
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    group = rank[inverse]
    n_groups = len(order)

    # the last row of each (group, node) pair wins
    row_codes = codes[rows]
    srt = np.lexsort((np.arange(len(rows)), row_codes, group))
    g_s, c_s = group[srt], row_codes[srt]
    last = np.ones(len(srt), bool)
    last[:-1] = (g_s[1:] != g_s[:-1]) | (c_s[1:] != c_s[:-1])
    xy = np.full((n_groups, k, 2), np.nan)
    take = rows[srt[last]]
    xy[g_s[last], c_s[last]] = data[take][:, [-1, -2]]

    # track per group: usually all rows agree; vote only where they do not
    tcodes, tuniq = pd.factorize(pd.Series(tracks[rows], dtype=object).map(_as_track), use_na_sentinel=False)
    by_group = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[by_group], np.arange(n_groups))
    t_sorted = tcodes[by_group]
    lo = np.minimum.reduceat(t_sorted, starts)
    hi = np.maximum.reduceat(t_sorted, starts)
    chosen = lo.copy()
    for g in np.flatnonzero(lo != hi):
        end = starts[g + 1] if g + 1 < n_groups else len(t_sorted)
        chosen[g] = np.bincount(t_sorted[starts[g] : end]).argmax()
    track_names = [tuniq[c] for c in chosen]
    track_names = [None if t is None or (isinstance(t, float) and np.isnan(t)) else t for t in track_names]
    return GroupedPoints(keys[first[order]], xy, track_names), problems


def fingerprint(data: np.ndarray, features: pd.DataFrame) -> bytes:
    """Cheap digest of the columns that edits can change (coordinates, instance, node, track).

    Tells whether a points table changed since it was last read, without
    comparing it row by row.
    """
    h = hashlib.blake2b(digest_size=16)
    arr = np.ascontiguousarray(np.asarray(data, dtype=np.float64))
    h.update(str(arr.shape).encode())
    h.update(arr.tobytes())
    for col in ("instance", "node", "track"):
        if col not in features:
            continue
        values = features[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            h.update("\x1f".join(map(str, values.cat.categories)).encode())
            h.update(np.ascontiguousarray(values.cat.codes.to_numpy()).tobytes())
        elif pd.api.types.is_numeric_dtype(values.dtype):
            h.update(np.ascontiguousarray(values.to_numpy()).tobytes())
        else:
            h.update("\x1f".join(map(str, values.to_numpy())).encode())
    return h.digest()
