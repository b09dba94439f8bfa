"""Edits in the labels Points layer flow back into the project; the writer saves them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sleap_io as sio
from napari.layers import Layer

from napari_sleap_train.io.binding import find_project
from napari_sleap_train.io.layers import project_layer_data
from napari_sleap_train.io.reader import get_reader
from napari_sleap_train.io.writer import write_slp
from napari_sleap_train.project.errors import LayerDataError, SleapEditWarning
from napari_sleap_train.project.model import SleapProject


def _layers(project):
    """Real napari layers (no viewer) built from the reader's layer data."""
    return [Layer.create(d, m, k) for d, m, k in project_layer_data(project)]


def _by_role(layers, role):
    return next(layer for layer in layers if layer.metadata.get("sleap_role") == role)


def _signature(labels: sio.Labels):
    """Everything a round trip must keep: per frame, instances with type, track and points."""
    frames = {}
    for lf in labels:
        key = (labels.videos.index(lf.video), lf.frame_idx)
        frames[key] = sorted(
            (
                type(i).__name__,
                i.track.name if i.track is not None else None,
                tuple(np.round(np.nan_to_num(i.numpy(), nan=-1.0), 6).ravel()),
            )
            for i in lf.instances
        )
    return {
        "frames": frames,
        "nodes": labels.skeleton.node_names,
        "edges": labels.skeleton.edge_names,
        "tracks": [t.name for t in labels.tracks],
        "suggestions": [(labels.videos.index(s.video), s.frame_idx) for s in labels.suggestions],
        "n_videos": len(labels.videos),
    }


def _row(features, inst_id, node):
    hits = np.flatnonzero((features["instance"] == inst_id).to_numpy() & (features["node"] == node).to_numpy())
    assert len(hits) == 1
    return int(hits[0])


@pytest.fixture
def fly(shared_data):
    return SleapProject.load(shared_data / "fly" / "clip.slp")


