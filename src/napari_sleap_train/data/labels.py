"""Labeled frames of a sleap-io project as plain numpy training samples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import sleap_io as sio

from .errors import DataError


@dataclass
class FrameSample:
    """The labeled instances of one frame.

    Attributes
    ----------
    video_index
        Index of the video in ``labels.videos``.
    frame_index
        Frame number in that video.
    instances
        ``(n_inst, n_nodes, 2)`` float32 xy in original frame pixels, NaN for
        missing nodes.
    track_ids
        Index into ``labels.tracks`` per instance, ``None`` when untracked.
    """

    video_index: int
    frame_index: int
    instances: np.ndarray
    track_ids: list[int | None] = field(default_factory=list)

    @property
    def key(self) -> tuple[int, int]:
        """``(video_index, frame_index)``."""
        return (self.video_index, self.frame_index)


def collect_samples(labels: sio.Labels, user_only: bool = True) -> list[FrameSample]:
    """Training samples of every labeled frame.

    Parameters
    ----------
    labels
        A sleap-io project.
    user_only
        Use only user (hand-labeled) instances, as SLEAP trains. ``False`` also
        takes predicted instances.

    Returns
    -------
    list of FrameSample
        One per frame that has at least one instance with a visible node, in
        the order of ``labels.labeled_frames``. Instances whose nodes are all
        missing are dropped.
    """
    video_ids = {id(v): i for i, v in enumerate(labels.videos)}
    track_ids = {id(t): i for i, t in enumerate(labels.tracks)}
    n_nodes = len(labels.skeleton.nodes) if labels.skeletons else 0
    samples: list[FrameSample] = []
    for lf in labels.labeled_frames:
        insts = lf.user_instances if user_only else lf.instances
        pts, tracks = [], []
        for inst in insts:
            xy = inst.numpy(invisible_as_nan=True)[:, :2]
            if not np.isfinite(xy).all(axis=1).any():
                continue
            pts.append(xy)
            tracks.append(track_ids.get(id(inst.track)) if inst.track is not None else None)
        if not pts:
            continue
        vidx = video_ids.get(id(lf.video))
        if vidx is None:
            vidx = labels.videos.index(lf.video)
        arr = np.asarray(pts, dtype=np.float32).reshape(len(pts), n_nodes or len(pts[0]), 2)
        samples.append(FrameSample(int(vidx), int(lf.frame_idx), arr, tracks))
    return samples


def node_names_of(labels_or_skeleton: sio.Labels | sio.Skeleton | Sequence[str]) -> list[str]:
    """Node names of a project, a skeleton, or a list of names."""
    if isinstance(labels_or_skeleton, sio.Labels):
        if not labels_or_skeleton.skeletons:
            raise DataError("The project has no skeleton.")
        return list(labels_or_skeleton.skeleton.node_names)
    if isinstance(labels_or_skeleton, sio.Skeleton):
        return list(labels_or_skeleton.node_names)
    return [str(n) for n in labels_or_skeleton]


def node_index(labels_or_skeleton: sio.Labels | sio.Skeleton | Sequence[str], name: str) -> int:
    """Index of the node called ``name``.

    Raises
    ------
    DataError
        When the skeleton has no such node (the message lists the nodes).
    """
    names = node_names_of(labels_or_skeleton)
    try:
        return names.index(name)
    except ValueError:
        raise DataError(f"The skeleton has no node named {name!r}; its nodes are: {', '.join(names)}.") from None


#: Left/right tokens whose swap names a node's symmetric partner (``wingL``/``wingR``, ``left_ear``/``right_ear``).
_SIDES = (("L", "R"), ("l", "r"), ("Left", "Right"), ("left", "right"), ("LEFT", "RIGHT"))


def _name_partner(name: str, names: set[str]) -> str | None:
    """The node of ``names`` whose name differs from ``name`` only in one left/right token."""
    for a, b in _SIDES:
        for this, other in ((a, b), (b, a)):
            start = name.find(this)
            while start >= 0:
                candidate = name[:start] + other + name[start + len(this) :]
                if candidate != name and candidate in names:
                    return candidate
                start = name.find(this, start + 1)
    return None


def symmetric_pairs(skeleton: sio.Skeleton) -> list[tuple[int, int]]:
    """Index pairs of the left/right symmetric nodes of ``skeleton``.

    The skeleton's declared symmetries when it has any; otherwise nodes whose
    names differ only in one left/right token (``wingL``/``wingR``,
    ``forelegL4``/``forelegR4``, ``left_ear``/``right_ear``): SLEAP projects
    often declare none, and a mirrored sample must still swap these nodes.
    """
    declared = [(int(a), int(b)) for a, b in skeleton.symmetry_inds]
    if declared:
        return declared
    names = list(skeleton.node_names)
    index = {n: i for i, n in enumerate(names)}
    pairs, seen = [], set()
    for i, name in enumerate(names):
        other = _name_partner(name, set(names))
        if other is not None and i not in seen and index[other] not in seen:
            pairs.append((i, index[other]))
            seen.update((i, index[other]))
    return pairs


def symmetry_permutation(labels_or_skeleton: sio.Labels | sio.Skeleton) -> np.ndarray | None:
    """Node permutation that swaps left/right symmetric nodes (used by flips).

    Returns
    -------
    numpy.ndarray or None
        ``perm`` with ``flipped_points = points[..., perm, :]``, or ``None``
        when the skeleton has no symmetric nodes (:func:`symmetric_pairs`:
        declared, or named left/right).
    """
    skel = labels_or_skeleton.skeleton if isinstance(labels_or_skeleton, sio.Labels) else labels_or_skeleton
    perm = np.arange(len(skel.nodes))
    pairs = symmetric_pairs(skel)
    if not pairs:
        return None
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm
