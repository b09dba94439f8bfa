"""Typed settings of the tracker (SLEAP 1.4's tracking options, with its defaults).

These are plain dataclasses (no napari, Qt or TensorFlow) so the dock, the CLI and
the jobs can all build, check and serialise the same object: ``PipelineConfig``
holds one (``pipeline.tracking``, used after training) and ``PredictJob`` one.
Like the other configs they are evented (psygnal), which is what the dock's
Tracking section binds to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

from psygnal import SignalGroupDescriptor

TrackerKind = Literal["none", "simple", "flow"]
SimilarityKind = Literal["instance", "centroid", "iou", "oks"]
MatchKind = Literal["greedy", "hungarian"]

TRACKERS: tuple[str, ...] = ("none", "simple", "flow")
SIMILARITIES: tuple[str, ...] = ("instance", "centroid", "iou", "oks")
MATCHES: tuple[str, ...] = ("greedy", "hungarian")
OKS_NORMALIZATIONS: tuple[str, ...] = ("all", "ref", "union")


class TrackingSettingsError(ValueError):
    """A tracking setting is out of range; the message says which and why."""


@dataclass
class FlowSettings:
    """Pyramidal Lucas-Kanade optical flow (``cv2.calcOpticalFlowPyrLK``).

    Attributes
    ----------
    window_size
        Side of the search window at each pyramid level (pixels), SLEAP: 21.
    max_levels
        Pyramid levels above the full image, SLEAP: 3.
    img_scale
        Scale frames by this before the flow (smaller is faster, coarser).
    min_points
        A shifted candidate needs more than this many points the flow found.
    max_fb_error
        Forward-backward check (not in SLEAP): a node that the flow does not
        bring back to within this many pixels of where it started is dropped
        from the shifted candidate; ``None``: no limit in pixels.
    max_fb_error_fraction
        The same check with a limit relative to the instance: this fraction of
        its bounding-box diagonal (the smaller limit wins when both are set);
        ``None``: none. Default 0.1 (about 2 px on the fly clip's flies).
    fb_keep_if_all_lost
        When the check would drop every node of an instance, keep its plain
        flow instead, so a fast animal whose every point fails the check still
        gives its track a candidate (default on).

    The defaults differ from SLEAP's (no check): measured on the fly clip the
    check (0.1 of the size, keep if all lost) removes SLEAP-default flow's one
    long identity swap (4 -> 2 ID switches, IDF1 0.6705 -> 0.696, the same
    tracks as SLEAP's identity model), and keeping the plain flow when every
    point fails keeps the synthetic crossing test (36 px per frame) passing.
    Set ``max_fb_error_fraction=None`` for SLEAP's flow tracker.
    """

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    window_size: int = 21
    max_levels: int = 3
    img_scale: float = 1.0
    min_points: int = 0
    max_fb_error: float | None = None
    max_fb_error_fraction: float | None = 0.1
    fb_keep_if_all_lost: bool = True


@dataclass
class CullSettings:
    """Cull instances before tracking (SLEAP's ``pre_cull_to_target``).

    Attributes
    ----------
    max_instances
        Keep at most this many predicted instances per frame, highest score
        first; 0 keeps them all.
    iou_threshold
        When set, first remove instances whose bounding box overlaps a
        better-scoring one by more than this (non-maximum suppression), then
        cull by score.
    """

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    max_instances: int = 0
    iou_threshold: float | None = None


@dataclass
class TrackerSettings:
    """Everything the tracker needs besides the instances and the frames.

    Attributes
    ----------
    tracker
        ``none`` (keep tracks as they are), ``simple`` (candidates are the
        instances of earlier frames as they were) or ``flow`` (candidates are
        shifted to the current frame by optical flow; needs the video).
    similarity
        ``instance`` (Gaussian of node distances, mean over the candidate's
        nodes), ``centroid`` (minus the centroid distance), ``iou`` (bounding
        boxes) or ``oks`` (object keypoint similarity with ``oks_errors``).
    match
        ``greedy`` (best pair first) or ``hungarian`` (best total).
    track_window
        How many earlier frames give candidates (per track in max-tracks mode).
    max_tracks
        Never more tracks than this per video; 0 means no limit. Once reached,
        new instances go to the best existing track not used in the frame.
    robust
        Similarity of a track: this quantile of its candidates' similarities
        (1 is the best one, SLEAP's default; 0.95 is robust to a bad frame).
    instance_scale
        Length scale (pixels) of the ``instance`` similarity; ``None`` uses
        the median bounding-box diagonal of the instances being tracked.
    oks_errors
        Keypoint error (pixels) of the ``oks`` similarity, one for all nodes or
        one per node (SLEAP's default 1).
    oks_normalization
        ``all`` nodes, nodes visible in the ``ref`` (candidate) or the
        ``union`` visible in both.
    min_new_track_points
        An instance needs at least this many visible nodes to start a track.
    connect_single_breaks
        After tracking, when exactly one track ends and exactly one starts on
        the same frame, join them (needs ``cull.max_instances`` or
        ``max_tracks`` as the target instance count).
    flow, cull
        See :class:`FlowSettings` and :class:`CullSettings`.
    """

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    tracker: TrackerKind = "simple"
    similarity: SimilarityKind = "instance"
    match: MatchKind = "greedy"
    track_window: int = 5
    max_tracks: int = 0
    robust: float = 1.0
    instance_scale: float | None = None
    oks_errors: float | tuple[float, ...] = 1.0
    oks_normalization: str = "all"
    min_new_track_points: int = 0
    connect_single_breaks: bool = False
    flow: FlowSettings = field(default_factory=FlowSettings)
    cull: CullSettings = field(default_factory=CullSettings)

    def __post_init__(self) -> None:
        if isinstance(self.oks_errors, list):  # as read back from JSON
            self.oks_errors = tuple(float(e) for e in self.oks_errors)

    @property
    def enabled(self) -> bool:
        """False for ``tracker='none'``."""
        return self.tracker != "none"

    @property
    def uses_frames(self) -> bool:
        """True when the tracker needs the video frames (``flow``)."""
        return self.tracker == "flow"

    @property
    def target_instance_count(self) -> int:
        """Instances expected per frame (for connecting breaks): cull target, else max tracks."""
        return self.cull.max_instances or self.max_tracks

    def validate(self) -> TrackerSettings:
        """Raise :class:`TrackingSettingsError` on a bad value; return self."""

        def bad(msg: str) -> None:
            raise TrackingSettingsError(msg)

        if self.tracker not in TRACKERS:
            bad(f"tracker must be one of {', '.join(TRACKERS)}, not {self.tracker!r}")
        if self.similarity not in SIMILARITIES:
            bad(f"similarity must be one of {', '.join(SIMILARITIES)}, not {self.similarity!r}")
        if self.match not in MATCHES:
            bad(f"match must be one of {', '.join(MATCHES)}, not {self.match!r}")
        if self.oks_normalization not in OKS_NORMALIZATIONS:
            bad(f"oks normalization must be one of {', '.join(OKS_NORMALIZATIONS)}")
        if int(self.track_window) < 1:
            bad(f"track window must be at least 1 frame, not {self.track_window}")
        if int(self.max_tracks) < 0:
            bad(f"max tracks must be 0 (no limit) or more, not {self.max_tracks}")
        if not 0.0 < float(self.robust) <= 1.0:
            bad(f"robust quantile must be in (0, 1], not {self.robust}")
        if self.instance_scale is not None and not float(self.instance_scale) > 0:
            bad(f"instance scale must be positive, not {self.instance_scale}")
        errors = self.oks_errors if isinstance(self.oks_errors, tuple) else (self.oks_errors,)
        if not errors or any(not float(e) > 0 for e in errors):
            bad("oks errors must be positive pixels")
        if int(self.flow.window_size) < 3:
            bad(f"flow window size must be at least 3 pixels, not {self.flow.window_size}")
        if int(self.flow.max_levels) < 0:
            bad(f"flow pyramid levels must be 0 or more, not {self.flow.max_levels}")
        if self.flow.max_fb_error is not None and not float(self.flow.max_fb_error) > 0:
            bad(f"flow forward-backward error must be positive pixels, not {self.flow.max_fb_error}")
        if self.flow.max_fb_error_fraction is not None and not float(self.flow.max_fb_error_fraction) > 0:
            bad(f"flow forward-backward error fraction must be positive, not {self.flow.max_fb_error_fraction}")
        if not float(self.flow.img_scale) > 0:
            bad(f"flow image scale must be positive, not {self.flow.img_scale}")
        if int(self.cull.max_instances) < 0:
            bad(f"max instances per frame must be 0 (keep all) or more, not {self.cull.max_instances}")
        if self.cull.iou_threshold is not None and not 0.0 <= float(self.cull.iou_threshold) <= 1.0:
            bad(f"cull IoU threshold must be in [0, 1], not {self.cull.iou_threshold}")
        if self.connect_single_breaks and self.target_instance_count == 0:
            bad(
                "connecting single track breaks needs a target instance count: "
                "set max instances per frame or max tracks"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (nested dataclasses as dicts)."""
        d = asdict(self)
        if isinstance(self.oks_errors, tuple):
            d["oks_errors"] = list(self.oks_errors)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrackerSettings:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        data = dict(data)
        flow = FlowSettings(**data.pop("flow", {}))
        cull = CullSettings(**data.pop("cull", {}))
        if isinstance(data.get("oks_errors"), list):
            data["oks_errors"] = tuple(float(e) for e in data["oks_errors"])
        try:
            return cls(flow=flow, cull=cull, **data)
        except TypeError as exc:
            raise TrackingSettingsError(f"unknown tracking setting ({exc})") from exc
