"""End to end: unzip a job package, train with train.sh and predict with predict.sh, video gone.

Runs the real CLI in subprocesses (TensorFlow never enters this pytest process).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sleap_io as sio

from napari_sleap_train.config.profiles import default_pipeline
from napari_sleap_train.export import export_job, extract_job


def _tiny_pipeline():
    pipeline = default_pipeline("top-down", "cpu")
    pipeline.anchor_part = "trunk"
    for cfg in pipeline.models.values():
        cfg.model.filters = 8
        cfg.augmentation.rotate = False
    return pipeline


@pytest.mark.slow
def test_train_and_predict_from_the_unzipped_package(sample_copy, tmp_path):
    cli_dir = Path(sys.executable).parent
    if not (cli_dir / "napari-sleap-train").is_file():
        pytest.fail(f"napari-sleap-train is not installed next to {sys.executable} (pip install -e .)")
    out = export_job(sample_copy, _tiny_pipeline(), tmp_path / "job.zip")
    # the original video must not be reachable: the package has to carry its frames
    (sample_copy.parent / "sample.mp4").unlink()
    folder = extract_job(out, tmp_path / "unzipped")

    env = {**os.environ, "PATH": f"{cli_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"}
    train = subprocess.run(
        [str(folder / "train.sh"), "--epochs", "1", "--batches-per-epoch", "2", "--batch-size", "2", "--device", "cpu"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    runs = sorted(p.name.split(".", 1)[1] for p in (folder / "models").iterdir())
    assert runs == ["centered_instance", "centroid"]
    for run in (folder / "models").iterdir():
        assert (run / "best_model.keras").is_file()

    predict = subprocess.run(
        [str(folder / "predict.sh")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert predict.returncode == 0, predict.stdout[-3000:] + predict.stderr[-3000:]
    written = list((folder / "predictions").glob("sample.*.predictions.slp"))
    assert len(written) == 1
    predicted = sio.load_slp(str(written[0]), open_videos=False)
    assert len(predicted.user_labeled_frames) == 8  # user labels travel along untouched
    assert not (sample_copy.parent / "sample.mp4").exists()
