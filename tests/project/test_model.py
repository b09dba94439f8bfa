"""SleapProject without napari: loading real projects, video search, bad input, saving, queries."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.project.errors import SleapFileError
from napari_sleap_train.project.model import SleapProject


def test_skeleton_vectors_carry_frame(shared_data):
    project = SleapProject.load(shared_data / "fly" / "clip.slp")
    vec = project.skeleton_vectors()
    assert vec.shape[1:] == (2, 3)
    assert np.all(vec[:, 1, 0] == 0)  # no displacement along the frame axis
    lf = project.labels.labeled_frames[5]
    on_frame = vec[vec[:, 0, 0] == lf.frame_idx]
    xy = lf.user_instances[0].numpy()
    src, dst = project.edge_inds[0]
    start = np.array([xy[src, 1], xy[src, 0]])
    end = start + np.array([xy[dst, 1] - xy[src, 1], xy[dst, 0] - xy[src, 0]])
    match = np.all(np.isclose(on_frame[:, 0, 1:], start), axis=1)
    assert match.any()
    np.testing.assert_allclose(on_frame[match][0, 0, 1:] + on_frame[match][0, 1, 1:], end)


def test_missing_video_gives_clear_message_and_labels(shared_data, isolated_copy):
    (path,) = isolated_copy(shared_data / "predictions" / "centered_pair_predictions.slp")
    project = SleapProject.load(path)
    assert [m.index for m in project.missing_videos] == [0]
    assert any("centered_pair_low_quality.mp4" in m and "could not be opened" in m for m in project.messages)
    assert project.video_array(0) is None and not project.video_available(0)
    assert len(project.predicted_points()[0]) > 0
    assert len(project.labels.labeled_frames) == 1100


def test_predictions_video_found_in_sibling_folder(shared_data):
    # predictions/ has no video, but minimal/ (a sibling folder) holds the same-named one
    project = SleapProject.load(shared_data / "predictions" / "centered_pair_predictions.slp")
    assert project.missing_videos == []
    assert project.video_array(0).shape == (1100, 384, 384)


def test_frame_size_mismatch_rejects_candidate(shared_data, tmp_path):
    # a video of the right name but another frame size next to the project is not taken
    labels = sio.load_slp((shared_data / "minimal" / "minimal_instance.slp").as_posix())
    labels.video.backend_metadata["shape"] = [1100, 384, 384, 1]
    labels.video.close()
    proj = tmp_path / "iso" / "p"
    proj.mkdir(parents=True)
    (proj / "centered_pair_low_quality.mp4").write_bytes((shared_data / "robot" / "small_robot.mp4").read_bytes())
    labels.video.replace_filename("/nowhere/centered_pair_low_quality.mp4", open=False)
    labels.video.backend_metadata["shape"] = [1100, 384, 384, 1]
    labels.save((proj / "p.slp").as_posix())
    project = SleapProject.load(proj / "p.slp")
    assert [m.index for m in project.missing_videos] == [0]


# -- bad input -------------------------------------------------------------------------


def test_truncated_file(shared_data, tmp_path):
    raw = (shared_data / "fly" / "clip.slp").read_bytes()
    bad = tmp_path / "truncated.slp"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(SleapFileError, match="truncated or damaged"):
        SleapProject.load(bad)
    assert bad.stat().st_size == len(raw) // 2  # untouched


def test_not_hdf5(tmp_path):
    bad = tmp_path / "notes.slp"
    bad.write_text("these are my notes")
    with pytest.raises(SleapFileError, match="not a SLEAP project"):
        SleapProject.load(bad)
    empty = tmp_path / "zero.slp"
    empty.touch()
    with pytest.raises(SleapFileError, match="empty"):
        SleapProject.load(empty)
    with pytest.raises(SleapFileError, match="no file"):
        SleapProject.load(tmp_path / "absent.slp")


def test_hdf5_but_not_sleap(tmp_path):
    bad = tmp_path / "other.slp"
    with h5py.File(bad, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(SleapFileError, match="HDF5 file but not a SLEAP project"):
        SleapProject.load(bad)


def test_empty_project(tmp_path):
    path = tmp_path / "empty.slp"
    sio.Labels().save(path.as_posix())
    with pytest.raises(SleapFileError, match="empty SLEAP project"):
        SleapProject.load(path)


def test_missing_nodes_and_empty_instances(shared_data, tmp_path):
    labels = sio.load_slp((shared_data / "minimal" / "minimal_instance.slp").as_posix())
    lf = labels.labeled_frames[0]
    lf.instances[0].points["visible"][1] = False  # one missing node
    empty = sio.Instance.from_numpy(np.full((2, 2), np.nan), skeleton=labels.skeleton)
    lf.instances.append(empty)
    path = tmp_path / "nan.slp"
    labels.save(path.as_posix())
    project = SleapProject.load(path)
    assert any("no visible nodes" in m for m in project.messages)
    data, feats = project.user_points()
    assert len(data) == 3 and not np.isnan(data).any()
    assert feats["instance"].nunique() == 2
    assert project.labeled_instances(0, lf.frame_idx).shape == (2, 2, 2)
    # the empty instance is kept when saving
    out = project.snapshot(tmp_path / "snap.slp")
    assert sio.load_slp(out.as_posix()).n_user_instances == 3


# -- snapshot / save -------------------------------------------------------------------


def test_snapshot_writes_new_file_only(shared_data, tmp_path):
    project = SleapProject.load(shared_data / "minimal" / "minimal_instance.slp")
    out = project.snapshot(tmp_path / "train.slp")
    assert out.exists() and project.path == shared_data / "minimal" / "minimal_instance.slp"
    again = sio.load_slp(out.as_posix())
    assert again.n_user_instances == 2
    assert again.video.exists()
    with pytest.raises(SleapFileError, match="already exists"):
        project.snapshot(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.slp"]  # no temp files left


def test_snapshot_of_package_embeds_frames(shared_data, tmp_path, isolated_copy):
    (pkg,) = isolated_copy(shared_data / "embedded" / "minimal_instance.pkg.slp")
    project = SleapProject.load(pkg)
    out = project.snapshot(tmp_path / "snap.slp")
    again = sio.load_slp(out.as_posix())
    assert again.video.backend.has_embedded_images
    np.testing.assert_array_equal(again.video[0], project.labels.video[0])


def test_save_refuses_overwrite_unless_asked(shared_data, tmp_path):
    project = SleapProject.load(shared_data / "minimal" / "minimal_instance.slp")
    target = tmp_path / "keep.slp"
    target.write_bytes(b"precious")
    with pytest.raises(SleapFileError, match="already exists"):
        project.save(target)
    assert target.read_bytes() == b"precious"
    project.save(target, overwrite=True)
    assert project.path == target
    assert sio.load_slp(target.as_posix()).n_user_instances == 2


def test_save_as_package(shared_data, tmp_path):
    project = SleapProject.load(shared_data / "suggestions" / "labels.v002.rel_paths.slp")
    out = project.save(tmp_path / "p.pkg.slp")
    again = sio.load_slp(out.as_posix())
    embedded = set(again.video.backend.embedded_frame_inds)
    assert {lf.frame_idx for lf in again} <= embedded
    assert {s.frame_idx for s in again.suggestions} <= embedded


def test_saving_a_package_reports_the_frames_it_embeds(shared_data, tmp_path):
    project = SleapProject.load(shared_data / "suggestions" / "labels.v002.rel_paths.slp")
    calls: list[tuple[int, int, str]] = []
    out = project.save(tmp_path / "p.pkg.slp", progress=lambda done, total, phase: calls.append((done, total, phase)))
    n_embedded = len(sio.load_slp(out.as_posix()).video.backend.embedded_frame_inds)
    assert calls and n_embedded > 0
    done, total, _ = calls[-1]
    assert done == total and total >= n_embedded  # the count reaches the end of the embedding
    for phase in {c[2] for c in calls}:  # within each phase (embedding, writing) the count only rises
        counts = [c[0] for c in calls if c[2] == phase]
        assert counts == sorted(counts)
