"""The labeling loop on the project model: new instances, node order, where the work is.

:class:`InstanceLabeling` is a part of :class:`~napari_sleap_train.project.model.SleapProject`
(it uses the project's instance index). The plain functions below it decide which node
comes next, which frame to go to, and which instances are partial; they know nothing of
napari, so the viewer side (``napari_sleap_train.io.labeling``) and the dock only ask.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np
import sleap_io as sio

from napari_sleap_train.evaluate.novelty import pick_new_poses
from napari_sleap_train.project.tables import InstanceRef, points_table

#: radius (pixels) of the ring a template starts from when nothing is labeled yet
DEFAULT_RING_PX = 20.0

Frame = tuple[int, int]


class ReviewOrder(str, Enum):
    """Which frames with predictions to review first."""

    #: the lowest instance score first
    SCORE = "lowest score"
    #: the poses the labels show least first (a new recording's failures:
    #: :func:`~napari_sleap_train.evaluate.novelty.pick_new_poses`)
    NEW_POSES = "new poses"


@dataclass(frozen=True)
class ReviewItem:
    """A frame whose predictions wait for review, worst first.

    Attributes
    ----------
    video_index, frame_index : int
    score : float
        Lowest instance score of the frame's shown predictions (NaN: none scored).
    n_predictions : int
        Shown predicted instances on the frame.
    novelty : float
        In the new-poses order: how far (px) the frame's most novel predicted
        pose lies from every labeled pose and every frame listed before it
        (NaN in the score order).
    """

    video_index: int
    frame_index: int
    score: float
    n_predictions: int
    novelty: float = math.nan

    @property
    def frame(self) -> Frame:
        return (self.video_index, self.frame_index)

    @property
    def text(self) -> str:
        """One line for the dock's review list."""
        score = "no score" if np.isnan(self.score) else f"score {self.score:.2f}"
        video = f"video {self.video_index}, " if self.video_index else ""
        new = "" if math.isnan(self.novelty) else f"new pose {self.novelty:.1f} px, "
        new = "new pose, " if self.novelty == math.inf else new
        return f"{video}frame {self.frame_index}: {new}{score}, {self.n_predictions} prediction(s)"


@dataclass(frozen=True)
class PartialInstance:
    """A user instance with nodes missing (``lone``: one point alone on its frame)."""

    video_index: int
    frame_index: int
    inst_id: int
    n_visible: int
    n_nodes: int
    lone: bool

    @property
    def text(self) -> str:
        where = f"frame {self.frame_index}" + (f" of video {self.video_index}" if self.video_index else "")
        return f"{where}: instance {self.inst_id} has {self.n_visible} of {self.n_nodes} nodes"


# -- plain rules -------------------------------------------------------------------------
def next_missing_node(xy: np.ndarray, skipped: Iterable[int] = (), after: int | None = None) -> int | None:
    """The next node (skeleton order) of an instance that has no point and was not skipped.

    Parameters
    ----------
    xy
        ``(K, 2)`` node positions, NaN where the node has no point.
    skipped
        Nodes the user marked not visible.
    after
        Start looking after this node (wrapping round), e.g. the node just placed.
    """
    missing = np.isnan(np.asarray(xy, float)).any(axis=1)
    missing[list(skipped)] = False
    k = len(missing)
    start = 0 if after is None else after + 1
    for step in range(k):
        node = (start + step) % k
        if missing[node]:
            return node
    return None


def step_frame(frames: Sequence[Frame], current: Frame, direction: int) -> Frame | None:
    """The frame of ``frames`` after (``direction=1``) or before (``-1``) ``current``, wrapping round."""
    ordered = sorted(set(frames))
    if not ordered:
        return None
    if direction > 0:
        later = [f for f in ordered if f > current]
        return later[0] if later else ordered[0]
    earlier = [f for f in ordered if f < current]
    return earlier[-1] if earlier else ordered[-1]


def next_in_order(items: Sequence[Frame], current: Frame) -> Frame | None:
    """The item after ``current`` in a fixed order (the first when ``current`` is not in it)."""
    if not items:
        return None
    if current in items:
        i = list(items).index(current)
        return items[(i + 1) % len(items)]
    return items[0]


def _centred(xy: np.ndarray) -> np.ndarray:
    return xy - np.nanmean(xy, axis=0)


