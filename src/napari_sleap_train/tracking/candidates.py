"""Where candidates come from: the instances of earlier frames, per track.

Two policies, as in SLEAP:

* :class:`WindowCandidates` keeps the tracked instances of the last
  ``track_window`` frames (a track with no instance in that window is lost);
* :class:`MaxTracksCandidates` keeps the last ``track_window`` instances of each
  track, however old, so no track is ever lost and new instances always go to an
  existing track once ``max_tracks`` exist.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass
class CandidateSet:
    """Candidates of one step, flattened.

    Attributes
    ----------
    points
        ``(m, k, 2)`` candidate points as they were on their frame.
    tracks
        ``(m,)`` track id of each candidate.
    frames
        ``(m,)`` frame index each candidate comes from.
    """

    points: np.ndarray
    tracks: np.ndarray
    frames: np.ndarray

    def __len__(self) -> int:
        return len(self.tracks)


def _stack(items: list[tuple[int, int, np.ndarray]], n_nodes: int) -> CandidateSet:
    if not items:
        return CandidateSet(np.zeros((0, n_nodes, 2)), np.zeros(0, np.int64), np.zeros(0, np.int64))
    frames, tracks, points = zip(*items)
    return CandidateSet(np.stack(points), np.asarray(tracks, np.int64), np.asarray(frames, np.int64))


class WindowCandidates:
    """The tracked instances of the last ``window`` frames."""

    def __init__(self, window: int) -> None:
        self._frames: deque[tuple[int, np.ndarray, np.ndarray]] = deque(maxlen=int(window))

    def add(self, frame_index: int, tracks: np.ndarray, points: np.ndarray) -> None:
        """Remember a processed frame (``tracks`` ``(n,)``, ``points`` ``(n, k, 2)``; untracked skipped)."""
        on = tracks >= 0
        self._frames.append((int(frame_index), tracks[on].copy(), points[on].copy()))

    def get(self, n_nodes: int) -> CandidateSet:
        items = [(f, int(t), p) for f, ts, ps in self._frames for t, p in zip(ts, ps)]
        return _stack(items, n_nodes)

    def frames_in_use(self) -> set[int]:
        return {f for f, ts, _ in self._frames if len(ts)}


class MaxTracksCandidates:
    """The last ``window`` instances of every track (tracks are never lost)."""

    def __init__(self, window: int) -> None:
        self.window = int(window)
        self._tracks: dict[int, deque[tuple[int, np.ndarray]]] = {}

    def add(self, frame_index: int, tracks: np.ndarray, points: np.ndarray) -> None:
        for t, p in zip(tracks, points):
            if t >= 0:
                self._tracks.setdefault(int(t), deque(maxlen=self.window)).append((int(frame_index), p.copy()))

    def get(self, n_nodes: int) -> CandidateSet:
        items = [(f, t, p) for t, q in self._tracks.items() for f, p in q]
        return _stack(items, n_nodes)

    def frames_in_use(self) -> set[int]:
        return {f for q in self._tracks.values() for f, _ in q}
