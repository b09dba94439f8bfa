"""The labeling loop in a real viewer, driven as a user drives it: keys, double-click, Add-mode clicks, drags, Delete.

Keys go through napari's keymap (:class:`napari.utils.key_bindings.KeymapHandler`, as
the canvas does), mouse events through napari's public mouse-callback runners
(:mod:`napari.utils.interactions`). Needs ``xvfb-run -a``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import sleap_io as sio
from napari.utils.interactions import (
    mouse_double_click_callbacks,
    mouse_move_callbacks,
    mouse_press_callbacks,
    mouse_release_callbacks,
)
from napari.utils.key_bindings import KeymapHandler

from napari_sleap_train.io.binding import project_layer, refresh_layers
from napari_sleap_train.io.labeling import LabelingController
from napari_sleap_train.io.layers import PROJECT_KEY
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.sample.project import write_sample_project
from tests.project.test_labeling import predictions_from_truth

PLUGIN = "napari-sleap-train"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """30 frames, labeled 4 9 13 18 24 29, suggested 0 8 17 21 25."""
    return write_sample_project(tmp_path_factory.mktemp("s"), seed=0, n_frames=30, n_labeled=6, n_suggested=5)


@pytest.fixture
def opened(make_napari_viewer, sample):
    """(viewer, project, controller, keys) with predictions on frames 0, 8, 17 (scores 0.8, 0.3, 0.6)."""
    viewer = make_napari_viewer()
    viewer.open(str(sample.labels_path), plugin=PLUGIN)
    project = viewer.layers[-1].metadata[PROJECT_KEY]
    project.add_predictions(predictions_from_truth(sample.truth_path, [0, 8, 17], scores=[0.8, 0.3, 0.6]))
    refresh_layers(project, viewer.layers)
    controller = LabelingController(viewer, project)
    keys = KeymapHandler()
    keys.keymap_providers = [viewer]
    yield viewer, project, controller, keys
    controller.close()


def _event(kind: str, position, modifiers=()):
    """A mouse event as napari's canvas hands it to the callbacks (2D view of [frame, y, x])."""
    return SimpleNamespace(
        type=kind,
        position=tuple(float(p) for p in position),
        pos=np.zeros(2),
        modifiers=list(modifiers),
        view_direction=None,
        dims_displayed=[1, 2],
        is_dragging=kind == "mouse_move",
        handled=False,
        up_direction=None,
        dims_point=tuple(position),
    )


def _click(layer, position):
    ev = _event("mouse_press", position)
    mouse_press_callbacks(layer, ev)
    ev.type = "mouse_release"
    mouse_release_callbacks(layer, ev)


def _drag(layer, start, end):
    ev = _event("mouse_press", start)
    mouse_press_callbacks(layer, ev)
    for t in np.linspace(0, 1, 4)[1:]:
        ev.type, ev.is_dragging = "mouse_move", True
        ev.position = tuple(np.asarray(start) + t * (np.asarray(end) - np.asarray(start)))
        mouse_move_callbacks(layer, ev)
    ev.type = "mouse_release"
    mouse_release_callbacks(layer, ev)


def test_opens_on_first_labeled_frame(make_napari_viewer, sample):
    viewer = make_napari_viewer()
    viewer.open(str(sample.labels_path), plugin=PLUGIN)
    assert viewer.dims.current_step[0] == 4  # napari would show frame 14, unlabeled


def test_keys_go_where_the_work_is(opened):
    _viewer, _project, controller, keys = opened
    assert controller.position() == (0, 4)
    keys.press_key("Alt-Right")
    assert controller.position() == (0, 9)
    keys.press_key("Alt-Left")
    keys.press_key("Alt-Left")  # wraps round to the last labeled frame
    assert controller.position() == (0, 29)
    keys.press_key("Alt-S")
    assert controller.position() == (0, 0)  # next unlabeled suggestion, wrapping
    keys.press_key("Alt-S")
    assert controller.position() == (0, 8)
    keys.press_key("Alt-W")  # worst prediction first: 8 (0.3), then 17 (0.6), then 0
    assert controller.position() == (0, 17)
    keys.press_key("Alt-W")
    assert controller.position() == (0, 0)


