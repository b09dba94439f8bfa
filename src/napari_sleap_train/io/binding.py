"""Bind a :class:`~napari_sleap_train.project.model.SleapProject` to its napari layers.

The reader puts the same project object in every layer's
``metadata["sleap_project"]``. Binding makes the layers live:

* the ``"<name> labels"`` Points layer becomes the project's source of edits
  (a :class:`LayerBinding` attached as the project's
  :class:`~napari_sleap_train.project.model.LayerLink`): before saving,
  snapshotting or answering a query the project folds in what changed;
* each skeleton Vectors layer is redrawn when its Points layer is edited
  (:class:`~napari_sleap_train.io.live_skeleton.SkeletonFollower`);
* promoted predictions move from the predictions layer to the labels layer.

:func:`find_project` (the dock) and the reader bind; :func:`refresh_layers`
brings the predictions layers up to date after new predictions were merged.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from napari.layers import Layer

from napari_sleap_train.io import layer_sync
from napari_sleap_train.io.layers import (
    PREDICTION_ROLES,
    PROJECT_KEY,
    ROLE_KEY,
    LayerData,
    empty_prediction_layers,
    labels_layer,
    prediction_layers,
    skeleton_layer,
)
from napari_sleap_train.io.live_skeleton import SkeletonFollower
from napari_sleap_train.io.prediction_window import WINDOW_POINTS, PredictionWindow
from napari_sleap_train.project.edits import EditSummary
from napari_sleap_train.project.merge_plan import LayerTables
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.project.tables import fingerprint

#: (points role, skeleton role) pairs whose edges follow point edits.
SKELETON_PAIRS = (("labels", "skeleton"), ("predictions", "predictions_skeleton"))


class LayerBinding:
    """A project's live napari layers (its :class:`~napari_sleap_train.project.model.LayerLink`).

    Holds the layers by weak reference: closing a layer never keeps it alive.
    """

    def __init__(self) -> None:
        self._labels: weakref.ref | None = None
        self._labels_fingerprint: bytes | None = None
        self._layers: dict[str, weakref.ref] = {}
        self.followers: dict[str, SkeletonFollower] = {}
        #: something moves the predictions window with the viewer's frame (the labeling controller)
        self.follows_frames = False
        #: frame code (:func:`~napari_sleap_train.io.live_skeleton.frame_codes`) the viewer shows
        self.position: int | None = None
        #: the predictions layer's rows when it holds only the frames around the current one
        self.window: PredictionWindow | None = None

    @property
    def labels(self) -> Any | None:
        """The bound user-labels Points layer, if still alive."""
        return self._labels() if self._labels is not None else None

    def layer(self, role: str) -> Any | None:
        ref = self._layers.get(role)
        return ref() if ref is not None else None

    # -- LayerLink ----------------------------------------------------------------------
    def pull(self, apply: Callable[[np.ndarray, pd.DataFrame], EditSummary]) -> EditSummary | None:
        layer = self.labels
        if layer is None:
            return None
        fp = fingerprint(layer.data, layer.features)
        if fp == self._labels_fingerprint:
            return None
        summary = apply(layer.data, layer.features)
        self._labels_fingerprint = fp
        return summary

    def promoted(self, data: np.ndarray, features: pd.DataFrame, prediction_ids: set[int]) -> bool:
        labels = self.labels
        if labels is not None:
            layer_sync.append_rows(labels, data, features)
            self._labels_fingerprint = fingerprint(labels.data, labels.features)
        predictions = self.layer("predictions")
        if predictions is not None:
            layer_sync.remove_instances(predictions, prediction_ids)
        self.forget_predictions(prediction_ids)
        return labels is not None

    def forget_predictions(self, prediction_ids: set[int]) -> None:
        """Predictions accepted or deleted: they leave the window's table too (not shown again when it moves)."""
        if self.window is not None:
            self.window.drop_instances(set(prediction_ids))

    def show_predictions(
        self, layer: Any, rows: np.ndarray, features: Any, colors: np.ndarray | None, multi_video: bool
    ) -> bool:
        """Set the predictions layer's rows: all of them, or the window around the frame shown.

        A window is used when something follows the viewer's frame and the rows
        are more than :data:`~napari_sleap_train.io.prediction_window.WINDOW_POINTS`;
        the caller draws its skeleton (:func:`refresh_layers`). Returns whether a window is used.
        """
        if not (self.follows_frames and len(rows) > WINDOW_POINTS):
            self.window = None
            layer_sync.replace_content(layer, rows, features, colors)
            return False
        self.window = PredictionWindow.of(rows, features, colors, multi_video)
        code = self.position if self.position is not None else int(self.window.codes[0])
        self._fill_window(layer, code, skeleton=False)
        return True

    def follow_frame(self, code: int) -> bool:
        """The viewer shows frame ``code``: move the predictions window when it comes near an edge."""
        self.position = code
        layer = self.layer("predictions")
        if self.window is None or layer is None or not self.window.needs_move(code):
            return False
        self._fill_window(layer, code)
        return True

    def _fill_window(self, layer: Any, code: int, skeleton: bool = True) -> None:
        # the skeleton is drawn once from the new rows (the follower alone would redraw it
        # for the features and again for the data)
        follower = self.followers.get("predictions")
        with follower.muted() if follower is not None else nullcontext():
            self.window.show(layer, code)
        if follower is not None and skeleton:
            follower.refresh(None)

    # -- binding ------------------------------------------------------------------------
    def bind_labels(self, project: SleapProject, layer: Any) -> EditSummary:
        project.sync()  # fold edits of a previously bound layer first
        fp = fingerprint(layer.data, layer.features)
        if fp == project.emitted_fingerprint:
            summary = EditSummary()  # the layer shows the project as it is
        else:
            summary = project.update_from_points(layer.data, layer.features)
        self._labels = weakref.ref(layer)
        self._labels_fingerprint = fp
        return summary


