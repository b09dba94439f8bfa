"""Merging predictions in two steps, so the long one can run off the GUI thread.

A whole-video prediction is thousands of frames: merging them (SLEAP's rules,
sleap-io objects) and building the layer tables take seconds. The project is
shared with the GUI thread, where the user keeps editing, so the work is split:

1. :func:`take_snapshot` (GUI thread, cheap): which instances each frame holds
   now, the user instances to merge against, the ids of the shown predictions.
2. :func:`prepare_merge` (any thread): reads nothing of the live project but the
   snapshot; merges, decides each frame's new instance list and builds the
   predictions layer's rows, features and skeleton vectors for the result.
   New predictions get placeholder ids (``-1, -2, ...``).
3. :meth:`~napari_sleap_train.project.merge.PredictionMerging.apply_merge` (GUI
   thread, cheap): frames whose instances changed meanwhile (the user added,
   deleted or accepted an instance) are merged again from what they hold now,
   the frames take their new lists, the placeholders become real ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sleap_io as sio

from napari_sleap_train.predictions.merge import MergeError, merge_with_report
from napari_sleap_train.project.errors import PredictionsError
from napari_sleap_train.project.tables import InstanceRef, edge_vectors, points_table

FrameKey = tuple[int, int]
#: A predictions layer's rows, features and skeleton vectors.
LayerTables = tuple[np.ndarray, pd.DataFrame, np.ndarray]


@dataclass(frozen=True)
class MergeSnapshot:
    """What the project held when a merge began (taken on the GUI thread)."""

    frames: dict[FrameKey, tuple[sio.Instance, ...]]
    pred_ids: dict[int, int]  # id(predicted instance) -> its layer id
    videos: list[sio.Video]
    skeletons: list[sio.Skeleton]
    tracks: list[sio.Track]
    node_names: list[str]
    multi_video: bool
    name: str


@dataclass
class FramePlan:
    """One frame after the merge: its instance list and what changed."""

    instances: list[sio.Instance]
    new: list[sio.PredictedInstance]
    links: list[tuple[sio.Instance, sio.PredictedInstance]]  # accepted instance -> its new source
    n_instances: int = 0
    n_replaced: int = 0
    n_hidden: int = 0
    n_duplicates: int = 0


@dataclass
class PreparedMerge:
    """A merge worked out on a snapshot, ready for ``apply_merge``.

    ``data`` / ``features`` / ``vectors`` are the predictions layer's rows, features
    and skeleton edges after the merge, new predictions carrying ids ``-1 - k``
    where ``k`` is their position in ``new_order``.
    """

    snapshot: MergeSnapshot
    plans: dict[FrameKey, FramePlan]
    new_order: list[sio.PredictedInstance]
    data: np.ndarray
    features: pd.DataFrame
    vectors: np.ndarray
    skipped: dict[FrameKey, list[sio.PredictedInstance]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. videos paired only by their order


def take_snapshot(project) -> MergeSnapshot:
    """The project's frames as they are now (GUI thread; folds in pending edits first)."""
    project.sync()
    for video in project.labels.videos:
        # sleap-io caches a video's shape on its first read (a frame decode): do that here, so
        # the worker's video matching never reads a frame from a reader the GUI thread uses
        _ = video.shape
    return MergeSnapshot(
        frames={key: tuple(lf.instances) for key, lf in project._frames.items()},
        pred_ids={id(r.instance): r.inst_id for r in project._pred_refs.values()},
        videos=list(project.labels.videos),
        skeletons=list(project.labels.skeletons),
        tracks=list(project.labels.tracks),
        node_names=list(project.node_names),
        multi_video=project.multi_video,
        name=project.name,
    )


def _stand_in(snapshot: MergeSnapshot) -> sio.Labels:
    """User instances only, same videos and skeletons: the merge's deep copy stays small."""
    frames = []
    for (vi, fi), instances in snapshot.frames.items():
        users = [i for i in instances if not isinstance(i, sio.PredictedInstance)]
        if users:
            frames.append(sio.LabeledFrame(video=snapshot.videos[vi], frame_idx=fi, instances=users))
    return sio.Labels(
        labeled_frames=frames,
        videos=list(snapshot.videos),
        skeletons=list(snapshot.skeletons),
        tracks=list(snapshot.tracks),
    )


