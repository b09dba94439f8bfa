"""The SLEAP project behind the napari layers.

A :class:`SleapProject` holds the ``sleap_io.Labels`` of one opened file and is
the single source of truth the reader, writer, training widget and trainer
share. The reader puts the same object in every layer's
``metadata["sleap_project"]``; edits made in the user-labels Points layer are
folded back into user instances by :meth:`SleapProject.update_from_points`
(automatically before saving, snapshotting or answering queries once the layer
is bound, see :func:`find_project`).
"""

from __future__ import annotations

import hashlib
import os
import uuid
import warnings
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import sleap_io as sio

from napari_sleap_train.io.errors import (
    PredictionsError,
    SleapEditWarning,
    SleapFileError,
)
from napari_sleap_train.io.layer_tables import (
    InstanceRef,
    edge_vectors,
    group_points,
    points_table,
)
from napari_sleap_train.io.live_skeleton import SkeletonFollower
from napari_sleap_train.io.video import VideoArray, resolve_video_path

#: Layer metadata keys written by the reader.
PROJECT_KEY = "sleap_project"
ROLE_KEY = "sleap_role"
VIDEO_INDEX_KEY = "sleap_video_index"
#: (points role, skeleton role) pairs whose edges follow point edits.
SKELETON_PAIRS = (("labels", "skeleton"), ("predictions", "predictions_skeleton"))
#: Layer roles of the predictions, in layer-list order (bottom first).
PREDICTION_ROLES = ("predictions_skeleton", "predictions")


@dataclass(frozen=True)
class MissingVideo:
    """A video of the project that could not be opened."""

    index: int
    stored_path: str
    reason: str

    @property
    def message(self) -> str:
        return (
            f"Video {self.index} ('{Path(self.stored_path.replace(chr(92), '/')).name}') "
            f"could not be opened: {self.reason}. Its labels are shown without the video."
        )


@dataclass(frozen=True)
class EditSummary:
    """What :meth:`SleapProject.update_from_points` changed."""

    moved_points: int = 0
    removed_points: int = 0
    added_instances: int = 0
    removed_instances: int = 0
    retracked_instances: int = 0

    @property
    def changed(self) -> bool:
        return any(
            (
                self.moved_points,
                self.removed_points,
                self.added_instances,
                self.removed_instances,
                self.retracked_instances,
            )
        )


