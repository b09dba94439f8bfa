"""The *Tracking* section of the Training Pipeline tab (SLEAP's tracker settings).

Bound to ``session.pipeline.tracking`` (a
:class:`~napari_sleap_train.config.tracking.TrackerSettings`): the tracker
runs on the predictions made after training. The main choices are always
shown; the rest sit in a collapsed *More tracking options* section.
"""

from __future__ import annotations

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, SpinBox

from napari_sleap_train.config.tracking import MATCHES, SIMILARITIES
from napari_sleap_train.session.settings import TrainingSession

from .binding import Binder
from .sections import add_qt, collapsible, compact_combo

TRACKER_CHOICES = [
    ("None", "none"),
    ("Simple (instances as they were)", "simple"),
    ("Flow (optical flow shift)", "flow"),
]
SIMILARITY_LABELS = {"instance": "Instance", "centroid": "Centroid", "iou": "IoU", "oks": "Object keypoint"}
MATCH_LABELS = {"greedy": "Greedy", "hungarian": "Hungarian"}


class TrackingSection(Container):
    """Tracker, similarity, matching, max tracks, track window; the rest folded away."""

    def __init__(self, session: TrainingSession) -> None:
        super().__init__(labels=False, name="tracking")
        self._closed = True  # until the bindings below exist
        self.session = session
        self.binder = b = Binder()
        self.margins = (0, 0, 0, 0)
        t = session.pipeline.tracking
        e = t.events
        self.tracker = b.bind(
            ComboBox(
                choices=TRACKER_CHOICES,
                label="Tracker",
                tooltip=(
                    "Put the predictions on tracks across frames. Flow follows each animal with optical flow "
                    "(reads the video); simple compares with the earlier frames as they were."
                ),
            ),
            e.tracker,
        )
        self.max_tracks = b.bind(
            SpinBox(
                min=0,
                max=1000,
                label="Max tracks",
                tooltip=("Never more tracks than this (the number of animals); 0: no limit."),
            ),
            e.max_tracks,
        )
        self.similarity = b.bind(
            ComboBox(
                choices=[(SIMILARITY_LABELS[s], s) for s in SIMILARITIES],
                label="Similarity",
                tooltip="How an instance is compared with a track.",
            ),
            e.similarity,
        )
        self.match = b.bind(
            ComboBox(
                choices=[(MATCH_LABELS[m], m) for m in MATCHES],
                label="Matching",
                tooltip="Greedy: best pair first; Hungarian: best total.",
            ),
            e.match,
        )
        self.track_window = b.bind(
            SpinBox(min=1, max=1000, label="Track window", tooltip=("Earlier frames that give candidates.")),
            e.track_window,
        )
        for combo in (self.tracker, self.similarity, self.match):
            compact_combo(combo)
        # the rest, folded away
        self.robust = b.bind(
            FloatSpinBox(
                min=0.01,
                max=1.0,
                step=0.05,
                label="Robust quantile",
                tooltip=("Similarity of a track: this quantile of its candidates (1: the best one, SLEAP's default)."),
            ),
            e.robust,
        )
        self.min_new_track_points = b.bind(
            SpinBox(
                min=0,
                max=1000,
                label="Min points (new track)",
                tooltip="An instance needs this many visible nodes to start a track.",
            ),
            e.min_new_track_points,
        )
        self.connect_breaks = b.bind(
            CheckBox(
                text="Connect single track breaks",
                tooltip=("Join a track that ends with one that starts on the same frame (needs max tracks)."),
            ),
            e.connect_single_breaks,
        )
        self.cull = b.bind(
            SpinBox(
                min=0,
                max=1000,
                label="Cull to instances",
                tooltip=("Keep at most this many predictions per frame before tracking (0: all)."),
            ),
            t.cull.events.max_instances,
        )
        self.fb_fraction = b.bind(
            FloatSpinBox(
                min=0.0,
                max=10.0,
                step=0.05,
                label="Flow check (size)",
                tooltip=(
                    "Forward-backward check of the flow: drop points that do not flow back within this fraction of "
                    "the instance's size (0: off, SLEAP's flow tracker)."
                ),
            ),
            t.flow.events.max_fb_error_fraction,
            to_widget=lambda v: v or 0.0,
            from_widget=lambda v: v or None,
        )
        self.of_window = b.bind(
            SpinBox(
                min=3, max=201, label="Flow window (px)", tooltip="Lucas-Kanade search window at each pyramid level."
            ),
            t.flow.events.window_size,
        )
        self.of_levels = b.bind(
            SpinBox(min=0, max=8, label="Flow pyramid levels", tooltip="Pyramid levels above the full image."),
            t.flow.events.max_levels,
        )
        self.more = Container(
            widgets=[
                self.robust,
                self.min_new_track_points,
                self.connect_breaks,
                self.cull,
                self.fb_fraction,
                self.of_window,
                self.of_levels,
            ],
            labels=True,
        )
        self.form = Container(
            widgets=[self.tracker, self.max_tracks, self.similarity, self.match, self.track_window], labels=True
        )
        self.form.margins = (0, 0, 0, 0)
        self.append(self.form)
        self.more_section = collapsible("More tracking options", self.more)
        add_qt(self, self.more_section)
        e.tracker.connect(self._refresh_visible)
        self._closed = False
        self._refresh_visible()

    def add_viewer_tools(self, panel: Container) -> None:
        """Put the dock's tracks-on-the-viewer panel (it knows the viewer) at the end of the section."""
        add_qt(self, collapsible("Tracks on the viewer", panel, expanded=True))

    def _refresh_visible(self, *_: object) -> None:
        if self._closed:
            return
        t = self.session.pipeline.tracking
        on = t.enabled
        for w in (self.max_tracks, self.similarity, self.match, self.track_window):
            w.visible = on
        self.more_section.setVisible(on)
        for w in (self.fb_fraction, self.of_window, self.of_levels):
            w.visible = t.uses_frames

    def close(self) -> None:
        """Disconnect from the settings before the widgets go away (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.binder.disconnect()
        self.session.pipeline.tracking.events.tracker.disconnect(self._refresh_visible)
