"""The active-loop benchmark's simulated user: corrections counted on a known example (no training)."""

from __future__ import annotations

import numpy as np
import sleap_io as sio

from benchmarks.active_loop import correct


def _labels(frames: dict[int, list[np.ndarray]], predicted: bool) -> sio.Labels:
    skeleton = sio.Skeleton(["a", "b", "c"])
    video = sio.Video(filename="x.mp4", open_backend=False)
    out = []
    for f, poses in frames.items():
        if predicted:
            insts = [
                sio.PredictedInstance.from_numpy(p, skeleton=skeleton, point_scores=np.ones(3), score=1.0)
                for p in poses
            ]
        else:
            insts = [sio.Instance.from_numpy(p, skeleton=skeleton) for p in poses]
        out.append(sio.LabeledFrame(video=video, frame_idx=f, instances=insts))
    return sio.Labels(labeled_frames=out, videos=[video], skeletons=[skeleton])


def test_nodes_more_than_the_threshold_off_are_moved_missing_animals_labeled_extra_deleted():
    t1 = np.array([[10.0, 10.0], [20.0, 10.0], [30.0, np.nan]])  # node c not visible
    t2 = np.array([[100.0, 50.0], [110.0, 50.0], [120.0, 50.0]])
    truth = _labels({0: [t1, t2], 1: [t2]}, predicted=False)
    p1 = np.array([[11.0, 10.0], [25.0, 10.0], [31.0, 12.0]])  # a: 1 px (kept), b: 5 px (moved), c: removed
    junk = np.array([[300.0, 300.0], [310.0, 300.0], [320.0, 300.0]])
    predictions = _labels({0: [p1], 1: [t2 + 0.5, junk]}, predicted=True)
    frames, c = correct(predictions, truth, [0, 1], px=3.0)
    assert (c.frames, c.nodes) == (2, 2 + 3 + 3)
    assert c.moved == 1 + 3  # b of animal 1; all of animal 2 on frame 0 (missed)
    assert (c.removed, c.animals_added, c.animals_deleted) == (1, 1, 1)
    assert abs(c.share - 4 / 8) < 1e-9
    first = frames[0].instances[0].numpy()
    np.testing.assert_allclose(first[:2], [[11.0, 10.0], [20.0, 10.0]])  # kept / moved to the truth
    assert np.isnan(first[2]).all()
    assert len(frames[1].instances) == 1  # the extra prediction is gone


def test_the_report_says_each_arms_epochs_and_load():
    from benchmarks.active_loop import report

    acc = {"detected": 0.8, "median_px": 2.0, "p90_px": 4.0, "oks_map": 0.2}
    arm = {"frames": 40, "minutes": 2, "accuracy": acc}
    result = {
        "seed": 0,
        "labeled": 20,
        "suggested": 20,
        "test_frames": 60,
        "correct_px": 3.0,
        "rounds": {
            "round 2, fine-tuned": {**arm, "start": "round-1 runs", "epochs": {"centroid": 2}, "load": (7.5, 9.0)},
            "round 2, from scratch": {
                **arm,
                "start": "scratch",
                "epochs": {"centroid": 3, "centered_instance": 5},
                "load": (9.0, 8.2),
            },
        },
        "corrections": {"frames": 20, "moved": 1, "nodes": 10, "share": 0.1, "removed": 0},
        "second_round_beats_first": True,
        "fine_tuning_beats_scratch": False,
        "wall_s": 60.0,
    }
    result["corrections"].update(animals_added=0, animals_deleted=0)
    rows = report(result).splitlines()
    assert "| round 2, fine-tuned | 40 | 2 | round-1 runs | 2 / - | 7.5, 9 | 0.800 |" in rows[4]
    assert "| 3 / 5 | 9, 8.2 |" in rows[5]
