"""Tracks on the viewer and proofreading basics, under the Tracking section of the dock.

* *Show tracks*: a Tracks layer of each track's anchor trajectory (tail length
  in frames) and the predictions coloured by track, as SLEAP draws them; with
  several videos, of the video the viewer shows (redrawn on moving to another);
* *Swap from this frame*: swap two tracks on the current frame and every later one;
* *Set track*: put the selected instance (select one of its points) on a track.

The napari side is :mod:`napari_sleap_train.io.tracks_layer`; the edits are
:mod:`napari_sleap_train.project.tracks`.
"""

from __future__ import annotations

from typing import Any

from magicgui.widgets import CheckBox, ComboBox, Container, Label, LineEdit, PushButton, SpinBox
from napari.utils.notifications import show_info, show_warning

from napari_sleap_train.io import tracks_layer as tl
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.project.tracks import TrackEditError


def _track_names(panel: TracksPanel) -> list[str]:
    project = panel.project
    return [t.name for t in project.labels.tracks] if project is not None else []


class TracksPanel(Container):
    """Show tracks, swap two tracks from the current frame on, set the selected instance's track."""

    def __init__(self, viewer: Any) -> None:
        super().__init__(labels=True, name="tracks_panel")
        self.viewer = viewer
        self.project: SleapProject | None = None
        self.margins = (0, 0, 0, 0)
        self.show = CheckBox(
            text="Show tracks",
            value=False,
            tooltip="A Tracks layer of each track's trajectory; predictions coloured by track.",
        )
        self.tail_length = SpinBox(
            min=1, max=10000, value=30, label="Tail (frames)", tooltip="Frames of trajectory drawn behind each animal."
        )
        self.first = ComboBox(choices=lambda _w: _track_names(self), label="Track")
        self.second = ComboBox(choices=lambda _w: _track_names(self), label="with")
        self.swap = PushButton(
            text="Swap from this frame on", tooltip="Swap the two tracks on the current frame and every later frame."
        )
        self.new_track = LineEdit(
            label="Selected to",
            tooltip=("Track name for the selected instance (select one of its points); a new name makes a new track."),
        )
        self.set_track = PushButton(text="Set track of selected instance")
        self.status = Label(value="")
        self.extend(
            [
                self.show,
                self.tail_length,
                self.first,
                self.second,
                self.swap,
                self.new_track,
                self.set_track,
                self.status,
            ]
        )
        self.show.changed.connect(self._on_show)
        self.tail_length.changed.connect(self._on_show)
        self.swap.changed.connect(self.swap_from_here)
        self.set_track.changed.connect(self.set_selected)
        # several videos: the Tracks layer shows the current video's tracks
        viewer.dims.events.current_step.connect(self._on_step)

    def _on_step(self, *_: Any) -> None:
        project = self.project
        if project is None or not project.multi_video or not self.show.value:
            return
        if tl.current_frame(self.viewer, project)[0] != tl.tracks_video(self.viewer, project):
            self._on_show()

    def stop_following(self) -> None:
        """Stop following the viewer (the dock's cleanup)."""
        try:
            self.viewer.dims.events.current_step.disconnect(self._on_step)
        except (TypeError, ValueError, RuntimeError):
            pass

    def set_project(self, project: SleapProject | None) -> None:
        """Follow the dock's project."""
        self.project = project
        self.refresh()

    def refresh(self, *_: Any) -> None:
        """Re-read the track names and redraw the Tracks layer when shown."""
        self.first.reset_choices()
        self.second.reset_choices()
        names = _track_names(self)
        if len(names) > 1 and self.first.value == self.second.value:
            self.second.value = names[1]
        self._on_show()

    def _on_show(self, *_: Any) -> None:
        if self.project is None:
            return
        if self.show.value:
            layer = tl.show_tracks(self.viewer, self.project, tail_length=int(self.tail_length.value))
            video = f" of video {tl.current_frame(self.viewer, self.project)[0]}" if self.project.multi_video else ""
            if layer is None:
                self.status.value = f"No prediction{video} is on a track yet."
            else:
                self.status.value = f"{len(set(layer.data[:, 0].astype(int)))} track(s){video} shown."
        else:
            tl.hide_tracks(self.viewer, self.project)
            self.status.value = ""

    def swap_from_here(self, *_: Any) -> int:
        """The *Swap* button; returns the instances that changed track."""
        if self.project is None:
            return 0
        try:
            n = tl.swap_tracks_here(self.viewer, self.project, self.first.value, self.second.value)
        except TrackEditError as exc:
            show_warning(str(exc))
            return 0
        _, frame = tl.current_frame(self.viewer, self.project)
        self.status.value = f"Swapped {self.first.value} and {self.second.value} from frame {frame} on ({n} instances)."
        show_info(self.status.value)
        self.refresh()
        return n

    def set_selected(self, *_: Any) -> None:
        """The *Set track* button."""
        if self.project is None:
            return
        name = self.new_track.value.strip() or None
        try:
            where = tl.set_selected_track(self.viewer, self.project, name)
        except TrackEditError as exc:
            show_warning(str(exc))
            return
        if where is None:
            show_warning("Select the points of one instance first.")
            return
        self.status.value = f"Instance on frame {where[1]} is now on {name or 'no track'}."
        self.refresh()
