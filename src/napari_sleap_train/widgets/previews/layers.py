"""Create-or-update preview layers by name, without stealing the user's selection.

Preview layers are recognised by name and by a ``metadata["sleap_preview"]``
flag, updated in place when they exist (never duplicated) and removed by
:func:`remove_previews` when the dock closes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from napari_sleap_train.io.layers import hex_rgba

#: layer names (the user sees them in the layer list)
CROP_BOXES = "SLEAP crop boxes"
RECEPTIVE_FIELD = "SLEAP receptive field"
PAF_VECTORS = "SLEAP part affinity fields"

PREVIEW_FLAG = "sleap_preview"

CROP_BOX_COLOR = "#ff9900"  # orange
RF_COLOR = "#33ccff"  # light blue
#: one colour per skeleton edge of the part affinity field arrows (cycled), bright on dark video
EDGE_PALETTE = ("#ff4fd8", "#4fff7a", "#ffe24f", "#4fc3ff", "#ff8a4f", "#b28cff", "#4fffe0", "#ff4f6d")


def is_preview(layer: Any) -> bool:
    """Whether ``layer`` was made by this dock as a preview."""
    return bool(getattr(layer, "metadata", {}).get(PREVIEW_FLAG))


def find_layer(viewer: Any, name: str) -> Any | None:
    """The preview layer called ``name`` in ``viewer``, if any."""
    for layer in viewer.layers:
        if layer.name == name and is_preview(layer):
            return layer
    return None


@contextmanager
def keep_selection(viewer: Any) -> Iterator[None]:
    """Restore the active/selected layers after adding a preview layer."""
    selection = viewer.layers.selection
    active = selection.active
    selected = set(selection)
    try:
        yield
    finally:
        selection.clear()
        selection.update(layer for layer in selected if layer in viewer.layers)
        if active is not None and active in viewer.layers:
            selection.active = active


def upsert_rectangles(
    viewer: Any,
    name: str,
    rectangles: Sequence[np.ndarray],
    ndim: int,
    color: str,
    edge_width: float = 2.0,
    scale: Sequence[float] | None = None,
    translate: Sequence[float] | None = None,
    label: str = "",
    label_anchor: str = "upper_left",
    labels: Sequence[str] | None = None,
) -> Any:
    """Set the rectangles of Shapes layer ``name``, creating it if needed.

    Parameters
    ----------
    viewer
        The napari viewer.
    name
        Layer name.
    rectangles
        ``(4, ndim)`` corner arrays.
    ndim
        Dimensionality of the layer (2 shows it on every frame).
    color
        Edge colour (faces are transparent).
    edge_width
        Line width in data pixels (napari draws shape edges in data units).
    scale, translate
        World transform copied from the video layer (``None``: identity).
    label, label_anchor
        Text drawn at every rectangle (e.g. its size) and where.
    labels
        One text per rectangle instead (``""``: none on that one).

    Returns
    -------
    napari.layers.Shapes
        The created or updated layer.
    """
    data = [(np.asarray(r, dtype=float), "rectangle") for r in rectangles]
    # object dtype: an empty table must not turn the text column into floats
    texts = [label] * len(data) if labels is None else list(labels)
    features = pd.DataFrame({"label": pd.Series(texts, dtype=object)})
    layer = find_layer(viewer, name)
    if layer is not None and layer.ndim != ndim:
        viewer.layers.remove(layer)
        layer = None
    if layer is None:
        with keep_selection(viewer):
            layer = viewer.add_shapes(
                data if data else None,
                ndim=ndim,
                shape_type="rectangle",
                name=name,
                edge_color=color,
                face_color="transparent",
                edge_width=edge_width,
                opacity=1.0,
                scale=scale,
                translate=translate,
                metadata={PREVIEW_FLAG: True},
                blending="translucent_no_depth",
                features=features,
                text={
                    "string": "{label}",
                    "anchor": label_anchor,
                    "color": color,
                    "size": 9,
                },
            )
        layer.current_edge_color = color
        layer.current_face_color = "transparent"
        layer.current_edge_width = edge_width
        layer.editable = False
        return layer
    if not _same_rectangles(layer, data, texts):
        layer.editable = True  # napari refuses data edits on non-editable shapes in some modes
        layer.selected_data = set()
        layer.feature_defaults = {"label": label}
        layer.data = data  # (napari rebuilds the meshes and their shaders: tens of ms with software OpenGL)
        layer.features = features
    # each of napari's setters below refreshes the layer (and the transforms every layer's
    # dims): on every frame step that was most of the time the previews took; set only changes
    if data:
        layer.current_edge_color = color  # what new shapes get
        if not np.allclose(layer.edge_width, edge_width):
            layer.edge_width = edge_width  # (new shapes get width 1)
    for name, value in (("scale", scale), ("translate", translate)):
        if value is not None and not np.allclose(getattr(layer, name), value):
            setattr(layer, name, value)
    layer.editable = False
    return layer


def _same_rectangles(layer: Any, data: list[tuple[np.ndarray, str]], texts: list[str]) -> bool:
    """The layer shows these rectangles and texts already (e.g. empty on an unlabeled frame, as before)."""
    old = layer.data
    if len(old) != len(data) or list(layer.features.get("label", [])) != texts:
        return False
    return all(o.shape == d.shape and np.allclose(o, d) for o, (d, _) in zip(old, data))


def edge_colors(edge: np.ndarray) -> np.ndarray:
    """``(n, 4)`` RGBA of each arrow from its edge index (:data:`EDGE_PALETTE`, cycled)."""
    palette = np.array([hex_rgba(c) for c in EDGE_PALETTE], np.float32)
    return palette[np.asarray(edge, dtype=int) % len(palette)].reshape(-1, 4)


def upsert_vectors(
    viewer: Any,
    name: str,
    vectors: np.ndarray,
    colors: np.ndarray,
    edge_width: float,
    scale: Sequence[float],
    translate: Sequence[float],
) -> Any:
    """Set the arrows of Vectors layer ``name`` (``(n, 2, ndim)``), creating it if needed."""
    ndim = vectors.shape[-1]
    layer = find_layer(viewer, name)
    if layer is not None and layer.ndim != ndim:
        viewer.layers.remove(layer)
        layer = None
    if layer is None:
        with keep_selection(viewer):
            layer = viewer.add_vectors(
                vectors,
                ndim=ndim,
                name=name,
                edge_color=colors if len(colors) else EDGE_PALETTE[0],
                edge_width=edge_width,
                length=1.0,
                vector_style="arrow",
                opacity=0.9,
                scale=scale,
                translate=translate,
                metadata={PREVIEW_FLAG: True},
            )
        return layer
    layer.data = vectors
    if len(colors):  # napari refuses an empty colour array
        layer.edge_color = colors
    layer.edge_width = edge_width
    layer.scale = scale
    layer.translate = translate
    return layer


def remove_previews(viewer: Any, names: Sequence[str] | None = None) -> None:
    """Remove this dock's preview layers (all, or only ``names``)."""
    for layer in list(viewer.layers):
        if is_preview(layer) and (names is None or layer.name in names):
            viewer.layers.remove(layer)
