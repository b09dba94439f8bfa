"""The tracker: assign each frame's instances to tracks, frame after frame.

Per frame: cull, keep fixed (user) instances on their tracks, gather candidates
from earlier frames (shifted by optical flow for the ``flow`` tracker), score
every instance against every track (best candidate of the track, or a robust
quantile), match one to one, start new tracks for the rest while ``max_tracks``
allows, and remember the result as candidates for the next frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .candidates import CandidateSet, MaxTracksCandidates, WindowCandidates
from .cull import cull_mask
from .flow import flow_shift, to_gray_uint8
from .frames import NO_TRACK, FrameInstances, FrameTracks, TrackingResult
from .matching import match
from .postprocess import connect_single_breaks
from .settings import TrackerSettings
from .similarity import similarity_matrix, typical_size

#: frame index -> image of one video (what the flow tracker reads).
FrameSource = Callable[[int], np.ndarray]


class TrackingInputError(ValueError):
    """The instances or frames given to the tracker cannot be tracked."""


def _per_track(sim: np.ndarray, cand_tracks: np.ndarray, tracks: np.ndarray, robust: float) -> np.ndarray:
    """``(n, m)`` candidate similarities -> ``(n, len(tracks))`` track similarities (NaN ignored)."""
    out = np.full((sim.shape[0], len(tracks)), np.nan)
    for j, t in enumerate(tracks):
        cols = sim[:, cand_tracks == t]
        ok = np.isfinite(cols)
        has = ok.any(axis=1)
        if not has.any():
            continue
        if robust >= 1.0:
            out[has, j] = np.where(ok, cols, -np.inf).max(axis=1)[has]
        else:
            for i in np.flatnonzero(has):
                out[i, j] = np.quantile(cols[i, ok[i]], robust)
    return out


class Tracker:
    """Track one video, a frame at a time (:meth:`step`) or all at once (:meth:`run`).

    Parameters
    ----------
    settings
        What to do (:class:`~.settings.TrackerSettings`, validated here).
    frame
        ``frame_index -> image`` of this video; needed by the ``flow`` tracker.
    first_track_id
        Id of the first track the tracker starts (ids of fixed tracks must be
        below it or registered through ``fixed_track_ids``).
    fixed_track_ids
        Tracks anchored by fixed instances somewhere in this video; under
        ``max_tracks`` they count as existing tracks from the first frame.
    scale
        Length scale of the ``instance`` similarity when the settings leave it
        unset (:meth:`run` uses the median instance size of the video).
    """

    def __init__(
        self,
        settings: TrackerSettings,
        frame: FrameSource | None = None,
        first_track_id: int = 0,
        fixed_track_ids: Iterable[int] = (),
        scale: float | None = None,
    ) -> None:
        self.settings = settings.validate()
        if settings.uses_frames and frame is None:
            raise TrackingInputError("the flow tracker needs the video frames; use the simple tracker without them")
        self._frame = frame
        self.scale = scale
        self._next_id = int(first_track_id)
        self._known: set[int] = {int(t) for t in fixed_track_ids}
        self._next_id = max([self._next_id, *[t + 1 for t in self._known]])
        self.n_spawned = 0
        self.max_mode = settings.max_tracks > 0
        window = settings.track_window
        self._store = MaxTracksCandidates(window) if self.max_mode else WindowCandidates(window)
        self._images: dict[int, np.ndarray] = {}

    @property
    def next_track_id(self) -> int:
        """Id the next new track will get."""
        return self._next_id

    # -- frames ------------------------------------------------------------------------
    def _image(self, frame_index: int) -> np.ndarray:
        img = self._images.get(frame_index)
        if img is None:
            assert self._frame is not None
            try:
                raw = self._frame(frame_index)
            except Exception as exc:
                raise TrackingInputError(f"frame {frame_index} could not be read ({exc})") from exc
            img = to_gray_uint8(raw, self.settings.flow.img_scale)
            self._images[frame_index] = img
        return img

    def _shifted(self, cands: CandidateSet, frame_index: int) -> np.ndarray:
        """Candidate points moved by the flow from their frame to ``frame_index``."""
        out = cands.points.copy()
        if not self.settings.uses_frames or len(cands) == 0:
            return out
        new_img = self._image(frame_index)
        for f in np.unique(cands.frames):
            if f == frame_index:
                continue
            sel = cands.frames == f
            out[sel] = flow_shift(cands.points[sel], self._image(int(f)), new_img, self.settings.flow)
        return out

    # -- one frame ---------------------------------------------------------------------
    def _can_spawn(self) -> bool:
        return not self.max_mode or len(self._known) < self.settings.max_tracks

    def step(self, frame: FrameInstances) -> FrameTracks:
        """Assign the instances of the next frame to tracks."""
        s = self.settings
        out = FrameTracks.empty(frame)
        n = len(frame)
        if n:
            fixed = frame.fixed_tracks >= 0
            keep = cull_mask(frame.points, frame.scores, s.cull, protected=fixed)
            out.culled = ~keep
            out.tracks[fixed] = frame.fixed_tracks[fixed]
            out.scores[fixed] = 1.0
            self._known.update(int(t) for t in frame.fixed_tracks[fixed])
            used = {int(t) for t in frame.fixed_tracks[fixed]}
            free = np.flatnonzero(keep & ~fixed)
            if len(free):
                self._assign(frame, free, used, out)
        if self.settings.uses_frames and n:
            self._image(frame.frame_index)  # the next frames shift from this one
        self._store.add(frame.frame_index, out.tracks, frame.points)
        if self.settings.uses_frames:
            in_use = self._store.frames_in_use()
            for f in [f for f in self._images if f not in in_use]:
                del self._images[f]
        return out

    def _assign(self, frame: FrameInstances, free: np.ndarray, used: set[int], out: FrameTracks) -> None:
        s = self.settings
        n_nodes = frame.points.shape[1]
        cands = self._store.get(n_nodes)
        if len(cands):
            allowed = ~np.isin(cands.tracks, list(used)) if used else np.ones(len(cands), bool)
            cands = CandidateSet(cands.points[allowed], cands.tracks[allowed], cands.frames[allowed])
        matched = np.zeros(len(free), bool)
        if len(cands):
            ref = self._shifted(cands, frame.frame_index)
            scale = self.scale if self.scale is not None else typical_size(frame.points)
            sim = similarity_matrix(frame.points[free], ref, s, scale=scale)
            tracks = np.unique(cands.tracks)
            track_sim = _per_track(sim, cands.tracks, tracks, float(s.robust))
            for i, j in match(track_sim, s.match):
                out.tracks[free[i]] = tracks[j]
                out.scores[free[i]] = float(track_sim[i, j])
                used.add(int(tracks[j]))
                matched[i] = True
        # the rest, best score first: new tracks while allowed, else known tracks still free
        rest = free[~matched]
        rest = rest[np.argsort(-np.nan_to_num(frame.scores[rest], nan=-np.inf), kind="stable")]
        visible = np.isfinite(frame.points).all(axis=-1).sum(axis=-1)
        for i in rest:
            if visible[i] == 0 or visible[i] < s.min_new_track_points:
                continue
            if self._can_spawn():
                t = self._next_id
                self._next_id += 1
                self._known.add(t)
                self.n_spawned += 1
            else:
                spare = sorted(self._known - used)
                if not spare:
                    continue  # more instances than max tracks: this one stays untracked
                t = spare[0]
            out.tracks[i] = t
            used.add(t)

    # -- a whole video -----------------------------------------------------------------
    def run(self, frames: Sequence[FrameInstances], progress: Callable[[int], None] | None = None) -> TrackingResult:
        """Track every frame (in frame order), then post-process; results align with ``frames``.

        ``progress`` is called with the number of frames tracked so far.
        """
        order = [f.frame_index for f in frames]
        if any(b <= a for a, b in zip(order, order[1:])):
            raise TrackingInputError("frames must be given once each, in increasing frame order")
        if self.scale is None and frames:
            pts = [f.points for f in frames if len(f)]
            self.scale = typical_size(np.concatenate(pts)) if pts else 1.0
        stepped = []
        for f in frames:
            stepped.append(self.step(f))
            if progress is not None:
                progress(len(stepped))
        result = TrackingResult(frames=stepped)
        if self.settings.connect_single_breaks:
            result.n_breaks_connected = connect_single_breaks(
                frames, result.frames, self.settings.target_instance_count
            )
        result.n_spawned = self.n_spawned
        result.n_culled = int(sum(f.culled.sum() for f in result.frames))
        result.n_untracked = int(sum(((f.tracks == NO_TRACK) & ~f.culled).sum() for f in result.frames))
        return result


def track_frames(
    frames: Sequence[FrameInstances],
    settings: TrackerSettings,
    frame: FrameSource | None = None,
    first_track_id: int = 0,
) -> TrackingResult:
    """Track one video's frames; fixed track ids are registered from the input."""
    fixed = {int(t) for f in frames for t in f.fixed_tracks if t >= 0}
    return Tracker(settings, frame=frame, first_track_id=first_track_id, fixed_track_ids=fixed).run(frames)
