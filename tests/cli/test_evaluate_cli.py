"""``napari-sleap-train evaluate`` prints metrics as JSON, without TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import sleap_io as sio

from napari_sleap_train.cli import main

from .output_places import read_only_folder, run_cli, under_a_file


def write_pair(tmp_path, shift=3.0):
    """GT with two labeled frames; predictions shifted by ``shift`` px on one of them."""
    video = sio.Video(filename=str(tmp_path / "v.mp4"), open_backend=False)
    skel = sio.Skeleton(["a", "b", "c"])
    pts = np.array([[10.0, 10.0], [40.0, 20.0], [70.0, 60.0]])
    gt = sio.Labels(videos=[video], skeletons=[skel])
    pr = sio.Labels(videos=[video], skeletons=[skel])
    for fi in (2, 5):
        gt.append(sio.LabeledFrame(video=video, frame_idx=fi, instances=[sio.Instance.from_numpy(pts, skeleton=skel)]))
    pr.append(
        sio.LabeledFrame(
            video=video,
            frame_idx=2,
            instances=[sio.PredictedInstance.from_numpy(pts + [shift, 0.0], skeleton=skel, score=0.9)],
        )
    )
    gt_path, pr_path = tmp_path / "gt.slp", tmp_path / "pr.slp"
    gt.save(str(gt_path))
    pr.save(str(pr_path))
    return gt_path, pr_path


def test_evaluate_prints_json(tmp_path, capsys):
    gt, pr = write_pair(tmp_path)
    out = tmp_path / "metrics.json"
    assert main(["evaluate", str(gt), str(pr), "-o", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_frames"] == 2 and data["n_gt_instances"] == 2 and data["n_matched"] == 1
    assert data["pixel_error"]["median"] == 3.0
    assert data["pck"] == {"2": 0.0, "5": 0.5, "10": 0.5}
    assert json.loads(out.read_text())["pixel_error"]["median"] == 3.0


def test_evaluate_only_predicted_frames_and_summary(tmp_path, capsys):
    gt, pr = write_pair(tmp_path)
    assert main(["evaluate", str(gt), str(pr), "--frames", "predicted", "--summary"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("1 frames, 1 labeled and 1 predicted instances, 1 matched")
    assert "median 3.00" in text


def test_evaluate_bad_file(tmp_path, capsys):
    gt, _ = write_pair(tmp_path)
    assert main(["evaluate", str(gt), str(tmp_path / "missing.slp")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.slp"
    bad.write_text("not hdf5")
    assert main(["evaluate", str(gt), str(bad)]) == 2


def test_evaluate_cli_does_not_import_tensorflow(tmp_path):
    gt, pr = write_pair(tmp_path)
    code = (
        "import sys; from napari_sleap_train.cli import main; "
        f"rc = main(['evaluate', {str(gt)!r}, {str(pr)!r}]); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'; "
        "sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n_matched"] == 1


# -- refusals: unrelated files, existing or unwritable outputs -----------------------------------


def test_evaluate_refuses_different_skeletons(shared_data, capsys):
    # head/abdomen ground truth against head/thorax predictions of another animal and video
    gt = shared_data / "suggestions/labels.v002.rel_paths.slp"
    pr = shared_data / "fly/clip.predictions.slp"
    assert main(["evaluate", str(gt), str(pr), "--summary"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no metrics at all
    assert "skeletons do not match" in captured.err and "abdomen" in captured.err and "thorax" in captured.err


def _predictions_on(tmp_path, shared_data, names):
    """SLEAP's predictions on the minimal project, moved onto videos called ``names``."""
    pr = sio.load_slp(str(shared_data / "models/minimal_instance.UNet.bottomup/labels_pr.val.slp"), open_videos=False)
    pr.videos[0].replace_filename(str(tmp_path / names[0]), open=False)
    for name in names[1:]:
        pr.videos.append(sio.Video(filename=str(tmp_path / name), open_backend=False))
    path = tmp_path / "pr.slp"
    pr.save(str(path))
    return path


def test_evaluate_refuses_predictions_on_other_videos(shared_data, tmp_path, capsys):
    gt = shared_data / "minimal/minimal_instance.slp"
    pr = _predictions_on(tmp_path, shared_data, ["mouse.mp4", "rat.mp4"])
    assert main(["evaluate", str(gt), str(pr)]) == 2
    err = capsys.readouterr().err
    assert "None of the videos pr.slp predicts on (mouse.mp4) is a video of minimal_instance.slp" in err


def test_evaluate_warns_when_videos_pair_only_by_order(shared_data, tmp_path, capsys):
    gt = shared_data / "minimal/minimal_instance.slp"
    pr = _predictions_on(tmp_path, shared_data, ["renamed.mp4"])
    assert main(["evaluate", str(gt), str(pr)]) == 0
    captured = capsys.readouterr()
    assert "paired by their order (renamed.mp4 as centered_pair_low_quality.mp4)" in captured.err
    assert json.loads(captured.out)["n_matched"] == 2


def test_evaluate_output_is_never_overwritten_silently(tmp_path, capsys):
    gt, pr = write_pair(tmp_path)
    out = tmp_path / "metrics.json"
    out.write_text("earlier results\n")
    assert main(["evaluate", str(gt), str(pr), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "exists already" in err and "--overwrite" in err
    assert out.read_text() == "earlier results\n"
    assert main(["evaluate", str(gt), str(pr), "-o", str(out), "--overwrite"]) == 0
    assert json.loads(out.read_text())["n_matched"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_evaluate_unwritable_output_is_one_line(tmp_path):
    gt, pr = write_pair(tmp_path)
    proc = run_cli("evaluate", str(gt), str(pr), "-o", str(under_a_file(tmp_path) / "m.json"), timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]  # one line
    assert "is a file, not a folder" in proc.stderr


def test_evaluate_read_only_output(tmp_path):
    gt, pr = write_pair(tmp_path)
    with read_only_folder(tmp_path) as folder:
        proc = run_cli("evaluate", str(gt), str(pr), "-o", str(folder / "m.json"), timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "read-only" in proc.stderr


def test_sparse_predictions_under_labeled_frames_are_explained(tmp_path, capsys):
    gt, pr = write_pair(tmp_path)
    labels = sio.load_slp(str(gt), open_videos=False)
    video, skel = labels.videos[0], labels.skeletons[0]
    pts = np.array([[10.0, 10.0], [40.0, 20.0], [70.0, 60.0]])
    for fi in (7, 9, 11):  # 5 labeled frames, predictions on 1
        labels.append(sio.LabeledFrame(video=video, frame_idx=fi, instances=[sio.Instance.from_numpy(pts, skel)]))
    labels.save(str(gt))
    assert main(["evaluate", str(gt), str(pr)]) == 0
    err = capsys.readouterr().err
    assert "predictions on only 1 of the 5 labeled frames" in err and "--frames predicted" in err
    assert main(["evaluate", str(gt), str(pr), "--frames", "predicted"]) == 0
    assert "predictions on only" not in capsys.readouterr().err
