"""Can two label files be compared? Same skeleton, predictions on the ground truth's videos.

Metrics between unrelated files (a mouse ground truth against fly predictions)
are numbers without meaning: :func:`check_comparable` refuses them with a
message that says what differs, and warns when videos are paired only by their
position in the files. Videos are paired as predictions are merged
(:func:`napari_sleap_train.predictions.video_pairing.pair_videos`).
"""

from __future__ import annotations

import sleap_io as sio

from napari_sleap_train.predictions.video_pairing import pair_videos, position_warning, video_name


class IncomparableLabelsError(ValueError):
    """The two label files do not describe the same animals on the same videos."""


def _names(nodes: list[str], limit: int = 6) -> str:
    shown = ", ".join(nodes[:limit])
    return shown + (f", ... ({len(nodes)} in all)" if len(nodes) > limit else "")


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
    pairs = [p for p in pair_videos(gt, pr) if p.source_index in with_predictions]
    if pairs and all(p.target_index is None for p in pairs):
        raise IncomparableLabelsError(
            f"None of the videos {pr_name} predicts on "
            f"({_names([video_name(pr.videos[p.source_index]) for p in pairs])}) is a video of {gt_name} "
            f"({_names([video_name(v) for v in gt.videos])})."
        )
    warnings = []
    guessed = position_warning(pairs, gt, pr, gt_name, pr_name)
    if guessed:
        warnings.append(guessed)
    unpaired = [p for p in pairs if p.target_index is None]
    if unpaired:
        warnings.append(
            f"{len(unpaired)} video(s) of {pr_name} are not in {gt_name} and are left out: "
            f"{_names([video_name(pr.videos[p.source_index]) for p in unpaired])}"
        )
    return warnings