def test_double_click_on_prediction_makes_user_instance_and_saves(opened, tmp_path):
    viewer, project, controller, _keys = opened
    controller.go_to((0, 8))
    pred = project.predicted_instances(0, 8)[0]
    node = pred[np.isfinite(pred[:, 0])][2]
    mouse_double_click_callbacks(viewer, _event("mouse_double_click", (8, node[1] + 1, node[0] - 1)))
    assert len(project.predicted_instance_ids(0, 8)) == 1
    assert len(project.labeled_instances(0, 8)) == 1
    labels = project_layer(project, "labels")
    assert (np.rint(labels.data[:, 0]) == 8).sum() == 8
    # far from every prediction: nothing happens
    mouse_double_click_callbacks(viewer, _event("mouse_double_click", (8, 5, 5)))
    assert len(project.predicted_instance_ids(0, 8)) == 1
    out = sio.load_slp(str(project.save(tmp_path / "accepted.slp")), open_videos=False)
    lf = next(lf for lf in out.labeled_frames if lf.frame_idx == 8)
    assert len(lf.user_instances) == 1 and lf.user_instances[0].from_predicted is not None


def test_accept_key_and_accept_frame_key(opened, tmp_path):
    viewer, project, controller, keys = opened
    controller.go_to((0, 17))
    pred = project.predicted_instances(0, 17)[1]
    viewer.cursor.position = (17, *np.nanmean(pred, axis=0)[::-1])
    keys.press_key("Alt-A")
    assert len(project.labeled_instances(0, 17)) == 1
    np.testing.assert_allclose(project.labeled_instances(0, 17)[0], pred, atol=1e-4)
    controller.go_to((0, 0))
    keys.press_key("Shift-Alt-A")
    assert project.predicted_instance_ids(0, 0) == []
    assert len(project.labeled_instances(0, 0)) == 2
    out = sio.load_slp(str(project.save(tmp_path / "all.slp")), open_videos=False)
    lf = next(lf for lf in out.labeled_frames if lf.frame_idx == 0)
    assert len(lf.user_instances) == 2 and not SleapProject(out).predicted_instance_ids(0, 0)


def test_moving_a_predicted_point_makes_user_instance(opened, tmp_path):
    viewer, project, controller, _keys = opened
    controller.go_to((0, 8))
    predictions = project_layer(project, "predictions")
    viewer.layers.selection.active = predictions
    predictions.mode = "select"
    row = int(np.flatnonzero(np.rint(predictions.data[:, 0]) == 8)[0])
    pid = int(predictions.features["instance"].iloc[row])
    node = str(predictions.features["node"].iloc[row])
    start = predictions.data[row].copy()
    _drag(predictions, start, start + (0, 6, -4))
    assert pid not in project.predicted_instance_ids(0, 8)
    (user,) = project.labeled_instances(0, 8)
    k = project.node_names.index(node)
    np.testing.assert_allclose(user[k], (start[2] - 4, start[1] + 6), atol=1e-6)
    out = sio.load_slp(str(project.save(tmp_path / "moved.slp")), open_videos=False)
    lf = next(lf for lf in out.labeled_frames if lf.frame_idx == 8)
    (inst,) = lf.user_instances
    assert inst.points["complete"][k]  # the moved node is the user's


def test_deleting_a_prediction_removes_it(opened, tmp_path):
    viewer, project, controller, _keys = opened
    controller.go_to((0, 8))
    predictions = project_layer(project, "predictions")
    pid = project.predicted_instance_ids(0, 8)[0]
    viewer.layers.selection.active = predictions
    predictions.selected_data = set(np.flatnonzero(predictions.features["instance"].to_numpy() == pid).tolist())
    layer_keys = KeymapHandler()
    layer_keys.keymap_providers = [predictions, viewer]
    layer_keys.press_key("Delete")
    assert pid not in project.predicted_instance_ids(0, 8)
    assert len(project.predicted_instance_ids(0, 8)) == 1 and len(project.labeled_instances(0, 8)) == 0
    out = sio.load_slp(str(project.save(tmp_path / "deleted.slp")), open_videos=False)
    lf = next(lf for lf in out.labeled_frames if lf.frame_idx == 8)
    assert len(lf.predicted_instances) == 1


