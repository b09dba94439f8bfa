"""Instances <-> napari tables: points rows with features, and skeleton edge vectors.

Coordinate scheme (one for the whole plugin):

* one video: points are ``[frame, y, x]``;
* several videos: points are ``[video, frame, y, x]``.

Every visible node of an instance is one row. Missing (NaN / invisible) nodes
have no row. Feature columns: ``instance`` (int id, unique within a project),
``node`` (categorical node name), ``track`` (track name, ``""`` for none),
``score`` (instance score, NaN for user instances) and ``user`` (bool).
"""

from __future__ import annotations

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
class PointGroup:
    """The rows of one instance on one frame, as read back from a layer."""

    video_index: int
    frame_index: int
    inst_id: int
    nodes: dict[str, tuple[float, float]]  # node name -> (x, y); later rows win
    track: str | None


def _as_track(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value)
    return text if text else None


def group_points(
    data: np.ndarray, features: pd.DataFrame, multi_video: bool
) -> tuple[list[PointGroup], list[str]]:
    """Split layer rows into per-instance groups keyed by (video, frame, instance id).

    Rows with NaN coordinates, without a node name or with a negative frame are
    skipped; their problems are returned as plain-words messages.

    Returns
    -------
    groups : list of PointGroup, in order of first appearance
    problems : list of str
    """
    data = np.asarray(data, dtype=np.float64)
    problems: list[str] = []
    n = len(data)
    if n == 0:
        return [], problems
    expected = 4 if multi_video else 3
    if data.ndim != 2 or data.shape[1] != expected:
        raise ValueError(
            f"points must have {expected} columns "
            f"({'[video, frame, y, x]' if multi_video else '[frame, y, x]'}), got shape {data.shape}"
        )
    if len(features) != n:
        raise ValueError(f"{n} points but {len(features)} feature rows")
    nodes = features["node"].astype(object).to_numpy() if "node" in features else np.full(n, None)
    ids = (
        pd.to_numeric(features["instance"], errors="coerce").to_numpy(dtype=float)
        if "instance" in features
        else np.full(n, -1.0)
    )
    ids = np.where(np.isnan(ids), -1, ids).astype(np.int64)
    tracks = features["track"].to_numpy(dtype=object) if "track" in features else np.full(n, None)
    lead = np.rint(data[:, : expected - 2]).astype(np.int64)
    videos = lead[:, 0] if multi_video else np.zeros(n, np.int64)
    frames = lead[:, -1]

    bad_xy = np.isnan(data).any(axis=1)
    no_node = np.array([not isinstance(v, str) or not v for v in nodes])
    bad_frame = (frames < 0) | (videos < 0)
    for mask, what in (
        (bad_xy, "have no coordinates (NaN)"),
        (no_node & ~bad_xy, "have no node name"),
        (bad_frame & ~bad_xy & ~no_node, "lie before the first frame or video"),
    ):
        if mask.any():
            problems.append(f"{int(mask.sum())} point(s) {what} and were skipped")
    keep = ~(bad_xy | no_node | bad_frame)

    groups: dict[tuple[int, int, int], PointGroup] = {}
    track_votes: dict[tuple[int, int, int], dict[str | None, int]] = {}
    for i in np.flatnonzero(keep):
        key = (int(videos[i]), int(frames[i]), int(ids[i]))
        g = groups.get(key)
        if g is None:
            g = groups[key] = PointGroup(key[0], key[1], key[2], {}, None)
            track_votes[key] = {}
        g.nodes[nodes[i]] = (float(data[i, -1]), float(data[i, -2]))
        t = _as_track(tracks[i])
        track_votes[key][t] = track_votes[key].get(t, 0) + 1
    for key, g in groups.items():
        votes = track_votes[key]
        g.track = max(votes, key=lambda t: votes[t])
    return list(groups.values()), problems
