"""SleapProject: loading real projects, layer data, bad input, queries for the trainer."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.io.errors import SleapFileError
from napari_sleap_train.io.layers import project_layer_data
from napari_sleap_train.io.project import SleapProject

SHARED_SLPS = [
    "dance/dance.mp4.labels.slp",
    "embedded/minimal_instance.pkg.slp",
    "fly/clip.slp",
    "minimal/minimal_instance.slp",
    "misc/typical.slp",
    "models/minimal_instance.UNet.centered_instance/labels_gt.train.slp",
    "models/minimal_instance.UNet.centroid/labels_pr.train.slp",
    "predictions/centered_pair_predictions.slp",
    "robot/small_robot_minimal.slp",
    "suggestions/labels.v002.rel_paths.slp",
]


def _visible_counts(labels: sio.Labels):
    """(user instances, shown predicted instances, user points, shown predicted points) per sleap-io.

    Predictions a user instance was made from (``from_predicted``) are hidden, as in SLEAP.
    """
    user = [i for lf in labels for i in lf.user_instances]
    pred = []
    for lf in labels:
        used = {id(u.from_predicted) for u in lf.user_instances if u.from_predicted is not None}
        pred += [p for p in lf.predicted_instances if id(p) not in used]
    n_pts = lambda insts: int(sum((~np.isnan(i.numpy()).any(axis=1)).sum() for i in insts))
    return len(user), len(pred), n_pts(user), n_pts(pred)


def _layers_by_role(layer_data):
    return {meta["metadata"]["sleap_role"]: (data, meta, kind) for data, meta, kind in layer_data}


def test_every_shared_project_is_covered(shared_data):
    found = sorted(p.relative_to(shared_data).as_posix() for p in shared_data.rglob("*.slp"))
    missing = set(found) - set(SHARED_SLPS)
    # the gt/pr copies in the other model folder are the same files
    assert all("models/" in m for m in missing), missing


@pytest.mark.parametrize("rel", SHARED_SLPS)
def test_shared_projects_open_with_sleap_io_counts(shared_data, rel):
    path = shared_data / rel
    ref = sio.load_slp(path.as_posix(), open_videos=False)
    project = SleapProject.load(path)
    layers = _layers_by_role(project_layer_data(project))
    n_user, n_pred, n_user_pts, n_pred_pts = _visible_counts(ref)

    data, meta, kind = layers["labels"]
    assert kind == "points"
    feats = meta["features"]
    assert len(data) == n_user_pts == len(feats)
    assert feats["instance"].nunique() == sum(
        1 for lf in ref for i in lf.user_instances if not i.is_empty
    )
    assert bool(feats["user"].all())
    assert list(feats["node"].cat.categories) == ref.skeleton.node_names
    if n_pred:
        pdata, pmeta, _ = layers["predictions"]
        assert len(pdata) == n_pred_pts
        assert not pmeta["features"]["user"].any()
        assert pmeta["features"]["score"].notna().all()
    else:
        assert "predictions" not in layers
    # instance ids are unique across both layers
    if n_pred and n_user:
        assert not set(feats["instance"]) & set(layers["predictions"][1]["features"]["instance"])
    assert project.node_names == ref.skeleton.node_names
    assert project.edges == [tuple(e) for e in ref.skeleton.edge_names]
    assert project.tracks == [t.name for t in ref.tracks]
    assert len(project.suggestions) == len(ref.suggestions)
    for _, meta, _ in project_layer_data(project):
        assert meta["metadata"]["sleap_project"] is project
        assert meta["metadata"]["suggestions"] == project.suggestions


def test_fly_clip_numbers(shared_data):
    project = SleapProject.load(shared_data / "fly" / "clip.slp")
    layers = _layers_by_role(project_layer_data(project))
    assert len(project.labels.labeled_frames) == 1500
    assert project.labels.n_user_instances == 3000
    assert len(project.node_names) == 13
    assert project.tracks and len(project.tracks) == 2
    feats = layers["labels"][1]["features"]
    assert feats["instance"].nunique() == 3000
    assert set(feats["track"]) == set(project.tracks)
    video = layers["video"][0]
    assert video.shape == (1500, 1024, 1024)
    assert layers["video"][1]["contrast_limits"] == [0, 255]
    assert video.decoded_count <= 1  # opening must not decode the video
    assert len(project.user_frames()) == 1500
    inst = project.labeled_instances(0, 100)
    assert inst.shape == (2, 13, 2) and inst.dtype == np.float32
    lf = project.labels.find(project.labels.video, 100)[0]
    np.testing.assert_allclose(inst, np.stack([i.numpy() for i in lf.user_instances]))


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


def test_embedded_package_opens_without_video(shared_data, isolated_copy):
    (pkg,) = isolated_copy(shared_data / "embedded" / "minimal_instance.pkg.slp")
    project = SleapProject.load(pkg)
    assert project.name == "minimal_instance"
    assert project.missing_videos == []
    layers = _layers_by_role(project_layer_data(project))
    video = layers["video"][0]
    assert video.shape == (1, 384, 384)
    frame = project.frame(0, 0)
    assert frame.shape == (384, 384, 1) and frame.any()
    assert len(layers["labels"][0]) == 4


def test_suggestions_and_relative_video(shared_data):
    path = shared_data / "suggestions" / "labels.v002.rel_paths.slp"
    project = SleapProject.load(path)
    assert project.missing_videos == []
    assert project.videos[0].filename == (
        shared_data / "suggestions" / "videos" / "centered_pair_low_quality.mp4"
    ).as_posix()
    ref = sio.load_slp(path.as_posix(), open_videos=False)
    assert project.suggestions == [(0, s.frame_idx) for s in ref.suggestions]
    assert project.suggestions[:3] == [(0, 0), (0, 110), (0, 220)]
    meta = project_layer_data(project)[0][1]
    assert meta["metadata"]["suggestions"] == project.suggestions


def test_missing_video_gives_clear_message_and_labels(shared_data, isolated_copy):
    (path,) = isolated_copy(shared_data / "predictions" / "centered_pair_predictions.slp")
    project = SleapProject.load(path)
    assert [m.index for m in project.missing_videos] == [0]
    assert any("centered_pair_low_quality.mp4" in m and "could not be opened" in m for m in project.messages)
    layers = _layers_by_role(project_layer_data(project))
    assert "video" not in layers
    assert len(layers["predictions"][0]) > 0
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
    (proj / "centered_pair_low_quality.mp4").write_bytes(
        (shared_data / "robot" / "small_robot.mp4").read_bytes()
    )
    labels.video.replace_filename("/nowhere/centered_pair_low_quality.mp4", open=False)
    labels.video.backend_metadata["shape"] = [1100, 384, 384, 1]
    labels.save((proj / "p.slp").as_posix())
    project = SleapProject.load(proj / "p.slp")
    assert [m.index for m in project.missing_videos] == [0]


def test_rgb_project(shared_data):
    project = SleapProject.load(shared_data / "robot" / "small_robot_minimal.slp")
    data, meta, kind = project_layer_data(project)[0]
    assert kind == "image" and meta["rgb"] is True
    assert data.shape == (166, 320, 560, 3)
    assert project.frame(0, 0).shape == (320, 560, 3)


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


def test_skeleton_only_project_opens(tmp_path):
    path = tmp_path / "new.slp"
    sio.Labels(skeletons=[sio.Skeleton(["a", "b"], edges=[("a", "b")])]).save(path.as_posix())
    project = SleapProject.load(path)
    layers = _layers_by_role(project_layer_data(project))
    assert len(layers["labels"][0]) == 0
    assert list(layers["labels"][1]["features"]["node"].cat.categories) == ["a", "b"]


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


# -- several videos ----------------------------------------------------------------------


def test_two_videos_use_video_frame_y_x(two_video_project):
    project = SleapProject.load(two_video_project)
    assert project.multi_video and project.points_axes == ("video", "frame", "y", "x")
    assert project.suggestions == [(1, 9)]
    layer_data = project_layer_data(project)
    images = [(d, m) for d, m, k in layer_data if k == "image"]
    assert [m["name"] for _, m in images] == ["two video 0", "two video 1"]
    assert images[0][0].shape == (1, 1100, 384, 384) and images[0][1]["translate"] == (0, 0, 0, 0)
    assert images[1][0].shape == (1, 166, 320, 560, 3) and images[1][1]["translate"] == (1, 0, 0, 0)
    layers = _layers_by_role(layer_data)
    np.testing.assert_array_equal(
        layers["labels"][0], [[0, 3, 20, 10], [0, 3, 40, 30], [1, 7, 60, 50], [1, 7, 80, 70]]
    )
    assert layers["skeleton"][0].shape == (2, 2, 4)
    assert project.user_frames() == [(0, 3), (1, 7)]
    assert project.frame(1, 7).shape == (320, 560, 3)
    # an edit on the second video lands there
    data = layers["labels"][0].copy()
    data[3, 2:] = (81.0, 71.0)
    project.update_from_points(data, layers["labels"][1]["features"])
    np.testing.assert_allclose(project.labeled_instances(1, 7)[0], [[50, 60], [71, 81]])
    np.testing.assert_allclose(project.labeled_instances(0, 3)[0], [[10, 20], [30, 40]])