def binding_of(project: SleapProject) -> LayerBinding:
    """The project's :class:`LayerBinding` (attached on first use)."""
    if not isinstance(project.link, LayerBinding):
        project.link = LayerBinding()
    return project.link


def bind_points_layer(project: SleapProject, layer: Any) -> EditSummary:
    """Follow a napari Points layer holding the project's user labels.

    Its current content is applied now, and later edits are synced before
    every query, snapshot or save (a cheap fingerprint tells whether it changed).
    """
    return binding_of(project).bind_labels(project, layer)


def bind_project(project: SleapProject, layers: Iterable[Any]) -> dict[str, Any]:
    """Follow the project's napari layers among ``layers``.

    The user-labels Points layer is bound for edits (:func:`bind_points_layer`)
    and each skeleton Vectors layer follows its Points layer (only the edited
    frames are redrawn). Calling it again is cheap and rebinds layers that were
    replaced.

    Returns
    -------
    dict
        The project's layers found, by role (the top-most one of each role).
    """
    binding = binding_of(project)
    found: dict[str, Any] = {}
    for layer in reversed(list(layers)):
        meta = getattr(layer, "metadata", None) or {}
        if meta.get(PROJECT_KEY) is project and meta.get(ROLE_KEY):
            found.setdefault(meta[ROLE_KEY], layer)
    for role, layer in found.items():
        binding._layers[role] = weakref.ref(layer)
    labels = found.get("labels")
    if labels is not None and binding.labels is not labels:
        binding.bind_labels(project, labels)
    for points_role, vectors_role in SKELETON_PAIRS:
        points, vectors = found.get(points_role), found.get(vectors_role)
        if points is None or vectors is None:
            continue
        old = binding.followers.get(points_role)
        if old is not None and old.points_layer is points and old.vectors_layer is vectors:
            continue
        if old is not None:
            old.disconnect()
        binding.followers[points_role] = SkeletonFollower(
            points, vectors, project.node_names, project.edges, project.multi_video
        )
    return found


def project_layer(project: SleapProject, role: str) -> Any | None:
    """The bound napari layer of a role (``labels``, ``predictions``, ...), if still alive."""
    return binding_of(project).layer(role)


def follower(project: SleapProject, points_role: str = "labels") -> SkeletonFollower | None:
    """The skeleton follower of a Points layer role, if bound."""
    return binding_of(project).followers.get(points_role)


