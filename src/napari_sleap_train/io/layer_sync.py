"""Update a project's napari layers in place (used by :class:`~.project.SleapProject`).

Imports napari; the project module imports this lazily, only when it has live
layers to update.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from napari.layers import Layer
from napari.layers.base._base_constants import ActionType

from napari_sleap_train.io.project import PROJECT_KEY, ROLE_KEY, SleapProject

LayerData = tuple[Any, dict[str, Any], str]


@dataclass
class LayerRefresh:
    """What :meth:`SleapProject.refresh_layers` did.

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


def _concat_features(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    out = pd.concat([old.reset_index(drop=True), new.reset_index(drop=True)], ignore_index=True)
    if "node" in new and isinstance(new["node"].dtype, pd.CategoricalDtype):
        out["node"] = pd.Categorical(out["node"].astype(object), categories=new["node"].cat.categories)
    return out


def append_rows(layer: Any, data: np.ndarray, features: pd.DataFrame) -> None:
    """Append rows with their features; one ``added`` data event once both are in place.

    (napari's ``add`` would report the rows while their features are still the
    defaults, and listeners reading the layer then would see wrong node names.)
    """
    if not len(data):
        return
    n_old = len(layer.data)
    merged = _concat_features(layer.features, features)
    with layer.events.data.blocker():
        layer.data = np.concatenate([np.asarray(layer.data), np.asarray(data, dtype=float)])
    layer.features = merged
    layer.events.data(
        value=layer.data,
        action=ActionType.ADDED,
        data_indices=tuple(range(n_old, len(layer.data))),
        vertex_indices=((),),
    )


def remove_instances(layer: Any, instance_ids: set[int]) -> int:
    """Remove the rows of some instances (napari's own ``remove``, with its events)."""
    if "instance" not in layer.features or not len(layer.data):
        return 0
    rows = np.flatnonzero(layer.features["instance"].isin(list(instance_ids)).to_numpy())
    if len(rows):
        layer.remove(rows.tolist())
    return len(rows)


def replace_content(layer: Any, data: Any, features: pd.DataFrame | None = None) -> None:
    """Replace a Points / Vectors layer's data (and features), keeping its look and place."""
    if features is None:
        layer.data = data
        return
    with layer.events.data.blocker():
        layer.data = data
    layer.features = features
    layer.events.data(
        value=layer.data,
        action=ActionType.CHANGED,
        data_indices=tuple(range(len(layer.data))),
        vertex_indices=((),),
    )


def _is_layer_list(layers: Any) -> bool:
    return all(hasattr(layers, name) for name in ("insert", "index", "selection"))


def refresh_layers(project: SleapProject, layers: Any, roles: Iterable[str]) -> LayerRefresh:
    """See :meth:`SleapProject.refresh_layers`."""
    from napari_sleap_train.io.layers import (
        labels_layer,
        prediction_layers,
        skeleton_layer,
    )

    roles = tuple(roles)
    current = project.bind_layers(layers)
    labels = current.get("labels")
    size = float(np.mean(labels.size)) if labels is not None and len(labels.data) else None
    wanted: dict[str, LayerData] = {}
    if any(r in roles for r in ("predictions", "predictions_skeleton")):
        for item in prediction_layers(project, size):
            wanted[item[1]["metadata"][ROLE_KEY]] = item
    if "skeleton" in roles and project.edges:
        wanted["skeleton"] = skeleton_layer(project, size)
    if "labels" in roles:
        wanted["labels"] = labels_layer(project, size)
    out = LayerRefresh()
    for role in roles:
        layer = current.get(role)
        item = wanted.get(role)
        if layer is not None:
            if item is None:  # nothing to show any more: empty the layer, keep it
                data = np.empty((0, 2, layer.ndim)) if role.endswith("skeleton") else np.empty((0, layer.ndim))
                replace_content(layer, data, None if role.endswith("skeleton") else layer.features.iloc[:0])
            else:
                replace_content(layer, item[0], item[1].get("features"))
            if role == "labels":
                project.bind_points_layer(layer)
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
    project.bind_layers(layers)
    for role in ("labels", "predictions"):
        follower = project.follower(role)
        if follower is not None:
            follower.refresh(None)
    return out


def _insert_index(project: SleapProject, layers: Any, role: str) -> int:
    """Layer-list position for a new layer of ``role``: below the project's skeleton/labels."""
    order = ("predictions_skeleton", "predictions", "skeleton", "labels")
    later = order[order.index(role) + 1 :] if role in order else ()
    for i, layer in enumerate(layers):
        meta = layer.metadata
        if meta.get(PROJECT_KEY) is project and meta.get(ROLE_KEY) in later:
            return i
    return len(layers)
