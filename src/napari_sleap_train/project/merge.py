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
import pandas as pd
import sleap_io as sio

from napari_sleap_train.project.errors import PredictionsError
from napari_sleap_train.project.merge_plan import (
    LayerTables,
    PreparedMerge,
    layer_tables,
    plan_frame,
    prepare_merge,
    take_snapshot,
)
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
    n_hidden : int
        New predictions lying on a user instance that was made from a
        prediction (an accepted one): they become that instance's source
        (``from_predicted``), so they are hidden as SLEAP hides a prediction a
        user instance replaced; not counted in ``n_instances``.
    n_duplicates : int
        New predictions (shown, as SLEAP shows them) lying on a user instance
        the user placed by hand.
    frames : list of (video index, frame index)
        The frames that received new predictions, sorted.
    warnings : list of str
        Doubts about the merge (videos paired only by their order).
    """

    n_frames: int = 0
    n_instances: int = 0
    n_replaced: int = 0
    n_hidden: int = 0
    n_duplicates: int = 0
    frames: list[tuple[int, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One sentence for a notification."""
        text = f"{self.n_instances} predicted instance(s) on {self.n_frames} frame(s)"
        if self.n_replaced:
            text += f", replacing {self.n_replaced} older prediction(s)"
        if self.n_hidden:
            text += f"; {self.n_hidden} on accepted instances, hidden"
        if self.n_duplicates:
            text += f"; {self.n_duplicates} lie on top of user labels"
        return text + "." + "".join(f" Note: {w[0].upper()}{w[1:]}." for w in self.warnings)


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
        Videos are matched as :func:`~napari_sleap_train.predictions.video_pairing.pair_videos`
        says (a pairing by order only is named in ``warnings``); nodes by name. Saving the
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
        update, _tables = self.apply_merge(prepare_merge(take_snapshot(self), predictions))
        return update

    def apply_merge(self, prepared: PreparedMerge) -> tuple[PredictionsUpdate, LayerTables]:
        """Apply a merge worked out off the GUI thread (:mod:`.merge_plan`); cheap.

        Frames whose instances changed since the snapshot (the user added,
        deleted or accepted an instance meanwhile) are merged again from what
        they hold now, so no edit made during the merge is lost.

        Returns
        -------
        update : PredictionsUpdate
        tables : (data, features, vectors)
            The predictions layer's rows, features and skeleton vectors after the merge.
        """
        self.sync()
        snap = prepared.snapshot
        current = {key: tuple(lf.instances) for key, lf in self._frames.items()}
        changed = {
            key
            for key in set(current) | set(snap.frames)
            if [id(i) for i in current.get(key, ())] != [id(i) for i in snap.frames.get(key, ())]
        }
        plans = dict(prepared.plans)
        for key in changed:
            new = plans[key].new if key in plans else prepared.skipped.get(key)
            if new is None:
                continue
            plan = plan_frame(current.get(key, ()), new)
            if plan is None:
                plans.pop(key, None)
            else:
                plans[key] = plan
        update = PredictionsUpdate(warnings=list(prepared.warnings))
        for key, plan in plans.items():
            target = self._frames.get(key)
            if target is None:
                target = sio.LabeledFrame(video=self.labels.videos[key[0]], frame_idx=key[1])
                self.labels.append(target, update=False)  # the project's video; no instances yet
                self._frames[key] = target
            target.instances = plan.instances
            for user, source in plan.links:
                user.from_predicted = source
            update.n_hidden += plan.n_hidden
            update.n_duplicates += plan.n_duplicates
            update.n_replaced += plan.n_replaced
            if plan.n_instances:
                update.n_instances += plan.n_instances
                update.frames.append(key)
        update.frames.sort()
        update.n_frames = len(update.frames)
        base = self._next_id
        self._next_id += len(prepared.new_order)
        self._reindex_predictions({id(inst): base + k for k, inst in enumerate(prepared.new_order)})
        return update, self._final_tables(prepared, base, changed)

    def _final_tables(self, prepared: PreparedMerge, base: int, changed: set[tuple[int, int]]) -> LayerTables:
        """The prepared layer tables with real ids, the frames changed meanwhile rebuilt from the project."""
        data, features, vectors = prepared.data, prepared.features.copy(), prepared.vectors
        ids = features["instance"].to_numpy(dtype=np.int64, copy=True)
        placeholder = ids < 0
        ids[placeholder] = base - 1 - ids[placeholder]
        features["instance"] = ids
        if not changed:
            return data, features, vectors
        codes = {_frame_code(k, self.multi_video) for k in changed}
        keep = ~np.isin(_row_codes(data, self.multi_video), list(codes))
        keep_vec = ~np.isin(_row_codes(vectors[:, 0, :], self.multi_video), list(codes))
        refs = [r for r in self._shown_predictions() if (r.video_index, r.frame_index) in changed]
        more_data, more_features, more_vectors = layer_tables(refs, self.node_names, self.multi_video)
        data = np.concatenate([data[keep], more_data])
        features = pd.concat([features[keep], more_features], ignore_index=True)
        features["node"] = pd.Categorical(features["node"].astype(object), categories=list(self.node_names))
        vectors = np.concatenate([vectors[keep_vec], more_vectors])
        return data, features, vectors

    def _reindex_predictions(self, new_ids: dict[int, int] | None = None) -> None:
        """Rebuild the predicted-instance index after predictions changed (ids of kept ones stay).

        ``new_ids`` gives ids chosen already (``id(instance) -> id``); others get the next free ones.
        """
        old_ids = {id(r.instance): r.inst_id for r in self._pred_refs.values()}
        old_ids.update(new_ids or {})
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