# -- on the project ----------------------------------------------------------------------
class InstanceLabeling:
    """New instances, removal of predictions, and labeling queries (mixed into ``SleapProject``)."""

    # -- instances ---------------------------------------------------------------------
    def user_instance_xy(self, video_index: int, frame_index: int, inst_id: int) -> np.ndarray | None:
        """``(K, 2)`` xy of a user instance in project node order (NaN: no point), or ``None``."""
        self.sync()
        ref = self._user_refs.get((video_index, frame_index, inst_id))
        if ref is None:
            return None
        return self._in_project_order(ref.instance)

    def prediction_xy(self, video_index: int, frame_index: int, inst_id: int) -> np.ndarray | None:
        """``(K, 2)`` xy of a predicted instance in project node order, or ``None``."""
        ref = self._pred_refs.get((video_index, frame_index, inst_id))
        return None if ref is None else self._in_project_order(ref.instance)

    def _in_project_order(self, inst: sio.Instance) -> np.ndarray:
        names = self.node_names
        xy = inst.numpy()
        out = np.full((len(names), 2), np.nan)
        for i, n in enumerate(inst.skeleton.node_names):
            out[names.index(n)] = xy[i]
        return out

    def mean_pose(self) -> np.ndarray:
        """``(K, 2)`` mean shape of the user instances, centred on (0, 0).

        Nodes never labeled sit on a small ring round the centre, so a template
        always has every node.
        """
        self.sync()
        k = len(self.node_names)
        shapes = [
            _centred(self._in_project_order(r.instance))
            for r in self._user_refs.values()
            if (~np.isnan(r.instance.numpy()[:, 0])).sum() >= 2
        ]
        ring = DEFAULT_RING_PX * np.column_stack(
            [np.cos(np.linspace(0, 2 * np.pi, k, endpoint=False)), np.sin(np.linspace(0, 2 * np.pi, k, endpoint=False))]
        )
        if not shapes:
            return ring
        with warnings.catch_warnings():  # nodes no instance has: NaN, filled from the ring
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(np.stack(shapes), axis=0)
        return np.where(np.isnan(mean), ring, mean)

    def instance_template(self, video_index: int, frame_index: int, at_xy: Sequence[float]) -> tuple[np.ndarray, str]:
        """A pose to place at ``at_xy``: the nearest shown prediction of the frame, else the mean pose.

        Returns
        -------
        xy : (K, 2) array in project node order (every node placed)
        source : str
            ``"prediction"`` or ``"mean pose"`` (for the dock's message).
        """
        at = np.asarray(at_xy, float)
        preds = [
            r
            for r in self._shown_predictions()
            if (r.video_index, r.frame_index) == (video_index, frame_index) and not r.instance.is_empty
        ]
        mean = self.mean_pose()
        if preds:
            dists = [np.linalg.norm(np.nanmean(r.instance.numpy(), axis=0) - at) for r in preds]
            xy = self._in_project_order(preds[int(np.argmin(dists))].instance)
            # a copy beside the prediction it came from, nodes it lacks from the mean pose
            xy = np.where(np.isnan(xy), mean + np.nanmean(xy, axis=0), xy)
            return _centred(xy) + at, "prediction"
        return mean + at, "mean pose"

    def add_user_instance(self, video_index: int, frame_index: int, xy: np.ndarray, track: str | None = None) -> int:
        """Add a user instance (``(K, 2)`` xy in project node order, NaN: no point); return its id.

        Its nodes are not marked as placed by a human until the user moves them
        (as SLEAP's new instances). The attached layer link shows it.
        """
        self.sync()
        skel = self.skeleton
        xy = self._in_skeleton_order(skel, np.asarray(xy, float))
        placed = ~np.isnan(xy[:, 0])
        if not placed.any():
            raise ValueError("A new instance needs at least one node position.")
        arr = np.column_stack([xy, placed, np.zeros(len(xy), bool)])
        inst = sio.Instance.from_numpy(arr, skeleton=skel, track=self._track(track))
        self._frame_at(video_index, frame_index).instances.append(inst)
        ref = InstanceRef(self._next_id, video_index, frame_index, inst)
        self._next_id += 1
        key = (video_index, frame_index, ref.inst_id)
        self._user_refs[key] = ref
        if self.link is not None:
            data, features = points_table([ref], self.node_names, self.multi_video)
            if self.link.promoted(data, features, set()):
                self._shown.add(key)
        return ref.inst_id

    def remove_predictions(self, video_index: int, frame_index: int, instance_ids: Iterable[int]) -> int:
        """Delete predicted instances of a frame (the user removed them); returns how many."""
        ids = {int(i) for i in instance_ids}
        lf = self._frames.get((video_index, frame_index))
        gone = [k for k in self._pred_refs if k[:2] == (video_index, frame_index) and k[2] in ids]
        if lf is None or not gone:
            return 0
        refs = [self._pred_refs.pop(k) for k in gone]
        drop = {id(r.instance) for r in refs}
        lf.instances = [i for i in lf.instances if id(i) not in drop]
        if not lf.instances and not lf.is_negative:
            frames = self.labels.labeled_frames
            del frames[next(i for i, f in enumerate(frames) if f is lf)]
            del self._frames[(video_index, frame_index)]
            self.labels.reindex()
        return len(refs)

    def prediction_at(self, video_index: int, frame_index: int, at_xy: Sequence[float], margin: float) -> int | None:
        """Id of the shown prediction of a frame whose nodes lie nearest ``at_xy`` (within ``margin`` px)."""
        at = np.asarray(at_xy, float)
        best, best_d = None, np.inf
        for r in self._shown_predictions():
            if (r.video_index, r.frame_index) != (video_index, frame_index) or r.instance.is_empty:
                continue
            d = float(np.nanmin(np.linalg.norm(r.instance.numpy() - at, axis=1)))
            if d < best_d:
                best, best_d = r.inst_id, d
        return best if best_d <= margin else None

    # -- where the work is -------------------------------------------------------------
    def first_labeled_frame(self) -> Frame | None:
        """The first (video, frame) with a user instance, else the first suggestion, else ``None``."""
        frames = self.user_frames()
        if frames:
            return frames[0]
        sugg = sorted(self.suggestions)
        return sugg[0] if sugg else None

    def unlabeled_suggestions(self) -> list[Frame]:
        """Suggested frames without a user instance, sorted."""
        labeled = set(self.user_frames())
        return sorted({s for s in self.suggestions if s not in labeled})

    def review_queue(self, limit: int | None = None, order: ReviewOrder = ReviewOrder.SCORE) -> list[ReviewItem]:
        """Frames with shown predictions and no user instance, in ``order`` (lowest score first)."""
        labeled = set(self.user_frames())
        # plain Python per prediction (a whole video holds thousands): lowest score and count per frame
        lowest: dict[Frame, float] = {}
        count: dict[Frame, int] = {}
        refs = [r for r in self._shown_predictions() if (r.video_index, r.frame_index) not in labeled]
        kept = [r for r, empty in zip(refs, _empty_instances(refs)) if not empty]
        for r in kept:
            key = (r.video_index, r.frame_index)
            score = r.instance.score
            score = math.nan if score is None else float(score)
            count[key] = count.get(key, 0) + 1
            best = lowest.get(key, math.nan)
            lowest[key] = score if math.isnan(best) or score < best else best
        items = [ReviewItem(v, f, lowest[(v, f)], n) for (v, f), n in count.items()]
        items.sort(key=lambda it: (np.inf if np.isnan(it.score) else it.score, it.frame))
        if ReviewOrder(order) is ReviewOrder.NEW_POSES:
            items = self._new_poses_first(items, kept, limit)
        return items[:limit] if limit is not None else items

    def _new_poses_first(self, items: list[ReviewItem], refs: list[InstanceRef], limit: int | None) -> list[ReviewItem]:
        """``items`` (score order) with the ``limit`` frames of the least-labeled poses first."""
        if not items:
            return items
        poses: dict[Frame, list[np.ndarray]] = {}
        for r in refs:
            poses.setdefault((r.video_index, r.frame_index), []).append(self._in_project_order(r.instance))
        known = [self._in_project_order(r.instance) for r in self._user_refs.values() if not r.instance.is_empty]
        k = len(self.node_names)
        picks = pick_new_poses(
            np.stack(known) if known else np.zeros((0, k, 2)),
            [np.stack(poses[it.frame]) for it in items],
            len(items) if limit is None else limit,
        )
        first = [replace(items[i], novelty=novelty) for i, novelty in picks]
        chosen = {i for i, _ in picks}
        return first + [it for i, it in enumerate(items) if i not in chosen]

    def partial_instances(self) -> list[PartialInstance]:
        """User instances with nodes missing; ``lone`` ones are one point alone on their frame."""
        self.sync()
        k = len(self.node_names)
        per_frame: dict[Frame, int] = {}
        for r in self._user_refs.values():
            if not r.instance.is_empty:
                per_frame[(r.video_index, r.frame_index)] = per_frame.get((r.video_index, r.frame_index), 0) + 1
        out = []
        for r in self._user_refs.values():
            n = int((~np.isnan(r.instance.numpy()[:, 0])).sum())
            if 0 < n < k:
                alone = n == 1 and per_frame[(r.video_index, r.frame_index)] == 1
                out.append(PartialInstance(r.video_index, r.frame_index, r.inst_id, n, k, alone))
        return sorted(out, key=lambda p: (p.video_index, p.frame_index, p.inst_id))

    def lone_point_warning(self) -> str:
        """A plain-words warning about one-point instances alone on a frame (``""`` when none)."""
        lone = [p for p in self.partial_instances() if p.lone]
        if not lone:
            return ""
        where = ", ".join(str(p.frame_index) for p in lone[:5]) + (" ..." if len(lone) > 5 else "")
        return (
            f"{len(lone)} labeled frame(s) hold a single point and nothing else (frame {where}); "
            "training will use them as an animal with every other node missing. Complete or delete them."
        )


def _empty_instances(refs: Sequence[InstanceRef]) -> np.ndarray:
    """``is_empty`` of many instances at once (thousands: sleap-io's property costs ~10 µs each)."""
    try:
        visible = np.stack([r.instance.points["visible"] for r in refs]) if refs else np.zeros((0, 0), bool)
    except ValueError:  # instances of different skeletons
        return np.asarray([r.instance.is_empty for r in refs], bool)
    return ~visible.any(axis=1)
