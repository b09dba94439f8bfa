"""The dock's Labeling panel in a real viewer: buttons, review list, project line, lone-point warning."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_sleap_train.io.binding import project_layer, refresh_layers
from tests.project.test_labeling import predictions_from_truth


@pytest.fixture
def with_predictions(docked, sample_slp):
    """The docked sample (60 frames, 20 labeled) with predictions on two unlabeled frames."""
    viewer, dock = docked
    project = dock.project
    labeled = {f for _, f in project.user_frames()}
    free = [f for f in range(60) if f not in labeled][:2]
    truth = sample_slp.with_name("sample.truth.slp")
    project.add_predictions(predictions_from_truth(truth, free, scores=[0.7, 0.2]))
    refresh_layers(project, viewer.layers)
    dock.labeling.refresh()
    return viewer, dock, free


def _click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_buttons_navigate_and_accept(with_predictions, qtbot):
    viewer, dock, (f_hi, f_lo) = with_predictions
    panel, project = dock.labeling, dock.project
    # the predictions layer a run adds later is followed (drags and deletes there accept/remove)
    assert panel.controller._predictions is project_layer(project, "predictions")
    first = project.user_frames()[0][1]
    assert viewer.dims.current_step[0] == first
    _click(qtbot, panel.buttons["next_labeled"])
    assert viewer.dims.current_step[0] == project.user_frames()[1][1]
    _click(qtbot, panel.buttons["previous_labeled"])
    assert viewer.dims.current_step[0] == first
    # the review list: worst first; a click goes there
    qtbot.waitUntil(lambda: panel.review.count() == 2)  # the list is refilled in the next turn of the event loop
    assert panel.review.item(0).text().startswith(f"frame {f_lo}:")
    panel.review.itemClicked.emit(panel.review.item(1))
    assert viewer.dims.current_step[0] == f_hi
    _click(qtbot, panel.buttons["next_worst"])
    assert viewer.dims.current_step[0] == f_lo
    _click(qtbot, panel.buttons["accept_frame"])
    assert project.predicted_instance_ids(0, f_lo) == []
    qtbot.waitUntil(lambda: panel.review.count() == 1)
    assert "2 user instance(s), 0 prediction(s)" in panel.status.text()


def test_project_line_follows_edits(with_predictions, qtbot):
    viewer, dock, (f_hi, _) = with_predictions
    n = len(dock.project.user_frames())
    assert f"{n} labeled frames" in dock.hint.text()
    viewer.dims.set_current_step(0, f_hi)
    viewer.cursor.position = (f_hi, 10.0, 10.0)  # far from the predictions: the selected/nearest one is taken
    _click(qtbot, dock.labeling.buttons["accept"])
    assert f"{n + 1} labeled frames" in dock.hint.text()


def test_add_instance_button_and_lone_point_warning(with_predictions, qtbot, notes):
    viewer, dock, _ = with_predictions
    panel, project = dock.labeling, dock.project
    empty = next(
        f for f in range(60) if (0, f) not in project.user_frames() and not project.predicted_instance_ids(0, f)
    )
    viewer.dims.set_current_step(0, empty)
    _click(qtbot, panel.buttons["add_instance"])
    (inst,) = project.labeled_instances(0, empty)
    np.testing.assert_allclose(np.nanmean(inst, axis=0), panel.controller.view_centre_xy(), atol=1e-6)
    assert "8 of 8 nodes (complete)" in panel.status.text()
    # one Add-mode point alone on another empty frame: warned about in the panel and before a run
    other = next(f for f in range(empty + 1, 60) if (0, f) not in project.user_frames())
    viewer.dims.set_current_step(0, other)
    labels = project_layer(project, "labels")
    viewer.layers.selection.active = labels
    labels.mode = "add"
    labels.add(np.array([other, 50.0, 50.0]))
    assert "1 of 8 nodes (<b>partial</b>)" in panel.status.text()
    assert panel.warning.isVisibleTo(panel) and f"frame {other}" in panel.warning.text()
    dock.build_job()
    assert any("single point" in message for _, message in notes)


def test_review_order_new_poses_first(docked, sample_slp, qtbot):
    viewer, dock = docked
    panel, project = dock.labeling, dock.project
    labeled = {f for _, f in project.user_frames()}
    f_new, f_low = [f for f in range(60) if f not in labeled][:2]
    preds = predictions_from_truth(sample_slp.with_name("sample.truth.slp"), [f_new, f_low], scores=[0.7, 0.2])
    preds.labeled_frames[0].instances[0].points["xy"][2] += 50.0  # a pose no label shows, on the better-scored frame
    project.add_predictions(preds)
    refresh_layers(project, viewer.layers)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.review.count() == 2)
    assert panel.review.item(0).text().startswith(f"frame {f_low}:")  # lowest score first
    panel.review_order.setCurrentIndex(panel.review_order.findText("new poses first"))
    qtbot.waitUntil(lambda: panel.review.item(0).text().startswith(f"frame {f_new}:"))
    assert "new pose" in panel.review.item(0).text() and panel.review.count() == 2
    viewer.dims.set_current_step(0, 0)
    _click(qtbot, panel.buttons["next_worst"])  # Review ▶ follows the order too
    assert viewer.dims.current_step[0] == f_new
    _click(qtbot, panel.buttons["next_worst"])
    assert viewer.dims.current_step[0] == f_low
