"""*View Training Image Inputs*: a second napari window with example stacks.

The examples live in their own viewer so their "example" slider never fights
the video's frame slider, and their network-pixel geometry never overlaps the
video. Each model gets an image layer (``"SLEAP inputs: <model>"``, a stack of
augmented inputs) and its confidence maps overlaid (``"... confmaps"``: max over
channels, additive, upsampled to input pixels through the layer scale). A
bottom-up model also gets its part affinity fields as arrows (``"... fields"``,
a Vectors layer on the fields' grid, one colour per edge). A bottom-up-id
model gets one layer per class map (``"... class <track>"``, one colour per
class) and a top-down-id model's caption names each crop's class. With two models the
window uses napari's grid so they sit side by side. The grid's cells share one
camera, so each model's stack is scaled to the same on-screen size
(:func:`fit_scale`): a 96 px crop beside a 600 px frame is not a thumbnail. The
caption gives the real sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_sleap_train.config.model import ModelKind

from .examples import ExampleStack
from .layers import edge_colors
from .paf_vectors import field_arrows

TITLE = "SLEAP training inputs"

#: image layer name per model
INPUT_LAYERS = {
    ModelKind.CENTROID: "SLEAP inputs: centroid",
    ModelKind.CENTERED_INSTANCE: "SLEAP inputs: centered instance",
    ModelKind.SINGLE_INSTANCE: "SLEAP inputs: single instance",
    ModelKind.MULTI_INSTANCE: "SLEAP inputs: bottom-up",
    ModelKind.MULTI_CLASS_TOPDOWN: "SLEAP inputs: centered instance ID",
    ModelKind.MULTI_CLASS_BOTTOMUP: "SLEAP inputs: bottom-up ID",
}
#: plain names in the caption
CAPTION_NAMES = {
    ModelKind.MULTI_INSTANCE: "bottom-up",
    ModelKind.MULTI_CLASS_TOPDOWN: "centered instance ID",
    ModelKind.MULTI_CLASS_BOTTOMUP: "bottom-up ID",
}
#: colour of each class map, in class order (repeats after six classes)
CLASS_COLORMAPS = ["green", "magenta", "cyan", "yellow", "blue", "red"]
CONFMAP_SUFFIX = " confmaps"
FIELDS_SUFFIX = " fields"
CONFMAP_COLORMAP = "inferno"


def input_layer_name(kind: ModelKind) -> str:
    """Name of the image layer of ``kind``'s inputs."""
    return INPUT_LAYERS[kind]


def confmap_layer_name(kind: ModelKind) -> str:
    """Name of the confidence-map layer of ``kind``."""
    return INPUT_LAYERS[kind] + CONFMAP_SUFFIX


def fields_layer_name(kind: ModelKind) -> str:
    """Name of the part affinity field arrows of ``kind`` (bottom-up models)."""
    return INPUT_LAYERS[kind] + FIELDS_SUFFIX


def class_layer_name(kind: ModelKind, class_name: str) -> str:
    """Name of the layer of one class map of ``kind`` (bottom-up-id models)."""
    return f"{INPUT_LAYERS[kind]} class {class_name}"


def _class_layer_names(stack: ExampleStack) -> list[str]:
    return [class_layer_name(stack.kind, c) for c in stack.classes] if stack.class_maps is not None else []


def crop_classes_text(stack: ExampleStack) -> str:
    """Top-down-id: each example's class, in example order (``""`` for other models)."""
    if stack.example_classes is None:
        return ""
    return "classes of the examples: " + ", ".join(
        f"{i} {c if c is not None else '(no track)'}" for i, c in enumerate(stack.example_classes)
    )


def stack_arrows(stack: ExampleStack) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 2, 3)`` napari vectors ``[example, y, x]`` of every example's fields, and their edges."""
    vectors, edges = [], []
    for i, fields in enumerate(stack.pafs if stack.pafs is not None else []):
        yx, dyx, edge = field_arrows(fields, stack.paf_stride)
        v = np.zeros((len(yx), 2, 3))
        v[:, 0, 0] = i
        v[:, 0, 1:] = yx - dyx / 2  # centred on the grid point, as on the live viewer
        v[:, 1, 1:] = dyx
        vectors.append(v)
        edges.append(edge)
    if not vectors:
        return np.zeros((0, 2, 3)), np.zeros(0, int)
    return np.concatenate(vectors), np.concatenate(edges)


def _caption(stack: ExampleStack) -> str:
    n, h, w = stack.images.shape[:3]
    what = CAPTION_NAMES.get(stack.kind, stack.kind.value.replace("_", " "))
    extra = f", crop {stack.crop_size} px" if stack.crop_size is not None else ""
    if stack.paf_stride is not None:
        extra += f", fields every {stack.paf_stride} px"
    text = f"{what}: {n} examples {w}x{h} (scale {stack.input_scaling:g}{extra})"
    if stack.class_maps is not None:
        colours = ", ".join(f"{c} {CLASS_COLORMAPS[i % len(CLASS_COLORMAPS)]}" for i, c in enumerate(stack.classes))
        text += f"\n  class maps every {stack.class_stride} px: {colours}"
    if stack.example_classes is not None:
        text += "\n  " + crop_classes_text(stack)
    return text


def fit_scale(stack: ExampleStack, extent: float) -> float:
    """World units per input pixel that make ``stack``'s longer side ``extent`` long."""
    h, w = stack.images.shape[1:3]
    return extent / max(h, w, 1)


def _grid_and_text(viewer: Any) -> tuple[Any, Any]:
    """Grid settings and text overlay (moved under ``viewer.canvas`` in napari 0.9)."""
    canvas = getattr(viewer, "canvas", None)
    if canvas is not None:
        return canvas.grid, canvas.overlays.text
    return viewer.grid, viewer.text_overlay