def find_project(layers: Iterable[Any]) -> SleapProject | None:
    """The SLEAP project behind a viewer's layers, bound to its user-labels layer.

    Prefers the project of the active layer, else the top-most layer that
    carries one. Its layers are bound (:func:`bind_project`) so that queries,
    snapshots and saves see the user's edits, and the skeleton layers follow.

    Parameters
    ----------
    layers
        ``viewer.layers`` (or any iterable of napari layers).
    """
    layers = list(layers) if not hasattr(layers, "selection") else layers
    project = None
    active = getattr(getattr(layers, "selection", None), "active", None)
    if active is not None:
        project = active.metadata.get(PROJECT_KEY)
    if project is None:
        for layer in reversed(list(layers)):
            project = layer.metadata.get(PROJECT_KEY)
            if project is not None:
                break
    if project is None:
        return None
    bind_project(project, layers)
    return project


def bind_layers(layers: Iterable[Any]) -> list[SleapProject]:
    """Bind every SLEAP project found among ``layers`` (see :func:`bind_project`)."""
    layers = list(layers)
    projects: list[SleapProject] = []
    for layer in layers:
        project = (getattr(layer, "metadata", None) or {}).get(PROJECT_KEY)
        if isinstance(project, SleapProject) and all(project is not p for p in projects):
            projects.append(project)
    for project in projects:
        bind_project(project, layers)
    return projects


# -- refreshing after new predictions --------------------------------------------------
@dataclass
class LayerRefresh:
    """What :func:`refresh_layers` did.

    Attributes
    ----------
    updated : list of Layer
        Existing layers whose data were replaced in place.
    added : list of Layer
        Layers created and inserted into the layer list.
    to_add : list of layer-data tuples
        Layers the caller must add (``layers`` was not a napari ``LayerList``).
    """

    updated: list[Layer] = field(default_factory=list)
    added: list[Layer] = field(default_factory=list)
    to_add: list[LayerData] = field(default_factory=list)


def _is_layer_list(layers: Any) -> bool:
    return all(hasattr(layers, name) for name in ("insert", "index", "selection"))


