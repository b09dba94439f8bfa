"""Live layers in a real viewer: skeleton follows edits, promoting and adding predictions, saving.

Files are opened with ``viewer.open(path, plugin=...)`` (npe2 reader, no widget), so the
binding the reader arranges is what is tested. Needs ``xvfb-run -a``.
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio
from napari.layers import Layer

from napari_sleap_train.io.binding import follower, refresh_layers
from napari_sleap_train.io.layers import (
    PROJECT_KEY,
    ROLE_KEY,
    prediction_layers,
    project_layer_data,
)
from napari_sleap_train.io.live_skeleton import edge_vectors_from_rows, frame_codes
from napari_sleap_train.project.errors import PredictionsError
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.project.tables import edge_vectors

PLUGIN = "napari-sleap-train"


def _open(viewer, path):
    viewer.open(str(path), plugin=PLUGIN)
    project = viewer.layers[-1].metadata[PROJECT_KEY]
    roles = {layer.metadata[ROLE_KEY]: layer for layer in viewer.layers if layer.metadata.get(PROJECT_KEY) is project}
    return project, roles


def _edges_of(vectors, frame: int) -> np.ndarray:
    """A frame's edges as a sorted (E, 4) array of (y0, x0, y1, x1), order-free."""
    data = np.asarray(vectors.data)
    rows = data[np.rint(data[:, 0, 0]) == frame]
    ends = np.concatenate([rows[:, 0, 1:], rows[:, 0, 1:] + rows[:, 1, 1:]], axis=1)
    return ends[np.lexsort(ends.T[::-1])] if len(ends) else ends.reshape(0, 4)


def _expected_edges(project: SleapProject, frame: int) -> np.ndarray:
    """Edges the project's own (synced) user instances have on a frame."""
    vec = project.skeleton_vectors(user=True)
    vec = vec[np.rint(vec[:, 0, 0]) == frame]
    ends = np.concatenate([vec[:, 0, 1:], vec[:, 0, 1:] + vec[:, 1, 1:]], axis=1)
    return ends[np.lexsort(ends.T[::-1])] if len(ends) else ends.reshape(0, 4)


def _drag(points, rows, shift):
    """Move rows the way napari's select-and-drag does: ``changing``, edit in place, ``changed``."""
    points.events.data(value=points.data, action="changing", data_indices=tuple(rows), vertex_indices=((),))
    points.data[np.ix_(rows, [1, 2])] += shift
    points.events.data(value=points.data, action="changed", data_indices=tuple(rows), vertex_indices=((),))


def test_row_edges_match_the_readers_edges(shared_data):
    project = SleapProject.load(shared_data / "fly" / "clip.slp")
    data, feats = project.user_points()
    codes = feats["node"].cat.codes.to_numpy().astype(np.int64)
    names = project.node_names
    edges = np.array([(names.index(a), names.index(b)) for a, b in project.edges])
    got = edge_vectors_from_rows(data, codes, feats["instance"].to_numpy(), edges, False)
    ref = edge_vectors(list(project._user_refs.values()), False)
    assert got.shape == ref.shape
    key = lambda v: v.reshape(len(v), -1)[np.lexsort(v.reshape(len(v), -1).T[::-1])]
    np.testing.assert_allclose(key(got), key(ref))
    assert frame_codes(np.array([[2, 7, 0, 0]]), True)[0] == (2 << 32) + 7


