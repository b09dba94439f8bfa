"""Tracking across frames (numpy, SciPy and OpenCV; no napari, Qt or TensorFlow).

SLEAP's trackers on plain arrays: ``simple`` and ``flow`` (candidates shifted
by pyramidal Lucas-Kanade flow), similarities ``instance`` / ``centroid`` /
``iou`` / ``oks``, ``greedy`` or ``hungarian`` matching, a track window, a
maximum number of tracks, culling and connecting single track breaks.

* :func:`track_frames` tracks one video given as :class:`FrameInstances`;
* :func:`track_labels` (re)tracks the predictions of a ``sleap_io.Labels``.
"""

from .frames import NO_TRACK, FrameInstances, FrameTracks, TrackingResult
from .labels import LabelsTrackingReport, remove_predicted_tracks, track_labels
from .settings import CullSettings, FlowSettings, TrackerSettings, TrackingSettingsError
from .tracker import Tracker, TrackingInputError, track_frames

__all__ = [
    "NO_TRACK",
    "CullSettings",
    "FlowSettings",
    "FrameInstances",
    "FrameTracks",
    "LabelsTrackingReport",
    "Tracker",
    "TrackerSettings",
    "TrackingInputError",
    "TrackingResult",
    "TrackingSettingsError",
    "remove_predicted_tracks",
    "track_frames",
    "track_labels",
]
