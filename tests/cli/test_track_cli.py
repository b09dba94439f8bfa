"""``napari-sleap-train track`` in a real process on SLEAP's fly predictions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sleap_io as sio


def _cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "napari_sleap_train.cli", "track", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture()
def short_predictions(shared_data, tmp_path):
    """The first 30 frames of the fly predictions, with the video where it really is."""
    labels = sio.load_slp((shared_data / "fly" / "clip.predictions.slp").as_posix(), open_videos=False)
    labels.labeled_frames[:] = [lf for lf in labels.labeled_frames if lf.frame_idx < 30]
    labels.videos[0].replace_filename((shared_data / "fly" / "clip.mp4").as_posix(), open=False)
    path = tmp_path / "pred.slp"
    labels.save(path.as_posix())
    return path


def test_flow_tracking_writes_tracks_sleap_can_read(short_predictions, tmp_path):
    out = tmp_path / "tracked.slp"
    r = _cli(short_predictions, "-o", out, "--tracker", "flow", "--max-tracks", "2", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["frames"] == 30 and report["tracks"] == 2 and report["settings"]["tracker"] == "flow"
    labels = sio.load_slp(out.as_posix(), open_videos=False)
    preds = [i for lf in labels.labeled_frames for i in lf.predicted_instances]
    assert len(preds) == report["tracked"] > 0
    assert {i.track.name for i in preds} == {"track_0", "track_1"}
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]  # the temp file was renamed


def test_refuses_to_overwrite_unless_asked(short_predictions, tmp_path):
    out = tmp_path / "tracked.slp"
    out.write_bytes(b"keep me")
    r = _cli(short_predictions, "-o", out, "--tracker", "simple")
    assert r.returncode == 2 and "--overwrite" in r.stderr and out.read_bytes() == b"keep me"
    r = _cli(short_predictions, "-o", out, "--tracker", "simple", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert sio.load_slp(out.as_posix(), open_videos=False).tracks
    r = _cli(short_predictions, "-o", short_predictions, "--overwrite")
    assert r.returncode == 2 and "input" in r.stderr


def test_missing_video_suggests_the_simple_tracker(short_predictions, tmp_path):
    labels = sio.load_slp(short_predictions.as_posix(), open_videos=False)
    labels.videos[0].replace_filename("/nowhere/else/clip.mp4", open=False)
    lonely = tmp_path / "lonely" / "pred.slp"
    lonely.parent.mkdir()
    labels.save(lonely.as_posix())
    out = tmp_path / "tracked.slp"
    r = _cli(lonely, "-o", out, "--tracker", "flow")
    assert r.returncode == 2 and "clip.mp4" in r.stderr and "--tracker simple" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()
    r = _cli(lonely, "-o", out, "--tracker", "simple", "--max-tracks", "2")
    assert r.returncode == 0, r.stderr
    assert "on 2 track(s)" in r.stdout


def test_bad_input_gets_one_clear_line(shared_data, tmp_path):
    out = tmp_path / "o.slp"
    cases = [
        (tmp_path / "absent.slp", "does not exist"),
        (shared_data / "fly" / "clip.mp4", "not a SLEAP .slp file"),
        (shared_data / "fly" / "clip.2node.slp", "no predicted instances"),
    ]
    for path, message in cases:
        r = _cli(path, "-o", out)
        assert r.returncode == 2 and message in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    r = _cli(shared_data / "fly" / "clip.predictions.slp", "-o", out, "--connect-breaks")
    assert r.returncode == 2 and "target instance count" in r.stderr
    assert not out.exists()


def test_evaluate_tracks_scores_retracked_predictions(short_predictions, shared_data, tmp_path):
    out = tmp_path / "tracked.slp"
    assert _cli(short_predictions, "-o", out, "--tracker", "simple", "--max-tracks", "2").returncode == 0
    gt = shared_data / "fly" / "clip.2node.slp"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "napari_sleap_train.cli",
            "evaluate",
            str(gt),
            str(out),
            "--tracks",
            "--frames",
            "predicted",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    tracking = json.loads(r.stdout)["tracking"]
    assert tracking["total"]["n_pred"] == sum(
        len(lf.predicted_instances) for lf in sio.load_slp(out.as_posix(), open_videos=False).labeled_frames
    )
    assert tracking["total"]["n_gt"] == 60  # the 30 predicted frames only, 2 flies each
    assert tracking["total"]["n_pred_tracks"] == 2 and 0.0 <= tracking["total"]["idf1"] <= 1.0
    assert set(tracking["per_video"]) == {"0"}
