"""Tracks on the viewer: a Tracks layer of each track's anchor trajectory, predictions coloured
by track (as SLEAP draws tracked instances), and the proofreading actions (set a track, swap two tracks from the
current frame on) applied to the project and redrawn.

The edits themselves are :mod:`napari_sleap_train.project.tracks` (no napari).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_sleap_train.io.binding import bind_project, binding_of, refresh_layers
from napari_sleap_train.io.layers import PREDICTION_ROLES, PROJECT_KEY, ROLE_KEY, hex_rgba, node_rgba
from napari_sleap_train.project import tracks as edits
from napari_sleap_train.project.model import SleapProject

#: role of the Tracks layer in its metadata
TRACKS_ROLE = "tracks"
#: metadata key: the video whose trajectories the Tracks layer shows
VIDEO_KEY = "sleap_tracks_video"
#: one colour per track, in track order (matplotlib's tab10)
TRACK_COLORS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


def track_color(index: int) -> str:
    """Colour of the track at ``index`` of the project's track list."""
    return TRACK_COLORS[index % len(TRACK_COLORS)]


def _tracks_layer(viewer: Any, project: SleapProject) -> Any | None:
    for layer in viewer.layers:
        md = layer.metadata
        if md.get(ROLE_KEY) == TRACKS_ROLE and md.get(PROJECT_KEY) is project:
            return layer
    return None


def _track_properties(names: list[str], ids: np.ndarray) -> dict[str, np.ndarray]:
    return {"track": np.array([names[int(i)] for i in ids], dtype=object), "track_index": ids.astype(float)}


def color_predictions_by_track(viewer: Any, project: SleapProject, on: bool = True) -> Any | None:
    """Colour each prediction by its track, as SLEAP draws tracked instances (``on=False``: by node again).

    Predictions on no track are drawn grey.
    """
    layer = bind_project(project, viewer.layers).get("predictions")
    if layer is None or not len(layer.data):
        return layer
    window = binding_of(project).window  # a whole-video prediction: every row, not only the layer's
    features = window.features if window is not None else layer.features
    if on:
        names = [t.name for t in project.labels.tracks]
        cycle = {n: track_color(i) for i, n in enumerate(names)}
        tracks, rows = np.unique(features["track"].fillna("").astype(str).to_numpy(), return_inverse=True)
        colors = np.array([hex_rgba(cycle.get(t, "#808080")) for t in tracks]).reshape(-1, 4)[rows]
    else:  # back to the node colours
        colors = node_rgba(features["node"], project.node_names)
    if window is not None:
        window.recolor(layer, colors)
    else:
        layer.face_color = colors
    return layer


def show_tracks(
    viewer: Any, project: SleapProject, video_index: int | None = None, tail_length: int = 30
) -> Any | None:
    """Add (or update) the ``"<project> tracks"`` layer and colour the predictions by track (same colours).

    The Tracks layer's time axis is the frame axis of one video, so with
    several videos it shows the trajectories of one of them (``video_index``;
    default: the video the viewer shows) as a ``[frame, y, x]`` layer, which
    napari lines up with the last three axes of ``[video, frame, y, x]``; the
    dock redraws it when the viewer moves to another video
    (:func:`tracks_video`). Returns the Tracks layer, ``None`` when no
    prediction of that video is on a track (the layer is then hidden).
    """
    from napari.layers import Tracks

    color_predictions_by_track(viewer, project)
    if video_index is None:
        video_index = current_frame(viewer, project)[0]
    # the mean of the visible nodes, not the anchor part: that may be missing on many frames
    traj = edits.anchor_trajectories(project.labels, video_index)
    layer = _tracks_layer(viewer, project)
    if not len(traj.data):
        if layer is not None:
            layer.visible = False
            layer.metadata[VIDEO_KEY] = video_index
        return None
    name = f"{project.name} tracks" + (f" (video {video_index})" if project.multi_video else "")
    props = _track_properties(traj.names, traj.data[:, 0])
    if layer is None:
        layer = Tracks(
            traj.data,
            features=props,
            name=name,
            tail_length=tail_length,
            tail_width=3,
            head_length=0,
            color_by="track_index",
            colormaps_dict={"track_index": _cmap(traj.data[:, 0])},
            metadata={ROLE_KEY: TRACKS_ROLE, PROJECT_KEY: project, VIDEO_KEY: video_index},
        )
        viewer.layers.append(layer)
    else:
        layer.color_by = "track_id"  # always there while the data and features change
        layer.data = traj.data
        layer.features = props
        layer.colormaps_dict = {"track_index": _cmap(traj.data[:, 0])}
        layer.color_by = "track_index"
        layer.tail_length = tail_length
        layer.name = name
        layer.metadata[VIDEO_KEY] = video_index
        layer.visible = True
    return layer