def test_skeleton_follows_move_add_delete_on_opened_fly(make_napari_viewer, shared_data):
    viewer = make_napari_viewer()
    project, layers = _open(viewer, shared_data / "fly" / "clip.slp")
    points, skeleton = layers["labels"], layers["skeleton"]
    assert follower(project, "labels") is not None  # bound by the reader, no widget involved
    frame = 37
    other = 1200
    other_before = _edges_of(skeleton, other)
    n_before = len(skeleton.data)
    rows = np.flatnonzero(np.rint(points.data[:, 0]) == frame)

    # move one point: the frame's edges follow, other frames and the edge count stay
    _drag(points, [int(rows[0])], (12.5, -7.0))
    assert len(skeleton.data) == n_before
    np.testing.assert_allclose(_edges_of(skeleton, frame), _expected_edges(project, frame))
    moved = points.data[rows[0], 1:]
    assert (
        np.isclose(_edges_of(skeleton, frame)[:, [0, 1]], moved).all(axis=1).any()
        or np.isclose(_edges_of(skeleton, frame)[:, [2, 3]], moved).all(axis=1).any()
    )

    # delete every point of one instance on that frame: its edges go
    inst = points.features["instance"].to_numpy()[rows[0]]
    gone = np.flatnonzero(points.features["instance"].to_numpy() == inst)
    points.selected_data = set(gone.tolist())
    points.remove_selected()
    np.testing.assert_allclose(_edges_of(skeleton, frame), _expected_edges(project, frame))
    assert len(_edges_of(skeleton, frame)) < 2 * len(project.edges)

    # add a new two-node instance on an unlabeled frame: one edge appears there
    head, thorax = next((a, b) for a, b in project.edges if {a, b} == {"head", "thorax"})
    points.feature_defaults["instance"] = project.next_instance_id
    points.feature_defaults["node"] = head
    points.add(np.array([[frame + 1000, 100.0, 200.0]]))  # frame 1037 has labels; use a fresh id
    points.feature_defaults["node"] = thorax
    points.add(np.array([[frame + 1000, 130.0, 210.0]]))
    np.testing.assert_allclose(_edges_of(skeleton, frame + 1000), _expected_edges(project, frame + 1000))
    assert any(
        np.allclose(e, (100, 200, 130, 210)) or np.allclose(e, (130, 210, 100, 200))
        for e in _edges_of(skeleton, frame + 1000)
    )
    np.testing.assert_array_equal(_edges_of(skeleton, other), other_before)

    # replacing the whole data (a script) redraws everything
    data = points.data.copy()
    data[:, 1] += 1.0
    points.data = data
    np.testing.assert_allclose(_edges_of(skeleton, other), other_before + [1, 0, 1, 0])


def test_labeling_from_scratch_draws_edges(make_napari_viewer, tmp_path):
    skel = sio.Skeleton(["nose", "neck", "tail"], edges=[("nose", "neck"), ("neck", "tail")])
    video = sio.Video(filename="missing.mp4", backend=None, open_backend=False)
    path = tmp_path / "empty.slp"
    sio.Labels(videos=[video], skeletons=[skel]).save(path.as_posix())
    viewer = make_napari_viewer()
    project, layers = _open(viewer, path)
    assert set(layers) == {"skeleton", "labels"}  # the skeleton layer is there with no labels yet
    points, skeleton = layers["labels"], layers["skeleton"]
    assert len(skeleton.data) == 0
    for node, yx in (("nose", (10, 20)), ("neck", (30, 40)), ("tail", (50, 45))):
        points.feature_defaults["node"] = node
        points.add(np.array([[4, *yx]], float))
    np.testing.assert_allclose(_edges_of(skeleton, 4), [[10, 20, 30, 40], [30, 40, 50, 45]])
    assert project.user_frames() == [(0, 4)]


