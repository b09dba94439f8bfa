"""track_labels on real SLEAP predictions: tracks and tracking scores in the Labels, user tracks kept."""

from __future__ import annotations

import numpy as np
import sleap_io as sio

from napari_sleap_train.tracking import TrackerSettings, remove_predicted_tracks, track_labels


def _fly_predictions(shared_data, n_frames=40):
    labels = sio.load_slp((shared_data / "fly" / "clip.predictions.slp").as_posix(), open_videos=False)
    labels.labeled_frames[:] = [lf for lf in labels.labeled_frames if lf.frame_idx < n_frames]
    return labels


def test_predictions_get_tracks_and_scores_and_survive_a_save(shared_data, tmp_path):
    labels = _fly_predictions(shared_data)
    remove_predicted_tracks(labels)
    assert labels.tracks == [] and all(i.track is None for i in labels.instances)
    report = track_labels(labels, TrackerSettings(tracker="simple", max_tracks=2))
    preds = [i for lf in labels.labeled_frames for i in lf.predicted_instances]
    assert report.n_tracked == len(preds) and report.n_tracks == 2 and len(labels.tracks) == 2
    assert all(i.track in labels.tracks for i in preds)
    later = [i.tracking_score for lf in labels.labeled_frames[1:] for i in lf.predicted_instances]
    assert np.mean(later) > 0.5
    out = tmp_path / "tracked.slp"
    labels.save(out.as_posix())
    back = sio.load_slp(out.as_posix(), open_videos=False)
    assert sorted(t.name for t in back.tracks) == ["track_0", "track_1"]
    assert all(i.track is not None for lf in back.labeled_frames for i in lf.predicted_instances)


def test_a_user_instance_on_a_track_anchors_it(shared_data):
    labels = _fly_predictions(shared_data, n_frames=20)
    remove_predicted_tracks(labels)
    female = sio.Track("track_0")  # a user track with the name the tracker would pick
    labels.tracks.append(female)
    lf0 = labels.labeled_frames[0]
    first = lf0.predicted_instances[0]
    user = sio.Instance.from_numpy(first.numpy(), skeleton=first.skeleton, track=female)
    lf0.instances = [user, *lf0.predicted_instances[1:]]  # the user corrected that prediction
    track_labels(labels, TrackerSettings(tracker="simple", max_tracks=2))
    assert user.track is female  # kept
    # the same fly keeps the user's track on the following frames
    near = []
    for lf in labels.labeled_frames[1:5]:
        d = [np.nanmean(np.linalg.norm(i.numpy() - user.numpy(), axis=-1)) for i in lf.predicted_instances]
        near.append(lf.predicted_instances[int(np.argmin(d))].track)
    assert all(t is female for t in near)
    assert sorted(t.name for t in labels.tracks) == ["track_0", "track_1"]  # names stay distinct


def test_tracker_none_changes_nothing(shared_data):
    labels = _fly_predictions(shared_data, n_frames=5)
    before = [i.track for i in labels.instances]
    report = track_labels(labels, TrackerSettings(tracker="none"))
    assert report.n_tracked == 0 and [i.track for i in labels.instances] == before
