"""Whole-video predictions come in off the GUI thread, and the user's edits made meanwhile stay."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pandas as pd
import sleap_io as sio
from napari.utils.colormaps.standardize_color import transform_color
from qtpy.QtCore import QTimer

from napari_sleap_train.io import layer_sync
from napari_sleap_train.io.binding import project_layer, refresh_layers
from napari_sleap_train.io.layers import ROLE_KEY, node_colors
from napari_sleap_train.project.merge_plan import PreparedMerge
from napari_sleap_train.widgets import prediction_loader
from tests.project.test_labeling import predictions_from_truth


def _rows(data: np.ndarray, features: pd.DataFrame) -> list[tuple]:
    """Layer rows as sortable tuples (coordinates rounded, instance id, node)."""
    return sorted(
        (*np.round(row, 3).tolist(), int(i), str(n))
        for row, i, n in zip(np.asarray(data), features["instance"], features["node"])
    )


def _whole_video_file(sample_slp: Path, tmp_path: Path) -> Path:
    """A predictions file of every frame of the 60-frame sample, 1 px off the truth."""
    truth = sample_slp.with_name("sample.truth.slp")
    path = tmp_path / "whole.predictions.slp"
    sio.save_slp(predictions_from_truth(truth, list(range(60)), shift=1.0), str(path), verbose=False)
    return path


def test_whole_video_merge_runs_in_a_worker_and_keeps_edits_made_meanwhile(docked, sample_slp, tmp_path, qtbot):
    viewer, dock = docked
    project = dock.project
    truth = sample_slp.with_name("sample.truth.slp")
    labeled = {f for _, f in project.user_frames()}
    free = [f for f in range(60) if f not in labeled]
    # a first run predicted two frames; the user will accept one of them during the merge
    project.add_predictions(predictions_from_truth(truth, free[:2]))
    refresh_layers(project, viewer.layers)
    # the next run predicts the whole video (1 px off the truth)
    path = _whole_video_file(sample_slp, tmp_path)

    loader = dock.run_panel.loader
    shown, errors, results = [], [], []
    n_before = len(project.predicted_points()[0])
    loader.load(path, project, shown.append, errors.append)
    loader.worker.returned.connect(results.append)
    assert loader.busy and "merging" in dock.run_panel.headline.text()
    assert len(project.predicted_points()[0]) == n_before  # nothing merged on the GUI thread yet

    # meanwhile the user accepts a prediction, moves a labeled point and labels a new frame
    accepted = project.promote_predictions(0, free[0], project.predicted_instance_ids(0, free[0])[:1])
    labels = project_layer(project, "labels")
    data = np.array(labels.data)
    data[0, -2:] += 4.0
    moved = data[0].copy()
    labels.data = data
    new_frame = free[5]
    hand = np.array([[new_frame, 30.0 + k, 40.0 + k] for k in range(3)])
    feats = pd.DataFrame(
        {
            "instance": np.full(3, project.next_instance_id + 1000),
            "node": pd.Categorical(project.node_names[:3], categories=project.node_names),
            "track": [""] * 3,
            "score": np.full(3, np.nan),
            "user": np.ones(3, bool),
        }
    )
    layer_sync.append_rows(labels, hand, feats)

    loader.wait(120)
    qtbot.wait(200)  # the skeleton follows in a later turn of the event loop
    assert errors == [] and len(shown) == 1
    # the worker returned the merge worked out, with the layer's tables
    assert len(results) == 1 and isinstance(results[0], PreparedMerge) and len(results[0].data)

    counts = shown[0].counts
    # every frame got new predictions; the one on the accepted instance is hidden (as SLEAP does)
    assert (counts.n_frames, counts.n_hidden) == (60, 1)
    # the user's edits are all there
    assert any(np.allclose(row, moved) for row in np.asarray(labels.data))
    assert (0, new_frame) in project.user_frames()
    (user,) = [u for u in project._frames[(0, free[0])].user_instances]
    assert user.from_predicted is not None  # the accepted instance took the new prediction as its source
    assert len(project.predicted_instance_ids(0, free[0])) == 1  # the other animal's new prediction
    # the layers show exactly what the project holds
    predictions = project_layer(project, "predictions")
    assert _rows(predictions.data, predictions.features) == _rows(*project.predicted_points())
    skeleton = project_layer(project, "predictions_skeleton")
    want = project.skeleton_vectors(user=False)
    assert sorted(map(tuple, np.round(skeleton.data.reshape(len(skeleton.data), -1), 3))) == sorted(
        map(tuple, np.round(want.reshape(len(want), -1), 3))
    )
    assert accepted and all(i not in predictions.features["instance"].to_numpy() for i in accepted)
    assert "merging" not in dock.run_panel.headline.text()


def test_predictions_layers_go_in_empty_one_per_turn_and_the_users_layer_stays_active(docked, qtbot):
    viewer, dock = docked
    project = dock.project
    assert project_layer(project, "predictions") is None and project_layer(project, "predictions_skeleton") is None
    labels = project_layer(project, "labels")
    viewer.layers.selection.active = labels  # the user is labeling
    seen_between: list = []

    def on_inserted(event) -> None:  # after the first insertion, look again in the next turn of the event loop
        if event.value.metadata.get(ROLE_KEY) == "predictions_skeleton":
            QTimer.singleShot(0, lambda: seen_between.append(project_layer(project, "predictions")))

    viewer.layers.events.inserted.connect(on_inserted)
    done: list = []
    dock.run_panel.loader.prepare(project, then=lambda: done.append(True))
    assert project_layer(project, "predictions_skeleton") is None  # nothing in this turn (the progress bar first)
    qtbot.waitUntil(lambda: bool(done), timeout=20000)
    viewer.layers.events.inserted.disconnect(on_inserted)
    assert seen_between == [None]  # the second layer came in a later turn: napari drew in between
    predictions = project_layer(project, "predictions")
    skeleton = project_layer(project, "predictions_skeleton")
    assert len(predictions.data) == 0 and len(skeleton.data) == 0
    assert list(predictions.features.columns) == ["instance", "node", "track", "score", "user"]
    # below the user's layers, and the labels layer is still the one the controls edit
    assert viewer.layers.index(skeleton) < viewer.layers.index(predictions) < viewer.layers.index(labels)
    assert viewer.layers.selection.active is labels and set(viewer.layers.selection) == {labels}
    # preparing again inserts nothing more
    again: list = []
    dock.run_panel.loader.prepare(project, then=lambda: again.append(True))
    assert again == [True] and [la.name for la in viewer.layers].count(predictions.name) == 1


def test_whole_video_merge_fills_the_prepared_layers_and_shows_the_current_frame(
    make_napari_viewer, sample_slp, tmp_path, qtbot, monkeypatch
):
    viewer = make_napari_viewer(show=True)  # a real canvas, to look at what it draws
    viewer.open(str(sample_slp), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    project = dock.project
    truth = sample_slp.with_name("sample.truth.slp")
    path = _whole_video_file(sample_slp, tmp_path)
    loader = dock.run_panel.loader
    done: list = []
    loader.prepare(project, then=lambda: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=20000)
    predictions, skeleton = project_layer(project, "predictions"), project_layer(project, "predictions_skeleton")
    labels = project_layer(project, "labels")
    viewer.layers.selection.active = labels
    labeled = {f for _, f in project.user_frames()}
    frame = next(f for f in range(7, 60) if f not in labeled)  # no user label drawn there
    viewer.dims.set_current_step(0, frame)
    # look closely at where the first animal's first node will be predicted on this frame
    first = predictions_from_truth(truth, [frame], shift=1.0).labeled_frames[0].instances[0].numpy()[0]
    viewer.camera.center = (float(first[1]), float(first[0]))
    viewer.camera.zoom = 4.0
    qtbot.wait(100)
    before = viewer.screenshot(canvas_only=True, flash=False)
    names = [la.name for la in viewer.layers]

    # reading and merging run in the helper process, waited for off the GUI thread
    threads: list[bool] = []
    real_merge = loader.service.merge

    def merge_spy(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(loader.service, "merge", merge_spy)
    shown, errors = [], []
    loader.load(path, project, shown.append, errors.append)
    loader.wait(120)
    qtbot.wait(200)  # the skeleton follows in a later turn of the event loop
    assert errors == [] and len(shown) == 1
    assert threads == [False]
    assert loader.service.last_pid not in (None, os.getpid())

    # the same layers, filled: every frame's predictions, exactly what the project holds
    assert [la.name for la in viewer.layers] == names
    assert (
        project_layer(project, "predictions") is predictions
        and project_layer(project, "predictions_skeleton") is skeleton
    )
    assert shown[0].layers == [skeleton, predictions]
    assert _rows(predictions.data, predictions.features) == _rows(*project.predicted_points())
    assert sorted(set(predictions.data[:, 0].astype(int))) == list(range(60))
    want = project.skeleton_vectors(user=False)
    assert sorted(map(tuple, np.round(skeleton.data.reshape(len(skeleton.data), -1), 3))) == sorted(
        map(tuple, np.round(want.reshape(len(want), -1), 3))
    )
    # each point has its node's colour (napari's direct colours, set with the rows)
    colors = node_colors(project.node_names)
    nodes = predictions.features["node"].astype(str).to_numpy()
    for node in set(nodes):
        assert np.allclose(predictions.face_color[nodes == node], transform_color(colors[node])[0])
    # the user's layer is still the active one, and the viewer stayed on the frame
    assert viewer.layers.selection.active is labels and set(viewer.layers.selection) == {labels}
    assert viewer.dims.current_step[0] == frame
    # the canvas shows the new prediction at the centre, in its node's colour (the layer drew the current frame)
    after = viewer.screenshot(canvas_only=True, flash=False)
    if os.environ.get("NAPARI_SLEAP_TRAIN_SHOTS"):  # to look at them
        iio.imwrite(Path(os.environ["NAPARI_SLEAP_TRAIN_SHOTS"]) / "merge_after.png", after)
    h, w = (n // 2 for n in after.shape[:2])
    centre = lambda img: img[h - 2 : h + 3, w - 2 : w + 3, :3].reshape(-1, 3).astype(float).mean(axis=0)  # noqa: E731
    node_rgb = transform_color(colors[project.node_names[0]])[0][:3] * 255
    assert np.abs(centre(after) - centre(before)).max() > 40  # something was drawn there
    assert np.linalg.norm(centre(after) - node_rgb) < np.linalg.norm(centre(before) - node_rgb)
    predictions.visible = skeleton.visible = False
    qtbot.wait(50)
    assert np.abs(centre(viewer.screenshot(canvas_only=True, flash=False)) - centre(before)).max() < 10
    dock.cleanup()


def test_a_run_without_predictions_takes_out_the_empty_prepared_layers(docked, qtbot):
    viewer, dock = docked
    project = dock.project
    loader = dock.run_panel.loader
    done: list = []
    loader.prepare(project, then=lambda: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=20000)
    assert project_layer(project, "predictions") is not None
    loader.release()  # what the dock does when a run ends and no predictions came
    assert [la for la in viewer.layers if la.metadata.get(ROLE_KEY, "").startswith("predictions")] == []


def test_a_slow_load_shows_a_progress_bar_and_a_quick_one_none(docked, sample_slp, tmp_path, qtbot, monkeypatch):
    viewer, dock = docked
    project = dock.project
    path = _whole_video_file(sample_slp, tmp_path)
    loader = dock.run_panel.loader
    # a quick load is over before PROGRESS_AFTER_MS: no bar (making one stalls napari's window)
    bars: list = []
    loader.load(path, project, lambda _: None, bars.append)
    qtbot.waitUntil(lambda: loader.worker is not None and loader.worker.is_running, timeout=20000)
    loader.wait(120)
    qtbot.wait(prediction_loader.PROGRESS_AFTER_MS + 200)
    assert loader.progress_bar is None and not bars
    # a slow read (held until the bar is seen) gets the activity dock's bar, closed when it is done
    release = threading.Event()
    merge = loader.service.merge

    def slow_merge(*args):
        release.wait(30)
        return merge(*args)

    monkeypatch.setattr(loader.service, "merge", slow_merge)
    shown: list = []
    loader.load(path, project, shown.append, bars.append)
    qtbot.waitUntil(lambda: loader.progress_bar is not None, timeout=20000)
    bar = loader.progress_bar
    assert "Reading and merging predictions" in bar.desc and bar.total == 0  # napari's busy bar
    release.set()
    loader.wait(120)
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    assert loader.progress_bar is None and not bars


def test_a_long_whole_video_prediction_fills_a_window_that_follows_the_frame(make_napari_viewer, tmp_path, qtbot):
    from napari_sleap_train.io.prediction_window import WINDOW_POINTS
    from napari_sleap_train.sample.project import write_sample_project

    sample = write_sample_project(tmp_path / "long", seed=0, n_frames=300, n_labeled=6)
    path = tmp_path / "long.predictions.slp"
    sio.save_slp(predictions_from_truth(sample.truth_path, list(range(300))), str(path), verbose=False)
    viewer = make_napari_viewer()
    viewer.open(str(sample.labels_path), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    project = dock.project
    shown, errors = [], []
    dock.run_panel.loader.load(path, project, shown.append, errors.append)
    qtbot.waitUntil(lambda: bool(shown or errors), timeout=60000)
    assert errors == []
    predictions, skeleton = project_layer(project, "predictions"), project_layer(project, "predictions_skeleton")
    every = project.predicted_points()[0]
    assert len(every) > WINDOW_POINTS >= len(predictions.data) > 0
    here = int(viewer.dims.current_step[0])

    def frames(data):
        data = np.asarray(data)
        return set(np.rint(data[:, 0, 0] if data.ndim == 3 else data[:, 0]).astype(int).tolist())

    assert here in frames(predictions.data) and frames(skeleton.data) == frames(predictions.data)
    # the user goes to the last frame: its predictions and their skeleton are there
    viewer.dims.set_current_step(0, 299)
    on_last = np.rint(predictions.data[:, 0]) == 299
    assert set(predictions.features["instance"][on_last]) == set(project.predicted_instance_ids(0, 299))
    assert 299 in frames(skeleton.data) and frames(skeleton.data) == frames(predictions.data)
