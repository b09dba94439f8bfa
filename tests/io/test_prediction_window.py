"""A whole-video prediction: the predictions layer holds the frames around the current one.

Driven as a user drives the viewer (frame steps, double-click, Delete); the project keeps
every prediction, saves them all, and what was accepted or deleted never comes back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sleap_io as sio
from napari.utils.interactions import mouse_double_click_callbacks
from napari.utils.key_bindings import KeymapHandler

from napari_sleap_train.io.binding import binding_of, project_layer, refresh_layers
from napari_sleap_train.io.labeling import LabelingController
from napari_sleap_train.io.layers import PROJECT_KEY
from napari_sleap_train.io.prediction_window import WINDOW_POINTS, PredictionWindow
from napari_sleap_train.sample.project import write_sample_project
from tests.io.test_labeling import PLUGIN, _event
from tests.project.test_labeling import predictions_from_truth

N_FRAMES = 300  # 2 animals x 8 nodes: 4,800 rows, more than a window


def _window(frames_rows: list[tuple[int, int]]) -> PredictionWindow:
    """A window over rows of (frame, instance) in the given order, 2 rows (nodes) each."""
    data = np.array([[f, 10.0 + k, 20.0] for f, _ in frames_rows for k in range(2)])
    ids = [i for _, i in frames_rows for _ in range(2)]
    features = pd.DataFrame({"instance": ids, "node": ["a", "b"] * len(frames_rows)})
    colors = np.tile(np.arange(len(data), dtype=float)[:, None], (1, 4))
    return PredictionWindow.of(data, features, colors, multi_video=False)


def test_window_rows_are_whole_frames_around_the_frame_and_move_near_the_edges():
    n = WINDOW_POINTS  # frames of 2 rows: twice as many rows as a window holds
    w = _window([(f, f) for f in reversed(range(n))])  # any order: sorted by frame
    assert np.all(np.diff(w.codes) >= 0) and w.features["instance"].tolist()[:4] == [0, 0, 1, 1]
    np.testing.assert_array_equal(w.colors[:, 0], w.features.index.map(lambda r: 2 * n - 2 - 2 * (r // 2) + r % 2))
    lo, hi = w.rows_around(n // 2)
    assert hi - lo <= WINDOW_POINTS and lo % 2 == 0 and hi % 2 == 0  # whole frames
    assert w.codes[lo] <= n // 2 <= w.codes[hi - 1]
    assert w.rows_around(0)[0] == 0 and w.rows_around(10 * n)[1] == 2 * n  # clipped at the ends
    w.span = (lo, hi)
    first, last = int(w.codes[lo]), int(w.codes[hi - 1])
    assert not w.needs_move(n // 2)  # the middle: no refill
    assert w.needs_move(first + 1) and w.needs_move(last) and w.needs_move(last + 100)
    w.span = w.rows_around(0)
    assert not w.needs_move(0)  # at the start it cannot move further back
    # dropping instances keeps the shown frames and forgets the rows
    w.span = (lo, hi)
    gone = {int(w.features["instance"].iloc[lo]), n - 1}
    assert w.drop_instances(gone) == 4
    assert len(w) == 2 * n - 4 and not set(w.features["instance"]) & gone
    assert w.codes[w.span[0]] == first + 1 and w.codes[w.span[1] - 1] == last


@pytest.fixture(scope="module")
def long_sample(tmp_path_factory):
    return write_sample_project(tmp_path_factory.mktemp("long"), seed=0, n_frames=N_FRAMES, n_labeled=6)


@pytest.fixture
def windowed(make_napari_viewer, long_sample):
    """(viewer, project, controller, free frames) with predictions on every frame."""
    viewer = make_napari_viewer()
    viewer.open(str(long_sample.labels_path), plugin=PLUGIN)
    project = viewer.layers[-1].metadata[PROJECT_KEY]
    controller = LabelingController(viewer, project)  # follows the viewer's frame (the dock makes one)
    project.add_predictions(predictions_from_truth(long_sample.truth_path, list(range(N_FRAMES))))
    refresh_layers(project, viewer.layers)
    controller.rebind()  # the dock's panel does this when layers come in
    labeled = {f for _, f in project.user_frames()}
    yield viewer, project, controller, [f for f in range(N_FRAMES) if f not in labeled]
    controller.close()


def _frames(layer) -> set[int]:
    """Frames of a Points layer's rows (or a Vectors layer's edges)."""
    data = np.asarray(layer.data)
    lead = data[:, 0, 0] if data.ndim == 3 else data[:, 0]
    return set(np.rint(lead).astype(int).tolist())


def _ids_on(layer, frame: int) -> set[int]:
    rows = np.rint(np.asarray(layer.data)[:, 0]).astype(int) == frame
    return set(layer.features["instance"].to_numpy()[rows].tolist())


def test_predictions_layer_holds_the_frames_around_the_current_one(windowed):
    viewer, project, controller, free = windowed
    predictions = project_layer(project, "predictions")
    skeleton = project_layer(project, "predictions_skeleton")
    every = len(project.predicted_points()[0])
    assert every > WINDOW_POINTS >= len(predictions.data) > 0
    here = controller.position()[1]
    shown = _frames(predictions)
    assert here in shown and shown == set(range(min(shown), max(shown) + 1))  # whole frames, in a row
    assert _frames(skeleton) == shown  # the skeleton of the same frames
    far = free[-1]
    assert far not in shown
    viewer.dims.set_current_step(0, far)  # the user goes to the end of the video
    assert _ids_on(predictions, far) == set(project.predicted_instance_ids(0, far))
    assert far in _frames(skeleton) and len(predictions.data) <= WINDOW_POINTS
    # one frame step inside the window refills nothing
    before = np.asarray(predictions.data).copy()
    viewer.dims.set_current_step(0, far - 1)
    np.testing.assert_array_equal(predictions.data, before)


def test_accepted_and_deleted_predictions_stay_gone_when_the_window_moves(windowed, tmp_path):
    viewer, project, controller, free = windowed
    predictions = project_layer(project, "predictions")
    first = free[-1]
    controller.go_to((0, first))
    # double-click a prediction: a user instance
    node = project.predicted_instances(0, first)[0][0]
    accepted = set(project.predicted_instance_ids(0, first))
    mouse_double_click_callbacks(viewer, _event("mouse_double_click", (first, node[1] + 1, node[0] - 1)))
    accepted -= set(project.predicted_instance_ids(0, first))
    assert len(accepted) == 1 and len(project.labeled_instances(0, first)) == 1
    # Delete every point of a prediction on another frame: it is removed
    second = free[-2]
    controller.go_to((0, second))
    pid = project.predicted_instance_ids(0, second)[0]
    viewer.layers.selection.active = predictions
    predictions.selected_data = set(np.flatnonzero(predictions.features["instance"].to_numpy() == pid).tolist())
    keys = KeymapHandler()
    keys.keymap_providers = [predictions, viewer]
    keys.press_key("Delete")
    assert pid not in project.predicted_instance_ids(0, second)
    # away to the start of the video and back: neither comes back in the layer
    controller.go_to((0, free[0]))
    assert first not in _frames(predictions)
    controller.go_to((0, first))
    shown = set(predictions.features["instance"].to_numpy().tolist())
    assert not (accepted | {pid}) & shown
    assert _ids_on(predictions, second) == set(project.predicted_instance_ids(0, second))
    # saving writes every prediction the project keeps, not only the window's
    out = sio.load_slp(str(project.save(tmp_path / "windowed.slp")), open_videos=False)
    n_saved = sum(len(lf.predicted_instances) for lf in out.labeled_frames)
    assert n_saved == len(project._shown_predictions()) + len(accepted)  # the accepted one stays as its source
    # the labeling controller closes (the dock closes): the layer holds every prediction again
    controller.close()
    assert binding_of(project).window is None
    assert len(predictions.data) == len(project.predicted_points()[0])
