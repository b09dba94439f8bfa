"""Track the predicted instances of a ``sleap_io.Labels`` (the thin adapter).

Predicted instances lose their old tracks and get new ones with a tracking
score; user instances keep theirs, and a user instance on a track anchors that
track on its frame. Culled predictions are removed from their frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sleap_io as sio

from .frames import NO_TRACK, FrameInstances, TrackingResult
from .settings import TrackerSettings
from .tracker import Tracker

#: (video index, frame index) -> image; what the flow tracker reads.
VideoFrameSource = Callable[[int, int], np.ndarray]


@dataclass
class LabelsTrackingReport:
    """What tracking a ``Labels`` did.

    Attributes
    ----------
    n_frames
        Frames with predicted instances that were tracked.
    n_tracks
        Tracks used by predicted instances after tracking (all videos).
    n_tracked, n_untracked, n_culled
        Predicted instances put on a track, left on none, removed by culling.
    n_breaks_connected
        Track breaks joined by the post-processing.
    per_video
        The raw :class:`~.frames.TrackingResult` of each tracked video index.
    """

    n_frames: int = 0
    n_tracks: int = 0
    n_tracked: int = 0
    n_untracked: int = 0
    n_culled: int = 0
    n_breaks_connected: int = 0
    per_video: dict[int, TrackingResult] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{self.n_tracked} predicted instance(s) on {self.n_tracks} track(s) over {self.n_frames} frame(s)"]
        if self.n_untracked:
            parts.append(f"{self.n_untracked} left on no track")
        if self.n_culled:
            parts.append(f"{self.n_culled} culled")
        if self.n_breaks_connected:
            parts.append(f"{self.n_breaks_connected} track break(s) connected")
        return "; ".join(parts)


def _points(inst: sio.Instance, n_nodes: int) -> np.ndarray:
    xy = np.asarray(inst.numpy(), dtype=np.float64)[:, :2]
    if len(xy) != n_nodes:  # another skeleton: pad or cut so the arrays stack
        out = np.full((n_nodes, 2), np.nan)
        out[: min(n_nodes, len(xy))] = xy[:n_nodes]
        return out
    return xy


def _fresh_name(taken: set[str]) -> str:
    """SLEAP's ``track_N`` with the first N no track of the file has; remembered in ``taken``."""
    n = 0
    while f"track_{n}" in taken:
        n += 1
    taken.add(f"track_{n}")
    return f"track_{n}"


def remove_predicted_tracks(labels: sio.Labels) -> None:
    """Take every predicted instance off its track; drop tracks nothing uses any more."""
    for lf in labels.labeled_frames:
        for inst in lf.predicted_instances:
            inst.track = None
            inst.tracking_score = 0.0
    used = {id(i.track) for lf in labels.labeled_frames for i in lf.instances if i.track is not None}
    labels.tracks[:] = [t for t in labels.tracks if id(t) in used]


