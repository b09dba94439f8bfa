"""Whole-video predictions come in off the GUI thread, and the user's edits made meanwhile stay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sleap_io as sio

from napari_sleap_train.io import layer_sync
from napari_sleap_train.io.binding import project_layer, refresh_layers
from napari_sleap_train.project.merge_plan import PreparedMerge
from tests.project.test_labeling import predictions_from_truth


def _rows(data: np.ndarray, features: pd.DataFrame) -> list[tuple]:
    """Layer rows as sortable tuples (coordinates rounded, instance id, node)."""
    return sorted(
        (*np.round(row, 3).tolist(), int(i), str(n))
        for row, i, n in zip(np.asarray(data), features["instance"], features["node"])
    )


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
    path = tmp_path / "whole.predictions.slp"
    sio.save_slp(predictions_from_truth(truth, list(range(60)), shift=1.0), str(path), verbose=False)

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
    qtbot.wait(50)  # the skeleton follows in the next turn of the event loop
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


def test_predictions_layers_come_in_one_per_turn_and_the_users_layer_stays_active(docked, sample_slp, tmp_path, qtbot):
    viewer, dock = docked
    project = dock.project
    truth = sample_slp.with_name("sample.truth.slp")
    path = tmp_path / "whole.predictions.slp"
    sio.save_slp(predictions_from_truth(truth, list(range(60)), shift=1.0), str(path), verbose=False)
    assert project_layer(project, "predictions") is None and project_layer(project, "predictions_skeleton") is None
    labels = project_layer(project, "labels")
    viewer.layers.selection.active = labels  # the user is labeling

    loader = dock.run_panel.loader
    shown, errors = [], []
    loader.load(path, project, shown.append, errors.append)
    # the first layer is in, the second waits for a later turn of the event loop (napari draws between)
    assert project_layer(project, "predictions_skeleton") is not None
    assert project_layer(project, "predictions") is None
    assert viewer.layers.selection.active is labels and set(viewer.layers.selection) == {labels}

    loader.wait(120)
    qtbot.wait(50)
    assert errors == [] and len(shown) == 1
    predictions = project_layer(project, "predictions")
    assert predictions is not None and len(predictions.data) == len(project.predicted_points()[0]) > 0
    assert len(project_layer(project, "predictions_skeleton").data) > 0
    # below the user's layers, and the labels layer is still the one the controls edit
    assert viewer.layers.index(predictions) < viewer.layers.index(labels)
    assert viewer.layers.selection.active is labels and set(viewer.layers.selection) == {labels}