@dataclass
class PredictionsUpdate:
    """What :meth:`SleapProject.add_predictions` merged, and the layers to show it.

    Attributes
    ----------
    n_frames : int
        Frames that received new predictions.
    n_instances : int
        New predicted instances.
    n_replaced : int
        Older predicted instances removed from those frames.
    n_duplicates : int
        New predictions lying on top of a user instance of the same frame.
    frames : list of (video index, frame index)
        The frames that received new predictions, sorted.
    layer_data : list of napari layer-data tuples
        ``"<project> predictions skeleton"`` and ``"<project> predictions"``
        built as the reader builds them (empty when the project has no
        predictions to show).
    """

    n_frames: int = 0
    n_instances: int = 0
    n_replaced: int = 0
    n_duplicates: int = 0
    frames: list[tuple[int, int]] = field(default_factory=list)
    layer_data: list[tuple[Any, dict[str, Any], str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One sentence for a notification."""
        text = f"{self.n_instances} predicted instance(s) on {self.n_frames} frame(s)"
        if self.n_replaced:
            text += f", replacing {self.n_replaced} older prediction(s)"
        if self.n_duplicates:
            text += f"; {self.n_duplicates} lie on top of user labels"
        return text + "."


def _is_embedded(video: sio.Video) -> bool:
    return video.backend_metadata.get("filename") == "."


def _check_sleap_file(path: Path) -> None:
    """Raise :class:`SleapFileError` with a plain message if ``path`` is not a readable .slp."""
    if not path.exists():
        raise SleapFileError(f"There is no file at {path}.")
    if path.is_dir():
        raise SleapFileError(f"{path} is a folder, not a SLEAP project file.")
    if path.stat().st_size == 0:
        raise SleapFileError(f"{path.name} is empty (0 bytes); it is not a SLEAP project.")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise SleapFileError(f"{path.name} cannot be read: {exc}.") from exc
    if not is_hdf5:
        raise SleapFileError(
            f"{path.name} is not a SLEAP project: SLEAP .slp files are HDF5 files and this "
            "one is not (wrong file, or renamed to .slp)."
        )
    try:
        with h5py.File(path, "r") as f:
            keys = set(f.keys())
    except OSError as exc:
        raise SleapFileError(
            f"{path.name} could not be read; the file looks truncated or damaged ({exc})."
        ) from exc
    needed = {"metadata", "videos_json"}
    if not needed <= keys:
        raise SleapFileError(
            f"{path.name} is an HDF5 file but not a SLEAP project "
            f"(missing {', '.join(sorted(needed - keys))})."
        )


class SleapProject:
    """A SLEAP project (labels + videos) shown as napari layers.

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
        self._bound: weakref.ref | None = None
        self._bound_fingerprint: bytes | None = None
        self._emitted_fingerprint: bytes | None = None
        self._layer_refs: dict[str, weakref.ref] = {}
        self._followers: dict[str, SkeletonFollower] = {}
        self._index_instances()

    # -- loading -----------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> SleapProject:
        """Open a ``.slp`` / ``.pkg.slp`` file and its videos.

        Videos are looked for as SLEAP does (see
        :func:`~napari_sleap_train.io.video.resolve_video_path`); those that cannot
        be found are listed in :attr:`missing_videos` and :attr:`messages`.

        Raises
        ------
        SleapFileError
            The file does not exist, is not a SLEAP file, is damaged, or holds
            nothing to show (no skeleton, video or labels).
        """
        path = Path(path).resolve()
        _check_sleap_file(path)
        try:
            labels = sio.load_slp(path.as_posix(), open_videos=False)
        except Exception as exc:
            raise SleapFileError(
                f"{path.name} could not be read as a SLEAP project ({type(exc).__name__}: {exc})."
            ) from exc
        if not labels.skeletons and not labels.videos and not labels.labeled_frames:
            raise SleapFileError(
                f"{path.name} is an empty SLEAP project: it has no skeleton, no videos and no labels."
            )
        project = cls(labels, path)
        project._open_videos()
        n_empty = sum(
            1 for refs in (project._user_refs, project._pred_refs) for r in refs.values()
            if r.instance.is_empty
        )
        if n_empty:
            project.messages.append(
                f"{n_empty} instance(s) in {path.name} have no visible nodes; they are kept "
                "in the file but not shown."
            )
        return project

    def _open_videos(self) -> None:
        for i, video in enumerate(self.labels.videos):
            stored = video.filename
            try:
                self._open_video(video)
            except Exception as exc:  # any failure means: show labels without this video
                reason = str(exc) or type(exc).__name__
                stored_str = stored[0] if isinstance(stored, list) else str(stored)
                self.missing_videos.append(MissingVideo(i, stored_str, reason))
        self.messages += [m.message for m in self.missing_videos]

    def _open_video(self, video: sio.Video) -> None:
        meta = video.backend_metadata
        grayscale = meta.get("grayscale")
        if _is_embedded(video):
            video.open(grayscale=grayscale)
            return
        if isinstance(video.filename, list):  # image sequence
            files = [Path(f) for f in video.filename]
            first = resolve_video_path(video.filename[0], self.path)
            if first is None:
                raise FileNotFoundError(
                    f"image sequence starting with {video.filename[0]} was not found"
                )
            video.replace_filename([(first.parent / f.name).as_posix() for f in files], open=False)
            video.open(grayscale=grayscale)
            return
        stored_shape = meta.get("shape")

        def same_frame_size(candidate: Path) -> bool:
            if not stored_shape or candidate.as_posix() == str(video.filename):
                return True
            try:
                probe = sio.load_video(candidate.as_posix())
                ok = tuple(probe.shape[1:3]) == tuple(stored_shape[1:3])
                probe.close()
                return ok
            except Exception:
                return False

        found = resolve_video_path(str(video.filename), self.path, accept=same_frame_size)
        if found is None:
            raise FileNotFoundError(
                f"not found at {video.filename}, next to the project, relative to it, "
                "or in nearby folders"
            )
        if found.as_posix() != str(video.filename):
            video.replace_filename(found.resolve().as_posix(), open=False)
        video.open(grayscale=grayscale)
        if video.backend is None:
            raise OSError("the video backend could not be opened")

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
        """Rows and features of user instances (see :mod:`.layer_tables`).

        A layer built from these rows can delete any of the instances it shows
        (by removing all their points), and binding it costs nothing extra.
        """
        self.sync()
        refs = list(self._user_refs.values())
        data, features = points_table(refs, self.node_names, self.multi_video)
        self._shown |= {(r.video_index, r.frame_index, r.inst_id) for r in refs if not r.instance.is_empty}
        self._emitted_fingerprint = self._fingerprint(data, features)
        return data, features

    def _shown_predictions(self) -> list[InstanceRef]:
        """Predicted instances to show: those no user instance was made from (SLEAP hides those)."""
        used = {
            id(r.instance.from_predicted)
            for r in self._user_refs.values()
            if r.instance.from_predicted is not None
        }
        return [r for r in self._pred_refs.values() if id(r.instance) not in used]

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

    # -- layers -> labels ----------------------------------------------------------------
    def update_from_points(self, data: np.ndarray, features: pd.DataFrame) -> EditSummary:
        """Fold the user-labels Points layer back into user instances.

        Rows are grouped by (video, frame, ``instance``). A group whose id and
        frame match an existing user instance updates it: moved nodes take the
        new position (marked visible and human-placed), nodes without a row
        become missing, a changed ``track`` re-assigns the track. Groups with
        any other id become new user instances on their frame. Instances that
        were shown but have no rows left are deleted. Rows with unknown node
        names are skipped with a :class:`SleapEditWarning`.

        Parameters
        ----------
        data
            Layer data, ``(N, 3)`` ``[frame, y, x]`` (``(N, 4)`` with a leading
            video column when the project has several videos).
        features
            Layer features with at least a ``node`` column; ``instance`` and
            ``track`` are used when present.

        Returns
        -------
        EditSummary
        """
        node_names = self.node_names
        groups, problems = group_points(data, features, self.multi_video, node_names)
        n_videos = len(self.labels.videos)
        in_range = groups.keys[:, 0] < n_videos
        if not in_range.all():
            n_bad = int((~np.isnan(groups.xy[~in_range, :, 0])).sum())
            problems.append(f"{n_bad} point(s) refer to a video the project does not have and were skipped")
        existing: list[tuple[int, InstanceRef]] = []
        fresh: list[int] = []
        for gi in np.flatnonzero(in_range):
            ref = self._user_refs.get(tuple(int(v) for v in groups.keys[gi]))
            if ref is None:
                fresh.append(int(gi))
            else:
                existing.append((int(gi), ref))
        moved, gone, retracked = self._update_instances(groups, existing)
        seen = {(r.video_index, r.frame_index, r.inst_id) for _, r in existing}
        added = 0
        for gi in fresh:
            key = tuple(int(v) for v in groups.keys[gi])
            if self._add_instance(key, groups.xy[gi], groups.tracks[gi]):
                added += 1
                seen.add(key)
        self._shown |= seen
        removed = 0
        for key in [k for k in self._shown if k not in seen]:
            ref = self._user_refs.pop(key, None)
            self._shown.discard(key)
            if ref is not None:
                self._remove_instance(ref)
                removed += 1
        for p in problems:
            warnings.warn(f"{self.name}: {p}.", SleapEditWarning, stacklevel=2)
        return EditSummary(moved, gone, added, removed, retracked)

    def _track(self, name: str | None) -> sio.Track | None:
        if name is None:
            return None
        for t in self.labels.tracks:
            if t.name == name:
                return t
        track = sio.Track(name=name)
        self.labels.tracks.append(track)
        return track

    def _node_map(self, skeleton: sio.Skeleton, node_names: list[str]) -> np.ndarray:
        """Index into ``skeleton`` of each project node name (-1 where absent)."""
        names = skeleton.node_names
        return np.array([names.index(n) if n in names else -1 for n in node_names], np.int64)

    def _in_skeleton_order(self, skeleton: sio.Skeleton, xy: np.ndarray) -> np.ndarray:
        """Re-order ``(..., K, 2)`` project-node-order xy into ``skeleton`` order (NaN where absent)."""
        names = self.node_names
        if skeleton.node_names == names:
            return xy
        m = self._node_map(skeleton, names)
        out = np.full(xy.shape[:-2] + (len(skeleton.node_names), 2), np.nan)
        out[..., m[m >= 0], :] = xy[..., m >= 0, :]
        return out

    def _update_instances(self, groups, existing) -> tuple[int, int, int]:
        """Apply group positions and tracks to existing instances; returns (moved, gone, retracked)."""
        moved_total = gone_total = retracked = 0
        by_skeleton: dict[int, list[tuple[int, InstanceRef]]] = {}
        for gi, ref in existing:
            by_skeleton.setdefault(id(ref.instance.skeleton), []).append((gi, ref))
        for batch in by_skeleton.values():
            skel = batch[0][1].instance.skeleton
            new_xy = self._in_skeleton_order(skel, groups.xy[[gi for gi, _ in batch]])
            old_xy = np.stack([r.instance.points["xy"] for _, r in batch])
            old_vis = np.stack([r.instance.points["visible"] for _, r in batch])
            present = ~np.isnan(new_xy[..., 0])
            moved = present & (~old_vis | (old_xy != new_xy).any(axis=-1))
            gone = ~present & old_vis
            for j in np.flatnonzero(moved.any(axis=1) | gone.any(axis=1)):
                pts = batch[j][1].instance.points
                mv, gn = moved[j], gone[j]
                xy = pts["xy"]
                xy[mv] = new_xy[j][mv]
                xy[gn] = np.nan
                pts["visible"][mv] = True
                pts["complete"][mv] = True  # placed by a human
                pts["visible"][gn] = False
            moved_total += int(moved.sum())
            gone_total += int(gone.sum())
        for gi, ref in existing:
            inst = ref.instance
            old = inst.track.name if inst.track is not None else None
            if groups.tracks[gi] != old:
                inst.track = self._track(groups.tracks[gi])
                retracked += 1
        return moved_total, gone_total, retracked

    def _add_instance(self, key: tuple[int, int, int], xy_all: np.ndarray, track: str | None) -> bool:
        skel = self.skeleton
        xy = self._in_skeleton_order(skel, xy_all)
        placed = ~np.isnan(xy[:, 0])
        if not placed.any():
            return False
        arr = np.column_stack([xy, placed, placed])
        inst = sio.Instance.from_numpy(arr, skeleton=skel, track=self._track(track))
        video_index, frame_index, inst_id = key
        fkey = (video_index, frame_index)
        lf = self._frames.get(fkey)
        if lf is None:
            lf = sio.LabeledFrame(video=self.labels.videos[video_index], frame_idx=frame_index)
            self.labels.append(lf)
            self._frames[fkey] = lf
        lf.instances.append(inst)
        self._user_refs[key] = InstanceRef(inst_id, video_index, frame_index, inst)
        self._next_id = max(self._next_id, inst_id + 1)
        return True

    def _remove_instance(self, ref: InstanceRef) -> None:
        fkey = (ref.video_index, ref.frame_index)
        lf = self._frames.get(fkey)
        if lf is None:
            return
        lf.instances = [i for i in lf.instances if i is not ref.instance]
        if not lf.instances and not lf.is_negative:
            frames = self.labels.labeled_frames
            del frames[next(i for i, f in enumerate(frames) if f is lf)]
            del self._frames[fkey]
            self.labels.reindex()

    # -- binding to a live layer ---------------------------------------------------------
    def bind_points_layer(self, layer: Any) -> EditSummary:
        """Follow a napari Points layer holding this project's user labels.

        Its current content is applied now, and later edits are synced before
        every query, snapshot or save (a cheap fingerprint tells whether it changed).
        """
        self.sync()  # fold edits of a previously bound layer first
        fp = self._fingerprint(layer.data, layer.features)
        if fp == self._emitted_fingerprint:
            summary = EditSummary()  # the layer shows the project as it is
        else:
            summary = self.update_from_points(layer.data, layer.features)
        self._bound = weakref.ref(layer)
        self._bound_fingerprint = fp
        return summary

    @staticmethod
    def _fingerprint(data: np.ndarray, features: pd.DataFrame) -> bytes:
        """Cheap digest of the columns that edits can change (coordinates, instance, node, track)."""
        h = hashlib.blake2b(digest_size=16)
        arr = np.ascontiguousarray(np.asarray(data, dtype=np.float64))
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
        for col in ("instance", "node", "track"):
            if col not in features:
                continue
            values = features[col]
            if isinstance(values.dtype, pd.CategoricalDtype):
                h.update("\x1f".join(map(str, values.cat.categories)).encode())
                h.update(np.ascontiguousarray(values.cat.codes.to_numpy()).tobytes())
            elif pd.api.types.is_numeric_dtype(values.dtype):
                h.update(np.ascontiguousarray(values.to_numpy()).tobytes())
            else:
                h.update("\x1f".join(map(str, values.to_numpy())).encode())
        return h.digest()

    def sync(self) -> EditSummary | None:
        """Apply edits from the bound Points layer, if it changed since the last sync."""
        layer = self._bound() if self._bound is not None else None
        if layer is None:
            return None
        fp = self._fingerprint(layer.data, layer.features)
        if fp == self._bound_fingerprint:
            return None
        summary = self.update_from_points(layer.data, layer.features)
        self._bound_fingerprint = fp
        return summary

    # -- live layers ---------------------------------------------------------------------
    def bind_layers(self, layers: Iterable[Any]) -> dict[str, Any]:
        """Follow this project's napari layers among ``layers``.

        The user-labels Points layer is bound for edits (see
        :meth:`bind_points_layer`), and each skeleton Vectors layer is redrawn
        when its Points layer is edited (only the edited frames; see
        :class:`~napari_sleap_train.io.live_skeleton.SkeletonFollower`). The
        reader arranges this when a file is opened in a viewer; calling it again
        is cheap and rebinds layers that were replaced.

        Parameters
        ----------
        layers
            ``viewer.layers`` or any iterable of napari layers.

        Returns
        -------
        dict
            The project's layers found, by role (the top-most one of each role).
        """
        found: dict[str, Any] = {}
        for layer in reversed(list(layers)):
            meta = getattr(layer, "metadata", None) or {}
            if meta.get(PROJECT_KEY) is self and meta.get(ROLE_KEY):
                found.setdefault(meta[ROLE_KEY], layer)
        for role, layer in found.items():
            self._layer_refs[role] = weakref.ref(layer)
        labels = found.get("labels")
        if labels is not None and (self._bound is None or self._bound() is not labels):
            self.bind_points_layer(labels)
        for points_role, vectors_role in SKELETON_PAIRS:
            points, vectors = found.get(points_role), found.get(vectors_role)
            if points is None or vectors is None:
                continue
            old = self._followers.get(points_role)
            if old is not None and old.points_layer is points and old.vectors_layer is vectors:
                continue
            if old is not None:
                old.disconnect()
            self._followers[points_role] = SkeletonFollower(
                points, vectors, self.node_names, self.edges, self.multi_video
            )
        return found

    def layer(self, role: str) -> Any | None:
        """The bound napari layer of a role (``labels``, ``predictions``, ...), if still alive."""
        ref = self._layer_refs.get(role)
        return ref() if ref is not None else None

    def follower(self, points_role: str = "labels") -> SkeletonFollower | None:
        """The skeleton follower of a Points layer role, if bound."""
        return self._followers.get(points_role)

    # -- predictions -----------------------------------------------------------------------
    def promote_predictions(
        self, video_index: int, frame_index: int, instance_ids: Iterable[int] | None = None
    ) -> list[int]:
        """Turn predicted instances of a frame into user instances (SLEAP's double-click).

        Each new user instance takes the predicted node positions and track, and
        links to its prediction (``from_predicted``), which is then hidden from
        the predictions layer, as SLEAP does; the nodes are not marked as placed
        by a human until the user moves them. When the project's layers are
        bound (see :meth:`bind_layers`), the labels layer gains the new points,
        the predictions layer loses the promoted ones, and both skeletons are
        redrawn.

        Parameters
        ----------
        video_index, frame_index
            The frame.
        instance_ids
            Ids (the predictions layer's ``instance`` feature) of the predictions
            to promote; ``None`` promotes every shown prediction of the frame.

        Returns
        -------
        list of int
            Layer ids of the new user instances, in promotion order.

        Raises
        ------
        PredictionsError
            An id is not a shown prediction of that frame.
        """
        self.sync()
        shown = {
            r.inst_id: r
            for r in self._shown_predictions()
            if (r.video_index, r.frame_index) == (video_index, frame_index) and not r.instance.is_empty
        }
        if instance_ids is None:
            wanted = list(shown)
        else:
            wanted = [int(i) for i in instance_ids]
            unknown = [i for i in wanted if i not in shown]
            if unknown:
                raise PredictionsError(
                    f"Frame {frame_index} of video {video_index} has no prediction with id "
                    f"{', '.join(map(str, unknown))} to turn into a user instance "
                    f"(predictions there: {', '.join(map(str, shown)) or 'none'})."
                )
        labels_layer = self._bound() if self._bound is not None else None
        new_refs: list[InstanceRef] = []
        for pid in dict.fromkeys(wanted):
            pred = shown[pid].instance
            xy = pred.numpy()
            placed = ~np.isnan(xy).any(axis=1)
            arr = np.column_stack([xy, placed, np.zeros(len(xy), bool)])
            inst = sio.Instance.from_numpy(arr, skeleton=pred.skeleton, track=pred.track, from_predicted=pred)
            self._frames[(video_index, frame_index)].instances.append(inst)
            ref = InstanceRef(self._next_id, video_index, frame_index, inst)
            self._next_id += 1
            self._user_refs[(video_index, frame_index, ref.inst_id)] = ref
            new_refs.append(ref)
        if not new_refs:
            return []
        from napari_sleap_train.io import layer_sync

        if labels_layer is not None:
            data, features = points_table(new_refs, self.node_names, self.multi_video)
            layer_sync.append_rows(labels_layer, data, features)
            self._shown |= {(r.video_index, r.frame_index, r.inst_id) for r in new_refs}
            self._bound_fingerprint = self._fingerprint(labels_layer.data, labels_layer.features)
        predictions_layer = self.layer("predictions")
        if predictions_layer is not None:
            layer_sync.remove_instances(predictions_layer, set(dict.fromkeys(wanted)))
        return [r.inst_id for r in new_refs]

    def add_predictions(self, predictions: str | Path | sio.Labels) -> PredictionsUpdate:
        """Merge new predictions into the project (in place) and return layers to show them.

        SLEAP's rules, by :func:`~napari_sleap_train.predictions.merge.merge_with_report`:
        on a frame that got new predictions the older predicted instances are
        replaced; other frames keep theirs; user instances are never touched.
        Videos are matched by object, then file name; nodes by name. Saving the
        project afterwards writes the predictions too.

        Parameters
        ----------
        predictions
            A ``.slp`` file of predictions (as the engine writes) or its labels.

        Returns
        -------
        PredictionsUpdate
            Counts, the frames, and the predictions layer data. To update a
            viewer, call :meth:`refresh_layers` with ``viewer.layers``.

        Raises
        ------
        PredictionsError
            The file cannot be read, or its predictions do not fit the project.
        """
        from napari_sleap_train.predictions.merge import MergeError, merge_with_report

        predicted = _load_predictions(predictions)
        self.sync()
        # Merge into a light stand-in (user instances only, same videos and
        # skeletons) so the merge's deep copy is small; its frames with predicted
        # instances are exactly the frames that got new ones.
        stand_in = sio.Labels(
            labeled_frames=[
                sio.LabeledFrame(video=lf.video, frame_idx=lf.frame_idx, instances=list(lf.user_instances))
                for lf in self.labels.labeled_frames
                if lf.user_instances
            ],
            videos=list(self.labels.videos),
            skeletons=list(self.labels.skeletons),
            tracks=list(self.labels.tracks),
        )
        try:
            result = merge_with_report(stand_in, predicted)
        except MergeError as exc:
            raise PredictionsError(f"The predictions do not fit {self.name}: {exc}") from exc
        merged = result.labels
        video_of = {id(v): i for i, v in enumerate(merged.videos)}
        skeleton_of = {id(s): self.labels.skeletons[i] for i, s in enumerate(merged.skeletons)}
        update = PredictionsUpdate(n_duplicates=len(result.duplicates))
        for lf in merged.labeled_frames:
            new = list(lf.predicted_instances)
            if not new:
                continue
            key = (video_of[id(lf.video)], int(lf.frame_idx))
            for inst in new:  # attach to the project's own skeleton objects
                inst.skeleton = skeleton_of.get(id(inst.skeleton), self.skeleton)
            target = self._frames.get(key)
            if target is None:
                target = sio.LabeledFrame(video=self.labels.videos[key[0]], frame_idx=key[1])
                self.labels.append(target)
                self._frames[key] = target
            old = [i for i in target.instances if isinstance(i, sio.PredictedInstance)]
            target.instances = [i for i in target.instances if not isinstance(i, sio.PredictedInstance)] + new
            update.n_replaced += len(old)
            update.n_instances += len(new)
            update.frames.append(key)
        update.frames.sort()
        update.n_frames = len(update.frames)
        self._reindex_predictions()
        update.layer_data = self.prediction_layer_data()
        return update

    def _reindex_predictions(self) -> None:
        """Rebuild the predicted-instance index after predictions changed (ids of kept ones stay)."""
        old_ids = {id(r.instance): r.inst_id for r in self._pred_refs.values()}
        refs: dict[tuple[int, int, int], InstanceRef] = {}
        for (vi, fi), lf in self._frames.items():
            for inst in lf.instances:
                if not isinstance(inst, sio.PredictedInstance):
                    continue
                inst_id = old_ids.get(id(inst))
                if inst_id is None:
                    inst_id = self._next_id
                    self._next_id += 1
                refs[(vi, fi, inst_id)] = InstanceRef(inst_id, vi, fi, inst)
        self._pred_refs = refs

    def prediction_layer_data(self) -> list[tuple[Any, dict[str, Any], str]]:
        """Layer data of ``"<project> predictions skeleton"`` and ``"<project> predictions"``.

        Empty when there is no prediction to show.
        """
        from napari_sleap_train.io.layers import prediction_layers

        return prediction_layers(self)

    def refresh_layers(self, layers: Any, roles: Iterable[str] = PREDICTION_ROLES) -> Any:
        """Bring the project's layers of some roles up to date with its labels.

        Existing layers are updated in place (data and features; name, colours,
        visibility and position stay as the user left them). Missing ones are
        created and inserted below the labels layer when ``layers`` is a napari
        ``LayerList`` (``viewer.layers``); otherwise their layer data is returned
        for the caller to add. The layers are then bound (:meth:`bind_layers`).

        Parameters
        ----------
        layers
            ``viewer.layers`` (preferred) or an iterable of napari layers.
        roles
            Layer roles to refresh; default the predictions and their skeleton.

        Returns
        -------
        napari_sleap_train.io.layer_sync.LayerRefresh
            ``updated`` and ``added`` layers, and ``to_add`` layer data.
        """
        from napari_sleap_train.io import layer_sync

        return layer_sync.refresh_layers(self, layers, tuple(roles))

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
        arrs = [
            i.numpy()
            for i in lf.instances
            if isinstance(i, sio.PredictedInstance) == want_pred and not i.is_empty
        ]
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

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the project (with synced layer edits) to ``path``; it becomes the project's path.

        The file is written next to ``path`` under a temporary name and moved
        into place at the end, so a failed save never damages an existing file,
        and no file other than ``path`` is ever replaced.

        Raises
        ------
        SleapFileError
            ``path`` exists and ``overwrite`` is False, or writing failed.
        """
        out = self._write(path, overwrite)
        self.path = out
        return out

    def snapshot(self, path: str | Path) -> Path:
        """Write the current labels (including layer edits) to a NEW ``.slp`` for the trainer.

        The project's own path is unchanged. Frames embedded in a ``.pkg.slp``
        source are embedded again so the trainer can read them.

        Raises
        ------
        SleapFileError
            ``path`` already exists.
        """
        return self._write(path, overwrite=False)

    def _write(self, path: str | Path, overwrite: bool) -> Path:
        target = Path(path).resolve()
        if not target.name.lower().endswith(".slp"):
            raise SleapFileError(f"SLEAP projects are saved as .slp files; got {target.name}.")
        if target.exists() and not overwrite:
            raise SleapFileError(f"{target} already exists; choose a new file name.")
        if not target.parent.is_dir():
            raise SleapFileError(f"The folder {target.parent} does not exist.")
        self.sync()
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp.slp")
        try:
            self.labels.save(tmp.as_posix(), embed=self._embed_plan(target), verbose=False)
            os.replace(tmp, target)
        except SleapFileError:
            raise
        except Exception as exc:
            raise SleapFileError(f"Saving {target.name} failed: {type(exc).__name__}: {exc}") from exc
        finally:
            if tmp.exists():
                tmp.unlink()
        return target

    # -- object identity ---------------------------------------------------------------
    def __deepcopy__(self, memo) -> SleapProject:
        # Layers share one project; duplicating a layer must not fork it.
        return self

    def __repr__(self) -> str:
        return (
            f"SleapProject({self.name!r}, videos={len(self.labels.videos)}, "
            f"user_instances={len(self._user_refs)}, predictions={len(self._pred_refs)})"
        )


def find_project(layers: Iterable[Any]) -> SleapProject | None:
    """The SLEAP project behind a viewer's layers, bound to its user-labels layer.

    Prefers the project of the active layer, else the top-most layer that
    carries one. The project's ``"<name> labels"`` Points layer is bound so that
    :meth:`SleapProject.user_frames`, :meth:`~SleapProject.labeled_instances`,
    :meth:`~SleapProject.snapshot` and :meth:`~SleapProject.save` see the
    user's edits, and the skeleton layers follow point edits
    (:meth:`SleapProject.bind_layers`).

    Parameters
    ----------
    layers
        ``viewer.layers`` (or any iterable of napari layers).
    """
    layers = list(layers) if not hasattr(layers, "selection") else layers
    project = None
    active = getattr(getattr(layers, "selection", None), "active", None)
    if active is not None:
        project = active.metadata.get(PROJECT_KEY)
    if project is None:
        for layer in reversed(list(layers)):
            project = layer.metadata.get(PROJECT_KEY)
            if project is not None:
                break
    if project is None:
        return None
    project.bind_layers(layers)
    return project


def bind_layers(layers: Iterable[Any]) -> list[SleapProject]:
    """Bind every SLEAP project found among ``layers`` (see :meth:`SleapProject.bind_layers`)."""
    layers = list(layers)
    projects: list[SleapProject] = []
    for layer in layers:
        project = (getattr(layer, "metadata", None) or {}).get(PROJECT_KEY)
        if isinstance(project, SleapProject) and all(project is not p for p in projects):
            projects.append(project)
    for project in projects:
        project.bind_layers(layers)
    return projects


def _load_predictions(predictions: str | Path | sio.Labels) -> sio.Labels:
    if isinstance(predictions, sio.Labels):
        return predictions
    path = Path(predictions)
    if not path.is_file():
        raise PredictionsError(f"The predictions file {path} does not exist.")
    try:
        return sio.load_slp(path.as_posix(), open_videos=False)
    except Exception as exc:  # sleap-io raises many kinds
        raise PredictionsError(
            f"The predictions file {path.name} could not be read ({type(exc).__name__}: {exc})."
        ) from exc
