"""Part affinity fields: the second training target of bottom-up models.

For each skeleton edge ``source -> destination`` the field has two channels,
the x and y of the unit vector from source to destination, weighted by how
near each output pixel is to the edge's segment. Edge ``i`` owns channels
``2 i`` (x) and ``2 i + 1`` (y), in the order of the edge list; this is SLEAP
1.4's layout (``PartAffinityFieldsGenerator`` with ``flatten_channels``), so
the fields of a SLEAP model and ours are read the same way.

The weight follows SLEAP 1.4 exactly, so a SLEAP "sigma for edges" means
the same here: with ``d2`` the squared distance (network-input pixels) from
the pixel to the segment, the weight is ``exp(-d2**2 / (2 * sigma**2))``
(SLEAP passes the *squared* distance through its Gaussian). It is above one
half within :func:`half_width` ``= 1.085 * sqrt(sigma)`` pixels of the segment
(sigma 75: 9.4 px, sigma 25: 5.4 px) and falls to nothing soon after. The
fields of several instances are summed, as SLEAP does; an edge with a missing
end point contributes nothing.

The grid is the confidence maps' (:mod:`.confmaps`): output pixel ``(i, j)``
sits at input ``(x, y) = (j * s, i * s)`` for output stride ``s``. Points,
sigma and sizes are in network-input pixels (after input scaling). The
fields are made from points *after* augmentation, so a rotated or mirrored
sample gets fields that follow its image; on a mirror the symmetric nodes
have already been swapped (:func:`~.augmentation.flip_nodes`), so an edge
``thorax -> left leg`` follows the leg that now looks left.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .confmaps import output_shape
from .errors import DataError


def half_width(sigma: float) -> float:
    """Distance from the segment (network-input pixels) where the field weight falls to one half."""
    return (2.0 * math.log(2.0)) ** 0.25 * math.sqrt(float(sigma))


def edge_indices(edges: Sequence[Sequence[str]], node_names: Sequence[str]) -> np.ndarray:
    """``(m, 2)`` int node indices of ``[source, destination]`` edges named by node.

    Raises
    ------
    DataError
        An edge names a node the skeleton does not have, or there is no edge.
    """
    names = list(node_names)
    if not edges:
        raise DataError(
            "Bottom-up models need skeleton edges (each edge gets a part affinity field); "
            "the skeleton has none: add edges to the skeleton."
        )
    out = np.zeros((len(edges), 2), dtype=int)
    for i, edge in enumerate(edges):
        if len(edge) != 2:
            raise DataError(f"A part affinity field edge needs a source and a destination, got {list(edge)!r}.")
        for j, name in enumerate(edge):
            if name not in names:
                raise DataError(
                    f"The part affinity field edge {edge[0]} -> {edge[1]} names {name!r}, "
                    f"which the skeleton does not have; its nodes are: {', '.join(names)}."
                )
            out[i, j] = names.index(name)
    return out


def part_affinity_fields(
    points: np.ndarray,
    edges: np.ndarray,
    height: int,
    width: int,
    sigma: float,
    output_stride: int = 1,
) -> np.ndarray:
    """Part affinity fields of the instances of one sample.

    Parameters
    ----------
    points
        ``(k, 2)`` xy points of one instance or ``(n, k, 2)`` of several, in
        network-input pixels; NaN marks a missing node.
    edges
        ``(m, 2)`` int ``[source, destination]`` node indices (see :func:`edge_indices`).
    height, width
        Size of the network input image.
    sigma
        SLEAP's edge sigma (see the module docstring).
    output_stride
        Stride of the field grid relative to the input.

    Returns
    -------
    numpy.ndarray
        ``(ceil(height / s), ceil(width / s), 2 m)`` float32; channel ``2 i``
        is the x and ``2 i + 1`` the y component of edge ``i``.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 2:
        pts = pts[None]
    if pts.ndim != 3 or pts.shape[-1] != 2:
        raise ValueError(f"points must have shape (k, 2) or (n, k, 2), got {np.shape(points)}")
    e = np.asarray(edges, dtype=int).reshape(-1, 2)
    oh, ow = output_shape(height, width, output_stride)
    out = np.zeros((oh, ow, len(e), 2), dtype=np.float32)
    if len(e) == 0 or len(pts) == 0:
        return out.reshape(oh, ow, 2 * len(e))
    src = pts[:, e[:, 0]].reshape(-1, 2)  # (n*m, 2), instance-major
    dst = pts[:, e[:, 1]].reshape(-1, 2)
    vec = dst - src
    length = np.linalg.norm(vec, axis=1)
    ok = np.isfinite(vec).all(axis=1) & (length > 0)
    if not ok.any():
        return out.reshape(oh, ow, 2 * len(e))
    edge_of = np.tile(np.arange(len(e)), len(pts))[ok]
    src, vec, length = src[ok], vec[ok], length[ok]
    unit = (vec / length[:, None]).astype(np.float32)
    gx = np.arange(ow, dtype=np.float64) * output_stride
    gy = np.arange(oh, dtype=np.float64) * output_stride
    # pixel offsets from each segment's source: (oh, ow, c) per axis
    rx = gx[None, :, None] - src[None, None, :, 0]
    ry = gy[:, None, None] - src[None, None, :, 1]
    # projection onto the segment, clipped to it (squared length at least 1, as SLEAP)
    t = np.clip((rx * vec[:, 0] + ry * vec[:, 1]) / np.maximum(length**2, 1.0), 0.0, 1.0)
    d2 = (t * vec[:, 0] - rx) ** 2 + (t * vec[:, 1] - ry) ** 2
    weight = np.exp(-(d2 * d2) / (2.0 * float(sigma) ** 2)).astype(np.float32)  # (oh, ow, c)
    for c, edge in enumerate(edge_of):
        out[:, :, edge, :] += weight[:, :, c, None] * unit[c]
    return out.reshape(oh, ow, 2 * len(e))
