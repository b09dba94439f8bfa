"""A tiny bottom-up run from the dock through the REAL engine child (TensorFlow only in the child).

The user's path: open a project, pick *Bottom-up*, set a tiny network in the
tabs, press Run; the loss plot fills, the run folder appears in the profile
picker and the predictions come back as layers. Slow: TensorFlow's start-up
and tracing take tens of seconds on two CPU cores.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from qtpy.QtCore import Qt

from napari_sleap_train.config.model import ModelKind, PipelineKind, PredictOn
from napari_sleap_train.session.run_state import RunStatus
from tests.runner.tiny_project import make_tiny_project

pytestmark = pytest.mark.slow

MULTI = ModelKind.MULTI_INSTANCE
RUN_TIMEOUT_MS = 600_000  # generous: the machine may be busy; this is not a benchmark


def _set_tiny_bottom_up(dock, runs: Path, epochs: int) -> None:
    """A network small enough for seconds of CPU, set through the widgets."""
    pipe = dock.pipeline_tab
    pipe.kind.value = PipelineKind.BOTTOM_UP
    pipe.device.value = "cpu"
    pipe.predict_on.value = PredictOn.USER_LABELED_FRAMES
    pipe.max_instances.value = 2
    dock.session.pipeline.runs_folder = str(runs)
    tab = dock.model_tabs[MULTI]
    tab.input_scaling.value = 1.0
    tab.validation.value = 0.2
    tab.max_stride.value = 8
    tab.output_stride.value = 2
    tab.filters.value = 8
    tab.filters_rate.value = 1.5
    tab.batch_size.value = 4
    tab.epochs.value = epochs
    tab.patience.value = epochs
    tab.learning_rate.value = 3e-3
    tab.augmentation.rotate.value = False
    heads = tab.heads
    heads.sigma.value = 2.0
    heads.edge_sigma.value = 10.0
    heads.paf_stride.value = 4


def test_tiny_bottom_up_run_from_the_dock_trains_and_predicts(make_napari_viewer, qtbot, tmp_path, notes):
    slp = make_tiny_project(tmp_path / "tiny", n_frames=16, edge=("head", "tail"))
    viewer = make_napari_viewer()
    viewer.open(str(slp), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    _set_tiny_bottom_up(dock, tmp_path / "runs", epochs=40)
    panel = dock.run_panel
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.state.status.is_final and not panel.busy, timeout=RUN_TIMEOUT_MS)
    assert panel.controller.wait(60)
    state = panel.state
    assert state.status is RunStatus.FINISHED, state.last_error
    history = state.histories["multi_instance"]
    assert history.n_epochs >= 2 and history.best_epoch is not None
    (run,) = [Path(d) for d in state.run_dirs]
    assert run.name.endswith(".multi_instance") and (run / "best_model.keras").is_file()
    assert f"run:{run}" in dock.model_tabs[MULTI].profile.choices  # the new run is a profile to pick
    # the predictions of the labeled frames come back as layers
    assert state.predictions is not None and state.predictions.n_instances > 0, [m for _, m in notes]
    layer = viewer.layers[f"{dock.project.name} predictions"]
    assert len(layer.data) > 0 and set(layer.features["node"]) <= {"head", "tail"}
    assert any(msg.startswith("Predictions added") for _, msg in notes)
    assert "tensorflow" not in sys.modules
    dock.cleanup()


def test_predict_with_sleap_bottom_up_model_from_the_dock(make_napari_viewer, qtbot, shared_data, tmp_path):
    """SLEAP 1.4's bottom-up model folder, picked with "Folder..." and used as it is: Predict adds a layer."""
    import shutil

    from napari_sleap_train.session.reuse import Reuse

    folder = tmp_path / "minimal"
    shutil.copytree(shared_data / "minimal", folder)
    viewer = make_napari_viewer()
    viewer.open(str(folder / "minimal_instance.slp"), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    dock.pipeline_tab.kind.value = PipelineKind.BOTTOM_UP
    dock.pipeline_tab.device.value = "cpu"
    dock.pipeline_tab.predict_on.value = PredictOn.USER_LABELED_FRAMES
    controls = dock.model_tabs[MULTI].reuse
    controls.add_folder(shared_data / "models" / "minimal_instance.UNet.bottomup")
    controls.how.value = Reuse.USE
    assert controls.info.value.startswith("Not trained"), controls.info.value
    panel = dock.run_panel
    qtbot.mouseClick(panel.predict_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.state.status.is_final and not panel.busy, timeout=RUN_TIMEOUT_MS)
    assert panel.controller.wait(60)
    assert panel.state.status is RunStatus.FINISHED, panel.state.last_error
    assert not panel.state.histories and panel.state.run_dirs == []
    layer = viewer.layers[f"{dock.project.name} predictions"]
    assert len(layer.data) >= 4  # both animals of the labeled frame, two parts each
    assert set(layer.features["node"]) == {"A", "B"}
    dock.cleanup()
