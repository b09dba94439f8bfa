"""The SLEAP project model: labels, videos and instance index, with no napari and no Qt.

A :class:`SleapProject` holds the ``sleap_io.Labels`` of one opened file and is
the single source of truth the reader, writer, training widget and trainer
share. It hands out its instances as tables (points rows + features, skeleton
edge vectors) and takes edits back as tables
(:meth:`~napari_sleap_train.project.edits.LayerEdits.update_from_points`).

Whoever shows the project and lets the user edit it (the napari side,
``napari_sleap_train.io.binding``) attaches a :class:`LayerLink`: before saving,
snapshotting or answering a query the project pulls the pending edits from it
(:meth:`SleapProject.sync`), and it tells the link about promoted predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import sleap_io as sio

from napari_sleap_train.project.edits import EditSummary, LayerEdits
from napari_sleap_train.project.errors import SleapFileError
from napari_sleap_train.project.files import MissingVideo, load_labels
from napari_sleap_train.project.labeling import InstanceLabeling
from napari_sleap_train.project.merge import PredictionMerging
from napari_sleap_train.project.save import check_target, write_labels
from napari_sleap_train.project.tables import (
    InstanceRef,
    edge_vectors,
    fingerprint,
    points_table,
)
from napari_sleap_train.project.video import VideoArray


class LayerLink(Protocol):
    """What a viewer attaches to a project to keep it in step with the user's edits."""

    def pull(self, apply: Callable[[np.ndarray, pd.DataFrame], EditSummary]) -> EditSummary | None:
        """Call ``apply(data, features)`` with the edited table if it changed since the last pull."""

    def promoted(self, data: np.ndarray, features: pd.DataFrame, prediction_ids: set[int]) -> bool:
        """New user instances (as table rows) were made from these predictions.

        Returns whether the rows are now shown (the project then counts them as
        shown, so removing all their rows later deletes them).
        """