def test_add_mode_clicks_place_next_nodes_of_a_new_instance(opened, tmp_path):
    """Issue 15: one click on an empty frame copied node 'trunk' and the last instance (another frame)."""
    viewer, project, controller, keys = opened
    labels = project_layer(project, "labels")
    viewer.layers.selection.active = labels
    # select a point of an instance on frame 4, as a user does, then go to an empty frame
    labels.mode = "select"
    trunk = int(np.flatnonzero(labels.features["node"].to_numpy() == "trunk")[0])
    other_id = int(labels.features["instance"].iloc[trunk])
    _click(labels, labels.data[trunk])
    assert labels.feature_defaults["node"][0] == "trunk"  # napari copies the selected point's features
    controller.go_to((0, 20))
    labels.mode = "add"
    _click(labels, (20, 100, 100))
    first = labels.features.iloc[-1]
    assert first["node"] == project.node_names[0] and int(first["instance"]) != other_id
    _click(labels, (20, 110, 100))
    second = labels.features.iloc[-1]
    assert second["node"] == project.node_names[1] and second["instance"] == first["instance"]
    current = controller.current_instance()
    assert (current.n_placed, current.partial, current.next_node) == (2, True, project.node_names[2])
    keys.press_key("Alt-V")  # the next node is not visible: skip it
    _click(labels, (20, 120, 100))
    assert labels.features.iloc[-1]["node"] == project.node_names[3]
    (part,) = [p for p in project.partial_instances() if p.frame_index == 20]
    assert part.n_visible == 3 and not part.lone
    # frame 4 was not touched
    assert int((np.rint(labels.data[:, 0]) == 4).sum()) == 16
    out = sio.load_slp(str(project.save(tmp_path / "clicked.slp")), open_videos=False)
    lf = next(lf for lf in out.labeled_frames if lf.frame_idx == 20)
    (inst,) = lf.user_instances
    assert list(np.flatnonzero(inst.points["visible"])) == [0, 1, 3]


def test_add_instance_key_places_template_at_cursor(opened):
    viewer, project, controller, keys = opened
    controller.go_to((0, 20))
    viewer.cursor.position = (20, 150.0, 200.0)
    keys.press_key("Control-I")
    (inst,) = project.labeled_instances(0, 20)
    np.testing.assert_allclose(np.nanmean(inst, axis=0), (200, 150), atol=1e-6)
    assert not np.isnan(inst).any()
    # on a frame with predictions it copies the nearest one
    controller.go_to((0, 8))
    pred = project.predicted_instances(0, 8)[0]
    viewer.cursor.position = (8, *(np.nanmean(pred, axis=0)[::-1] + 30))
    keys.press_key("Control-I")
    (inst,) = project.labeled_instances(0, 8)
    np.testing.assert_allclose(inst - inst.mean(0), pred - pred.mean(0), atol=1e-4)


def test_double_click_in_add_mode_leaves_no_stray_point(opened):
    viewer, project, controller, _keys = opened
    controller.go_to((0, 8))
    labels = project_layer(project, "labels")
    viewer.layers.selection.active = labels
    labels.mode = "add"
    n = len(labels.data)
    pred = project.predicted_instances(0, 8)[0]
    at = (8, pred[3, 1], pred[3, 0])
    _click(labels, at)  # the first click of the double-click adds a point in Add mode
    mouse_double_click_callbacks(viewer, _event("mouse_double_click", at))
    assert len(project.labeled_instances(0, 8)) == 1
    assert len(labels.data) == n + 8  # the accepted instance's points, no stray one


def test_predictions_layer_made_later_is_followed(make_napari_viewer, sample):
    """A run's first predictions arrive as a new layer: dragging them still accepts."""
    viewer = make_napari_viewer()
    viewer.open(str(sample.labels_path), plugin=PLUGIN)
    project = viewer.layers[-1].metadata[PROJECT_KEY]
    controller = LabelingController(viewer, project)
    project.add_predictions(predictions_from_truth(sample.truth_path, [8]))
    refresh_layers(project, viewer.layers)
    controller.rebind()  # what the dock's panel does when a layer is inserted
    predictions = project_layer(project, "predictions")
    controller.go_to((0, 8))
    viewer.layers.selection.active = predictions
    predictions.mode = "select"
    _drag(predictions, predictions.data[0].copy(), predictions.data[0] + (0, 5, 5))
    assert len(project.labeled_instances(0, 8)) == 1
    controller.close()
