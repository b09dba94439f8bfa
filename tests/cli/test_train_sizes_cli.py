"""``train`` refuses sizes that cannot work before TensorFlow starts, and warns about slow networks.

Real CLI processes on the real projects of ``shared/data``; every case ends
before TensorFlow loads (no run folder is made), so each takes a few seconds.
"""

from __future__ import annotations

import shutil

import pytest

from napari_sleap_train.config.profiles import get_profile
from napari_sleap_train.config.serialize import save_json

from .output_places import run_cli


@pytest.fixture
def minimal(shared_data, tmp_path):
    """The minimal project (384 x 384 video, 1 frame, 2 animals) in a folder of its own."""
    path = tmp_path / "minimal_instance.slp"
    shutil.copy(shared_data / "minimal/minimal_instance.slp", path)
    (tmp_path / "centered_pair_low_quality.mp4").symlink_to(shared_data / "minimal/centered_pair_low_quality.mp4")
    return path


def _centered_instance_config(tmp_path, crop):
    cfg = get_profile("cpu.centered_instance")
    cfg.data.crop_size = crop
    return str(save_json(cfg, tmp_path / f"ci_crop{crop}.json"))


def _train(project, runs, *extra):
    # one batch at most, should a check not fire
    proc = run_cli(
        "train",
        str(project),
        "--run-dir",
        str(runs),
        "--device",
        "cpu",
        "--epochs",
        "1",
        "--batches-per-epoch",
        "1",
        *extra,
        timeout=240,
    )
    assert "starting TensorFlow" not in proc.stdout and "running on" not in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stderr
    assert not runs.exists() or not any(runs.iterdir())  # refused before any run folder
    return proc


def test_batch_larger_than_the_examples_is_refused(shared_data, tmp_path):
    proc = _train(shared_data / "fly/clip.slp", tmp_path / "runs", "--batch-size", "100000")
    assert proc.returncode == 1
    assert "exit code" not in proc.stderr
    assert "The batch size (100,000) is larger than the 1350 training examples of the centroid model" in proc.stderr
    assert "use a batch size of at most 1350" in proc.stderr


def test_default_network_warns_and_a_huge_crop_is_refused(minimal, tmp_path):
    # `--config {}`: SLEAP's GPU-sized default U-Net for the centroid model (a warning: it runs, slowly);
    # then a crop of 100000 px for the centered-instance model, refused before TensorFlow starts
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    proc = _train(
        minimal, tmp_path / "runs", "--config", str(empty), "--config", _centered_instance_config(tmp_path, 100000)
    )
    assert proc.returncode == 1
    assert "warning: The centroid network has 7.8 M parameters" in proc.stdout
    assert "Choose the cpu.centroid profile" in proc.stdout
    assert "crop size (100,000 px) is far larger than the frames (384 x 384 px)" in proc.stderr
    assert "out of memory" not in proc.stderr


def test_crop_that_cuts_the_animals_is_refused(shared_data, tmp_path):
    # flies are ~100 px long: an 8 px crop (64 px once rounded to the stride) leaves most parts outside
    proc = _train(shared_data / "fly/clip.slp", tmp_path / "runs", "--config", _centered_instance_config(tmp_path, 8))
    assert proc.returncode == 1
    assert (
        "With a crop size of 8 px (64 px once rounded to the network's max stride) only 29% of the labeled "
        "body parts lie inside the crops" in proc.stderr
    )
    assert "use a crop of about 192 px" in proc.stderr
