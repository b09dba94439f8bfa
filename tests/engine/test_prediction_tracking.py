"""The tracker runs on the predictions of a prediction job, before they are written."""

from __future__ import annotations

import shutil

import pytest
import sleap_io as sio

from napari_sleap_train.config.tracking import TrackerSettings
from napari_sleap_train.engine.prediction_jobs import predict_job
from napari_sleap_train.protocol.events import Message, Predictions
from napari_sleap_train.protocol.job import PredictJob, load_job, save_job

MODELS = "models/minimal_instance.UNet."
FRAMES = [(0, f) for f in range(1, 7)]


@pytest.fixture
def project(shared_data, tmp_path):
    path = tmp_path / "minimal_instance.slp"
    shutil.copy(shared_data / "minimal/minimal_instance.slp", path)
    (tmp_path / "centered_pair_low_quality.mp4").symlink_to(shared_data / "minimal/centered_pair_low_quality.mp4")
    return path


def _job(shared_data, project, tmp_path, tracking, name="out.slp") -> PredictJob:
    job = PredictJob(
        labels_path=str(project),
        model_dirs=[str(shared_data / (MODELS + k)) for k in ("centroid", "centered_instance")],
        frames=FRAMES,
        output_path=str(tmp_path / name),
        tracking=tracking,
    )
    # what the child gets is read back from its job file
    return load_job(save_job(job, tmp_path / f"{name}.job.json"))


def _predicted(path):
    """The output and the predicted instances on the job's frames."""
    labels = sio.load_slp(str(path), open_videos=False)
    labels.labeled_frames[:] = [lf for lf in labels.labeled_frames if (0, lf.frame_idx) in FRAMES]
    return labels, [i for lf in labels.labeled_frames for i in lf.predicted_instances]


@pytest.mark.parametrize("max_tracks", [1, 2])
def test_predictions_come_back_on_at_most_max_tracks(shared_data, project, tmp_path, max_tracks):
    job = _job(shared_data, project, tmp_path, TrackerSettings(tracker="flow", max_tracks=max_tracks))
    assert job.tracking.tracker == "flow" and job.tracking.max_tracks == max_tracks
    events = []
    out = predict_job(job, events.append)
    labels, preds = _predicted(out)
    assert len(preds) >= 2 * len(FRAMES)  # two animals (a third, spurious one on a frame)
    tracks = {i.track.name for i in preds if i.track is not None}
    assert len(tracks) == max_tracks
    per_frame = [sum(i.track is not None for i in lf.predicted_instances) for lf in labels.labeled_frames]
    assert per_frame == [max_tracks] * len(FRAMES)  # one instance per track and frame, never more
    (done,) = [e for e in events if isinstance(e, Predictions)]
    assert done.n_tracks == max_tracks and f"on {max_tracks} track(s)" in done.tracking


def test_no_tracker_leaves_the_predictions_off_tracks(shared_data, project, tmp_path):
    events = []
    out = predict_job(_job(shared_data, project, tmp_path, TrackerSettings(tracker="none")), events.append)
    _, preds = _predicted(out)
    assert preds and all(i.track is None for i in preds)
    (done,) = [e for e in events if isinstance(e, Predictions)]
    assert done.n_tracks == 0 and done.tracking == ""


def test_flow_without_the_video_falls_back_to_simple(shared_data, project, tmp_path):
    from napari_sleap_train.engine.prediction_jobs import track_predictions

    out = predict_job(_job(shared_data, project, tmp_path, TrackerSettings(tracker="none")), lambda e: None)
    predicted, _ = _predicted(out)
    events = []
    report = track_predictions(predicted, TrackerSettings(tracker="flow", max_tracks=2), None, events.append)
    assert report.n_tracks == 2 and report.n_tracked >= 2 * len(FRAMES)
    (warning,) = [e for e in events if isinstance(e, Message)]
    assert "simple tracker" in warning.text


def test_user_instances_on_tracks_anchor_the_predicted_tracks(shared_data, project, tmp_path):
    labels = sio.load_slp(str(project))
    female, male = sio.Track(name="female"), sio.Track(name="male")
    labels.tracks[:] = [female, male]
    (lf,) = [lf for lf in labels.labeled_frames if lf.user_instances]
    lf.user_instances[0].track, lf.user_instances[1].track = female, male
    labels.save(str(project))
    before = [(i.track.name, i.numpy().tolist()) for i in lf.user_instances]

    out = predict_job(_job(shared_data, project, tmp_path, TrackerSettings(tracker="flow", max_tracks=2)), print)
    written, preds = _predicted(out)
    assert {i.track.name for i in preds if i.track is not None} == {"female", "male"}  # no track_0, track_1
    assert sorted(t.name for t in sio.load_slp(str(out), open_videos=False).tracks) == ["female", "male"]
    # the user instances were only borrowed: not in the predictions, unchanged in the output
    assert all(isinstance(i, sio.PredictedInstance) for lf in written.labeled_frames for i in lf.instances)
    full = sio.load_slp(str(out), open_videos=False)
    (user_lf,) = [f for f in full.labeled_frames if f.user_instances]
    assert [(i.track.name, i.numpy().tolist()) for i in user_lf.user_instances] == before