def _frame_code(key: tuple[int, int], multi_video: bool) -> int:
    return (key[0] << 32) + key[1] if multi_video else key[1]


def _row_codes(rows: np.ndarray, multi_video: bool) -> np.ndarray:
    """One code per row for its frame (as :func:`_frame_code`)."""
    if not len(rows):
        return np.empty(0, np.int64)
    lead = np.rint(rows[:, : 2 if multi_video else 1]).astype(np.int64)
    return (lead[:, 0] << 32) + lead[:, 1] if multi_video else lead[:, 0]


def _mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    d = np.linalg.norm(a - b, axis=-1)
    d = d[np.isfinite(d)]
    return float(d.mean()) if len(d) else np.inf


def replaced_radius(user_xy: np.ndarray, floor_px: float = 5.0, share: float = 0.2) -> float:
    """How near (mean node distance) a prediction must lie to a user instance to count as replaced by it.

    A share of the instance's size (its box diagonal), at least ``floor_px``: a
    retrained model rarely lands on the user's exact pixels.
    """
    pts = user_xy[np.isfinite(user_xy).all(axis=1)]
    if len(pts) < 2:
        return floor_px
    return max(floor_px, share * float(np.linalg.norm(pts.max(axis=0) - pts.min(axis=0))))


def _same_predictions(old: list[sio.PredictedInstance], new: list[sio.PredictedInstance]) -> bool:
    """Whether ``new`` are the not-hidden ones of ``old`` again (same points and scores)."""
    if not new or len(new) > len(old):
        return False
    unmatched = list(old)
    for p in new:
        hit = next(
            (
                o
                for o in unmatched
                if np.allclose(o.numpy(), p.numpy(), atol=1e-4, equal_nan=True)
                and np.isclose(float(o.score), float(p.score))
            ),
            None,
        )
        if hit is None:
            return False
        unmatched.remove(hit)
    return True


def _link_to_accepted(
    new: list[sio.PredictedInstance], users: list[sio.Instance]
) -> tuple[set[int], int, list[tuple[sio.Instance, sio.PredictedInstance]]]:
    """Find the new predictions that lie on an accepted user instance; count those on hand-placed ones.

    An accepted instance (one made from a prediction, ``from_predicted``) takes
    the nearest new prediction within :func:`replaced_radius` as its source, so
    SLEAP's rule hides it (``LabeledFrame.unused_predictions``) here and in
    SLEAP. A new prediction on a hand-placed instance is shown, as SLEAP shows it.

    Returns
    -------
    hidden : set of int
        Indices into ``new`` now hidden.
    on_hand_labels : int
        New predictions lying on a hand-placed user instance.
    links : list of (user instance, prediction)
        Each accepted instance and the new prediction to become its source
        (``from_predicted``; set by whoever applies the merge).
    """
    if not users or not new:
        return set(), 0, []
    pairs = sorted(
        (_mean_distance(p.numpy(), u.numpy()), pi, ui) for pi, p in enumerate(new) for ui, u in enumerate(users)
    )
    radius = [replaced_radius(u.numpy()) for u in users]
    taken: set[int] = set()
    matched: set[int] = set()
    hidden: set[int] = set()
    links: list[tuple[sio.Instance, sio.PredictedInstance]] = []
    on_hand = 0
    for d, pi, ui in pairs:
        if pi in taken or ui in matched or d > radius[ui]:
            continue
        taken.add(pi)
        matched.add(ui)
        if users[ui].from_predicted is not None:
            links.append((users[ui], new[pi]))
            hidden.add(pi)
        else:
            on_hand += 1
    return hidden, on_hand, links


def unused_predictions(labels: sio.Labels) -> sio.Labels:
    """The predictions of ``labels`` that no user instance of their frame replaced.

    A predictions file written by the engine holds the project it was trained
    on, with the predictions the user accepted (each a user instance's
    ``from_predicted``; with tracks, a prediction of a track a user instance
    has). Those are not new predictions: SLEAP's ``LabeledFrame.unused_predictions``
    rule leaves them out, so they never come back over the user's instance.
    """
    frames = []
    for lf in labels.labeled_frames:
        users = [i for i in lf.instances if not isinstance(i, sio.PredictedInstance)]
        used = {id(u.from_predicted) for u in users if u.from_predicted is not None}
        tracks = {id(u.track) for u in users if u.track is not None}
        keep = [
            i for i in lf.predicted_instances if id(i) not in used and (i.track is None or id(i.track) not in tracks)
        ]
        if keep:
            frames.append(sio.LabeledFrame(video=lf.video, frame_idx=lf.frame_idx, instances=keep))
    return sio.Labels(
        labeled_frames=frames,
        videos=list(labels.videos),
        skeletons=list(labels.skeletons),
        tracks=list(labels.tracks),
    )


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
