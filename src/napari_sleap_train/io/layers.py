"""napari layer-data tuples for a :class:`~napari_sleap_train.project.model.SleapProject`.

Layers, bottom to top:

* ``"<project> video"`` (one Image layer per readable video; ``"<project> video <i>"``
  when there are several) — lazy :class:`~napari_sleap_train.project.video.VideoArray`;
* ``"<project> predictions skeleton"`` / ``"<project> predictions"`` when the project
  has predicted instances to show (those promoted to user instances are hidden,
  as in SLEAP; edits there are not saved, use
  :meth:`SleapProject.promote_predictions`);
* ``"<project> skeleton"`` — Vectors layer of the user instances' edges (present
  whenever the skeleton has edges). Each edge carries its frame coordinate, so
  napari's slicing shows the current frame's edges only. Once the layers are
  bound (:func:`~napari_sleap_train.io.binding.bind_project`; the reader arranges it when a file is
  opened in a viewer) the edges of an edited frame are redrawn after each edit;
* ``"<project> labels"`` — the editable user keypoints.

Every layer's metadata holds ``sleap_project`` (the shared project object),
``sleap_role`` (``video``, ``labels``, ``predictions``, ``skeleton``,
``predictions_skeleton``), ``suggestions`` (list of (video, frame)), ``tracks``
and ``axes``; video layers also ``sleap_video_index``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from napari_sleap_train.project.merge_plan import LayerTables
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.project.tables import empty_features

LayerData = tuple[Any, dict[str, Any], str]

#: Layer metadata keys written by the reader.
PROJECT_KEY = "sleap_project"
ROLE_KEY = "sleap_role"
VIDEO_INDEX_KEY = "sleap_video_index"
#: Layer roles of the predictions, in layer-list order (bottom first).
PREDICTION_ROLES = ("predictions_skeleton", "predictions")

#: Qualitative palette for node colours (cycled when a skeleton has more nodes).
NODE_PALETTE = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0",
    "#f032e6", "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8",
    "#800000", "#aaffc3", "#808000", "#ffd8b1", "#000075", "#a9a9a9",
)  # fmt: skip
LABELS_EDGE_COLOR = "#7fdbff"
PREDICTIONS_EDGE_COLOR = "#ffb000"


def node_colors(node_names: list[str]) -> dict[str, str]:
    """Fixed colour per node name, in skeleton order."""
    return {n: NODE_PALETTE[i % len(NODE_PALETTE)] for i, n in enumerate(node_names)}


def hex_rgba(hexa: str) -> np.ndarray:
    """``"#rrggbb"`` as an opaque RGBA row of floats in 0-1."""
    return np.array([*(int(hexa[k : k + 2], 16) / 255 for k in (1, 3, 5)), 1.0])


def node_rgba(nodes: Any, node_names: list[str]) -> np.ndarray:
    """RGBA rows (N, 4) of the node colours of :func:`node_colors` for a ``node`` column (white: unknown).

    The predictions layer is given its colours this way (napari's "direct" colours)
    rather than by its node colour cycle: napari maps a cycle point by point in
    Python, twice per update, which for a whole-video prediction holds the GUI.
    """
    names = list(node_names)
    lut = np.ones((len(names) + 1, 4))
    for i, hexa in enumerate(node_colors(names).values()):
        lut[i] = hex_rgba(hexa)
    categories = pd.Categorical(np.asarray(nodes, dtype=object), categories=names)
    return lut[np.where(categories.codes < 0, len(names), categories.codes)]


def _metadata(project: SleapProject, role: str, **extra: Any) -> dict[str, Any]:
    meta = {
        PROJECT_KEY: project,
        ROLE_KEY: role,
        "suggestions": project.suggestions,
        "tracks": project.tracks,
        "axes": project.points_axes,
    }
    meta.update(extra)
    return meta


def _point_size(project: SleapProject) -> float:
    sizes = []
    for i in range(len(project.labels.videos)):
        arr = project.video_array(i)
        if arr is not None:
            sizes.append(max(arr.shape[-3:-1] if arr.rgb else arr.shape[-2:]))
    frame = max(sizes) if sizes else 512
    return float(np.clip(round(frame / 110), 4, 16))


def _points_layer(
    project: SleapProject, data: np.ndarray, features, name: str, role: str, size: float, user: bool
) -> LayerData:
    names = project.node_names
    kwargs = {
        "name": name,
        "ndim": len(project.points_axes),
        "features": features,
        "feature_defaults": {
            "instance": project.next_instance_id,
            "node": names[0] if names else None,
            "track": "",
            "score": np.nan,
            "user": user,
        },
        "border_color": "white" if user else "black",
        "border_width": 0.1,
        "size": size,
        "symbol": "disc" if user else "diamond",
        "opacity": 1.0 if user else 0.7,
        "text": {
            "string": "node",  # the feature itself: a format string is evaluated row by row
            "visible": False,
            "size": 8,
            "color": "white",
            "anchor": "upper_left",
        },
        "axis_labels": project.points_axes,
        "metadata": _metadata(project, role),
    }
    if user:  # new points take their node's colour as the user places them
        kwargs.update(face_color="node", face_color_cycle=node_colors(names) if names else ["white"])
    else:  # set with the rows (see node_rgba)
        kwargs.update(face_color=node_rgba(features["node"], names) if len(features) else "white")
    return data, kwargs, "points"


def _skeleton_layer(
    project: SleapProject, vectors: np.ndarray, name: str, role: str, color: str, width: float
) -> LayerData:
    kwargs = {
        "name": name,
        "ndim": len(project.points_axes),
        "edge_color": color,
        "edge_width": width,
        "length": 1.0,
        "vector_style": "line",
        "axis_labels": project.points_axes,
        "metadata": _metadata(project, role),
    }
    return vectors, kwargs, "vectors"


def video_layers(project: SleapProject) -> list[LayerData]:
    """One lazy image layer per readable video."""
    out = []
    n = len(project.labels.videos)
    for i in range(n):
        arr = project.video_array(i)
        if arr is None:
            continue
        name = f"{project.name} video" if n == 1 else f"{project.name} video {i}"
        kwargs = {
            "name": name,
            "rgb": arr.rgb,
            "contrast_limits": [0, 255],
            "multiscale": False,
            "metadata": _metadata(project, "video", **{VIDEO_INDEX_KEY: i}),
            "axis_labels": project.points_axes,
        }
        if project.multi_video:
            kwargs["translate"] = (i, 0, 0, 0)
        out.append((arr, kwargs, "image"))
    return out


def prediction_layers(
    project: SleapProject, size: float | None = None, tables: LayerTables | None = None
) -> list[LayerData]:
    """``"<project> predictions skeleton"`` and ``"<project> predictions"`` (empty without predictions).

    ``tables`` (rows, features, skeleton vectors) built already, e.g. by a merge
    off the GUI thread (:meth:`SleapProject.apply_merge`), are used as they are.
    """
    if tables is None:
        if not project.has_predictions:
            return []
        data, feats = project.predicted_points()
        vectors = project.skeleton_vectors(user=False)
    else:
        data, feats, vectors = tables
        if not len(data):
            return []
    size = _point_size(project) if size is None else size
    return [
        _skeleton_layer(
            project,
            vectors,
            f"{project.name} predictions skeleton",
            "predictions_skeleton",
            PREDICTIONS_EDGE_COLOR,
            max(1.0, size / 4),
        ),
        _points_layer(project, data, feats, f"{project.name} predictions", "predictions", size, user=False),
    ]


def empty_prediction_layers(project: SleapProject, size: float | None = None) -> list[LayerData]:
    """The two predictions layers with no rows yet (inserted before a merge fills them)."""
    ndim = len(project.points_axes)
    empty = (np.empty((0, ndim)), empty_features(project.node_names), np.empty((0, 2, ndim)))
    size = _point_size(project) if size is None else size
    return [
        _skeleton_layer(
            project,
            empty[2],
            f"{project.name} predictions skeleton",
            "predictions_skeleton",
            PREDICTIONS_EDGE_COLOR,
            max(1.0, size / 4),
        ),
        _points_layer(project, empty[0], empty[1], f"{project.name} predictions", "predictions", size, user=False),
    ]


def skeleton_layer(project: SleapProject, size: float | None = None) -> LayerData:
    """``"<project> skeleton"``: edges of the user instances (follows edits once bound)."""
    size = _point_size(project) if size is None else size
    return _skeleton_layer(
        project,
        project.skeleton_vectors(user=True),
        f"{project.name} skeleton",
        "skeleton",
        LABELS_EDGE_COLOR,
        max(1.0, size / 4),
    )


def labels_layer(project: SleapProject, size: float | None = None) -> LayerData:
    """``"<project> labels"``: the editable user keypoints."""
    size = _point_size(project) if size is None else size
    data, feats = project.user_points()
    return _points_layer(project, data, feats, f"{project.name} labels", "labels", size, user=True)


def project_layer_data(project: SleapProject) -> list[LayerData]:
    """All layers of a project, bottom to top (see module docstring).

    The skeleton layer is there whenever the skeleton has edges (also with no
    labels yet), so that edges appear as soon as the user places points.
    """
    size = _point_size(project)
    out = video_layers(project)
    out += prediction_layers(project, size)
    if project.edges:
        out.append(skeleton_layer(project, size))
    out.append(labels_layer(project, size))
    return out
