"""Merge new predictions into a project, and where the result is written.

Rules (SLEAP's, plus a report):

* on a frame that got new predictions, the older predicted instances are
  replaced by the new ones;
* frames without new predictions keep whatever they had;
* user instances are never touched;
* a new prediction that sits on top of a user instance of the same frame is
  kept (as SLEAP does) but reported in :attr:`MergeResult.duplicates`, so the
  viewer can dim or hide it.

The project object passed in is not modified: the merge works on a copy, and
:func:`write_predictions` saves it to a *new* file
``predictions/<project>.<timestamp>.predictions.slp`` next to the project.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap_train.outputs import atomic_output

from .video_pairing import pair_videos, position_warning, video_name


class MergeError(ValueError):
    """Predictions cannot be merged into the project."""


@dataclass
class Duplicate:
    """A predicted instance lying on a user instance of the same frame.

    ``distance`` is the mean distance in pixels between the nodes both have.
    """

    video_index: int
    frame_index: int
    predicted_index: int  # among the frame's predicted instances after the merge
    user_index: int  # among the frame's user instances
    distance: float


@dataclass
class MergeResult:
    """Merged project and what changed."""

    labels: sio.Labels
    n_frames: int = 0  # frames that received predictions
    n_instances: int = 0  # predicted instances added
    n_replaced: int = 0  # older predicted instances removed
    duplicates: list[Duplicate] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. videos paired only by their order


def _video_map(project: sio.Labels, predicted: sio.Labels) -> tuple[dict[int, int], list[str]]:
    """Index of each predicted video in the project (:func:`.video_pairing.pair_videos`) and warnings.

    Raises
    ------
    MergeError
        A predicted video is not part of the project.
    """
    pairs = pair_videos(project, predicted)
    missing = [predicted.videos[p.source_index] for p in pairs if p.target_index is None]
    if missing:
        raise MergeError(
            f"The predicted video {missing[0].filename} is not part of the project "
            f"(its videos: {', '.join(video_name(v) for v in project.videos)})."
        )
    warning = position_warning(pairs, project, predicted, "the project", "the predictions")
    return {p.source_index: p.target_index for p in pairs}, [warning] if warning else []


def _node_order(target: sio.Skeleton, source: sio.Skeleton) -> np.ndarray:
    """For each target node, the index of the same-named source node (-1 if absent)."""
    src = {n: i for i, n in enumerate(source.node_names)}
    order = np.array([src.get(n, -1) for n in target.node_names], dtype=int)
    if np.all(order < 0):
        raise MergeError(
            "The predictions have none of the project's body parts "
            f"(project: {', '.join(target.node_names)}; predictions: {', '.join(source.node_names)})."
        )
    return order


def _convert(
    inst: sio.PredictedInstance, skeleton: sio.Skeleton, order: np.ndarray, track: sio.Track | None
) -> sio.PredictedInstance:
    pts = np.asarray(inst.numpy(scores=True), dtype=np.float64)  # (k, 3): x, y, score
    out = np.full((len(order), 3), np.nan)
    have = order >= 0
    out[have] = pts[order[have]]
    out[~have, 2] = 0.0
    return sio.PredictedInstance.from_numpy(
        out[:, :2],
        skeleton=skeleton,
        point_scores=np.nan_to_num(out[:, 2], nan=0.0),
        score=float(inst.score),
        track=track,
        tracking_score=inst.tracking_score,
    )


def _mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    d = np.linalg.norm(a - b, axis=-1)
    d = d[np.isfinite(d)]
    return float(d.mean()) if len(d) else np.inf


def merge_with_report(labels: sio.Labels, predicted_labels: sio.Labels, duplicate_px: float = 5.0) -> MergeResult:
    """Merge predictions into a copy of the project and report what happened.

    Parameters
    ----------
    labels
        The project (not modified).
    predicted_labels
        New predictions; only their predicted instances are used. Videos are
        matched to the project's by :func:`.video_pairing.pair_videos` (a
        pairing by position only is reported in ``warnings``); nodes by name.
    duplicate_px
        A prediction whose nodes lie on average within this many pixels of a
        user instance of the same frame is reported as a duplicate.

    Returns
    -------
    MergeResult
    """
    # A deep copy that keeps the project's own Video objects: sleap-io's
    # Video.__deepcopy__ closes and reopens the original's reader, which another
    # thread (the GUI, reading frames while a worker merges) may be using.
    merged = copy.deepcopy(labels, {id(v): v for v in labels.videos})
    if not merged.skeletons:
        raise MergeError("The project has no skeleton to attach predictions to.")
    skeleton = merged.skeletons[0]
    vmap, warnings = _video_map(labels, predicted_labels)

    new_by_frame: dict[tuple[int, int], list[sio.PredictedInstance]] = {}
    orders: dict[int, np.ndarray] = {}
    pred_index = {id(v): j for j, v in enumerate(predicted_labels.videos)}
    # tracks are matched by name: a prediction on the project's "female" lands on the
    # merged copy's "female", never on a second track of the same name
    tracks = {t.name: t for t in merged.tracks}

    def merged_track(track: sio.Track | None) -> sio.Track | None:
        if track is None:
            return None
        if track.name not in tracks:
            tracks[track.name] = sio.Track(name=track.name)
            merged.tracks.append(tracks[track.name])
        return tracks[track.name]

    for lf in predicted_labels.labeled_frames:
        if id(lf.video) not in pred_index:
            raise MergeError(f"A predicted frame refers to a video ({lf.video.filename}) the predictions do not list.")
        vi = vmap[pred_index[id(lf.video)]]
        for inst in lf.predicted_instances:
            order = orders.get(id(inst.skeleton))
            if order is None:
                order = orders[id(inst.skeleton)] = _node_order(skeleton, inst.skeleton)
            new_by_frame.setdefault((vi, int(lf.frame_idx)), []).append(
                _convert(inst, skeleton, order, merged_track(inst.track))
            )

    result = MergeResult(labels=merged, warnings=warnings)
    merged_index = {id(v): i for i, v in enumerate(merged.videos)}
    existing = {(merged_index[id(lf.video)], int(lf.frame_idx)): lf for lf in merged.labeled_frames}
    for key in sorted(new_by_frame):
        instances = new_by_frame[key]
        if not instances:
            continue
        vi, fi = key
        lf = existing.get(key)
        if lf is None:
            lf = sio.LabeledFrame(video=merged.videos[vi], frame_idx=fi)
            merged.append(lf, update=False)
            existing[key] = lf
        old = [inst for inst in lf.instances if isinstance(inst, sio.PredictedInstance)]
        result.n_replaced += len(old)
        lf.instances = [inst for inst in lf.instances if not isinstance(inst, sio.PredictedInstance)]
        users = list(lf.user_instances)
        lf.instances.extend(instances)
        result.n_frames += 1
        result.n_instances += len(instances)
        for pi, inst in enumerate(instances):
            if not users:
                break
            dists = [_mean_distance(inst.numpy(), u.numpy()) for u in users]
            ui = int(np.argmin(dists))
            if dists[ui] <= duplicate_px:
                result.duplicates.append(Duplicate(vi, fi, pi, ui, float(dists[ui])))
    merged.update()
    return result


def merge_predictions(labels: sio.Labels, predicted_labels: sio.Labels) -> sio.Labels:
    """New :class:`sio.Labels`: the project with ``predicted_labels`` merged in.

    See :func:`merge_with_report` for the rules; ``labels`` is not modified.
    """
    return merge_with_report(labels, predicted_labels).labels


def project_stem(project_path: str | Path) -> str:
    """File name of a project without ``.slp`` / ``.pkg.slp``."""
    name = Path(project_path).name
    for suffix in (".pkg.slp", ".slp"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def predictions_path(project_path: str | Path, when: float | None = None) -> Path:
    """``<project folder>/predictions/<project>.<YYMMDD_HHMMSS>.predictions.slp``.

    A number is appended when that file exists already, so nothing is overwritten.
    """
    project_path = Path(project_path)
    stamp = time.strftime("%y%m%d_%H%M%S", time.localtime(time.time() if when is None else when))
    folder = project_path.parent / "predictions"
    path = folder / f"{project_stem(project_path)}.{stamp}.predictions.slp"
    n = 1
    while path.exists():
        path = folder / f"{project_stem(project_path)}.{stamp}_{n}.predictions.slp"
        n += 1
    return path


def train_job_output_folders(job) -> list[tuple[str, str]]:
    """``(what, folder)`` a train job writes into: its run folder, and with frames to predict
    the predictions' folder. One list for the CLI's and the engine's up-front checks."""
    folders = [("run folder", job.runs_folder or job.pipeline.runs_folder)]
    if job.predict_frames:
        target = job.predictions_path or str(predictions_path(job.labels_path))
        folders.append(("predictions folder", str(Path(target).parent)))
    return [(what, folder) for what, folder in folders if folder]


