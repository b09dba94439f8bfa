"""Left/right swaps among large errors, on hand-made poses."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.evaluate import evaluate
from napari_sleap_train.evaluate.swaps import label_swaps, matched_points, swap_analysis, symmetric_partners

NODES = ["head", "thorax", "wingL", "wingR", "legL4", "legR4"]
PARTNERS = {"wingL": "wingR", "wingR": "wingL", "legL4": "legR4", "legR4": "legL4"}


def fly(x=100.0, y=100.0):
    """A pose whose symmetric parts lie 40 px apart."""
    return np.array(
        [[x, y], [x, y + 20], [x - 20, y + 40], [x + 20, y + 40], [x - 30, y + 10], [x + 30, y + 10]], dtype=float
    )


def test_partners_from_names_when_the_skeleton_has_no_symmetries():
    skel = sio.Skeleton(["head", "eyeL", "eyeR", "forelegL4", "forelegR4", "left_ear", "right_ear", "Lone"])
    assert symmetric_partners(skel) == {
        "eyeL": "eyeR",
        "eyeR": "eyeL",
        "forelegL4": "forelegR4",
        "forelegR4": "forelegL4",
        "left_ear": "right_ear",
        "right_ear": "left_ear",
    }


def test_partners_from_the_skeletons_symmetries_first():
    skel = sio.Skeleton(["a", "b", "wingL", "wingR"])
    skel.add_symmetry("a", "b")
    assert symmetric_partners(skel) == {"a": "b", "b": "a"}


def test_swapped_wings_are_swaps_a_far_leg_is_not():
    gt = fly()[None]
    pr = gt.copy()
    pr[0, 2], pr[0, 3] = gt[0, 3] + [1.0, 1.0], gt[0, 2]  # wings swapped (one 1.4 px off the other's truth)
    pr[0, 4] = gt[0, 4] + [0.0, 15.0]  # left leg 15 px off, nowhere near the right leg
    pr[0, 0] = gt[0, 0] + [3.0, 0.0]  # small error: not large
    out = swap_analysis(gt, pr, NODES, PARTNERS)
    assert out.found == 6 and out.large == 3 and out.swaps == 2
    assert out.swap_share == pytest.approx(2 / 3)
    assert out.large_share == pytest.approx(0.5)
    assert out.nodes["wingL"].swaps == 1 and out.nodes["wingR"].swaps == 1
    assert out.nodes["legL4"].large == 1 and out.nodes["legL4"].swaps == 0
    assert out.nodes["head"].large == 0


def test_both_channels_on_one_wing_counts_one_swap_and_missing_nodes_are_not_found():
    gt = np.stack([fly(), fly(300, 300)])
    pr = gt.copy()
    pr[0, 3] = gt[0, 2] + [4.0, 0.0]  # wingR predicted on the left wing, 4 px off it
    pr[1, 5] = np.nan  # a missed leg tip: neither found nor an error
    out = swap_analysis(gt, pr, NODES, PARTNERS, large_px=8.0, swap_px=5.0)
    assert out.found == 11 and out.large == 1 and out.swaps == 1
    strict = swap_analysis(gt, pr, NODES, PARTNERS, swap_px=3.0)  # 4 px from the partner: not within 3
    assert strict.large == 1 and strict.swaps == 0 and strict.swap_share == 0.0


def test_no_large_errors_gives_no_share():
    gt = fly()[None]
    out = swap_analysis(gt, gt + 1.0, NODES, PARTNERS)
    assert out.large == 0 and out.swap_share is None
    assert out.to_dict()["swap_share"] is None and out.to_dict()["nodes"]["wingL"]["found"] == 1


def _labels(frames: dict[int, list[np.ndarray]], predicted: bool, video, skel):
    labels = sio.Labels(videos=[video], skeletons=[skel])
    for fi, poses in frames.items():
        make = (
            (lambda p: sio.PredictedInstance.from_numpy(p, skeleton=skel, score=0.9))
            if predicted
            else (lambda p: sio.Instance.from_numpy(p, skeleton=skel))
        )
        labels.append(sio.LabeledFrame(video=video, frame_idx=fi, instances=[make(p) for p in poses]))
    return labels


def test_labels_are_paired_as_evaluate_pairs_them():
    video = sio.Video(filename="/nonexistent/v.mp4", open_backend=False)
    skel = sio.Skeleton(list(NODES))
    a, b = fly(100, 100), fly(400, 100)
    swapped = b.copy()
    swapped[[2, 3]] = b[[3, 2]]
    gt = _labels({0: [a, b], 3: [a]}, False, video, skel)
    # predictions listed in the other order; frame 3 has none
    pr = _labels({0: [swapped, a + 0.5]}, True, video, skel)
    g, p = matched_points(gt, pr)
    assert g.shape == p.shape == (2, 6, 2)
    assert np.allclose(np.abs(g - p).max(axis=(1, 2)), [0.5, 40.0]) or np.allclose(
        np.abs(g - p).max(axis=(1, 2)), [40.0, 0.5]
    )
    out = label_swaps(gt, pr)
    assert out.large == 2 and out.swaps == 2 and out.swap_share == 1.0
    assert out.found == evaluate(gt, pr).node_pixel_error["head"].n * len(NODES)
