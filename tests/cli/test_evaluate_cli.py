"""``napari-sleap-train evaluate`` prints metrics as JSON, without TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import sleap_io as sio

from napari_sleap_train.cli import main


def write_pair(tmp_path, shift=3.0):
    """GT with two labeled frames; predictions shifted by ``shift`` px on one of them."""
    video = sio.Video(filename=str(tmp_path / "v.mp4"), open_backend=False)
    skel = sio.Skeleton(["a", "b", "c"])
    pts = np.array([[10.0, 10.0], [40.0, 20.0], [70.0, 60.0]])
    gt = sio.Labels(videos=[video], skeletons=[skel])
    pr = sio.Labels(videos=[video], skeletons=[skel])
    for fi in (2, 5):
        gt.append(sio.LabeledFrame(video=video, frame_idx=fi, instances=[sio.Instance.from_numpy(pts, skeleton=skel)]))
    pr.append(sio.LabeledFrame(video=video, frame_idx=2, instances=[
        sio.PredictedInstance.from_numpy(pts + [shift, 0.0], skeleton=skel, score=0.9)]))
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
