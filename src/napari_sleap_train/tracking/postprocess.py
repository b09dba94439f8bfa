"""Post-processing of finished tracks: connect single track breaks (SLEAP's algorithm)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .frames import FrameInstances, FrameTracks


def connect_single_breaks(inputs: Sequence[FrameInstances], frames: Sequence[FrameTracks], target_count: int) -> int:
    """Join a track that ends with one that starts on the same frame; in place.

    Walking forward, the last frame with exactly ``target_count`` tracks is the
    reference; on a frame where exactly one reference track is missing and
    exactly one new track appears, the new track is renamed to the missing one
    from there on (while the missing one stays absent). Fixed (user) tracks are
    never renamed.

    Returns
    -------
    int
        How many breaks were connected.
    """
    if not frames:
        return 0
    renames: dict[int, int] = {}
    good = {int(t) for t in frames[0].tracks if t >= 0}
    n_connected = 0
    for inp, out in zip(inputs, frames):
        free = inp.fixed_tracks < 0
        present = {int(t) for t in out.tracks if t >= 0}
        for i in np.flatnonzero(free & (out.tracks >= 0)):
            t = int(out.tracks[i])
            if t in renames and renames[t] not in present:
                out.tracks[i] = renames[t]
                present = {int(x) for x in out.tracks if x >= 0}
        extra, missing = present - good, good - present
        if len(extra) == 1 and len(missing) == 1:
            old, new = extra.pop(), missing.pop()
            hits = np.flatnonzero(free & (out.tracks == old))
            if len(hits):
                out.tracks[hits[0]] = new
                renames[old] = new
                n_connected += 1
        elif len(present) == target_count:
            good = present
    return n_connected