def tracks_video(viewer: Any, project: SleapProject) -> int | None:
    """The video whose trajectories the Tracks layer holds (``None``: no layer yet)."""
    layer = _tracks_layer(viewer, project)
    return None if layer is None else layer.metadata.get(VIDEO_KEY)


def _cmap(ids: np.ndarray):
    """Track id -> its colour, as the Colormap napari's Tracks layer wants.

    The layer maps the ``track_index`` values from their min..max onto 0..1, so
    the map has one equal bin per integer id between the smallest and the largest.
    """
    from napari.utils.colormaps import Colormap
    from napari.utils.colormaps.standardize_color import transform_color

    lo, hi = int(ids.min()), int(ids.max())
    rgba = [transform_color(track_color(i))[0] for i in range(lo, hi + 1)]
    if len(rgba) == 1:
        rgba = rgba * 2
    return Colormap(rgba, controls=np.linspace(0, 1, len(rgba) + 1), name="sleap tracks", interpolation="zero")


def hide_tracks(viewer: Any, project: SleapProject) -> None:
    """Hide the Tracks layer (kept, so showing it again is instant); predictions coloured by node again."""
    color_predictions_by_track(viewer, project, on=False)
    layer = _tracks_layer(viewer, project)
    if layer is not None:
        layer.visible = False


def redraw(viewer: Any, project: SleapProject) -> None:
    """After a track edit: the points layers' tracks, the colours and the Tracks layer."""
    refresh_layers(project, viewer.layers, roles=(*PREDICTION_ROLES, "labels"))
    layer = _tracks_layer(viewer, project)
    if layer is not None and layer.visible:
        show_tracks(viewer, project, tail_length=int(layer.tail_length))


def current_frame(viewer: Any, project: SleapProject) -> tuple[int, int]:
    """(video index, frame index) the viewer shows."""
    step = viewer.dims.current_step
    if project.multi_video:
        return int(step[0]), int(step[1])
    return 0, int(step[0])


def swap_tracks_here(viewer: Any, project: SleapProject, first: str, second: str) -> int:
    """Swap two tracks from the viewer's current frame on; returns the instances changed."""
    project.sync()
    video, frame = current_frame(viewer, project)
    n = edits.swap_tracks(project.labels, video, first, second, frame)
    redraw(viewer, project)
    return n


def selected_instance(viewer: Any, project: SleapProject) -> tuple[int, int, int] | None:
    """``(video, frame, position)`` of the one instance whose points are selected (predictions or labels)."""
    layers = bind_project(project, viewer.layers)
    found = set()
    for role in ("predictions", "labels"):
        layer = layers.get(role)
        if layer is None or not layer.selected_data:
            continue
        ids = layer.features["instance"].to_numpy()[sorted(layer.selected_data)]
        found.update(int(i) for i in ids)
    if len(found) != 1:
        return None
    return project.locate_instance(found.pop())


def set_selected_track(viewer: Any, project: SleapProject, name: str | None) -> tuple[int, int, int] | None:
    """Put the selected instance on track ``name``; returns where it is (``None``: nothing selected)."""
    project.sync()
    where = selected_instance(viewer, project)
    if where is None:
        return None
    edits.set_track(project.labels, *where, name)
    redraw(viewer, project)
    return where