def test_move_point_save_reload_only_that_changed(fly, shared_data, tmp_path):
    original = _signature(sio.load_slp((shared_data / "fly" / "clip.slp").as_posix(), open_videos=False))
    layers = _layers(fly)
    pts = _by_role(layers, "labels")
    feats = pts.features
    inst_id = int(feats["instance"].iloc[40])
    node = feats["node"].iloc[40]
    frame = int(pts.data[40, 0])
    # move the point as napari's select+drag does: replace the row's coordinates
    data = pts.data.copy()
    data[40, 1:] += (5.5, -3.25)
    pts.data = data
    out = tmp_path / "edited.slp"
    assert write_slp(str(out), [layer.as_layer_data_tuple() for layer in layers]) == [str(out)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edited.slp"]

    reloaded = sio.load_slp(out.as_posix(), open_videos=False)
    after = _signature(reloaded)
    changed = [k for k in original["frames"] if original["frames"][k] != after["frames"][k]]
    assert changed == [(0, frame)]
    assert {k: v for k, v in original.items() if k != "frames"} == {k: v for k, v in after.items() if k != "frames"}
    lf = reloaded.find(reloaded.video, frame)[0]
    ni = reloaded.skeleton.node_names.index(node)
    moved = [i for i in lf.user_instances if np.allclose(i.numpy()[ni], (data[40, 2], data[40, 1]))]
    assert len(moved) == 1
    assert moved[0].points["complete"][ni]

    # the plugin's reader shows the same edit
    read = get_reader(str(out))(str(out))
    labels_data = next(d for d, m, _ in read if m["metadata"]["sleap_role"] == "labels")
    assert len(labels_data) == len(data)
    assert any(np.allclose(row, data[40]) for row in labels_data)
    assert inst_id >= 0


def test_delete_points_and_instances(shared_data, tmp_path):
    project = SleapProject.load(shared_data / "minimal" / "minimal_instance.slp")
    pts = _by_role(_layers(project), "labels")
    feats = pts.features
    ids = sorted(feats["instance"].unique())
    # delete one node of the first instance and all of the second
    drop = [_row(feats, ids[0], "A")] + list(np.flatnonzero(feats["instance"] == ids[1]))
    pts.selected_data = set(drop)
    pts.remove_selected()
    summary = project.update_from_points(pts.data, pts.features)
    assert summary.removed_points == 1 and summary.removed_instances == 1
    out = project.save(tmp_path / "d.slp")
    again = sio.load_slp(out.as_posix(), open_videos=False)
    (inst,) = again.labeled_frames[0].user_instances
    xy = inst.numpy()
    assert np.isnan(xy[again.skeleton.node_names.index("A")]).all()
    assert not np.isnan(xy[again.skeleton.node_names.index("B")]).any()


def test_add_instance_on_new_frame_with_track(fly, tmp_path):
    pts = _by_role(_layers(fly), "labels")
    new_id = fly.next_instance_id
    before = fly.labels.n_user_instances
    # napari's add() takes features from feature_defaults
    pts.feature_defaults["instance"] = new_id
    pts.feature_defaults["track"] = "newcomer"
    pts.feature_defaults["node"] = "head"
    frame = 3
    pts.add(np.array([[frame, 100.0, 200.0]]))
    pts.feature_defaults["node"] = "thorax"
    pts.add(np.array([[frame, 120.0, 210.0]]))
    summary = fly.update_from_points(pts.data, pts.features)
    assert summary.added_instances == 1 and summary.moved_points == 0
    assert fly.labels.n_user_instances == before + 1
    assert "newcomer" in fly.tracks
    insts = fly.labeled_instances(0, frame)
    assert insts.shape == (3, 13, 2)
    nodes = fly.node_names
    new = insts[[np.allclose(i[nodes.index("head")], (200, 100)) for i in insts]][0]
    np.testing.assert_allclose(new[nodes.index("thorax")], (210, 120))
    assert np.isnan(new[nodes.index("wingL")]).all()
    # applying the same layer again changes nothing
    assert not fly.update_from_points(pts.data, pts.features).changed
    out = fly.save(tmp_path / "added.slp")
    again = sio.load_slp(out.as_posix(), open_videos=False)
    assert again.n_user_instances == before + 1
    assert any(t.name == "newcomer" for t in again.tracks)


def test_retrack_and_unknown_node(shared_data):
    project = SleapProject.load(shared_data / "misc" / "typical.slp")
    pts = _by_role(_layers(project), "labels")
    feats = pts.features.copy()
    first = feats["instance"] == feats["instance"].iloc[0]
    feats.loc[first, "track"] = "renamed"
    summary = project.update_from_points(pts.data, feats)
    assert summary.retracked_instances == 1
    assert "renamed" in project.tracks
    feats2 = feats.copy()
    feats2["node"] = feats2["node"].astype(object)
    feats2.loc[0, "node"] = "tail-that-does-not-exist"
    with pytest.warns(SleapEditWarning, match="not in the skeleton"):
        project.update_from_points(pts.data, feats2)


def test_predictions_layer_is_kept_on_save(shared_data, tmp_path):
    path = shared_data / "suggestions" / "labels.v002.rel_paths.slp"
    project = SleapProject.load(path)
    layers = _layers(project)
    out = tmp_path / "same.slp"
    write_slp(str(out), [layer.as_layer_data_tuple() for layer in layers])
    ref = _signature(sio.load_slp(path.as_posix(), open_videos=False))
    assert _signature(sio.load_slp(out.as_posix(), open_videos=False)) == ref


def test_writer_overwrites_only_the_chosen_file(shared_data, tmp_path, isolated_copy):
    (src,) = isolated_copy(shared_data / "minimal" / "minimal_instance.slp")
    src_bytes = src.read_bytes()
    project = SleapProject.load(src)
    layers = _layers(project)
    target = tmp_path / "chosen.slp"
    target.write_bytes(b"old content")
    write_slp(str(target), [layer.as_layer_data_tuple() for layer in layers])
    assert src.read_bytes() == src_bytes
    assert sio.load_slp(target.as_posix(), open_videos=False).n_user_instances == 2
    # saving back onto the project's own file is allowed when chosen
    write_slp(str(src), [layer.as_layer_data_tuple() for layer in layers])
    assert sio.load_slp(src.as_posix(), open_videos=False).n_user_instances == 2
    assert sorted(p.name for p in src.parent.iterdir()) == ["minimal_instance.slp"]


def test_package_resaved_to_same_file(shared_data, isolated_copy):
    (pkg,) = isolated_copy(shared_data / "embedded" / "minimal_instance.pkg.slp")
    project = SleapProject.load(pkg)
    layers = _layers(project)
    frame = project.frame(0, 0).copy()
    write_slp(str(pkg), [layer.as_layer_data_tuple() for layer in layers])
    again = SleapProject.load(pkg)
    np.testing.assert_array_equal(again.frame(0, 0), frame)
    assert again.labels.n_user_instances == 2


def test_find_project_binds_labels_layer(fly, tmp_path):
    layers = _layers(fly)
    assert find_project(layers) is fly
    assert find_project([layers[0]]) is fly  # any layer of the project will do
    pts = _by_role(layers, "labels")
    data = pts.data.copy()
    frame = int(data[0, 0])
    data[0, 1:] = (1.0, 2.0)
    pts.data = data
    xy = fly.labeled_instances(0, frame)  # synced from the bound layer
    assert np.isclose(xy[..., 0], 2.0).any() and np.isclose(xy[..., 1], 1.0).any()
    out = fly.snapshot(tmp_path / "snap.slp")
    snap = sio.load_slp(out.as_posix(), open_videos=False)
    lf = next(f for f in snap if f.frame_idx == frame)
    assert any(np.isclose(i.numpy(), (2.0, 1.0)).all(axis=1).any() for i in lf.user_instances)
    assert find_project([]) is None


def test_plain_points_layer_saved_as_minimal_project(tmp_path):
    feats = pd.DataFrame({"node": ["nose", "tail", "nose", "tail"], "instance": [0, 0, 1, 1]})
    data = np.array([[0, 10, 20], [0, 30, 40], [4, 11, 21], [4, 31, 41]], float)
    img = np.zeros((5, 64, 80), np.uint8)
    layer_data = [
        (data, {"name": "my points", "features": feats}, "points"),
        (img, {"name": "movie", "rgb": False}, "image"),
    ]
    out = tmp_path / "plain.slp"
    write_slp(str(out), layer_data)
    labels = sio.load_slp(out.as_posix(), open_videos=False)
    assert labels.skeleton.node_names == ["nose", "tail"]
    assert labels.n_user_instances == 2
    assert sorted(lf.frame_idx for lf in labels) == [0, 4]
    lf0 = next(lf for lf in labels if lf.frame_idx == 0)
    np.testing.assert_allclose(lf0.user_instances[0].numpy(), [[20, 10], [40, 30]])
    assert tuple(labels.video.backend_metadata["shape"]) == (5, 64, 80, 1)


def test_plain_points_without_nodes_is_refused(tmp_path):
    out = tmp_path / "x.slp"
    with pytest.raises(LayerDataError, match="no 'node' feature"):
        write_slp(str(out), [(np.zeros((2, 3)), {"name": "pts", "features": pd.DataFrame()}, "points")])
    assert not out.exists()


def test_layers_of_two_projects_are_refused(shared_data, tmp_path):
    a = _layers(SleapProject.load(shared_data / "minimal" / "minimal_instance.slp"))
    b = _layers(SleapProject.load(shared_data / "misc" / "typical.slp"))
    layer_data = [_by_role(a, "labels").as_layer_data_tuple(), _by_role(b, "labels").as_layer_data_tuple()]
    with pytest.raises(LayerDataError, match="2 SLEAP projects"):
        write_slp(str(tmp_path / "x.slp"), layer_data)
    assert not (tmp_path / "x.slp").exists()