def test_promote_predictions_updates_layers_and_saves(make_napari_viewer, shared_data, tmp_path):
    viewer = make_napari_viewer()
    project, layers = _open(viewer, shared_data / "suggestions" / "labels.v002.rel_paths.slp")
    predictions, labels = layers["predictions"], layers["labels"]
    pred_skeleton, skeleton = layers["predictions_skeleton"], layers["skeleton"]
    frame = int(predictions.data[0, 0])
    ids = project.predicted_instance_ids(0, frame)
    assert len(ids) == 2
    before_labels, before_preds = len(labels.data), len(predictions.data)
    n_user = project.labels.n_user_instances
    chosen = ids[0]
    xy = project.predicted_instances(0, frame)  # (n, k, 2)
    n_pts = int((predictions.features["instance"] == chosen).sum())

    (new_id,) = project.promote_predictions(0, frame, [chosen])
    assert project.labels.n_user_instances == n_user + 1
    assert project.predicted_instance_ids(0, frame) == ids[1:]
    assert len(labels.data) == before_labels + n_pts and len(predictions.data) == before_preds - n_pts
    assert (labels.features["instance"] == new_id).sum() == n_pts
    assert not (predictions.features["instance"] == chosen).any()
    assert set(labels.features.loc[labels.features["instance"] == new_id, "node"]) <= set(project.node_names)
    # both skeleton layers follow
    np.testing.assert_allclose(_edges_of(skeleton, frame), _expected_edges(project, frame))
    pv = project.skeleton_vectors(user=False)
    assert len(_edges_of(pred_skeleton, frame)) == int((np.rint(pv[:, 0, 0]) == frame).sum())
    # the new user instance sits on the prediction, linked to it, not marked human-placed
    lf = next(f for f in project.labels if f.frame_idx == frame)
    promoted = [u for u in lf.user_instances if u.from_predicted is not None][-1]
    assert any(np.allclose(promoted.numpy(), p, equal_nan=True) for p in xy)
    assert not promoted.points["complete"].any()

    with pytest.raises(PredictionsError, match="no prediction with id 99999"):
        project.promote_predictions(0, frame, [99999])

    out = project.save(tmp_path / "promoted.slp")
    again = SleapProject.load(out)
    assert again.labels.n_user_instances == n_user + 1
    assert len(again.predicted_instance_ids(0, frame)) == 1  # the promoted one stays hidden
    assert project.promote_predictions(0, frame) == [new_id + 1]  # the rest of the frame
    assert project.predicted_instance_ids(0, frame) == []


def _predictions_for(labels: sio.Labels, frames, shift: float) -> sio.Labels:
    """Predicted copies of the user instances of ``frames`` (shifted), on the same video."""
    skel = labels.skeleton
    out = []
    for frame in frames:
        lf = next(f for f in labels if f.frame_idx == frame)
        insts = [
            sio.PredictedInstance.from_numpy(
                u.numpy() + shift, skeleton=skel, point_scores=np.ones(len(skel.nodes)), score=0.9
            )
            for u in lf.user_instances
        ]
        out.append(sio.LabeledFrame(video=labels.video, frame_idx=frame, instances=insts))
    return sio.Labels(out, videos=[labels.video], skeletons=[skel])


def test_add_predictions_then_refresh_layers(make_napari_viewer, shared_data, tmp_path):
    viewer = make_napari_viewer()
    project, layers = _open(viewer, shared_data / "minimal" / "minimal_instance.slp")
    assert "predictions" not in layers
    user_before = project.labeled_instances(0, 0).copy()
    preds = _predictions_for(project.labels, [0], shift=3.0)
    # a second frame, predicted only
    preds.append(
        sio.LabeledFrame(video=project.labels.video, frame_idx=5, instances=[preds.labeled_frames[0].instances[0]])
    )
    path = tmp_path / "run.predictions.slp"
    preds.save(path.as_posix())

    update = project.add_predictions(path)
    assert (update.n_frames, update.n_instances, update.n_replaced) == (2, 3, 0)
    assert update.frames == [(0, 0), (0, 5)]
    assert "3 predicted instance(s) on 2 frame(s)" in update.summary
    assert [m["name"] for _, m, _ in prediction_layers(project)] == [
        "minimal_instance predictions skeleton",
        "minimal_instance predictions",
    ]
    refresh = refresh_layers(project, viewer.layers)
    assert [la.name for la in refresh.added] == [
        "minimal_instance predictions skeleton",
        "minimal_instance predictions",
    ]
    names = [la.name for la in viewer.layers]
    assert names.index("minimal_instance predictions") < names.index("minimal_instance skeleton")
    pred_layer = viewer.layers["minimal_instance predictions"]
    assert len(pred_layer.data) == 6
    assert follower(project, "predictions") is not None

    # new predictions on frame 5 only: frame 0 keeps its, frame 5's are replaced; users untouched
    again = _predictions_for(project.labels, [0], shift=10.0)
    moved = sio.LabeledFrame(video=project.labels.video, frame_idx=5, instances=[again.labeled_frames[0].instances[1]])
    update2 = project.add_predictions(
        sio.Labels([moved], videos=[project.labels.video], skeletons=[project.labels.skeleton])
    )
    assert (update2.n_frames, update2.n_instances, update2.n_replaced) == (1, 1, 1)
    refresh2 = refresh_layers(project, viewer.layers)
    assert refresh2.added == [] and pred_layer in refresh2.updated
    assert viewer.layers["minimal_instance predictions"] is pred_layer  # updated in place
    assert len(project.predicted_instances(0, 0)) == 2
    np.testing.assert_allclose(project.predicted_instances(0, 5)[0], user_before[1] + 10.0)
    np.testing.assert_allclose(project.labeled_instances(0, 0), user_before)
    rows5 = pred_layer.data[np.rint(pred_layer.data[:, 0]) == 5]
    np.testing.assert_allclose(np.sort(rows5[:, 2]), np.sort(user_before[1][:, 0] + 10.0))

    out = project.save(tmp_path / "with_predictions.slp")
    saved = sio.load_slp(out.as_posix(), open_videos=False)
    assert saved.n_user_instances == 2 and saved.n_pred_instances == 3


