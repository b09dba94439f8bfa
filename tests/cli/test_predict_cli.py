"""``napari-sleap-train predict``: frame choice in this process, models in a child process."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import sleap_io as sio

from napari_sleap_train.cli import main
from napari_sleap_train.cli.predict import FramesSpecError, parse_frames
from napari_sleap_train.config.model import PredictOn

from .output_places import file_size_limit, read_only_folder, run_cli, small_disk, under_a_file

MODELS = "models/minimal_instance.UNet."


@pytest.fixture
def project(shared_data, tmp_path):
    """The minimal project in a folder of its own, its video next to it."""
    path = tmp_path / "minimal_instance.slp"
    shutil.copy(shared_data / "minimal/minimal_instance.slp", path)
    os.chmod(path, 0o644)
    (tmp_path / "centered_pair_low_quality.mp4").symlink_to(shared_data / "minimal/centered_pair_low_quality.mp4")
    return path


@pytest.fixture
def models(shared_data):
    return ["-m", str(shared_data / (MODELS + "centroid")), "-m", str(shared_data / (MODELS + "centered_instance"))]


@pytest.mark.parametrize(
    ("text", "choice", "n", "video", "frame"),
    [
        ("suggested", PredictOn.SUGGESTED_FRAMES, 20, 0, 0),
        ("labeled", PredictOn.USER_LABELED_FRAMES, 20, 0, 0),
        ("random:7", PredictOn.RANDOM_FRAMES, 7, 0, 0),
        ("random", PredictOn.RANDOM_FRAMES, 20, 0, 0),
        ("video:2", PredictOn.CURRENT_VIDEO, 20, 2, 0),
        ("frame:1:30", PredictOn.CURRENT_FRAME, 20, 1, 30),
        ("ALL", PredictOn.ALL_VIDEOS, 20, 0, 0),
    ],
)
def test_parse_frames(text, choice, n, video, frame):
    spec = parse_frames(text)
    assert (spec.predict_on, spec.n, spec.video, spec.frame) == (choice, n, video, frame)


@pytest.mark.parametrize("text", ["some", "random:x", "random:0", "video:", "frame:3"])
def test_parse_frames_rejects(text):
    with pytest.raises(FramesSpecError):
        parse_frames(text)


def test_bad_arguments_exit_2(project, models, tmp_path, capsys):
    assert main(["predict", str(project), *models, "--frames", "most"]) == 2
    assert "not understood" in capsys.readouterr().err
    assert main(["predict", str(project), "-m", str(tmp_path / "nope")]) == 2
    assert "model folder not found" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "missing.slp"), *models]) == 2
    with pytest.raises(SystemExit) as exc:  # argparse: only the view counts a predictor knows
        main(["predict", str(project), *models, "--views", "3"])
    assert exc.value.code == 2 and "invalid choice: 3" in capsys.readouterr().err


def test_nothing_to_predict_is_explained(project, models, capsys):
    # the only labeled frame is labeled and there are no suggestions: "suggested" is empty
    assert main(["predict", str(project), *models, "--frames", "suggested", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out == {"status": "nothing", "n_frames": 0, "explanation": "the project has no suggested frames"}


@pytest.mark.slow
def test_predict_writes_new_file_with_user_instances_intact(project, models, capsys):
    before = project.read_bytes()
    out = project.parent / "out.slp"
    assert main(["predict", str(project), *models, "--frames", "frame:0:1", "-o", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "finished" and result["n_frames"] == 1 and result["n_instances"] == 2
    assert result["path"] == str(out)
    assert project.read_bytes() == before  # the project is untouched
    labels = sio.load_slp(str(out))
    by_frame = {lf.frame_idx: lf for lf in labels.labeled_frames}
    assert len(by_frame[0].user_instances) == 2 and not by_frame[0].predicted_instances
    assert len(by_frame[1].predicted_instances) == 2
    # default output name next to the project, labeled frames evaluated
    assert main(["predict", str(project), *models, "--frames", "labeled"]) == 0
    (written,) = (project.parent / "predictions").glob("minimal_instance.*.predictions.slp")
    assert list((project.parent / "predictions").glob("*.metrics.json"))
    assert "OKS mAP" in capsys.readouterr().out
    assert len(sio.load_slp(str(written)).labeled_frames) == 1


def test_predict_with_a_sleap_bottom_up_folder(project, shared_data, capsys):
    """SLEAP's bottom-up model alone makes a pipeline; its predictions merge like the others'."""
    out = project.parent / "bu.slp"
    model = ["-m", str(shared_data / (MODELS + "bottomup"))]
    assert main(["predict", str(project), *model, "--frames", "frame:0:1", "-o", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "finished" and result["n_frames"] == 1 and result["n_instances"] == 2
    labels = sio.load_slp(str(out))
    by_frame = {lf.frame_idx: lf for lf in labels.labeled_frames}
    assert len(by_frame[0].user_instances) == 2  # the user's instances are kept
    assert len(by_frame[1].predicted_instances) == 2


def test_output_folder_is_checked_before_the_models_load(project, models, tmp_path):
    # a real process, so nothing of this test process hides a traceback
    out = under_a_file(tmp_path) / "out.slp"
    proc = run_cli("predict", str(project), *models, "--frames", "frame:0:1", "-o", str(out), timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "is a file, not a folder" in proc.stderr
    assert "Predicting on" not in proc.stderr  # refused before any work


def test_output_on_a_read_only_disk_is_refused_up_front(project, models, tmp_path):
    with read_only_folder(tmp_path) as folder:
        proc = run_cli("predict", str(project), *models, "-o", str(folder / "out.slp"), timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "read-only" in proc.stderr


def test_full_disk_leaves_no_file_and_a_retry_works(project, models):
    out = project.parent / "out.slp"
    before = project.read_bytes()
    # the predictions file is ~15 kB: a 8 kB file-size limit fails its write like a full disk
    proc = run_cli(
        "predict", str(project), *models, "--frames", "frame:0:1", "-o", str(out), preexec_fn=file_size_limit(8000)
    )
    assert proc.returncode == 1, proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert "Prediction failed" in error and "Training" not in error
    assert "file-size limit" in error and "Traceback" not in proc.stderr
    assert not out.exists()
    assert sorted(p.name for p in project.parent.iterdir()) == [
        "centered_pair_low_quality.mp4",
        "minimal_instance.slp",
    ]  # no temporary file left either
    assert project.read_bytes() == before
    # the retry is not blocked by "exists already"
    proc = run_cli("predict", str(project), *models, "--frames", "frame:0:1", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert len(sio.load_slp(str(out)).labeled_frames) == 2  # the user frame + the predicted one


def test_full_tmpfs_says_the_disk_is_full(project, models, tmp_path):
    with small_disk(tmp_path, "8k") as disk:
        proc = run_cli("predict", str(project), *models, "--frames", "frame:0:1", "-o", str(disk / "out.slp"))
        left = list(disk.iterdir())
    assert proc.returncode == 1, proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert "Prediction failed" in error and "the disk is full" in error and "Traceback" not in proc.stderr
    assert left == []  # neither the file nor its temporary


def test_predict_with_a_tracker_puts_predictions_on_at_most_max_tracks(project, models, capsys):
    out = project.parent / "tracked.slp"
    args = [
        "predict",
        str(project),
        *models,
        "--frames",
        "random:4",
        "-o",
        str(out),
        "--json",
        "--tracker",
        "flow",
        "--max-tracks",
        "1",
    ]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_tracks"] == 1 and "on 1 track(s)" in result["tracking"]
    labels = sio.load_slp(str(out), open_videos=False)
    new = [lf for lf in labels.labeled_frames if lf.predicted_instances and not lf.user_instances]
    assert len(new) == 4
    assert len({i.track.name for lf in new for i in lf.predicted_instances if i.track is not None}) == 1
    assert all(sum(i.track is not None for i in lf.predicted_instances) == 1 for lf in new)


def test_tracker_options_without_a_tracker_are_refused(project, models, capsys):
    assert main(["predict", str(project), *models, "--max-tracks", "2"]) == 2
    assert "--max-tracks set tracker options but no tracker runs" in capsys.readouterr().err


@pytest.mark.parametrize(
    "kinds, message",
    [
        (["centroid"], "add -m with a centered-instance run"),
        (["centered_instance"], "add -m with a centroid run"),
        (["centroid", "centroid"], "two models of the same kind"),
        (["bottomup", "centroid"], "a bottom-up model predicts alone"),
    ],
)
def test_models_that_make_no_pipeline_are_refused_before_anything_runs(
    project, shared_data, tmp_path, capsys, kinds, message
):
    out = tmp_path / "out.slp"
    args = [a for k in kinds for a in ("-m", str(shared_data / (MODELS + k)))]
    assert main(["predict", str(project), *args, "--frames", "labeled", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Predicting on" not in err and not out.exists()  # refused before the frames or models
