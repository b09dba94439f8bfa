"""Keeps the crop-box, receptive-field and part-affinity-field layers in step with the settings and the frame.

Listens to the viewer's frame slider and to the
:class:`~napari_sleap_train.session.settings.TrainingSession`
and redraws, lightly debounced so dragging a slider or spinning a spin box does
not redraw more often than the screen refreshes. Numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from superqt.utils import qdebounced

from napari_sleap_train.config.model import ModelKind
from napari_sleap_train.data.errors import DataError
from napari_sleap_train.session.settings import TrainingSession

from .geometry import inside_frame, labeled_boxes, squares_on_plane
from .layers import (
    CROP_BOX_COLOR,
    CROP_BOXES,
    PAF_VECTORS,
    RECEPTIVE_FIELD,
    RF_COLOR,
    edge_colors,
    remove_previews,
    upsert_rectangles,
    upsert_vectors,
)
from .paf_vectors import paf_arrows
from .project_frames import ProjectFrames
from .sizes import crop_side_for_preview, rf_side_in_frame

#: debounce of redraws after a change, milliseconds
DEBOUNCE_MS = 40
_ALL = [CROP_BOXES, RECEPTIVE_FIELD, PAF_VECTORS]
#: the receptive-field square keeps 1/40 of the frame free at the image edge, where its label starts
LABEL_MARGIN_DIVISOR = 40


class PreviewController:
    """Owns the live preview layers of one viewer.

    Parameters
    ----------
    viewer
        The napari viewer the dock lives in.
    session
        The dock's settings.
    """

    def __init__(self, viewer: Any, session: TrainingSession) -> None:
        self.viewer = viewer
        self.session = session
        self.frames: ProjectFrames | None = None
        self.enabled = True
        self.last_error: str = ""
        self._schedule = qdebounced(self.update, timeout=DEBOUNCE_MS)
        viewer.dims.events.current_step.connect(self._on_change)
        session.changed.connect(self._on_change)
        session.selected_changed.connect(self._on_change)

    # -- wiring ---------------------------------------------------------------
    def _on_change(self, *_args: Any) -> None:
        self._schedule()

    def set_project(self, frames: ProjectFrames | None) -> None:
        """Use the instances of a new project (``None`` removes the previews)."""
        self.frames = frames
        self.update()

    def close(self) -> None:
        """Disconnect and remove the preview layers."""
        self.enabled = False
        for signal, slot in (
            (self.viewer.dims.events.current_step, self._on_change),
            (self.session.changed, self._on_change),
            (self.session.selected_changed, self._on_change),
        ):
            try:
                signal.disconnect(slot)
            except (TypeError, ValueError, RuntimeError):
                pass
        remove_previews(self.viewer, _ALL)

    # -- drawing --------------------------------------------------------------
    def update(self) -> None:
        """Redraw both preview layers for the current frame and settings now."""
        if not self.enabled:
            return
        frames = self.frames
        if frames is None or not frames.has_videos:
            remove_previews(self.viewer, _ALL)
            return
        video, frame = frames.position(self.viewer)
        instances = frames.instances_at(video, frame)
        anchors = frames.anchors(instances, self.session.pipeline.anchor_part)
        scale, translate = frames.world_transform(video)
        width = frames.line_width(video)
        self._draw_crop_boxes(frames, anchors, scale, translate, width)
        self._draw_receptive_field(frames, video, anchors, scale, translate, width)
        self._draw_pafs(frames, video, frame, instances, scale, translate, width)

    def _label_size(self, text: str, scale) -> tuple[float, float]:
        """A preview label's (width, height) in frame pixels at the current zoom (9 pt text, generous)."""
        scene = getattr(self.viewer, "scene", None)  # napari >= 0.9; older: viewer.camera
        camera = scene.camera if scene is not None else self.viewer.camera
        zoom = float(camera.zoom) or 1.0  # screen pixels per world unit
        per_pixel = zoom * float(np.mean(np.asarray(scale, dtype=float)[-2:]))  # screen pixels per frame pixel
        return 7.5 * len(text) / per_pixel, 16.0 / per_pixel

    def _draw_crop_boxes(self, frames, anchors, scale, translate, width) -> None:
        cropped = [k for k in self.session.model_kinds if k.is_cropped]  # centered instance, with or without identity
        if not cropped:
            remove_previews(self.viewer, [CROP_BOXES])
            return
        cfg = self.session.trained_model(cropped[0])
        side = crop_side_for_preview(cfg, frames.all_instances(), frames.project.node_names)
        if side is None:
            remove_previews(self.viewer, [CROP_BOXES])
            return
        # a 2-D layer, redrawn for each frame: napari re-slices a layer with a frame axis on every
        # frame step, and a Shapes layer's meshes are rebuilt then (with their shaders: ~30 ms a
        # step with software OpenGL, also on frames with nothing to draw)
        rects = squares_on_plane(anchors, side)
        text = f"crop {side:.0f} px"
        labels = [text if keep else "" for keep in labeled_boxes(anchors, side, self._label_size(text, scale))]
        upsert_rectangles(
            self.viewer,
            CROP_BOXES,
            rects,
            ndim=2,
            color=CROP_BOX_COLOR,
            edge_width=width,
            scale=tuple(scale),
            translate=tuple(translate),
            label=text,
            labels=labels,
        )

    def _draw_receptive_field(self, frames, video, anchors, scale, translate, width) -> None:
        cfg = self.session.model(self.session.selected)
        side = rf_side_in_frame(cfg)
        if side is None:
            remove_previews(self.viewer, [RECEPTIVE_FIELD])
            return
        finite = anchors[np.all(np.isfinite(anchors), axis=1)] if len(anchors) else anchors
        label = f"receptive field {side:.0f} px"
        if len(finite):
            center = finite[0]
        else:  # nothing to centre it on: say where it is
            center = frames.view_center_xy(self.viewer, video)
            label += " (view centre: no labels on this frame)"
        # kept inside the frame, so that neither box nor label is cut at the image edge
        frame_hw = frames.frame_size(video)
        center = inside_frame(center, side, frame_hw, margin=max(frame_hw) / LABEL_MARGIN_DIVISOR)
        # 2-D layer: napari shows it on every frame; it moves with the first instance.
        rects = squares_on_plane(np.asarray(center)[None], side)
        upsert_rectangles(
            self.viewer,
            RECEPTIVE_FIELD,
            rects,
            ndim=2,
            color=RF_COLOR,
            edge_width=width,
            scale=tuple(scale),
            translate=tuple(translate),
            label=label,
            label_anchor="lower_left",
        )

    def _draw_pafs(self, frames, video, frame, instances, scale, translate, width) -> None:
        """Bottom-up only: the fields of the frame's labeled instances as arrows on their grid."""
        if ModelKind.MULTI_INSTANCE not in self.session.model_kinds:
            remove_previews(self.viewer, [PAF_VECTORS])
            return
        project = frames.project
        try:
            arrows = paf_arrows(
                instances,
                self.session.trained_model(ModelKind.MULTI_INSTANCE),
                project.node_names,
                project.edges,
                frames.frame_size(video),
            )
        except DataError as exc:  # no edges, or edges the skeleton lacks: said once, nothing drawn
            self.last_error = str(exc)
            remove_previews(self.viewer, [PAF_VECTORS])
            return
        self.last_error = ""
        lead = frames.leading_coords(video, frame)
        n = len(arrows.vectors)
        vectors = np.zeros((n, 2, len(lead) + 2))
        vectors[:, 0, : len(lead)] = lead  # on this frame only; the arrows have no extent across frames
        vectors[:, :, len(lead) :] = arrows.vectors
        upsert_vectors(
            self.viewer,
            PAF_VECTORS,
            vectors,
            edge_colors(arrows.edge),
            # as wide as the crop boxes' lines, but never so wide that neighbouring arrows touch
            edge_width=min(width, arrows.grid_step * 0.25),
            scale=(1.0,) * len(lead) + tuple(scale),
            translate=(0.0,) * len(lead) + tuple(translate),
        )