def test_add_predictions_bad_input(shared_data, tmp_path):
    project = SleapProject.load(shared_data / "minimal" / "minimal_instance.slp")
    with pytest.raises(PredictionsError, match="does not exist"):
        project.add_predictions(tmp_path / "nothing.slp")
    other = sio.Skeleton(["wing", "leg"])
    bad = sio.Labels(
        [
            sio.LabeledFrame(
                video=project.labels.video,
                frame_idx=0,
                instances=[
                    sio.PredictedInstance.from_numpy(
                        np.ones((2, 2)), skeleton=other, point_scores=np.ones(2), score=1.0
                    )
                ],
            )
        ],
        videos=[project.labels.video],
        skeletons=[other],
    )
    with pytest.raises(PredictionsError, match="none of the project's body parts"):
        project.add_predictions(bad)
    assert project.labels.n_pred_instances == 0


def test_refresh_layers_without_a_viewer_returns_layer_data(shared_data):
    project = SleapProject.load(shared_data / "minimal" / "minimal_instance.slp")
    layers = [Layer.create(*item) for item in project_layer_data(project)]
    project.add_predictions(_predictions_for(project.labels, [0], shift=2.0))
    refresh = refresh_layers(project, layers)
    assert refresh.added == [] and refresh.updated == []
    assert [m["metadata"][ROLE_KEY] for _, m, _ in refresh.to_add] == ["predictions_skeleton", "predictions"]


@pytest.mark.parametrize("plugin", [PLUGIN, None])
def test_save_selected_layers_through_npe2(make_napari_viewer, shared_data, isolated_copy, tmp_path, plugin):
    (src,) = isolated_copy(shared_data / "embedded" / "minimal_instance.pkg.slp")
    viewer = make_napari_viewer()
    project, layers = _open(viewer, src)
    points = layers["labels"]
    _drag(points, [0], (4.0, -2.0))
    moved = points.data[0].copy()
    viewer.layers.selection = {layers["video"], layers["skeleton"], points}
    out = tmp_path / "saved.pkg.slp"
    written = viewer.layers.save(str(out), selected=True, plugin=plugin)
    assert written == [str(out)]
    saved = SleapProject.load(out)
    xy = saved.labeled_instances(0, 0)
    assert np.isclose(xy, moved[[2, 1]]).all(axis=-1).any()
    assert saved.labels.n_user_instances == 2
    np.testing.assert_array_equal(saved.frame(0, 0), project.frame(0, 0))  # frames embedded again