class TrainingInputsWindow:
    """Owns the second viewer; reuses it while it is open.

    Parameters
    ----------
    viewer_factory
        Makes the viewer (default ``napari.Viewer``); tests may pass their own.
    """

    def __init__(self, viewer_factory: Any = None) -> None:
        self._factory = viewer_factory
        self.viewer: Any = None

    @property
    def is_open(self) -> bool:
        """Whether the window exists and was not closed by the user."""
        v = self.viewer
        return v is not None and getattr(v.window, "_qt_window", None) is not None

    def _ensure_viewer(self) -> Any:
        if not self.is_open:
            if self._factory is None:
                import napari

                self.viewer = napari.Viewer(title=TITLE)
            else:
                self.viewer = self._factory(title=TITLE)
        return self.viewer

    def show(self, stacks: list[ExampleStack]) -> Any:
        """Show ``stacks`` (one per model), replacing what the window showed.

        Returns
        -------
        napari.Viewer
            The inputs viewer.
        """
        viewer = self._ensure_viewer()
        wanted = {input_layer_name(s.kind) for s in stacks} | {confmap_layer_name(s.kind) for s in stacks}
        wanted |= {fields_layer_name(s.kind) for s in stacks if s.pafs is not None}
        wanted |= {name for s in stacks for name in _class_layer_names(s)}
        for layer in list(viewer.layers):
            if layer.name not in wanted:
                viewer.layers.remove(layer)
        # every model's cell fits the view (one camera for all cells)
        extent = float(max((max(s.images.shape[1:3]) for s in stacks), default=1))
        for stack in stacks:
            self._upsert(viewer, stack, fit_scale(stack, extent))
        # grid: one cell per model (its inputs + confmaps)
        grid, text = _grid_and_text(viewer)
        grid.stride = 2
        if hasattr(grid, "spacing"):  # napari >= 0.6
            grid.spacing = 16  # canvas pixels between the models' cells
        grid.enabled = len(stacks) > 1
        viewer.dims.axis_labels = ("example", "y", "x")
        viewer.dims.set_current_step(0, 0)
        text.visible = True
        text.text = "\n".join(_caption(s) for s in stacks)
        text.font_size = 10
        text.position = "top_left"
        viewer.reset_view()
        return viewer

    def _upsert(self, viewer: Any, stack: ExampleStack, fit: float = 1.0) -> None:
        images = stack.images if stack.rgb else stack.images[..., 0]
        name = input_layer_name(stack.kind)
        cm_name = confmap_layer_name(stack.kind)
        os_ = float(stack.output_stride) * fit
        # confmap pixel j sits on input pixel j * output_stride
        cm_scale = (1.0, os_, os_)
        scale = (1.0, fit, fit)
        if name in viewer.layers and viewer.layers[name].rgb == stack.rgb:
            viewer.layers[name].data = images
            viewer.layers[name].scale = scale
        else:
            if name in viewer.layers:
                viewer.layers.remove(name)
            viewer.add_image(images, name=name, rgb=stack.rgb, contrast_limits=(0.0, 1.0), scale=scale)
        if cm_name in viewer.layers:
            layer = viewer.layers[cm_name]
            layer.data = stack.confmaps
            layer.scale = cm_scale
        else:
            viewer.add_image(
                stack.confmaps,
                name=cm_name,
                colormap=CONFMAP_COLORMAP,
                blending="additive",
                opacity=0.7,
                contrast_limits=(0.0, 1.0),
                scale=cm_scale,
            )
        # keep each model's confmaps right above its inputs (grid cells pair them)
        layers = viewer.layers
        i = layers.index(name)
        j = layers.index(cm_name)
        if j != i + 1:
            layers.move(j, i + 1 if j > i else i)
        if stack.pafs is not None:
            self._upsert_fields(viewer, stack)
        if stack.class_maps is not None:
            self._upsert_class_maps(viewer, stack, fit)

    def _upsert_class_maps(self, viewer: Any, stack: ExampleStack, fit: float) -> None:
        """One additive layer per class map, on the class maps' grid."""
        s = float(stack.class_stride) * fit
        for i, name in enumerate(_class_layer_names(stack)):
            data = stack.class_maps[..., i]
            if name in viewer.layers:
                viewer.layers[name].data = data
                viewer.layers[name].scale = (1.0, s, s)
            else:
                viewer.add_image(
                    data,
                    name=name,
                    colormap=CLASS_COLORMAPS[i % len(CLASS_COLORMAPS)],
                    blending="additive",
                    opacity=0.5,
                    contrast_limits=(0.0, 1.0),
                    scale=(1.0, s, s),
                )

    def _upsert_fields(self, viewer: Any, stack: ExampleStack) -> None:
        name = fields_layer_name(stack.kind)
        vectors, edge = stack_arrows(stack)
        colors = edge_colors(edge)
        width = max(1.0, stack.paf_stride * 0.2)  # neighbouring arrows stay apart
        if name in viewer.layers:
            layer = viewer.layers[name]
            layer.data = vectors
            if len(colors):  # napari refuses an empty colour array
                layer.edge_color = colors
            layer.edge_width = width
        else:
            viewer.add_vectors(
                vectors,
                ndim=3,
                name=name,
                edge_color=colors if len(colors) else "white",
                edge_width=width,
                length=1.0,
                vector_style="arrow",
            )

    def close(self) -> None:
        """Close the window if it is open."""
        if self.is_open:
            self.viewer.close()
        self.viewer = None
