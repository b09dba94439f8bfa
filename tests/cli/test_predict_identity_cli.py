"""``napari-sleap-train predict`` with SLEAP 1.4 identity model folders (models in a child process)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import sleap_io as sio

from napari_sleap_train.cli import main

MODELS = "models/min_tracks_2node.UNet."


@pytest.fixture
def clip(shared_data, tmp_path):
    """The two-fly project (tracks female and male) in a folder of its own, its video beside it."""
    path = tmp_path / "clip.2node.slp"
    shutil.copy(shared_data / "fly/clip.2node.slp", path)
    os.chmod(path, 0o644)
    (tmp_path / "clip.mp4").symlink_to(shared_data / "fly/clip.mp4")
    return path


@pytest.mark.parametrize("folder", ["bottomup_multiclass", "topdown_multiclass"])
def test_identity_folder_predicts_onto_the_projects_tracks(clip, shared_data, capsys, folder):
    out = clip.parent / "out.slp"
    model = ["-m", str(shared_data / (MODELS + folder))]
    assert main(["predict", str(clip), *model, "--frames", "frame:0:10", "-o", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "finished" and result["n_frames"] == 1 and result["n_instances"] == 2
    labels = sio.load_slp(str(out))
    assert [t.name for t in labels.tracks] == ["female", "male"]  # no duplicate tracks
    lf = next(lf for lf in labels.labeled_frames if lf.frame_idx == 10)
    assert len(lf.user_instances) == 2  # the user's instances are kept
    predicted = lf.predicted_instances
    assert sorted(i.track.name for i in predicted) == ["female", "male"]
    assert all(0 <= i.tracking_score <= 1 for i in predicted)
    truth = {i.track.name: i.numpy()[1] for i in lf.user_instances}
    for inst in predicted:  # on this frame both models put each fly on its own track
        assert ((inst.numpy()[1] - truth[inst.track.name]) ** 2).sum() ** 0.5 < 10


@pytest.mark.parametrize(
    ("folders", "message"),
    [
        (["bottomup_multiclass", "topdown_multiclass"], "bottom-up-id model predicts alone"),
    ],
)
def test_identity_models_that_make_no_pipeline_are_refused(clip, shared_data, capsys, folders, message):
    out = clip.parent / "out.slp"
    args = [a for f in folders for a in ("-m", str(shared_data / (MODELS + f)))]
    assert main(["predict", str(clip), *args, "--frames", "frame:0:1", "-o", str(out)]) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_a_tracker_does_not_retrack_identity_predictions(clip, shared_data, capsys):
    out = clip.parent / "out.slp"
    model = ["-m", str(shared_data / (MODELS + "bottomup_multiclass"))]
    argv = ["predict", str(clip), *model, "--frames", "frame:0:10", "-o", str(out), "--tracker", "flow"]
    assert main([*argv, "--max-tracks", "2"]) == 0
    assert "the identity model's classes are the tracks" in capsys.readouterr().err
    labels = sio.load_slp(str(out))
    assert [t.name for t in labels.tracks] == ["female", "male"]
    lf = next(lf for lf in labels.labeled_frames if lf.frame_idx == 10)
    assert sorted(i.track.name for i in lf.predicted_instances) == ["female", "male"]
