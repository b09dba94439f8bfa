"""Fold an edited points table back into a project's user instances.

:class:`LayerEdits` is a part of :class:`~napari_sleap_train.project.model.SleapProject`
(it uses the project's instance index): the napari side hands it the data and
features of the user-labels Points layer, as arrays and a DataFrame.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sleap_io as sio

from napari_sleap_train.project.errors import SleapEditWarning
from napari_sleap_train.project.tables import InstanceRef, group_points


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


class LayerEdits:
    """Edits of a points table applied to user instances (mixed into ``SleapProject``)."""

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
        self._frame_at(video_index, frame_index).instances.append(inst)
        self._user_refs[key] = InstanceRef(inst_id, video_index, frame_index, inst)
        self._next_id = max(self._next_id, inst_id + 1)
        return True

    def _frame_at(self, video_index: int, frame_index: int) -> sio.LabeledFrame:
        """The project's labeled frame at (video, frame), added to the project when there is none."""
        fkey = (video_index, frame_index)
        lf = self._frames.get(fkey)
        if lf is None:
            lf = sio.LabeledFrame(video=self.labels.videos[video_index], frame_idx=frame_index)
            self.labels.append(lf)
            self._frames[fkey] = lf
        return lf

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
