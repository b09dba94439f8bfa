"""Merging predictions: user instances untouched, old predictions replaced only where new ones came."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.predictions.merge import (
    MergeError,
    merge_predictions,
    merge_with_report,
    predictions_path,
    project_stem,
    write_predictions,
)


def pts(x, y):
    return np.array([[x, y], [x + 10.0, y + 5.0]])


def project():
    skel = sio.Skeleton(["head", "tail"])
    video = sio.Video(filename="/nonexistent/vid.mp4", open_backend=False)
    lf0 = sio.LabeledFrame(
        video=video,
        frame_idx=0,
        instances=[
            sio.Instance.from_numpy(pts(1, 1), skeleton=skel),
            sio.PredictedInstance.from_numpy(pts(50, 50), skeleton=skel, score=0.3),
        ],
    )
    lf5 = sio.LabeledFrame(
        video=video,
        frame_idx=5,
        instances=[
            sio.PredictedInstance.from_numpy(pts(20, 20), skeleton=skel, score=0.4),
        ],
    )
    lf9 = sio.LabeledFrame(
        video=video,
        frame_idx=9,
        instances=[
            sio.Instance.from_numpy(pts(7, 7), skeleton=skel),
        ],
    )
    return sio.Labels(labeled_frames=[lf0, lf5, lf9], videos=[video], skeletons=[skel])


def predictions(labels, frames):
    """Predictions on the project's own video with a skeleton whose nodes are in another order."""
    skel = sio.Skeleton(["tail", "head"])
    lfs = []
    for fi, xys in frames.items():
        insts = [
            sio.PredictedInstance.from_numpy(p[::-1], skeleton=skel, point_scores=np.array([0.8, 0.9]), score=0.85)
            for p in xys
        ]
        lfs.append(sio.LabeledFrame(video=labels.videos[0], frame_idx=fi, instances=insts))
    return sio.Labels(labeled_frames=lfs, videos=[labels.videos[0]], skeletons=[skel])


def frame(labels, fi):
    return next(lf for lf in labels.labeled_frames if lf.frame_idx == fi)


def test_merge_replaces_predictions_only_on_new_frames_and_keeps_user_instances():
    labels = project()
    before = {fi: [i.numpy().copy() for i in frame(labels, fi).instances] for fi in (0, 5, 9)}
    pred = predictions(labels, {0: [pts(100, 100)], 3: [pts(30, 30), pts(60, 60)], 9: [pts(7.5, 7)]})
    res = merge_with_report(labels, pred)
    merged = res.labels

    # frame 0: user instance identical, old prediction (50,50) replaced by (100,100)
    f0 = frame(merged, 0)
    assert len(f0.user_instances) == 1
    assert np.array_equal(f0.user_instances[0].numpy(), pts(1, 1))
    assert [p.numpy().tolist() for p in f0.predicted_instances] == [pts(100, 100).tolist()]
    # node order follows the project skeleton even though predictions used another
    assert f0.predicted_instances[0].skeleton is merged.skeletons[0]
    assert np.allclose(f0.predicted_instances[0].numpy(scores=True)[:, 2], [0.9, 0.8])
    # frame 5 got nothing new: its old prediction stays
    assert [p.numpy().tolist() for p in frame(merged, 5).predicted_instances] == [pts(20, 20).tolist()]
    # frame 3 is new
    assert len(frame(merged, 3).predicted_instances) == 2
    # frame 9: the prediction on top of the user instance is kept and reported
    f9 = frame(merged, 9)
    assert len(f9.user_instances) == 1 and len(f9.predicted_instances) == 1
    assert len(res.duplicates) == 1
    dup = res.duplicates[0]
    assert (dup.video_index, dup.frame_index, dup.predicted_index, dup.user_index) == (0, 9, 0, 0)
    assert dup.distance == pytest.approx(0.5)

    assert (res.n_frames, res.n_instances, res.n_replaced) == (3, 4, 1)
    # the project object itself did not change
    after = {fi: [i.numpy() for i in frame(labels, fi).instances] for fi in (0, 5, 9)}
    assert all(np.array_equal(a, b) for fi in before for a, b in zip(before[fi], after[fi]))
    assert len(labels.labeled_frames) == 3


