"""Plain-array representation of what the tracker reads and writes.

One :class:`FrameInstances` per frame of one video, in frame order. Track ids are
small non-negative integers; ``-1`` means "no track". The Labels adapter
(:mod:`.labels`) converts to and from ``sleap_io`` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Track id of an instance that is on no track.
NO_TRACK = -1


@dataclass
class FrameInstances:
    """The instances of one frame.

    Attributes
    ----------
    frame_index
        Index of the frame in its video.
    points
        ``(n_instances, n_nodes, 2)`` float x, y; NaN for a missing node.
    scores
        ``(n_instances,)`` instance scores (used to cull and to order new tracks).
    fixed_tracks
        ``(n_instances,)`` track ids that must not change (user instances already
        on a track anchor it), :data:`NO_TRACK` for instances to track.
    """

    frame_index: int
    points: np.ndarray
    scores: np.ndarray | None = None
    fixed_tracks: np.ndarray | None = None

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float64)
        if pts.size == 0:
            pts = pts.reshape(0, pts.shape[1] if pts.ndim == 3 else 0, 2)
        if pts.ndim != 3 or pts.shape[-1] != 2:
            raise ValueError(f"points must be (n_instances, n_nodes, 2), not {pts.shape}")
        self.points = pts
        n = len(pts)
        self.scores = np.ones(n) if self.scores is None else np.asarray(self.scores, dtype=np.float64).reshape(n)
        self.fixed_tracks = (
            np.full(n, NO_TRACK, dtype=np.int64)
            if self.fixed_tracks is None
            else np.asarray(self.fixed_tracks, dtype=np.int64).reshape(n)
        )

    def __len__(self) -> int:
        return len(self.points)


@dataclass
class FrameTracks:
    """What the tracker decided for one frame (aligned with its :class:`FrameInstances`).

    Attributes
    ----------
    tracks
        ``(n_instances,)`` track id of each instance, :data:`NO_TRACK` if none
        (culled, too few points, or no track left under max tracks).
    scores
        ``(n_instances,)`` tracking score: the similarity of the match (0 for an
        instance that started a track or has none; fixed instances keep 1).
    culled
        ``(n_instances,)`` True for instances removed by culling.
    """

    frame_index: int
    tracks: np.ndarray
    scores: np.ndarray
    culled: np.ndarray

    @classmethod
    def empty(cls, frame: FrameInstances) -> FrameTracks:
        n = len(frame)
        return cls(frame.frame_index, np.full(n, NO_TRACK, dtype=np.int64), np.zeros(n), np.zeros(n, bool))


@dataclass
class TrackingResult:
    """Tracks of one video.

    Attributes
    ----------
    frames
        One :class:`FrameTracks` per input frame, same order.
    n_spawned
        Tracks the tracker started (fixed tracks not counted).
    n_untracked
        Instances left on no track (not counting culled ones).
    n_culled
        Instances removed by culling.
    n_breaks_connected
        Track breaks joined by the post-processing.
    """

    frames: list[FrameTracks] = field(default_factory=list)
    n_spawned: int = 0
    n_untracked: int = 0
    n_culled: int = 0
    n_breaks_connected: int = 0

    def track_ids(self) -> list[int]:
        """Sorted ids of every track used."""
        ids = set()
        for f in self.frames:
            ids.update(int(t) for t in f.tracks if t >= 0)
        return sorted(ids)
