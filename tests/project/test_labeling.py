"""The labeling loop on the project model (no napari): new instances, node order, review order, merging again."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.project.labeling import (
    next_in_order,
    next_missing_node,
    step_frame,
)
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.sample.project import write_sample_project


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """30 frames, labeled 4 9 13 18 24 29, suggested 0 8 17 21 25."""
    return write_sample_project(tmp_path_factory.mktemp("s"), seed=0, n_frames=30, n_labeled=6, n_suggested=5)


def predictions_from_truth(truth_path, frames, scores=None, shift=0.0) -> sio.Labels:
    """Predicted instances (no track, as the engine writes them today) from the hidden truth."""
    truth = sio.load_slp(str(truth_path), open_videos=False)
    out = []
    for i, f in enumerate(frames):
        lf = next(lf for lf in truth.labeled_frames if lf.frame_idx == f)
        insts = [
            sio.PredictedInstance.from_numpy(
                u.numpy() + shift,
                skeleton=truth.skeleton,
                point_scores=np.ones(len(u.numpy())),
                score=float(scores[i] if scores is not None else 0.9) - 0.01 * j,
            )
            for j, u in enumerate(lf.user_instances)
        ]
        out.append(sio.LabeledFrame(video=truth.video, frame_idx=f, instances=insts))
    return sio.Labels(labeled_frames=out, videos=[truth.video], skeletons=[truth.skeleton])


def test_next_missing_node_skips_placed_and_skipped():
    xy = np.full((4, 2), np.nan)
    assert next_missing_node(xy) == 0
    xy[0] = 1
    assert next_missing_node(xy) == 1
    assert next_missing_node(xy, skipped=[1]) == 2
    assert next_missing_node(xy, after=2) == 3
    assert next_missing_node(xy, after=3) == 1  # wraps round
    xy[:] = 1
    assert next_missing_node(xy) is None


def test_step_frame_and_order_wrap():
    frames = [(0, 4), (0, 9), (0, 13)]
    assert step_frame(frames, (0, 5), 1) == (0, 9)
    assert step_frame(frames, (0, 13), 1) == (0, 4)
    assert step_frame(frames, (0, 5), -1) == (0, 4)
    assert step_frame(frames, (0, 4), -1) == (0, 13)
    assert step_frame([], (0, 0), 1) is None
    assert next_in_order([(0, 9), (0, 4)], (0, 9)) == (0, 4)
    assert next_in_order([(0, 9), (0, 4)], (0, 1)) == (0, 9)


def test_first_labeled_frame_and_unlabeled_suggestions(sample):
    project = SleapProject.load(sample.labels_path)
    assert project.first_labeled_frame() == (0, 4)
    assert project.unlabeled_suggestions() == [(0, 0), (0, 8), (0, 17), (0, 21), (0, 25)]


def test_review_queue_worst_first_and_without_labeled_frames(sample):
    project = SleapProject.load(sample.labels_path)
    project.add_predictions(predictions_from_truth(sample.truth_path, [0, 8, 17, 9], scores=[0.8, 0.3, 0.6, 0.1]))
    queue = project.review_queue()
    assert [it.frame for it in queue] == [(0, 8), (0, 17), (0, 0)]  # frame 9 has user labels
    assert queue[0].score == pytest.approx(0.29) and queue[0].n_predictions == 2
    assert "frame 8" in queue[0].text
    project.promote_predictions(0, 8)
    assert [it.frame for it in project.review_queue()] == [(0, 17), (0, 0)]


def test_template_is_mean_pose_or_nearest_prediction(sample):
    project = SleapProject.load(sample.labels_path)
    xy, source = project.instance_template(0, 20, (200.0, 100.0))
    assert source == "mean pose"
    assert xy.shape == (8, 2) and not np.isnan(xy).any()
    np.testing.assert_allclose(xy.mean(axis=0), (200, 100), atol=1e-6)
    # the mean pose is an animal's size, not a dot
    assert 20 < np.linalg.norm(xy.max(0) - xy.min(0)) < 300
    project.add_predictions(predictions_from_truth(sample.truth_path, [20]))
    pred = project.predicted_instances(0, 20)
    xy, source = project.instance_template(0, 20, pred[1].mean(axis=0) + 3)
    assert source == "prediction"
    np.testing.assert_allclose(xy - xy.mean(0), pred[1] - pred[1].mean(0), atol=1e-4)


def test_add_user_instance_saves_as_user_instance(sample, tmp_path):
    project = SleapProject.load(sample.labels_path)
    xy, _ = project.instance_template(0, 20, (150.0, 150.0))
    xy[3] = np.nan
    new_id = project.add_user_instance(0, 20, xy)
    assert (0, 20) in project.user_frames()
    np.testing.assert_allclose(project.user_instance_xy(0, 20, new_id)[[0, 1, 2]], xy[[0, 1, 2]])
    (partial,) = [p for p in project.partial_instances() if p.frame_index == 20]
    assert (partial.n_visible, partial.n_nodes, partial.lone) == (7, 8, False)
    out = project.save(tmp_path / "out.slp")
    lf = next(lf for lf in sio.load_slp(str(out), open_videos=False).labeled_frames if lf.frame_idx == 20)
    assert len(lf.user_instances) == 1 and not lf.predicted_instances


def test_lone_point_instance_is_warned_about(sample):
    project = SleapProject.load(sample.labels_path)
    assert project.lone_point_warning() == ""
    xy = np.full((8, 2), np.nan)
    xy[4] = (100, 100)
    project.add_user_instance(0, 21, xy)
    (lone,) = [p for p in project.partial_instances() if p.lone]
    assert lone.frame_index == 21
    assert "frame 21" in project.lone_point_warning()


def test_remove_predictions(sample):
    project = SleapProject.load(sample.labels_path)
    project.add_predictions(predictions_from_truth(sample.truth_path, [8]))
    ids = project.predicted_instance_ids(0, 8)
    assert project.remove_predictions(0, 8, ids[:1]) == 1
    assert project.predicted_instance_ids(0, 8) == ids[1:]
    assert project.remove_predictions(0, 8, ids[1:]) == 1
    assert (0, 8) not in [f for f in project._frames]


def test_accepted_prediction_never_comes_back_from_the_snapshot(sample, tmp_path):
    """Issue 15: accept on frame 10, run again: the merge brought it back over the user instance."""
    project = SleapProject.load(sample.labels_path)
    first = project.add_predictions(predictions_from_truth(sample.truth_path, [10, 11]))
    assert first.n_instances == 4
    project.promote_predictions(0, 10, project.predicted_instance_ids(0, 10)[:1])
    # the engine writes the snapshot (with the accepted prediction) merged with its new predictions
    snapshot = sio.load_slp(str(project.snapshot(tmp_path / "snap.slp")), open_videos=False)
    from napari_sleap_train.predictions.merge import merge_predictions

    rerun = merge_predictions(snapshot, predictions_from_truth(sample.truth_path, [11, 12], shift=0.5))
    sio.save_slp(rerun, str(tmp_path / "run.slp"), embed=False)
    update = project.add_predictions(tmp_path / "run.slp")
    # frame 10: the accepted one is not new, its sibling is the project's own: only 11 and 12 count
    assert (update.n_frames, update.n_instances, update.n_replaced, update.n_hidden) == (2, 4, 2, 0)
    assert len(project.predicted_instance_ids(0, 10)) == 1
    assert "user labels" not in update.summary and "accepted" not in update.summary
    # the accepted prediction is hidden and stays the user instance's source
    lf = project._frames[(0, 10)]
    (user,) = lf.user_instances
    assert user.from_predicted in lf.predicted_instances
    out = sio.load_slp(str(project.save(tmp_path / "saved.slp")), open_videos=False)
    lf = next(lf for lf in out.labeled_frames if lf.frame_idx == 10)
    assert len(lf.user_instances) == 1 and lf.user_instances[0].from_predicted is not None


def test_new_prediction_over_accepted_instance_is_hidden_and_not_counted(sample, tmp_path):
    project = SleapProject.load(sample.labels_path)
    project.add_predictions(predictions_from_truth(sample.truth_path, [10]))
    project.promote_predictions(0, 10, project.predicted_instance_ids(0, 10)[:1])
    # a retrained model predicts frame 10 again, a few pixels off
    update = project.add_predictions(predictions_from_truth(sample.truth_path, [10], shift=2.0))
    assert (update.n_hidden, update.n_instances, update.n_replaced, update.n_duplicates) == (1, 1, 2, 0)
    assert update.summary.startswith("1 predicted instance(s) on 1 frame(s)")
    assert "1 on accepted instances, hidden" in update.summary
    assert len(project.predicted_instance_ids(0, 10)) == 1
    # the accepted instance now stands for the new prediction: SLEAP hides it too
    lf = project._frames[(0, 10)]
    (user,) = lf.user_instances
    assert user.from_predicted in lf.predicted_instances
    assert len(lf.predicted_instances) == 2
    saved = sio.load_slp(str(project.save(tmp_path / "again.slp")), open_videos=False)
    lf = next(lf for lf in saved.labeled_frames if lf.frame_idx == 10)
    assert len(lf.unused_predictions) == 1  # sleap-io's copy of SLEAP's rule


def test_new_prediction_over_hand_label_is_shown_as_in_sleap(sample):
    project = SleapProject.load(sample.labels_path)
    update = project.add_predictions(predictions_from_truth(sample.truth_path, [9], shift=1.0))
    assert (update.n_instances, update.n_duplicates, update.n_hidden) == (2, 2, 0)
    assert len(project.predicted_instance_ids(0, 9)) == 2


def test_prediction_of_a_users_track_is_hidden(sample):
    project = SleapProject.load(sample.labels_path)
    preds = predictions_from_truth(sample.truth_path, [9], shift=80.0)  # not on the user instances
    track = project.labels.labeled_frames[1].user_instances[0].track
    project.add_predictions(preds)
    pred = project._frames[(0, 9)].predicted_instances[0]
    assert len(project.predicted_instance_ids(0, 9)) == 2
    pred.track = track  # SLEAP: a prediction of a track a user instance has is "used"
    assert len(project.predicted_instance_ids(0, 9)) == 1


def test_review_queue_new_poses_first(sample):
    from napari_sleap_train.project.labeling import ReviewOrder

    project = SleapProject.load(sample.labels_path)
    preds = predictions_from_truth(sample.truth_path, [0, 8, 17, 21], scores=[0.8, 0.3, 0.6, 0.7])
    new, twin = (next(lf for lf in preds.labeled_frames if lf.frame_idx == f).instances[0] for f in (17, 21))
    new.points["xy"][1] += 60.0  # a node 60 px out: a pose no label shows
    twin.points["xy"][:] = new.points["xy"] + 5.0  # the same new pose on frame 21, moved
    project.add_predictions(preds)
    by_score = project.review_queue()
    assert [it.frame for it in by_score] == [(0, 8), (0, 17), (0, 21), (0, 0)]
    queue = project.review_queue(order=ReviewOrder.NEW_POSES)
    assert {it.frame for it in queue} == {it.frame for it in by_score}  # the same frames, reordered
    assert queue[0].frame in {(0, 17), (0, 21)} and queue[0].novelty > 10
    assert {queue[1].frame, queue[2].frame} == {(0, 0), (0, 8)}  # the twin of the new pose waits
    assert queue[3].frame in {(0, 17), (0, 21)} and queue[3].novelty < queue[0].novelty / 3
    assert "new pose" in queue[0].text and np.isnan(by_score[0].novelty)
    assert [it.frame for it in project.review_queue(1, order="new poses")] == [queue[0].frame]
    project.promote_predictions(*queue[0].frame)  # labeled: its pose is known now
    after = project.review_queue(order=ReviewOrder.NEW_POSES)
    assert queue[0].frame not in [it.frame for it in after] and after[0].novelty < queue[0].novelty / 3