def save_labels(labels: sio.Labels, path: str | Path) -> Path:
    """Save a ``.slp`` that refers to the project's videos (never embeds frames).

    Refuses to overwrite an existing file. The file is written under a
    temporary name and renamed when complete, so a failed write (full disk)
    leaves nothing behind.

    Raises
    ------
    MergeError
        ``path`` exists already.
    napari_sleap_train.outputs.OutputError
        Writing failed (the message says why: disk full, read-only, ...).
    """
    path = Path(path)
    if path.exists():
        raise MergeError(f"{path} exists already; predictions are always written to a new file.")
    with atomic_output(path) as tmp:
        sio.save_slp(labels, str(tmp), embed=False, restore_original_videos=True, verbose=False)
    return path


def write_predictions(
    labels: sio.Labels,
    predicted_labels: sio.Labels,
    project_path: str | Path,
    output_path: str | Path | None = None,
) -> tuple[Path, MergeResult]:
    """Merge and save to a new file (default: :func:`predictions_path`).

    The project file itself is never written.
    """
    project_path = Path(project_path)
    out = Path(output_path) if output_path is not None else predictions_path(project_path)
    if out.resolve() == project_path.resolve():
        raise MergeError("Predictions are never written over the project file; choose another name.")
    result = merge_with_report(labels, predicted_labels)
    return save_labels(result.labels, out), result
