"""Tracker settings in the session: the project's default, loading in place, the job round trip."""

from __future__ import annotations

from types import SimpleNamespace

import sleap_io as sio

from napari_sleap_train.config.model import PipelineConfig
from napari_sleap_train.config.serialize import from_dict, to_dict
from napari_sleap_train.config.tracking import TrackerSettings
from napari_sleap_train.protocol.job import PredictJob, load_job, save_job
from napari_sleap_train.session import TrainingSession, make_train_job


def _project(tmp_path, n_tracks: int, per_frame: int):
    skeleton = sio.Skeleton(["a", "b"])
    video = sio.Video(filename="v.mp4")
    tracks = [sio.Track(f"t{i}") for i in range(n_tracks)]
    insts = [
        sio.Instance.from_numpy(
            [[1.0 + i, 2.0], [3.0, 4.0]], skeleton=skeleton, track=tracks[i] if i < n_tracks else None
        )
        for i in range(per_frame)
    ]
    labels = sio.Labels(
        videos=[video],
        skeletons=[skeleton],
        tracks=tracks,
        labeled_frames=[sio.LabeledFrame(video=video, frame_idx=0, instances=insts)],
    )
    return SimpleNamespace(path=tmp_path / "p.slp", node_names=["a", "b"], labels=labels)


def test_a_project_starts_with_the_tracker_a_sleap_user_expects(tmp_path):
    cases = {(2, 2): ("flow", 2), (0, 2): ("simple", 0), (0, 1): ("none", 0)}
    for (n_tracks, per_frame), expected in cases.items():
        s = TrainingSession()
        s.set_project(_project(tmp_path, n_tracks, per_frame))
        assert (s.pipeline.tracking.tracker, s.pipeline.tracking.max_tracks) == expected


def test_a_chosen_tracker_is_kept_when_a_project_opens(tmp_path):
    s = TrainingSession()
    s.pipeline.tracking.tracker = "simple"
    s.set_project(_project(tmp_path, 2, 2))
    assert (s.pipeline.tracking.tracker, s.pipeline.tracking.max_tracks) == ("simple", 0)


def test_loading_a_configuration_updates_the_live_tracking_object():
    s = TrainingSession()
    live = s.pipeline.tracking
    seen = []
    live.events.max_tracks.connect(lambda *a: seen.append(a))
    cfg = PipelineConfig(tracking=TrackerSettings(tracker="flow", max_tracks=3))
    s.load(from_dict(PipelineConfig, to_dict(cfg)))  # as read back from a saved configuration
    assert s.pipeline.tracking is live and (live.tracker, live.max_tracks) == ("flow", 3)
    assert seen == [(3, 0)]


def test_tracking_settings_survive_the_job_files(tmp_path):
    s = TrainingSession()
    t = s.pipeline.tracking
    t.tracker, t.max_tracks, t.similarity, t.oks_errors = "flow", 2, "oks", (1.0, 2.5)
    t.flow.max_fb_error_fraction = 0.2
    job = make_train_job(s.pipeline, tmp_path / "p.slp")
    back = load_job(save_job(job, tmp_path / "job.json"))
    assert back.pipeline.tracking == t and back.pipeline.tracking.oks_errors == (1.0, 2.5)
    pj = PredictJob(labels_path="p.slp", tracking=TrackerSettings(tracker="simple", max_tracks=1))
    assert load_job(save_job(pj, tmp_path / "predict.json")).tracking == pj.tracking
    # a job file from before tracking existed reads as no tracker
    old = to_dict(PredictJob(labels_path="p.slp"))
    old.pop("tracking")
    assert from_dict(PredictJob, old).tracking.tracker == "none"
