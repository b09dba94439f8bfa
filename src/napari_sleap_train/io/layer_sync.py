"""Change a napari Points / Vectors layer's rows in place, with the events napari sends.

Used by :mod:`~napari_sleap_train.io.binding` to show promoted predictions and
refreshed predictions without re-creating the layers. Public napari API only:
the ``action`` of a data event is given as its string value (napari's
``ActionType`` is a ``str`` enum and its listeners compare by value).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: ``action`` values of napari's Points ``data`` event (``ActionType``'s values).
ADDED = "added"
CHANGED = "changed"


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
        action=ADDED,
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


def replace_content(
    layer: Any, data: Any, features: pd.DataFrame | None = None, face_color: np.ndarray | None = None
) -> None:
    """Replace a Points / Vectors layer's data (and features, and direct face colours), keeping its place."""
    if features is None:
        layer.data = data
        return
    with layer.events.data.blocker():
        layer.data = data
    layer.features = features
    if face_color is not None:
        layer.face_color = face_color
    layer.events.data(
        value=layer.data,
        action=CHANGED,
        data_indices=tuple(range(len(layer.data))),
        vertex_indices=((),),
    )
