"""Left/right swaps among the large errors of matched instances (numpy only).

A model that confuses symmetric parts (wingL for wingR, a left leg for the
right one) makes errors about the distance between the two parts, which
dominate the tail of the pixel error. :func:`swap_analysis` counts, among the
large errors (more than ``large_px`` from the truth), those that are *swaps*:
the prediction of node X lies within ``swap_px`` of the truth of X's
symmetric partner. The partners come from the skeleton's symmetries, or, when
it has none (SLEAP projects often leave them out), from node names that
differ only in one ``L``/``R`` (``wingL``/``wingR``, ``forelegL4``/``forelegR4``)
or ``left``/``right``.

The instances are paired as :func:`.metrics.evaluate` pairs them (greedy by
score, :func:`.matching.match_greedy`); :func:`matched_points` gives the pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import sleap_io as sio

from napari_sleap_train.data.labels import symmetric_pairs

from .matching import DEFAULT_SIGMA, match_greedy
from .metrics import EvaluationError, frame_instances, frame_keys

#: Errors above this many pixels count as large.
LARGE_ERROR_PX = 8.0
#: A large error is a swap when the prediction is this close to the partner's truth.
SWAP_PX = 5.0


def symmetric_partners(skeleton: sio.Skeleton) -> dict[str, str]:
    """Each symmetric node's partner, both ways (``{"wingL": "wingR", "wingR": "wingL", ...}``).

    The pairs flips swap (:func:`~napari_sleap_train.data.labels.symmetric_pairs`):
    the skeleton's symmetries, or left/right node names when it declares none.
    """
    names = list(skeleton.node_names)
    partners: dict[str, str] = {}
    for i, j in symmetric_pairs(skeleton):
        partners[names[i]], partners[names[j]] = names[j], names[i]
    return partners


@dataclass
class NodeSwaps:
    """Large errors and swaps of one node."""

    found: int = 0
    large: int = 0
    swaps: int = 0


@dataclass
class SwapAnalysis:
    """How many of the large errors are left/right swaps (see the module docstring)."""

    large_px: float = LARGE_ERROR_PX
    swap_px: float = SWAP_PX
    partners: dict[str, str] = field(default_factory=dict)
    found: int = 0  # visible ground-truth nodes the matched prediction has
    large: int = 0  # of them, errors above large_px
    swaps: int = 0  # of the large ones, swaps
    nodes: dict[str, NodeSwaps] = field(default_factory=dict)

    @property
    def swap_share(self) -> float | None:
        """Share of the large errors that are swaps (``None`` without large errors)."""
        return self.swaps / self.large if self.large else None

    @property
    def large_share(self) -> float | None:
        """Share of the found nodes with a large error."""
        return self.large / self.found if self.found else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, with the two shares."""
        d = asdict(self)
        d["swap_share"] = self.swap_share
        d["large_share"] = self.large_share
        return d


def swap_analysis(
    gt: np.ndarray,
    pr: np.ndarray,
    node_names: Sequence[str],
    partners: dict[str, str],
    large_px: float = LARGE_ERROR_PX,
    swap_px: float = SWAP_PX,
) -> SwapAnalysis:
    """Count the large errors and the swaps among them.

    Parameters
    ----------
    gt, pr
        ``(n, k, 2)`` matched ground-truth and predicted instances, nodes in
        ``node_names`` order, NaN where a node is missing.
    node_names
        The ``k`` node names.
    partners
        Symmetric partner of each node that has one (:func:`symmetric_partners`).
    large_px
        Errors above this distance are large.
    swap_px
        A large error is a swap when the prediction is within this distance of
        the partner's ground truth.
    """
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, len(node_names), 2)
    pr = np.asarray(pr, dtype=np.float64).reshape(-1, len(node_names), 2)
    if gt.shape != pr.shape:
        raise EvaluationError(f"ground truth {gt.shape} and predictions {pr.shape} differ in shape")
    index = {n: i for i, n in enumerate(node_names)}
    out = SwapAnalysis(large_px=float(large_px), swap_px=float(swap_px), partners=dict(partners))
    err = np.linalg.norm(gt - pr, axis=-1)  # NaN where either side misses the node
    found = np.isfinite(err)
    large = found & (err > large_px)
    for i, name in enumerate(node_names):
        j = index.get(partners.get(name, ""))
        swaps = 0
        if j is not None:
            to_partner = np.linalg.norm(pr[:, i] - gt[:, j], axis=-1)
            swaps = int(np.sum(large[:, i] & np.isfinite(to_partner) & (to_partner <= swap_px)))
        node = NodeSwaps(found=int(found[:, i].sum()), large=int(large[:, i].sum()), swaps=swaps)
        out.nodes[name] = node
        out.found += node.found
        out.large += node.large
        out.swaps += node.swaps
    return out


def matched_points(
    gt_labels: sio.Labels,
    pr_labels: sio.Labels,
    frames: Sequence[tuple[int, int]] | None = None,
    oks_sigma: float | Sequence[float] = DEFAULT_SIGMA,
) -> tuple[np.ndarray, np.ndarray]:
    """``(gt, pr)``: the ``(n, k, 2)`` instance pairs :func:`.metrics.evaluate` matches."""
    if not gt_labels.skeletons:
        raise EvaluationError("The ground-truth labels have no skeleton.")
    k = len(gt_labels.skeletons[0].node_names)
    sigma = np.broadcast_to(np.asarray(oks_sigma, dtype=np.float64), (k,))
    gts_out, prs_out = [np.zeros((0, k, 2))], [np.zeros((0, k, 2))]
    for _key, gts, prs, scores in frame_instances(gt_labels, pr_labels, frame_keys(gt_labels, frames)):
        pairs, _ = match_greedy(gts, prs, scores, sigma)
        if pairs:
            g, p = (list(x) for x in zip(*pairs))
            gts_out.append(gts[g])
            prs_out.append(prs[p])
    return np.concatenate(gts_out), np.concatenate(prs_out)


def label_swaps(
    gt_labels: sio.Labels,
    pr_labels: sio.Labels,
    frames: Sequence[tuple[int, int]] | None = None,
    large_px: float = LARGE_ERROR_PX,
    swap_px: float = SWAP_PX,
) -> SwapAnalysis:
    """:func:`swap_analysis` of the matched instances of two label sets (partners from the skeleton)."""
    gt, pr = matched_points(gt_labels, pr_labels, frames)
    skeleton = gt_labels.skeletons[0]
    return swap_analysis(gt, pr, skeleton.node_names, symmetric_partners(skeleton), large_px, swap_px)
