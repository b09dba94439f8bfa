"""``benchmarks/generalization.py``: the far-in-time split and the lever configs (no training here)."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from benchmarks.generalization import SPLITS, build_parser, lever_configs, split_ranges


def _clip(n_frames: int = 1500) -> sio.Labels:
    video = sio.Video(filename="/nonexistent/clip.mp4", open_backend=False)
    skel = sio.Skeleton(["head", "thorax"])
    labels = sio.Labels(videos=[video], skeletons=[skel])
    for f in range(n_frames):
        inst = sio.Instance.from_numpy(np.array([[10.0, 10.0], [20.0, 20.0]]), skeleton=skel)
        labels.append(sio.LabeledFrame(video=video, frame_idx=f, instances=[inst]))
    return labels


@pytest.mark.parametrize("name", ["forward", "reverse", "late"])
def test_split_keeps_test_frames_50_frames_from_every_training_frame(name):
    train_range, test_range = SPLITS[name]
    fit, test = split_ranges(_clip(), train_range, test_range, 200, 300, seed=0)
    assert len(fit) == 222 and len(test) == 300  # 200 + 10% validation, as time_to_accuracy draws them
    assert all(train_range[0] <= f <= train_range[1] for f in fit)
    assert all(test_range[0] <= f <= test_range[1] for f in test)
    assert min(abs(a - b) for a in fit for b in test) >= 50
    assert split_ranges(_clip(), train_range, test_range, 200, 300, seed=0) == (fit, test)  # deterministic
    assert split_ranges(_clip(), train_range, test_range, 200, 300, seed=1) != (fit, test)


def test_split_refuses_more_frames_than_the_range_has():
    with pytest.raises(SystemExit, match="asked for"):
        split_ranges(_clip(), (0, 99), (200, 299), 100, 10, seed=0)


def test_levers_become_configs_that_train_reads(tmp_path):
    from napari_sleap_train.cli import build_parser as cli_parser
    from napari_sleap_train.cli.job_options import pipeline_from_args
    from napari_sleap_train.config.model import ModelKind

    args = lever_configs(
        [
            "centered_instance.augmentation.contrast=true",
            "centered_instance.head.sigma=2.0",
            "centroid.optimization.time_share=0.2",
        ],
        tmp_path,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["centered_instance.config.json", "centroid.config.json"]
    made = pipeline_from_args(cli_parser().parse_args(["train", "p.slp", "--device", "cpu", *args]))
    ci, ce = made.models[ModelKind.CENTERED_INSTANCE], made.models[ModelKind.CENTROID]
    assert ci.augmentation.contrast is True and ci.head.sigma == 2.0
    assert ci.data.input_scaling == 0.5 and ci.optimization.time_share == 0.7  # the rest: cpu.centered_instance
    assert ce.optimization.time_share == 0.2


def test_a_lever_naming_no_field_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no field 'contrastt'"):
        lever_configs(["centered_instance.augmentation.contrastt=true"], tmp_path)
    assert build_parser().parse_args(["--reverse"]).reverse
    assert build_parser().parse_args(["--split", "late"]).split == "late"


def test_score_breaks_the_errors_down_by_pose_novelty(tmp_path):
    from benchmarks.generalization import novelty_report, score

    video = sio.Video(filename="/nonexistent/clip.mp4", open_backend=False)
    skel = sio.Skeleton(["head", "thorax", "leg"])

    def save(poses: dict[int, np.ndarray], name: str, predicted: bool = False):
        labels = sio.Labels(videos=[video], skeletons=[skel])
        for f, p in poses.items():
            make = sio.PredictedInstance.from_numpy if predicted else sio.Instance.from_numpy
            kw = {"score": 0.9} if predicted else {}
            labels.append(sio.LabeledFrame(video=video, frame_idx=f, instances=[make(p, skeleton=skel, **kw)]))
        sio.save_slp(labels, str(tmp_path / name))
        return tmp_path / name

    standing = np.array([[100.0, 80.0], [100.0, 100.0], [130.0, 100.0]])
    stretched = standing + [[0, 0], [0, 0], [0, 40]]  # the leg 40 px further back: a new pose
    save({0: standing}, "train.slp")
    test = save({10: standing + 200, 11: stretched}, "test.slp")
    pred = save({10: standing + 200.5, 11: standing}, "pred.slp", predicted=True)  # frame 11: the old leg

    out = score(test, pred)
    near, _, new = out["novelty"]
    assert near["instances"] == 1 and new["instances"] == 1 and new["share"] == 0.5
    assert near["p95_px"] < 1 and new["p95_px"] > 30
    lines = "\n".join(novelty_report([{"minutes": 20, **out}]))
    assert "by pose novelty" in lines and "8-" in lines and "1 (50%)" in lines
    (tmp_path / "train.slp").unlink()
    assert "novelty" not in score(test, pred)  # a test set without training frames beside it


def test_each_arm_of_the_new_poses_benchmark_chooses_its_frames():
    from benchmarks.new_poses import choose

    pose = np.array([[0.0, 0.0], [0.0, 20.0], [30.0, 20.0]])
    known = pose[None]
    moved = pose + [[0, 0], [0, 0], [0, 35]]  # the third node 35 px away: a new pose
    predicted = {10: pose[None] + 100, 11: moved[None], 12: pose[None], 13: moved[None] + 50}
    scores = {10: 0.9, 11: 0.2, 12: 0.1, 13: 0.8}
    assert choose("none", known, predicted, scores, 2, seed=0) == []
    assert choose("lowest score", known, predicted, scores, 2, seed=0) == [11, 12]
    assert choose("new poses", known, predicted, scores, 1, seed=0) in ([11], [13])
    assert set(choose("new poses", known, predicted, scores, 2, seed=0)) & {11, 13}
    drawn = choose("random", known, predicted, scores, 2, seed=0)
    assert (
        len(drawn) == 2 and set(drawn) <= set(predicted) and drawn == choose("random", known, predicted, scores, 2, 0)
    )
    with pytest.raises(ValueError, match="unknown arm"):
        choose("best", known, predicted, scores, 2, seed=0)
