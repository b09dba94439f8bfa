"""Arrows of the part affinity fields a bottom-up model learns on one frame (numpy only).

The fields come from :func:`napari_sleap_train.data.pafs.part_affinity_fields`,
the very targets the engine trains on, made from the frame's labeled instances
without augmentation: points go to network-input pixels (input scaling), the
fields are computed on their output grid (output stride, sigma for edges), and
every grid point where an edge's field is strong enough becomes one arrow,
placed back on the frame and pointing along that edge's field. A unit field is
drawn :data:`ARROW_FRACTION` of a grid step long, so the arrows fade (shorten)
where the field does and never overlap their neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from napari_sleap_train.config.model import TrainingConfig
from napari_sleap_train.data.pafs import part_affinity_fields
from napari_sleap_train.data.scaling import scale_points, scaled_shape, unscale_points
from napari_sleap_train.data.training_inputs import paf_edges_of, part_indices_of, part_names_of

#: arrows are drawn where an edge's field is at least this strong (a unit field is 1)
MIN_WEIGHT = 0.1
#: length of a unit field's arrow, in grid steps
ARROW_FRACTION = 0.9


@dataclass
class PafArrows:
    """The arrows of one frame, in frame pixels.

    Attributes
    ----------
    vectors
        ``(n, 2, 2)`` napari vectors: ``[[y, x], [dy, dx]]`` per arrow, each
        centred on the grid point whose field it shows.
    edge
        ``(n,)`` index of each arrow's edge in :attr:`edge_names`.
    edge_names
        ``"source -> destination"`` of every edge with a field.
    grid_step
        Frame pixels between neighbouring grid points.
    """

    vectors: np.ndarray
    edge: np.ndarray
    edge_names: list[str]
    grid_step: float


def paf_arrows(
    instances: np.ndarray,
    cfg: TrainingConfig,
    node_names: Sequence[str],
    skeleton_edges: Sequence[Sequence[str]],
    frame_shape: tuple[int, int],
    min_weight: float = MIN_WEIGHT,
) -> PafArrows:
    """The part affinity field arrows of the labeled ``instances`` of one frame.

    Parameters
    ----------
    instances
        ``(n, k, 2)`` xy in frame pixels, NaN for missing nodes.
    cfg
        The multi-instance model's config (input scaling, part names, fields).
    node_names, skeleton_edges
        The skeleton (edges as node-name pairs; used when the config names none).
    frame_shape
        ``(height, width)`` of the frame.
    min_weight
        Weakest field drawn.

    Raises
    ------
    DataError
        The skeleton has no edges, or an edge or part name is not the skeleton's.
    """
    pts = np.asarray(instances, dtype=np.float64).reshape(-1, len(node_names), 2)
    parts = part_indices_of(cfg, node_names, len(node_names))
    edges = paf_edges_of(cfg, node_names, skeleton_edges)
    names = part_names_of(cfg, node_names)
    edge_names = [f"{names[a]} -> {names[b]}" for a, b in edges]
    scaling = cfg.data.input_scaling
    stride = cfg.pafs.output_stride
    h, w = scaled_shape(*frame_shape, scaling)
    fields = part_affinity_fields(scale_points(pts[:, parts], scaling), edges, h, w, cfg.pafs.sigma, stride)
    yx, dyx, edge = field_arrows(fields, stride, min_weight)
    # network-input pixels back to frame pixels; a uniform scaling keeps the directions
    yx = unscale_points(yx[:, ::-1], scaling)[:, ::-1]
    dyx = dyx / scaling
    vectors = np.stack([yx - dyx / 2, dyx], axis=1)
    return PafArrows(vectors=vectors.reshape(-1, 2, 2), edge=edge, edge_names=edge_names, grid_step=stride / scaling)


def field_arrows(
    fields: np.ndarray, output_stride: int, min_weight: float = MIN_WEIGHT
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid points, arrows and edges of ``(oh, ow, 2 m)`` fields (SLEAP's channel layout).

    Returns
    -------
    yx, dyx, edge
        ``(n, 2)`` input-pixel position of each grid point whose edge field is
        at least ``min_weight`` strong, ``(n, 2)`` its arrow (the field times
        :data:`ARROW_FRACTION` of a grid step) and ``(n,)`` the edge index.
    """
    oh, ow, c = fields.shape
    grid = fields.reshape(oh, ow, c // 2, 2)  # (oh, ow, m, xy)
    rows, cols, edge = np.nonzero(np.linalg.norm(grid, axis=-1) >= min_weight)
    yx = np.stack([rows, cols], axis=1).astype(np.float64) * float(output_stride)
    dyx = grid[rows, cols, edge][:, ::-1].astype(np.float64) * (ARROW_FRACTION * output_stride)
    return yx, dyx, edge
