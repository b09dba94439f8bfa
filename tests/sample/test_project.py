"""The sample written as a SLEAP project: .slp round trip, video fidelity, truth file, cache."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.sample import project as project_mod
from napari_sleap_train.sample.generate import generate_sample
from napari_sleap_train.sample.project import (
    CACHE_ENV,
    SampleProject,
    default_sample_project,
    write_sample_project,
)
from napari_sleap_train.sample.skeleton import EDGES, NODE_NAMES

SEED = 5
N_FRAMES = 120  # shorter than the default 300 to keep the module fast; counts stay the defaults


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> SampleProject:
    """A project with the default settings except length (2 mice, 40 labeled, 20 suggested)."""
    return write_sample_project(tmp_path_factory.mktemp("sample"), seed=SEED, n_frames=N_FRAMES)


@pytest.fixture(scope="module")
def generated():
    return generate_sample(seed=SEED, n_frames=N_FRAMES)


def test_writes_the_three_files(written):
    assert written.exists()
    assert written.labels_path.name == "sample.slp"
    assert written.video_path.name == "sample.mp4"
    assert written.truth_path.name == "sample.truth.slp"
    assert {p.name for p in written.folder.iterdir()} == {"sample.slp", "sample.mp4", "sample.truth.slp"}


def test_slp_round_trip(written):
    labels = sio.load_slp(str(written.labels_path))
    assert len(labels.videos) == 1
    video = labels.video
    assert video.exists()
    assert video.shape == (N_FRAMES, 384, 384, 1)
    assert video[0].shape == (384, 384, 1)
    assert len(labels.labeled_frames) == 40
    assert len(labels.suggestions) == 20
    assert [t.name for t in labels.tracks] == ["mouse1", "mouse2"]
    assert labels.skeleton.node_names == list(NODE_NAMES)
    assert [(e.source.name, e.destination.name) for e in labels.skeleton.edges] == list(EDGES)
    for lf in labels.labeled_frames:
        assert len(lf.user_instances) == 2 and not lf.predicted_instances
        assert [inst.track.name for inst in lf.user_instances] == ["mouse1", "mouse2"]
        assert all(inst.n_visible == len(NODE_NAMES) for inst in lf.user_instances)
    labeled = {lf.frame_idx for lf in labels.labeled_frames}
    suggested = {s.frame_idx for s in labels.suggestions}
    assert not labeled & suggested
    assert all(s.video is video for s in labels.suggestions)


def test_labels_match_the_generated_keypoints(written, generated):
    labels = sio.load_slp(str(written.labels_path))
    assert sorted(lf.frame_idx for lf in labels.labeled_frames) == generated.labeled_frames.tolist()
    assert sorted(s.frame_idx for s in labels.suggestions) == generated.suggested_frames.tolist()
    for lf in labels.labeled_frames:
        pts = np.stack([inst.numpy() for inst in lf.user_instances])
        np.testing.assert_allclose(pts, generated.points[lf.frame_idx], atol=1e-4)


def test_video_is_stored_by_name_so_the_folder_can_move(written, tmp_path, monkeypatch):
    for path in (written.labels_path, written.truth_path):
        with h5py.File(path, "r") as f:
            entry = json.loads(f["videos_json"][0])
        assert entry["filename"] == "sample.mp4"
        assert entry["backend"]["filename"] == "sample.mp4"
    moved = tmp_path / "moved"
    shutil.copytree(written.folder, moved)
    monkeypatch.chdir(tmp_path)  # not the project folder: the name must be resolved next to the .slp
    labels = sio.load_slp(str(moved / "sample.slp"))
    assert labels.video.exists()
    assert labels.video.shape == (N_FRAMES, 384, 384, 1)


def test_video_decodes_close_to_the_rendered_frames(written, generated):
    video = sio.load_video(str(written.video_path))
    assert video.shape == (N_FRAMES, 384, 384, 1)
    idx = np.array([0, 1, 57, 77, N_FRAMES - 1])
    decoded = video[idx][..., 0].astype(np.float64)
    diff = np.abs(decoded - generated.frames[idx])
    assert diff.mean() < 2.5
    assert np.percentile(diff, 99) < 10


def test_truth_has_every_frame_and_agrees_with_the_labeled_subset(written, generated):
    truth = sio.load_slp(str(written.truth_path))
    labels = sio.load_slp(str(written.labels_path))
    assert len(truth.labeled_frames) == N_FRAMES
    assert sorted(lf.frame_idx for lf in truth.labeled_frames) == list(range(N_FRAMES))
    assert not truth.suggestions
    assert [t.name for t in truth.tracks] == ["mouse1", "mouse2"]
    assert truth.skeleton.node_names == labels.skeleton.node_names
    assert truth.video.shape == labels.video.shape
    truth_by_frame = {lf.frame_idx: lf for lf in truth.labeled_frames}
    for lf in labels.labeled_frames:
        t = truth_by_frame[lf.frame_idx]
        assert [i.track.name for i in t.user_instances] == [i.track.name for i in lf.user_instances]
        np.testing.assert_array_equal(
            np.stack([i.numpy() for i in t.user_instances]), np.stack([i.numpy() for i in lf.user_instances])
        )
    all_points = truth.numpy(user_instances=True)  # (frames, tracks, nodes, 2)
    np.testing.assert_allclose(all_points, generated.points, atol=1e-4)


def test_refuses_to_overwrite_unless_asked(tmp_path):
    write_sample_project(tmp_path, seed=1, n_frames=6, n_labeled=2, n_suggested=1)
    with pytest.raises(FileExistsError, match="sample.slp already exists"):
        write_sample_project(tmp_path, seed=2, n_frames=6, n_labeled=2, n_suggested=1)
    project = write_sample_project(tmp_path, seed=2, n_frames=8, n_labeled=3, n_suggested=2, overwrite=True)
    assert len(sio.load_slp(str(project.labels_path)).labeled_frames) == 3


def test_default_project_is_cached_and_regenerated_when_incomplete(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    first = default_sample_project(seed=4, n_animals=3, n_frames=10)
    assert first.exists()
    assert first.folder.parent == tmp_path / "cache"
    assert "seed4" in first.folder.name
    stamp = first.labels_path.stat().st_mtime_ns

    calls = []
    real_write = project_mod.write_sample_project
    monkeypatch.setattr(project_mod, "write_sample_project", lambda *a, **k: calls.append(1) or real_write(*a, **k))
    again = default_sample_project(seed=4, n_animals=3, n_frames=10)
    assert again == first and not calls
    assert again.labels_path.stat().st_mtime_ns == stamp

    first.video_path.unlink()
    regenerated = default_sample_project(seed=4, n_animals=3, n_frames=10)
    assert calls and regenerated.exists()
    labels = sio.load_slp(str(regenerated.labels_path))
    assert len(labels.tracks) == 3 and labels.video.shape[0] == 10
    # No temporary folders are left behind.
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.folder.name]


def test_cache_root_defaults_to_the_user_cache(monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    root = project_mod.cache_root()
    assert root.name == "napari-sleap-train"