def refresh_layers(
    project: SleapProject,
    layers: Any,
    roles: Iterable[str] = PREDICTION_ROLES,
    tables: LayerTables | None = None,
) -> LayerRefresh:
    """Bring the project's layers of some roles up to date with its labels.

    Existing layers are updated in place (data and features; name, colours,
    visibility and position stay as the user left them). Missing ones are
    created and inserted below the labels layer when ``layers`` is a napari
    ``LayerList`` (``viewer.layers``); otherwise their layer data is returned
    for the caller to add. The layers are then bound (:func:`bind_project`).

    Parameters
    ----------
    project
        The project (e.g. after :meth:`~SleapProject.add_predictions`).
    layers
        ``viewer.layers`` (preferred) or an iterable of napari layers.
    roles
        Layer roles to refresh; default the predictions and their skeleton.
    tables
        The predictions' rows, features and skeleton vectors, built already
        (:meth:`SleapProject.apply_merge`): set as they are, the skeleton is
        not recomputed from the rows. New layers are inserted empty and then
        filled, which costs napari less than creating them full.

    A whole-video prediction fills the predictions layer with the frames around
    the current one only (:meth:`LayerBinding.show_predictions`).
    """
    roles = tuple(roles)
    followers_before = dict(binding_of(project).followers)
    current = bind_project(project, layers)
    labels = current.get("labels")
    size = float(np.mean(labels.size)) if labels is not None and len(labels.data) else None
    wanted: dict[str, LayerData] = {}
    if any(r in roles for r in PREDICTION_ROLES):
        for item in prediction_layers(project, size, tables):
            wanted[item[1]["metadata"][ROLE_KEY]] = item
    if "skeleton" in roles and project.edges:
        wanted["skeleton"] = skeleton_layer(project, size)
    if "labels" in roles:
        wanted["labels"] = labels_layer(project, size)
    out = LayerRefresh()
    if _is_layer_list(layers) and "predictions" in wanted and any(current.get(r) is None for r in PREDICTION_ROLES):
        # new predictions layers go in empty and are then filled (cheaper; and filling may use a window)
        out.added += add_empty_prediction_layers(project, layers)
        current = bind_project(project, layers)
    binding = binding_of(project)
    windowed = binding.follows_frames and "predictions" in wanted and len(wanted["predictions"][0]) > WINDOW_POINTS
    predictions_follower = follower(project, "predictions")
    # the skeleton vectors come with the tables: not recomputed from the rows (except of a window's rows)
    mute = tables is not None and predictions_follower is not None and not windowed
    with predictions_follower.muted() if mute else nullcontext():
        for role in roles:
            layer = current.get(role)
            item = wanted.get(role)
            if layer is not None:
                if role == "predictions_skeleton" and windowed and item is not None:
                    pass  # drawn from the window's rows below
                elif item is None:  # nothing to show any more: empty the layer, keep it
                    skeleton = role.endswith("skeleton")
                    data = np.empty((0, 2, layer.ndim)) if skeleton else np.empty((0, layer.ndim))
                    layer_sync.replace_content(layer, data, None if skeleton else layer.features.iloc[:0])
                    if role == "predictions":
                        binding.window = None
                else:
                    colors = item[1].get("face_color")  # the predictions' direct colours (labels: a cycle)
                    colors = colors if isinstance(colors, np.ndarray) and len(colors) == len(item[0]) else None
                    if role == "predictions":
                        # (a window's edges are drawn below, from its rows)
                        binding.show_predictions(layer, item[0], item[1].get("features"), colors, project.multi_video)
                    else:
                        layer_sync.replace_content(layer, item[0], item[1].get("features"), colors)
                if role == "labels":
                    bind_points_layer(project, layer)
                if layer not in out.added:
                    out.updated.append(layer)
            elif item is not None:
                out.to_add.append(item)
    if out.to_add and _is_layer_list(layers):
        for data, kwargs, kind in out.to_add:
            layer = Layer.create(data, kwargs, kind)
            anchor = _insert_index(project, layers, kwargs["metadata"][ROLE_KEY])
            layers.insert(anchor, layer)
            out.added.append(layer)
        out.to_add = []
    bind_project(project, layers)
    if windowed and "predictions_skeleton" in roles and predictions_follower is not None:
        predictions_follower.refresh(None)  # the window's edges, from its rows
    for role in ("labels",) if tables is not None or windowed else ("labels", "predictions"):
        fol = follower(project, role)
        # the labels' skeleton only when its layers changed or were just bound (a merge leaves them)
        unchanged = role == "labels" and not {"labels", "skeleton"} & set(roles)
        if fol is not None and not (unchanged and followers_before.get(role) is fol):
            fol.refresh(None)
    return out


def add_empty_prediction_layers(
    project: SleapProject, layers: Any, roles: Iterable[str] = PREDICTION_ROLES
) -> list[Layer]:
    """Insert the project's predictions layers of ``roles`` that are missing, without rows (a merge fills them).

    napari takes long to insert a layer (controls, visuals); an empty one costs
    that alone, and filling it later costs what setting its data costs. napari
    makes an inserted layer the active one; the user's selection is put back
    (they may be labeling), so the layer controls they use stay.
    """
    roles = tuple(roles)
    current = bind_project(project, layers)
    labels = current.get("labels")
    size = float(np.mean(labels.size)) if labels is not None and len(labels.data) else None
    selection = getattr(layers, "selection", None)
    kept = (set(selection), selection.active) if selection is not None else None
    added = []
    for data, kwargs, kind in empty_prediction_layers(project, size):
        role = kwargs["metadata"][ROLE_KEY]
        if role in roles and current.get(role) is None:
            layer = Layer.create(data, kwargs, kind)
            layers.insert(_insert_index(project, layers, role), layer)
            added.append(layer)
    if added and kept is not None and kept[0]:
        if kept[1] is not None and kept[0] == {kept[1]}:
            selection.active = kept[1]
        else:
            selection.clear()
            selection.update(kept[0])
    bind_project(project, layers)
    return added


def _insert_index(project: SleapProject, layers: Any, role: str) -> int:
    """Layer-list position for a new layer of ``role``: below the project's skeleton/labels."""
    order = ("predictions_skeleton", "predictions", "skeleton", "labels")
    later = order[order.index(role) + 1 :] if role in order else ()
    for i, layer in enumerate(layers):
        meta = layer.metadata
        if meta.get(PROJECT_KEY) is project and meta.get(ROLE_KEY) in later:
            return i
    return len(layers)
