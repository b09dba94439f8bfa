"""The project facts the previews need, read from a :class:`SleapProject` and the viewer.

Which frame the slider shows, the labeled instances on it (with the user's
unsaved edits, through ``SleapProject.labeled_instances``), every labeled
instance (for the auto crop size, cached until the labels change) and where
each video's layer sits in world coordinates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from napari.layers import Image

from napari_sleap_train.data.anchors import anchor_points
from napari_sleap_train.data.labels import collect_samples
from napari_sleap_train.io.layers import PROJECT_KEY, VIDEO_INDEX_KEY
from napari_sleap_train.project.model import SleapProject


class ProjectFrames:
    """Read-only view of one project for the preview layers.

    Parameters
    ----------
    project
        The open SLEAP project.
    viewer
        The viewer showing it (used to find its video layers).
    """

    def __init__(self, project: SleapProject, viewer: Any) -> None:
        self.project = project
        self.viewer = viewer
        self._all: list[np.ndarray] | None = None

    # -- labels ---------------------------------------------------------------
    def invalidate(self) -> None:
        """Forget cached instances (call when the labels layer changed)."""
        self._all = None

    def all_instances(self) -> list[np.ndarray]:
        """``(n, k, 2)`` user instances of every labeled frame (cached)."""
        if self._all is None:
            self.project.sync()
            self._all = [s.instances for s in collect_samples(self.project.labels)]
        return self._all

    def instances_at(self, video: int, frame: int) -> np.ndarray:
        """User instances of one frame, ``(n, k, 2)`` xy."""
        if not 0 <= video < len(self.project.videos):
            return np.empty((0, len(self.project.node_names), 2), np.float32)
        return self.project.labeled_instances(video, frame)

    def anchor_index(self, anchor_part: str | None) -> int | None:
        """Index of the anchor node, ``None`` for the bounding-box centre."""
        names = list(self.project.skeleton.node_names) if self.project.labels.skeletons else []
        return names.index(anchor_part) if anchor_part in names else None

    def anchors(self, instances: np.ndarray, anchor_part: str | None) -> np.ndarray:
        """Anchor xy of each instance (``(n, 2)``)."""
        if len(instances) == 0:
            return np.zeros((0, 2))
        return anchor_points(instances, self.anchor_index(anchor_part))

    # -- viewer geometry ------------------------------------------------------
    @property
    def has_videos(self) -> bool:
        """Whether the project has at least one video."""
        return bool(self.project.videos)

    @property
    def n_leading(self) -> int:
        """Non-spatial axes of the project's layers (frame, or video + frame)."""
        return 2 if self.project.multi_video else 1

    def leading_coords(self, video: int, frame: int) -> tuple[int, ...]:
        """Leading coordinates of a frame in the points/shapes layers."""
        return (video, frame) if self.project.multi_video else (frame,)

    def position(self, viewer: Any) -> tuple[int, int]:
        """``(video, frame)`` the viewer shows now."""
        point = viewer.dims.point
        nd = viewer.dims.ndim
        if nd < 3:
            return 0, 0
        frame = round(point[nd - 3])
        video = round(point[nd - 4]) if self.project.multi_video and nd >= 4 else 0
        return max(video, 0), max(frame, 0)

    def video_layer(self, video: int) -> Any | None:
        """The image layer of a video of this project, if shown."""
        for layer in self.viewer.layers:
            md = layer.metadata
            if md.get(PROJECT_KEY) is self.project and md.get(VIDEO_INDEX_KEY) == video and isinstance(layer, Image):
                return layer
        return None

    def world_transform(self, video: int) -> tuple[tuple[float, float], tuple[float, float]]:
        """``(scale, translate)`` of the video's y/x axes (identity without a video layer)."""
        layer = self.video_layer(video)
        if layer is None:
            return (1.0, 1.0), (0.0, 0.0)
        spatial = slice(-3, -1) if layer.rgb else slice(-2, None)
        scale = tuple(float(s) for s in np.asarray(layer.scale)[spatial])
        translate = tuple(float(t) for t in np.asarray(layer.translate)[spatial])
        return scale, translate  # type: ignore[return-value]

    def frame_size(self, video: int) -> tuple[int, int]:
        """``(height, width)`` of a video's frames (0, 0 if unknown)."""
        try:
            shape = self.project.videos[video].shape
        except (IndexError, AttributeError):
            shape = None
        if shape is None:
            layer = self.video_layer(video)
            if layer is None:
                return 0, 0
            s = layer.data.shape
            return (int(s[-3]), int(s[-2])) if layer.rgb else (int(s[-2]), int(s[-1]))
        return int(shape[1]), int(shape[2])

    def line_width(self, video: int) -> float:
        """Edge width (data pixels) that reads well at full-frame zoom."""
        h, w = self.frame_size(video)
        return max(1.5, max(h, w) / 256.0)

    def view_center_xy(self, viewer: Any, video: int) -> np.ndarray:
        """Centre of the current view in the video's pixel coordinates."""
        scene = getattr(viewer, "scene", None)  # napari >= 0.9; older: viewer.camera
        camera = scene.camera if scene is not None else viewer.camera
        center = np.asarray(camera.center, dtype=float)[-2:]  # world y, x
        scale, translate = self.world_transform(video)
        yx = (center - np.asarray(translate)) / np.asarray(scale)
        return yx[::-1].copy()
