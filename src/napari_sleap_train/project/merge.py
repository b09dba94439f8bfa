"""Predictions in a project: merging new ones (SLEAP's rules) and promoting them to user instances.

:class:`PredictionMerging` is a part of
:class:`~napari_sleap_train.project.model.SleapProject`. Whoever shows the
project (the napari side) hears of promotions through the project's
:class:`~napari_sleap_train.project.model.LayerLink` and updates its layers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap_train.predictions.merge import MergeError, merge_with_report
from napari_sleap_train.project.errors import PredictionsError
from napari_sleap_train.project.tables import InstanceRef, points_table


@dataclass
class PredictionsUpdate:
    """What :meth:`SleapProject.add_predictions` merged.

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
    """

    n_frames: int = 0
    n_instances: int = 0
    n_replaced: int = 0
    n_duplicates: int = 0
    frames: list[tuple[int, int]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One sentence for a notification."""
        text = f"{self.n_instances} predicted instance(s) on {self.n_frames} frame(s)"
        if self.n_replaced:
            text += f", replacing {self.n_replaced} older prediction(s)"
        if self.n_duplicates:
            text += f"; {self.n_duplicates} lie on top of user labels"
        return text + "."



class PredictionMerging:
    """Merging and promoting predictions (mixed into ``SleapProject``)."""

    def promote_predictions(
        self, video_index: int, frame_index: int, instance_ids: Iterable[int] | None = None
    ) -> list[int]:
        """Turn predicted instances of a frame into user instances (SLEAP's double-click).

        Each new user instance takes the predicted node positions and track, and
        links to its prediction (``from_predicted``), which is then hidden from
        the predictions layer, as SLEAP does; the nodes are not marked as placed
        by a human until the user moves them. The attached
        :class:`~napari_sleap_train.project.model.LayerLink` is told (in napari:
        the labels layer gains the new points, the predictions layer loses the
        promoted ones, and both skeletons are redrawn).

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
        if self.link is not None:
            data, features = points_table(new_refs, self.node_names, self.multi_video)
            if self.link.promoted(data, features, set(dict.fromkeys(wanted))):
                self._shown |= {(r.video_index, r.frame_index, r.inst_id) for r in new_refs}
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
            Counts and frames. To update a viewer, call
            ``napari_sleap_train.io.binding.refresh_layers(project, viewer.layers)``.

        Raises
        ------
        PredictionsError
            The file cannot be read, or its predictions do not fit the project.
        """
        predicted = load_predictions(predictions)
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


def load_predictions(predictions: str | Path | sio.Labels) -> sio.Labels:
    """Labels of a predictions file (videos not opened), or the labels given.

    Raises
    ------
    PredictionsError
        The file does not exist or cannot be read.
    """
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