def test_merge_predictions_returns_new_labels():
    labels = project()
    merged = merge_predictions(labels, predictions(labels, {2: [pts(3, 3)]}))
    assert merged is not labels
    assert sorted(lf.frame_idx for lf in merged.labeled_frames) == [0, 2, 5, 9]


def test_merge_rejects_foreign_skeleton():
    labels = project()
    skel = sio.Skeleton(["x", "y"])
    pred = sio.Labels(
        labeled_frames=[
            sio.LabeledFrame(
                video=labels.videos[0],
                frame_idx=1,
                instances=[sio.PredictedInstance.from_numpy(pts(0, 0), skeleton=skel, score=1.0)],
            )
        ],
        videos=[labels.videos[0]],
        skeletons=[skel],
    )
    with pytest.raises(MergeError, match="none of the project's body parts"):
        merge_predictions(labels, pred)


def test_predictions_path_is_new_and_next_to_project(tmp_path):
    proj = tmp_path / "my.project.pkg.slp"
    assert project_stem(proj) == "my.project"
    p = predictions_path(proj, when=0)
    assert p.parent == tmp_path / "predictions"
    assert p.name.startswith("my.project.") and p.name.endswith(".predictions.slp")
    p.parent.mkdir()
    p.touch()
    assert predictions_path(proj, when=0) != p


def test_written_predictions_open_in_sleap_io_with_user_instances_intact(shared_data, tmp_path):
    src = shared_data / "minimal/minimal_instance.slp"
    labels = sio.load_slp(str(src))
    proj = tmp_path / "minimal_instance.slp"
    labels.save(str(proj))  # a project of our own to write next to
    labels = sio.load_slp(str(proj))
    user_before = [i.numpy().copy() for i in labels.labeled_frames[0].user_instances]
    pred = predictions(labels, {0: [pts(95, 200)], 7: [pts(10, 10), pts(200, 200)]})
    pred.skeletons = [labels.skeletons[0]]
    for lf in pred.labeled_frames:  # use the project's own skeleton (A, B)
        lf.instances = [
            sio.PredictedInstance.from_numpy(i.numpy(), skeleton=labels.skeletons[0], score=i.score)
            for i in lf.instances
        ]
    out, _ = write_predictions(labels, pred, proj)
    assert out.parent == tmp_path / "predictions" and out.exists()
    assert proj.stat().st_size > 0
    reread = sio.load_slp(str(out))
    f0 = frame(reread, 0)
    assert [i.numpy().tolist() for i in f0.user_instances] == [u.tolist() for u in user_before]
    assert len(f0.predicted_instances) == 1
    assert len(frame(reread, 7).predicted_instances) == 2
    assert reread.videos[0].filename == labels.videos[0].filename
    # the project file is unchanged and never the target
    assert len(sio.load_slp(str(proj)).labeled_frames) == 1
    with pytest.raises(MergeError, match="never written over the project"):
        write_predictions(labels, pred, proj, output_path=proj)
    with pytest.raises(MergeError, match="exists already"):
        write_predictions(labels, pred, proj, output_path=out)


def test_merging_keeps_the_projects_video_readers_open(shared_data):
    """A merge runs in a worker while napari reads frames: it must not close the project's videos.

    (sleap-io's ``Video.__deepcopy__`` closes and reopens the original's reader; a copy made
    with ``Labels.copy()`` in the worker aborted the GUI thread's frame read.)
    """
    labels = sio.load_slp(str(shared_data / "fly" / "clip.2node.slp"))
    labels.labeled_frames = labels.labeled_frames[:5]
    video = labels.videos[0]
    assert video.is_open
    backend = video.backend
    predicted = sio.Labels(
        labeled_frames=[
            sio.LabeledFrame(
                video=sio.Video(filename=video.filename, open_backend=False, backend_metadata=dict(shape=video.shape)),
                frame_idx=100,
                instances=[sio.PredictedInstance.from_numpy(pts(40, 40), skeleton=labels.skeleton, score=0.9)],
            )
        ]
    )
    result = merge_with_report(labels, predicted)
    assert video.backend is backend and video.is_open  # never closed, so never reopened under a reader
    assert result.labels.videos[0] is video
    assert any(lf.frame_idx == 100 and lf.predicted_instances for lf in result.labels.labeled_frames)
    assert len(labels.labeled_frames) == 5  # the project itself is not changed