def track_labels(
    labels: sio.Labels,
    settings: TrackerSettings,
    frame: VideoFrameSource | None = None,
    videos: list[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LabelsTrackingReport:
    """(Re)track the predicted instances of ``labels`` in place.

    Parameters
    ----------
    labels
        The labels; changed in place.
    settings
        Tracker settings; ``tracker='none'`` changes nothing.
    frame
        ``(video_index, frame_index) -> image``; needed by the flow tracker.
    videos
        Indices of the videos to track (default: all).
    progress
        Called with ``(frames tracked, frames to track)`` as tracking goes.

    Returns
    -------
    LabelsTrackingReport
    """
    settings.validate()
    report = LabelsTrackingReport()
    if not settings.enabled:
        return report
    if not labels.skeletons:
        return report
    n_nodes = max(len(s.nodes) for s in labels.skeletons)
    wanted = range(len(labels.videos)) if videos is None else videos
    video_index = {id(v): i for i, v in enumerate(labels.videos)}
    # every predicted instance is re-tracked; user tracks stay and anchor
    for lf in labels.labeled_frames:
        if video_index.get(id(lf.video)) in wanted:
            for inst in lf.predicted_instances:
                inst.track = None
    track_ids: dict[int, sio.Track] = dict(enumerate(labels.tracks))
    ids_of = {id(t): i for i, t in track_ids.items()}
    next_id = len(track_ids)
    new_tracks: dict[int, sio.Track] = {}
    taken = {t.name for t in labels.tracks}
    n_total = sum(
        1
        for lf in labels.labeled_frames
        if video_index.get(id(lf.video)) in wanted
        and any(
            isinstance(i, sio.PredictedInstance) or (i.track is not None and id(i.track) in ids_of)
            for i in lf.instances
        )
    )
    n_before = 0
    for vi in wanted:
        lfs = sorted(
            (lf for lf in labels.labeled_frames if video_index.get(id(lf.video)) == vi), key=lambda lf: lf.frame_idx
        )
        lfs = [
            lf
            for lf in lfs
            if any(
                isinstance(i, sio.PredictedInstance) or (i.track is not None and id(i.track) in ids_of)
                for i in lf.instances
            )
        ]
        if not lfs:
            continue
        inputs, refs = [], []
        for lf in lfs:
            insts = [
                i
                for i in lf.instances
                if isinstance(i, sio.PredictedInstance) or (i.track is not None and id(i.track) in ids_of)
            ]
            pts = np.stack([_points(i, n_nodes) for i in insts]) if insts else np.zeros((0, n_nodes, 2))
            scores = [
                float(getattr(i, "score", 1.0)) if isinstance(i, sio.PredictedInstance) else np.inf for i in insts
            ]
            fixed = [NO_TRACK if isinstance(i, sio.PredictedInstance) else ids_of[id(i.track)] for i in insts]
            inputs.append(FrameInstances(lf.frame_idx, pts, np.asarray(scores), np.asarray(fixed)))
            refs.append(insts)
        source = (lambda f, vi=vi: frame(vi, f)) if frame is not None else None
        fixed_ids = {int(t) for f in inputs for t in f.fixed_tracks if t >= 0}
        tracker = Tracker(settings, frame=source, first_track_id=next_id, fixed_track_ids=fixed_ids)
        report_to = (lambda n, before=n_before: progress(before + n, n_total)) if progress is not None else None
        result = tracker.run(inputs, report_to)
        n_before += len(inputs)
        next_id = tracker.next_track_id
        report.per_video[vi] = result
        report.n_breaks_connected += result.n_breaks_connected
        report.n_frames += sum(1 for lf in lfs if lf.predicted_instances)
        for lf, insts, res in zip(lfs, refs, result.frames):
            drop = []
            for inst, t, score, culled in zip(insts, res.tracks, res.scores, res.culled):
                if not isinstance(inst, sio.PredictedInstance):
                    continue
                if culled:
                    drop.append(inst)
                    report.n_culled += 1
                    continue
                if t < 0:
                    inst.track, inst.tracking_score = None, 0.0
                    report.n_untracked += 1
                    continue
                track = track_ids.get(int(t)) or new_tracks.get(int(t))
                if track is None:
                    track = new_tracks[int(t)] = sio.Track(name=_fresh_name(taken))
                inst.track, inst.tracking_score = track, float(score)
                report.n_tracked += 1
            if drop:
                lf.instances = [i for i in lf.instances if all(i is not d for d in drop)]
    # the file's track list: the old tracks still in use, then the new ones in order
    used = {id(i.track) for lf in labels.labeled_frames for i in lf.instances if i.track is not None}
    labels.tracks[:] = [t for t in labels.tracks if id(t) in used] + [
        new_tracks[k] for k in sorted(new_tracks) if id(new_tracks[k]) in used
    ]
    report.n_tracks = len(
        {id(i.track) for lf in labels.labeled_frames for i in lf.predicted_instances if i.track is not None}
    )
    return report
