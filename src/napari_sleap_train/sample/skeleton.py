"""Skeleton of the procedural "mouse": node names, edges and a sleap-io Skeleton."""

from __future__ import annotations

import sleap_io as sio

#: Body parts, front to back. ``left_ear``/``right_ear`` are the animal's own
#: left/right (seen from above, heading up: left ear on the image left). They
#: are rendered differently (left bright and round, right dark and small) so the
#: pair is never ambiguous, even under flip augmentation.
NODE_NAMES: tuple[str, ...] = (
    "nose",
    "head",
    "left_ear",
    "right_ear",
    "trunk",
    "tail_base",
    "tail_mid",
    "tail_tip",
)

#: Skeleton edges as (source, destination) node names.
EDGES: tuple[tuple[str, str], ...] = (
    ("head", "nose"),
    ("head", "left_ear"),
    ("head", "right_ear"),
    ("trunk", "head"),
    ("trunk", "tail_base"),
    ("tail_base", "tail_mid"),
    ("tail_mid", "tail_tip"),
)

#: Name given to the skeleton in the written ``.slp``.
SKELETON_NAME = "mouse"


def make_skeleton() -> sio.Skeleton:
    """Build the sample project's skeleton.

    Returns
    -------
    sleap_io.Skeleton
        Nodes in :data:`NODE_NAMES` order and edges from :data:`EDGES`.
    """
    return sio.Skeleton(nodes=list(NODE_NAMES), edges=[list(e) for e in EDGES], name=SKELETON_NAME)
