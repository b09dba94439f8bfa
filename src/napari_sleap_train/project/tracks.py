"""Track proofreading on a ``sleap_io.Labels`` (no napari): set an instance's track, swap two
tracks from a frame on, and each track's anchor trajectory (what the viewer's Tracks layer shows).

Instances are addressed as SLEAP does: ``(video index, frame index, position in the
frame's instance list)``. Nothing here saves; the caller saves the project as usual.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import sleap_io as sio


class TrackEditError(ValueError):
    """The track edit cannot be made (plain-words message)."""


def _frame(labels: sio.Labels, video_index: int, frame_index: int) -> sio.LabeledFrame:
    if not 0 <= video_index < len(labels.videos):
        raise TrackEditError(f"There is no video {video_index}.")
    video = labels.videos[video_index]
    for lf in labels.labeled_frames:
        if lf.video is video and lf.frame_idx == frame_index:
            return lf
    raise TrackEditError(f"Frame {frame_index} of video {video_index} has no instances.")


def track_named(labels: sio.Labels, name: str) -> sio.Track:
    """The track called ``name``, added to the labels when there is none."""
    for t in labels.tracks:
        if t.name == name:
            return t
    track = sio.Track(name=name)
    labels.tracks.append(track)
    return track


def set_track(labels: sio.Labels, video_index: int, frame_index: int, instance: int, name: str | None) -> None:
    """Put one instance on track ``name`` (``None``: on no track).

    As in SLEAP, an instance of the same frame already on that track takes the
    instance's old track (one instance per track and frame).
    """
    lf = _frame(labels, video_index, frame_index)
    if not 0 <= instance < len(lf.instances):
        raise TrackEditError(f"Frame {frame_index} has no instance {instance}.")
    inst = lf.instances[instance]
    new = track_named(labels, name) if name else None
    old = inst.track
    for other in lf.instances:
        if other is not inst and new is not None and other.track is new:
            other.track = old
    inst.track = new


def swap_tracks(labels: sio.Labels, video_index: int, first: str, second: str, from_frame: int) -> int:
    """Swap tracks ``first`` and ``second`` on every frame of a video from ``from_frame`` on.

    Returns
    -------
    int
        Instances that changed track.
    """
    if first == second:
        raise TrackEditError("Choose two different tracks to swap.")
    names = {t.name: t for t in labels.tracks}
    missing = [n for n in (first, second) if n not in names]
    if missing:
        raise TrackEditError(f"The project has no track {', '.join(missing)}.")
    a, b = names[first], names[second]
    video = labels.videos[video_index]
    n = 0
    for lf in labels.labeled_frames:
        if lf.video is not video or lf.frame_idx < from_frame:
            continue
        for inst in lf.instances:
            if inst.track is a:
                inst.track, n = b, n + 1
            elif inst.track is b:
                inst.track, n = a, n + 1
    return n


@dataclass
class Trajectories:
    """Anchor trajectories of the tracks of one video, as napari's Tracks layer takes them.

    Attributes
    ----------
    data
        ``(n, 4)`` rows ``track id, frame, y, x``, sorted by track then frame.
    names
        Track name of each track id (id = position in the labels' track list).
    """

    data: np.ndarray
    names: list[str]


def anchor_trajectories(
    labels: sio.Labels, video_index: int, anchor: str | None = None, predicted: bool = True
) -> Trajectories:
    """Where each track is on each frame: its instance's ``anchor`` node, else the mean of its nodes.

    Parameters
    ----------
    predicted
        Use the predicted instances (True) or the user instances (False).
    """
    video = labels.videos[video_index]
    ids = {id(t): i for i, t in enumerate(labels.tracks)}
    rows = []
    for lf in labels.labeled_frames:
        if lf.video is not video:
            continue
        for inst in lf.predicted_instances if predicted else lf.user_instances:
            if inst.track is None or id(inst.track) not in ids:
                continue
            xy = np.asarray(inst.numpy(), dtype=np.float64)[:, :2]
            names = [n.name for n in inst.skeleton.nodes]
            point = xy[names.index(anchor)] if anchor in names else np.full(2, np.nan)
            if not np.isfinite(point).all():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # an instance with no visible node
                    point = np.nanmean(xy, axis=0)
            if np.isfinite(point).all():
                rows.append((ids[id(inst.track)], lf.frame_idx, point[1], point[0]))
    data = np.array(sorted(rows), dtype=np.float64).reshape(-1, 4)
    return Trajectories(data, [t.name for t in labels.tracks])
