"""``napari-sleap-train sample OUT_DIR``: in-process through the real argument parser."""

from __future__ import annotations

import sleap_io as sio

from napari_sleap_train.cli import main


def test_sample_writes_a_project(tmp_path, capsys):
    out = tmp_path / "proj"
    code = main(
        ["sample", str(out), "--seed", "3", "--frames", "24", "--animals", "3", "--labeled", "6", "--suggested", "4"]
    )
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"sample.slp", "sample.mp4", "sample.truth.slp"}
    labels = sio.load_slp(str(out / "sample.slp"))
    assert labels.video.shape == (24, 384, 384, 1)
    assert len(labels.labeled_frames) == 6 and len(labels.suggestions) == 4
    assert len(labels.tracks) == 3
    assert len(sio.load_slp(str(out / "sample.truth.slp"), open_videos=False).labeled_frames) == 24
    printed = capsys.readouterr().out
    assert "sample.slp" in printed and "sample.truth.slp" in printed


def test_sample_size_option(tmp_path):
    assert main(["sample", str(tmp_path), "--frames", "3", "--labeled", "1", "--suggested", "1", "--size", "256"]) == 0
    assert sio.load_slp(str(tmp_path / "sample.slp")).video.shape == (3, 256, 256, 1)


def test_same_seed_same_points_through_the_cli(tmp_path):
    args = ["--seed", "9", "--frames", "8", "--labeled", "3", "--suggested", "2"]
    assert main(["sample", str(tmp_path / "a"), *args]) == 0
    assert main(["sample", str(tmp_path / "b"), *args]) == 0
    a = sio.load_slp(str(tmp_path / "a" / "sample.truth.slp"), open_videos=False).numpy(user_instances=True)
    b = sio.load_slp(str(tmp_path / "b" / "sample.truth.slp"), open_videos=False).numpy(user_instances=True)
    assert (a == b).all()


def test_existing_project_is_not_overwritten_without_flag(tmp_path, capsys):
    small = ["--frames", "4", "--labeled", "2", "--suggested", "1"]
    assert main(["sample", str(tmp_path), *small]) == 0
    capsys.readouterr()
    assert main(["sample", str(tmp_path), *small]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and "Traceback" not in err
    assert main(["sample", str(tmp_path), *small, "--overwrite"]) == 0


def test_bad_parameters_exit_2_with_a_message(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "x"), "--animals", "9"]) == 2
    err = capsys.readouterr().err
    assert "1 to 6 animals" in err
    assert not (tmp_path / "x").exists()