def plan_frame(current: tuple[sio.Instance, ...], new: list[sio.PredictedInstance]) -> FramePlan | None:
    """SLEAP's rule on one frame: new predictions replace the old; user instances stay.

    ``None`` when ``new`` are the frame's own predictions again (written back
    with a snapshot of the project: not new).
    """
    from napari_sleap_train.project.merge import _link_to_accepted, _same_predictions

    users = [i for i in current if not isinstance(i, sio.PredictedInstance)]
    old = [i for i in current if isinstance(i, sio.PredictedInstance)]
    if _same_predictions(old, new):
        return None
    hidden, on_hand, links = _link_to_accepted(new, users)
    relinked = {id(u): p for u, p in links}
    sources = {id(relinked.get(id(u), u.from_predicted)) for u in users if u.from_predicted is not None}
    kept = [i for i in old if id(i) in sources]  # an accepted instance's source stays (hidden)
    return FramePlan(
        instances=users + kept + new,
        new=new,
        links=links,
        n_instances=len(new) - len(hidden),
        n_replaced=len(old) - len(kept),
        n_hidden=len(hidden),
        n_duplicates=on_hand,
    )


def shown_predictions(
    key: FrameKey, instances: list[sio.Instance], links: dict[int, sio.PredictedInstance]
) -> list[sio.PredictedInstance]:
    """The predictions of a frame SLEAP shows (``LabeledFrame.unused_predictions``).

    ``links`` maps ``id(user instance)`` to the source it takes in this merge.
    """
    users = [i for i in instances if not isinstance(i, sio.PredictedInstance)]
    used = {id(links.get(id(u), u.from_predicted)) for u in users if links.get(id(u), u.from_predicted) is not None}
    tracks = {id(u.track) for u in users if u.track is not None}
    return [
        i
        for i in instances
        if isinstance(i, sio.PredictedInstance) and id(i) not in used and (i.track is None or id(i.track) not in tracks)
    ]


def layer_tables(refs: list[InstanceRef], node_names: list[str], multi_video: bool) -> LayerTables:
    """Rows, features and skeleton vectors of shown predictions."""
    shown = [r for r in refs if not r.instance.is_empty]
    data, features = points_table(shown, node_names, multi_video)
    return data, features, edge_vectors(shown, multi_video)


def prepare_merge(snapshot: MergeSnapshot, predictions: str | Path | sio.Labels) -> PreparedMerge:
    """Merge ``predictions`` against ``snapshot`` and build the layer tables (any thread).

    Raises
    ------
    PredictionsError
        The file cannot be read, or its predictions do not fit the project.
    """
    from napari_sleap_train.project.merge import load_predictions, unused_predictions

    predicted = unused_predictions(load_predictions(predictions))
    try:
        result = merge_with_report(_stand_in(snapshot), predicted)
    except MergeError as exc:
        raise PredictionsError(f"The predictions do not fit {snapshot.name}: {exc}") from exc
    merged = result.labels
    video_of = {id(v): i for i, v in enumerate(merged.videos)}
    skeleton_of = {id(s): snapshot.skeletons[i] for i, s in enumerate(merged.skeletons)}
    plans: dict[FrameKey, FramePlan] = {}
    skipped: dict[FrameKey, list[sio.PredictedInstance]] = {}
    for lf in merged.labeled_frames:
        new = list(lf.predicted_instances)
        if not new:
            continue
        key = (video_of[id(lf.video)], int(lf.frame_idx))
        for inst in new:  # attach to the project's own skeleton objects
            inst.skeleton = skeleton_of.get(id(inst.skeleton), snapshot.skeletons[0])
        plan = plan_frame(snapshot.frames.get(key, ()), new)
        if plan is None:
            skipped[key] = new
        else:
            plans[key] = plan
    new_order: list[sio.PredictedInstance] = []
    refs: list[InstanceRef] = []
    for key in sorted(set(snapshot.frames) | set(plans)):
        plan = plans.get(key)
        instances = plan.instances if plan is not None else list(snapshot.frames[key])
        links = {id(u): p for u, p in plan.links} if plan is not None else {}
        for inst in shown_predictions(key, instances, links):
            inst_id = snapshot.pred_ids.get(id(inst))
            if inst_id is None:
                inst_id = -1 - len(new_order)
                new_order.append(inst)
            refs.append(InstanceRef(inst_id, key[0], key[1], inst))
    data, features, vectors = layer_tables(refs, snapshot.node_names, snapshot.multi_video)
    return PreparedMerge(snapshot, plans, new_order, data, features, vectors, skipped, warnings=list(result.warnings))