class SleapProject(LayerEdits, PredictionMerging, InstanceLabeling):
    """A SLEAP project: labels, videos, and the index of its instances.

    Parameters
    ----------
    labels
        The project's labels.
    path
        The file it came from (``None`` for projects built in memory).

    Attributes
    ----------
    labels : sleap_io.Labels
    path : pathlib.Path or None
    missing_videos : list of MissingVideo
    messages : list of str
        Plain-words notes from loading (missing videos, hidden empty instances).
    """

    def __init__(self, labels: sio.Labels, path: str | Path | None = None) -> None:
        self.labels = labels
        self.path = Path(path).resolve() if path is not None else None
        self.missing_videos: list[MissingVideo] = []
        self.messages: list[str] = []
        self._arrays: dict[int, VideoArray] = {}
        self.link: LayerLink | None = None
        #: fingerprint (:func:`~.tables.fingerprint`) of the last user table handed out
        self.emitted_fingerprint: bytes | None = None
        self._index_instances()

    # -- loading -----------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> SleapProject:
        """Open a ``.slp`` / ``.pkg.slp`` file and its videos.

        Videos are looked for as SLEAP does (see
        :func:`~napari_sleap_train.project.files.load_labels`); those that cannot
        be opened are listed in :attr:`missing_videos` and :attr:`messages`.

        Raises
        ------
        SleapFileError
            The file does not exist, is not a SLEAP file, is damaged, or holds
            nothing to show (no skeleton, video or labels).
        """
        opened = load_labels(path)
        project = cls(opened.labels, opened.path)
        project.missing_videos = list(opened.missing_videos)
        project.messages = list(opened.messages)
        n_empty = sum(
            1 for refs in (project._user_refs, project._pred_refs) for r in refs.values() if r.instance.is_empty
        )
        if n_empty:
            project.messages.append(
                f"{n_empty} instance(s) in {opened.path.name} have no visible nodes; they are kept "
                "in the file but not shown."
            )
        return project

    # -- instance bookkeeping ----------------------------------------------------------
    def _index_instances(self) -> None:
        """Give every instance an id and remember where it lives."""
        self._video_index = {id(v): i for i, v in enumerate(self.labels.videos)}
        self._frames: dict[tuple[int, int], sio.LabeledFrame] = {}
        self._user_refs: dict[tuple[int, int, int], InstanceRef] = {}
        self._pred_refs: dict[tuple[int, int, int], InstanceRef] = {}
        next_id = 0
        for lf in self.labels.labeled_frames:
            vi = self._video_index[id(lf.video)]
            self._frames[(vi, int(lf.frame_idx))] = lf
            for inst in lf.instances:
                ref = InstanceRef(next_id, vi, int(lf.frame_idx), inst)
                target = self._pred_refs if isinstance(inst, sio.PredictedInstance) else self._user_refs
                target[(vi, ref.frame_index, next_id)] = ref
                next_id += 1
        self._next_id = next_id
        # instances that had points in the layer when it was built: only these can
        # be deleted by removing all their points
        self._shown = {k for k, r in self._user_refs.items() if not r.instance.is_empty}

    @property
    def next_instance_id(self) -> int:
        """An instance id not used by any instance of the project."""
        return self._next_id

    # -- project facts -------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Project name: the file name without ``.slp`` / ``.pkg.slp``."""
        if self.path is None:
            return "SLEAP project"
        name = self.path.name
        for suffix in (".pkg.slp", ".slp"):
            if name.lower().endswith(suffix):
                return name[: -len(suffix)]
        return self.path.stem

    @property
    def skeleton(self) -> sio.Skeleton:
        """The project's (first) skeleton."""
        if not self.labels.skeletons:
            raise SleapFileError("This project has no skeleton.")
        return self.labels.skeletons[0]

    @property
    def node_names(self) -> list[str]:
        """Node names of all skeletons, first skeleton first, without repeats."""
        names: list[str] = []
        for skel in self.labels.skeletons:
            names += [n for n in skel.node_names if n not in names]
        return names

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Skeleton edges as (source, destination) node names."""
        return [tuple(e) for e in self.skeleton.edge_names] if self.labels.skeletons else []

    @property
    def edge_inds(self) -> list[tuple[int, int]]:
        """Skeleton edges as node index pairs."""
        return list(self.skeleton.edge_inds) if self.labels.skeletons else []

    @property
    def videos(self) -> list[sio.Video]:
        return list(self.labels.videos)

    @property
    def tracks(self) -> list[str]:
        """Track names in project order."""
        return [t.name for t in self.labels.tracks]

    @property
    def suggestions(self) -> list[tuple[int, int]]:
        """Suggested frames as (video index, frame index)."""
        return [
            (self._video_index[id(s.video)], int(s.frame_idx))
            for s in self.labels.suggestions
            if id(s.video) in self._video_index
        ]

    @property
    def multi_video(self) -> bool:
        """True when points carry a video coordinate (``[video, frame, y, x]``)."""
        return len(self.labels.videos) > 1

    @property
    def points_axes(self) -> tuple[str, ...]:
        """Names of the points-layer axes."""
        return ("video", "frame", "y", "x") if self.multi_video else ("frame", "y", "x")

    def video_available(self, video_index: int) -> bool:
        """True if the video's frames can be read."""
        return not any(m.index == video_index for m in self.missing_videos) and (
            self.labels.videos[video_index].backend is not None
        )

    def frame_count(self, video_index: int) -> int:
        """Length of the frame axis of a video (original indices, also for embedded frames)."""
        video = self.labels.videos[video_index]
        counts = [f + 1 for (v, f) in self._frames if v == video_index]
        counts += [f + 1 for (v, f) in self.suggestions if v == video_index]
        backend = video.backend
        if backend is not None and getattr(backend, "has_embedded_images", False):
            counts += [int(i) + 1 for i in backend.embedded_frame_inds]
            source = video.source_video
            shape = source.shape if source is not None else None
            if shape is not None:
                counts.append(int(shape[0]))
        elif backend is not None:
            counts.append(int(backend.shape[0]))
        elif video.shape is not None:
            counts.append(int(video.shape[0]))
        return max(counts) if counts else 0

    def video_array(self, video_index: int) -> VideoArray | None:
        """Lazy frame array of a video (``None`` if the video is missing)."""
        if not self.video_available(video_index):
            return None
        arr = self._arrays.get(video_index)
        if arr is None:
            video = self.labels.videos[video_index]
            n = self.frame_count(video_index)
            arr = VideoArray(video, n_frames=n, video_axis=self.multi_video)
            self._arrays[video_index] = arr
        return arr

    def frame(self, video_index: int, frame_index: int) -> np.ndarray:
        """One frame as ``(H, W, C)`` uint8 (C = 1 or 3), through the layer's cache."""
        arr = self.video_array(video_index)
        if arr is None:
            raise SleapFileError(f"Video {video_index} of {self.name} is not available.")
        img = arr[(0, frame_index) if self.multi_video else frame_index]
        return img if img.ndim == 3 else img[..., None]

    # -- labels -> layers ----------------------------------------------------------------
    def user_points(self) -> tuple[np.ndarray, pd.DataFrame]:
        """Rows and features of user instances (see :mod:`.tables`).

        A layer built from these rows can delete any of the instances it shows
        (by removing all their points), and binding it costs nothing extra.
        """
        self.sync()
        refs = list(self._user_refs.values())
        data, features = points_table(refs, self.node_names, self.multi_video)
        self._shown |= {(r.video_index, r.frame_index, r.inst_id) for r in refs if not r.instance.is_empty}
        self.emitted_fingerprint = fingerprint(data, features)
        return data, features

    def _shown_predictions(self) -> list[InstanceRef]:
        """Predicted instances to show, by SLEAP's rule (``LabeledFrame.unused_predictions``).

        Hidden: a prediction a user instance was made from, and, on a frame
        where a user instance has a track, a prediction of that same track.
        """
        used = {
            id(r.instance.from_predicted) for r in self._user_refs.values() if r.instance.from_predicted is not None
        }
        used_tracks = {
            (r.video_index, r.frame_index, id(r.instance.track))
            for r in self._user_refs.values()
            if r.instance.track is not None
        }
        return [
            r
            for r in self._pred_refs.values()
            if id(r.instance) not in used
            and (r.instance.track is None or (r.video_index, r.frame_index, id(r.instance.track)) not in used_tracks)
        ]

    def predicted_points(self) -> tuple[np.ndarray, pd.DataFrame]:
        """Rows and features of predicted instances (without those promoted to user instances)."""
        return points_table(self._shown_predictions(), self.node_names, self.multi_video)

    def skeleton_vectors(self, user: bool = True) -> np.ndarray:
        """Skeleton edges of user (or shown predicted) instances as ``(E, 2, D)`` vectors."""
        if user:
            self.sync()
            refs = list(self._user_refs.values())
        else:
            refs = self._shown_predictions()
        return edge_vectors(refs, self.multi_video)

    @property
    def has_predictions(self) -> bool:
        """True when some predicted instance is to be shown."""
        return bool(self._shown_predictions())

    def predicted_instance_ids(self, video_index: int, frame_index: int) -> list[int]:
        """Layer ids (``instance`` feature) of the shown predicted instances of one frame."""
        return [
            r.inst_id
            for r in self._shown_predictions()
            if (r.video_index, r.frame_index) == (video_index, frame_index) and not r.instance.is_empty
        ]

    def locate_instance(self, inst_id: int) -> tuple[int, int, int] | None:
        """``(video, frame, position in the frame's instances)`` of the instance a layer calls ``inst_id``."""
        for refs in (self._pred_refs, self._user_refs):
            for ref in refs.values():
                if ref.inst_id == inst_id:
                    lf = self._frames.get((ref.video_index, ref.frame_index))
                    if lf is not None:
                        for i, inst in enumerate(lf.instances):
                            if inst is ref.instance:
                                return ref.video_index, ref.frame_index, i
        return None

    # -- edits from a viewer -----------------------------------------------------------
    def sync(self) -> EditSummary | None:
        """Apply pending edits from the attached :class:`LayerLink` (if any, and if it changed)."""
        if self.link is None:
            return None
        return self.link.pull(self.update_from_points)

    # -- queries for the widget and trainer ----------------------------------------------
    def user_frames(self) -> list[tuple[int, int]]:
        """(video index, frame index) of frames with at least one visible user instance, sorted."""
        self.sync()
        frames = {(r.video_index, r.frame_index) for r in self._user_refs.values() if not r.instance.is_empty}
        return sorted(frames)

    def labeled_instances(self, video_index: int, frame_index: int) -> np.ndarray:
        """User instances of one frame as ``(n, n_nodes, 2)`` float32 xy, NaN = missing.

        Instances without any visible node are left out.
        """
        self.sync()
        return self._instances_at(self._user_refs, video_index, frame_index)

    def predicted_instances(self, video_index: int, frame_index: int) -> np.ndarray:
        """Predicted instances of one frame as ``(n, n_nodes, 2)`` float32 xy."""
        return self._instances_at(self._pred_refs, video_index, frame_index)

    def _instances_at(self, refs, video_index: int, frame_index: int) -> np.ndarray:
        k = len(self.skeleton.node_names) if self.labels.skeletons else 0
        lf = self._frames.get((video_index, frame_index))
        if lf is None:
            return np.empty((0, k, 2), np.float32)
        want_pred = refs is self._pred_refs
        arrs = [i.numpy() for i in lf.instances if isinstance(i, sio.PredictedInstance) == want_pred and not i.is_empty]
        if not arrs:
            return np.empty((0, k, 2), np.float32)
        return np.stack(arrs).astype(np.float32)

    # -- saving ------------------------------------------------------------------------
    def _embed_plan(self, target: Path) -> list[tuple[sio.Video, int]] | bool:
        """Frames to embed: a ``.pkg.slp`` target gets every labeled and suggested frame of
        readable videos; frames embedded in the source are re-embedded (their original
        video may not exist); otherwise nothing."""
        frames: list[tuple[sio.Video, int]] = []
        package = target.name.lower().endswith(".pkg.slp")
        for vi, video in enumerate(self.labels.videos):
            if not self.video_available(vi):
                continue
            backend = video.backend
            if getattr(backend, "has_embedded_images", False):
                frames += [(video, int(i)) for i in backend.embedded_frame_inds]
            elif package:
                wanted = {f for (v, f) in self._frames if v == vi}
                wanted |= {f for (v, f) in self.suggestions if v == vi}
                frames += [(video, f) for f in sorted(wanted)]
        return frames if frames else False

    def save(self, path: str | Path, overwrite: bool = False, progress=None) -> Path:
        """Write the project (with synced layer edits) to ``path``; it becomes the project's path.

        ``progress(done, total, phase)``, when given, hears of the frames being
        embedded (a ``.pkg.slp``).

        The file is written next to ``path`` under a temporary name and moved
        into place at the end (see :mod:`~napari_sleap_train.project.save`), so a
        failed save never damages an existing file, leaves no partial file, and no
        file other than ``path`` is ever replaced.

        Raises
        ------
        SleapFileError
            ``path`` exists and ``overwrite`` is False, or writing failed.
        """
        out = self._write(path, overwrite, progress)
        self.path = out
        return out

    def snapshot(self, path: str | Path) -> Path:
        """Write the current labels (including layer edits) to a NEW ``.slp`` for the trainer.

        The project's own path is unchanged. Frames embedded in a ``.pkg.slp``
        source are embedded again so the trainer can read them.

        Raises
        ------
        SleapFileError
            ``path`` already exists, or writing failed.
        """
        return self._write(path, overwrite=False)

    def _write(self, path: str | Path, overwrite: bool, progress=None) -> Path:
        target = Path(path).resolve()
        check_target(target, overwrite)
        self.sync()
        return write_labels(self.labels, target, self._embed_plan(target), progress)

    # -- object identity ---------------------------------------------------------------
    def __deepcopy__(self, memo) -> SleapProject:
        # Layers share one project; duplicating a layer must not fork it.
        return self

    def __repr__(self) -> str:
        return (
            f"SleapProject({self.name!r}, videos={len(self.labels.videos)}, "
            f"user_instances={len(self._user_refs)}, predictions={len(self._pred_refs)})"
        )
