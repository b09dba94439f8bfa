"""Can two label files be compared? Same skeleton, predictions on the ground truth's videos.

Metrics between unrelated files (a mouse ground truth against fly predictions)
are numbers without meaning: :func:`check_comparable` refuses them with a
message that says what differs, and warns when videos are paired only by their
position in the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sleap_io as sio


class IncomparableLabelsError(ValueError):
    """The two label files do not describe the same animals on the same videos."""


@dataclass(frozen=True)
class VideoPair:
    """Which ground-truth video a predicted video shows, and how that was decided.

    ``how`` is ``"same"`` (the same object), ``"path"`` (same file name with
    folder), ``"name"`` (same file name, unique in the ground truth) or
    ``"position"`` (different names, same index in files with as many videos).
    ``gt_index`` is ``None`` when the video is in neither way part of the
    ground truth.
    """

    pred_index: int
    gt_index: int | None
    how: str | None


def pair_videos(gt: sio.Labels, pr: sio.Labels) -> list[VideoPair]:
    """Pair every video of ``pr`` with a video of ``gt`` (see :class:`VideoPair`)."""
    gt_ids = {id(v): i for i, v in enumerate(gt.videos)}
    paths = {str(v.filename): i for i, v in enumerate(gt.videos)}
    names: dict[str, list[int]] = {}
    for i, v in enumerate(gt.videos):
        names.setdefault(Path(str(v.filename)).name, []).append(i)
    pairs = []
    for j, v in enumerate(pr.videos):
        name = Path(str(v.filename)).name
        if id(v) in gt_ids:
            pairs.append(VideoPair(j, gt_ids[id(v)], "same"))
        elif str(v.filename) in paths:
            pairs.append(VideoPair(j, paths[str(v.filename)], "path"))
        elif len(names.get(name, [])) == 1:
            pairs.append(VideoPair(j, names[name][0], "name"))
        elif len(pr.videos) == len(gt.videos):
            pairs.append(VideoPair(j, j, "position"))
        else:
            pairs.append(VideoPair(j, None, None))
    return pairs


def _names(nodes: list[str], limit: int = 6) -> str:
    shown = ", ".join(nodes[:limit])
    return shown + (f", ... ({len(nodes)} in all)" if len(nodes) > limit else "")


def _video_name(video: sio.Video) -> str:
    return Path(str(video.filename)).name


def check_comparable(gt: sio.Labels, pr: sio.Labels, gt_name: str = "GT", pr_name: str = "PRED") -> list[str]:
    """Refuse label files that cannot be compared; return warnings for doubtful pairings.

    Parameters
    ----------
    gt, pr
        Ground truth and predictions (may be the same object).
    gt_name, pr_name
        How to call the files in messages (e.g. their file names).

    Returns
    -------
    list of str
        Warnings (videos paired only by position).

    Raises
    ------
    IncomparableLabelsError
        The skeletons have different body parts, or none of the videos with
        predictions is a video of the ground truth.
    """
    if gt is pr:
        return []
    if not gt.skeletons:
        raise IncomparableLabelsError(f"{gt_name} has no skeleton.")
    gt_nodes = list(gt.skeletons[0].node_names)
    for skeleton in pr.skeletons:
        pr_nodes = list(skeleton.node_names)
        if set(pr_nodes) == set(gt_nodes):
            continue
        missing = [n for n in gt_nodes if n not in pr_nodes]
        extra = [n for n in pr_nodes if n not in gt_nodes]
        detail = "; ".join(
            text
            for text in (
                f"not in {pr_name}: {_names(missing)}" if missing else "",
                f"not in {gt_name}: {_names(extra)}" if extra else "",
            )
            if text
        )
        raise IncomparableLabelsError(
            f"The skeletons do not match: {gt_name} has {len(gt_nodes)} body parts ({_names(gt_nodes)}), "
            f"{pr_name} has {len(pr_nodes)} ({_names(pr_nodes)}); {detail}. Compare predictions with "
            "the labels of the project they were predicted on."
        )
    with_predictions = {
        j for j, v in enumerate(pr.videos) if any(lf.video is v and lf.predicted_instances for lf in pr.labeled_frames)
    }
    pairs = [p for p in pair_videos(gt, pr) if p.pred_index in with_predictions]
    if pairs and all(p.gt_index is None for p in pairs):
        raise IncomparableLabelsError(
            f"None of the videos {pr_name} predicts on "
            f"({_names([_video_name(pr.videos[p.pred_index]) for p in pairs])}) is a video of {gt_name} "
            f"({_names([_video_name(v) for v in gt.videos])})."
        )
    by_position = [p for p in pairs if p.how == "position"]
    warnings = []
    if by_position:
        shown = ", ".join(
            f"{_video_name(pr.videos[p.pred_index])} as {_video_name(gt.videos[p.gt_index])}" for p in by_position[:3]
        )
        warnings.append(
            f"the videos have other names in {pr_name} than in {gt_name} and are paired by their order "
            f"({shown}); check that they are the same videos"
        )
    unpaired = [p for p in pairs if p.gt_index is None]
    if unpaired:
        warnings.append(
            f"{len(unpaired)} video(s) of {pr_name} are not in {gt_name} and are left out: "
            f"{_names([_video_name(pr.videos[p.pred_index]) for p in unpaired])}"
        )
    return warnings
