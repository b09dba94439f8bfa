"""One video-pairing rule for merging and evaluating predictions: sleap-io's matcher, then order with a warning."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.evaluate import evaluate
from napari_sleap_train.evaluate.compatibility import IncomparableLabelsError, check_comparable
from napari_sleap_train.predictions.merge import MergeError, merge_with_report
from napari_sleap_train.predictions.video_pairing import pair_videos
from napari_sleap_train.project.merge import PredictionsUpdate

SHAPE = (100, 64, 64, 1)


def video(path: str, shape=SHAPE) -> sio.Video:
    return sio.Video(filename=path, backend_metadata={"shape": shape}, open_backend=False)


def animal(x):
    return np.array([[x, 10.0], [x + 20.0, 20.0], [x + 30.0, 40.0]])


def labels(videos, user: bool, skeleton=None) -> sio.Labels:
    """One instance on frame 3 of each video, at x = 100 * (video's folder number)."""
    skeleton = skeleton or sio.Skeleton(["a", "b", "c"])
    out = sio.Labels(videos=list(videos), skeletons=[skeleton])
    for v in videos:
        x = 100.0 * int(v.filename.split("/")[-2]) if v.filename.split("/")[-2].isdigit() else 5.0
        inst = (
            sio.Instance.from_numpy(animal(x), skeleton=skeleton)
            if user
            else sio.PredictedInstance.from_numpy(animal(x), skeleton=skeleton, score=0.9)
        )
        out.append(sio.LabeledFrame(video=v, frame_idx=3, instances=[inst]))
    return out


def test_same_file_names_in_two_folders_pair_by_folder_not_by_order():
    # two project videos both called clip.mp4; the predictions list them the other way round
    # and from another root: the old rule (file name not unique -> same count -> order) paired
    # them crosswise; sleap-io's path-ending rule finds 2/clip.mp4 and 1/clip.mp4
    project = labels([video("/data/1/clip.mp4"), video("/data/2/clip.mp4")], user=True)
    predicted = labels([video("/moved/2/clip.mp4"), video("/moved/1/clip.mp4")], user=False)
    assert [(p.target_index, p.how) for p in pair_videos(project, predicted)] == [(1, "match"), (0, "match")]

    merged = merge_with_report(project, predicted)
    assert merged.warnings == []
    for lf in merged.labels.labeled_frames:  # each prediction lies on its own video's animal
        (user,) = lf.user_instances
        (pred,) = lf.predicted_instances
        np.testing.assert_allclose(pred.numpy(), user.numpy())

    assert check_comparable(project, predicted) == []
    res = evaluate(project, predicted)
    assert res.n_matched == 2 and res.oks_map == pytest.approx(1.0) and res.pixel_error.mean == 0


def test_renamed_videos_pair_by_order_with_a_warning_that_names_them():
    project = labels([video("/data/1/a.mp4"), video("/data/2/b.mp4")], user=True)
    predicted = labels([video("/tmp/1/a_copy.mp4"), video("/tmp/2/b_copy.mp4")], user=False)
    assert [(p.target_index, p.how) for p in pair_videos(project, predicted)] == [(0, "position"), (1, "position")]

    merged = merge_with_report(project, predicted)
    (warning,) = merged.warnings
    assert "paired by their order (a_copy.mp4 as a.mp4, b_copy.mp4 as b.mp4)" in warning
    assert merged.n_instances == 2
    note = PredictionsUpdate(n_frames=2, n_instances=2, warnings=merged.warnings).summary
    assert "Note: The videos of the predictions" in note and "a_copy.mp4 as a.mp4" in note

    (warning,) = check_comparable(project, predicted, "gt.slp", "pr.slp")
    assert "the videos of pr.slp are not found by file in gt.slp and are paired by their order" in warning
    assert "a_copy.mp4 as a.mp4, b_copy.mp4 as b.mp4" in warning
    assert evaluate(project, predicted).n_matched == 2


def test_order_never_pairs_videos_of_another_size_or_a_video_matched_by_name():
    project = labels([video("/data/1/a.mp4"), video("/data/2/b.mp4")], user=True)
    other_size = labels([video("/tmp/1/x.mp4", (100, 32, 32, 1)), video("/tmp/2/y.mp4", (50, 64, 64, 1))], user=False)
    with pytest.raises(MergeError, match=r"x\.mp4 is not part of the project \(its videos: a\.mp4, b\.mp4\)"):
        merge_with_report(project, other_size)
    with pytest.raises(IncomparableLabelsError, match="None of the videos"):
        check_comparable(project, other_size)
    assert evaluate(project, other_size).n_matched == 0

    # b.mp4 matches by name; the renamed first video may pair by order with a.mp4 only
    mixed = labels([video("/tmp/2/b.mp4"), video("/tmp/1/renamed.mp4")], user=False)
    pairs = pair_videos(project, mixed)
    assert [(p.target_index, p.how) for p in pairs] == [(1, "match"), (None, None)]
    with pytest.raises(MergeError, match="renamed.mp4 is not part of the project"):
        merge_with_report(project, mixed)
