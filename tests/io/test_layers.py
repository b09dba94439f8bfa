"""Layer data of real projects: the reader's layers match what sleap-io reads."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.io.layers import project_layer_data
from napari_sleap_train.io.reader import get_reader, read_slp
from napari_sleap_train.project.model import SleapProject

SHARED_SLPS = [
    "dance/dance.mp4.labels.slp",
    "embedded/minimal_instance.pkg.slp",
    "fly/clip.2node.slp",
    "fly/clip.predictions.slp",
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
    assert feats["instance"].nunique() == sum(1 for lf in ref for i in lf.user_instances if not i.is_empty)
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
    assert (
        project.videos[0].filename
        == (shared_data / "suggestions" / "videos" / "centered_pair_low_quality.mp4").as_posix()
    )
    ref = sio.load_slp(path.as_posix(), open_videos=False)
    assert project.suggestions == [(0, s.frame_idx) for s in ref.suggestions]
    assert project.suggestions[:3] == [(0, 0), (0, 110), (0, 220)]
    meta = project_layer_data(project)[0][1]
    assert meta["metadata"]["suggestions"] == project.suggestions


def test_rgb_project(shared_data):
    project = SleapProject.load(shared_data / "robot" / "small_robot_minimal.slp")
    data, meta, kind = project_layer_data(project)[0]
    assert kind == "image" and meta["rgb"] is True
    assert data.shape == (166, 320, 560, 3)
    assert project.frame(0, 0).shape == (320, 560, 3)


def test_skeleton_only_project_opens(tmp_path):
    path = tmp_path / "new.slp"
    sio.Labels(skeletons=[sio.Skeleton(["a", "b"], edges=[("a", "b")])]).save(path.as_posix())
    project = SleapProject.load(path)
    layers = _layers_by_role(project_layer_data(project))
    assert len(layers["labels"][0]) == 0
    assert list(layers["labels"][1]["features"]["node"].cat.categories) == ["a", "b"]


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
    np.testing.assert_array_equal(layers["labels"][0], [[0, 3, 20, 10], [0, 3, 40, 30], [1, 7, 60, 50], [1, 7, 80, 70]])
    assert layers["skeleton"][0].shape == (2, 2, 4)
    assert project.user_frames() == [(0, 3), (1, 7)]
    assert project.frame(1, 7).shape == (320, 560, 3)
    # an edit on the second video lands there
    data = layers["labels"][0].copy()
    data[3, 2:] = (81.0, 71.0)
    project.update_from_points(data, layers["labels"][1]["features"])
    np.testing.assert_allclose(project.labeled_instances(1, 7)[0], [[50, 60], [71, 81]])
    np.testing.assert_allclose(project.labeled_instances(0, 3)[0], [[10, 20], [30, 40]])


def test_get_reader(shared_data):
    path = str(shared_data / "minimal" / "minimal_instance.slp")
    assert get_reader(path) is read_slp
    assert get_reader([path, str(shared_data / "embedded" / "minimal_instance.pkg.slp")]) is read_slp
    assert get_reader("movie.mp4") is None
    assert get_reader([path, "movie.mp4"]) is None
    layers = read_slp([path, str(shared_data / "embedded" / "minimal_instance.pkg.slp")])
    assert sum(1 for _, _, kind in layers if kind == "image") == 2
