"""RunPanel driving the REAL engine child (TensorFlow runs only in the child).

Tiny projects and tiny U-Nets, but each run still pays TensorFlow's start-up
and first-batch tracing (tens of seconds on 2 CPU cores), hence ``slow``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import psutil
import pytest
from napari.layers import Layer
from qtpy.QtCore import Qt

from napari_sleap_train.config.model import PipelineKind
from napari_sleap_train.io.layers import project_layer_data
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.session.run_state import RunStatus
from napari_sleap_train.widgets.run_panel import RunPanel
from tests.runner.tiny_project import make_tiny_project, tiny_job
from tests.widgets.fake_engine import assert_reaped

pytestmark = pytest.mark.slow

RUN_TIMEOUT_MS = 400_000  # generous: the machine may be busy; this is not a benchmark


@pytest.fixture(scope="module")
def tiny_slp(tmp_path_factory) -> Path:
    return make_tiny_project(tmp_path_factory.mktemp("tiny"))


def open_project(viewer, path: Path) -> SleapProject:
    project = SleapProject.load(path)
    for data, kwargs, kind in project_layer_data(project):
        viewer.add_layer(Layer.create(data, kwargs, kind))
    return project


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_done(qtbot, panel: RunPanel) -> None:
    qtbot.waitUntil(lambda: panel.state.status.is_final and not panel.controller.is_running, timeout=RUN_TIMEOUT_MS)
    assert panel.controller.wait(60)


def test_real_top_down_run_fills_plot_and_predicts(
    qtbot, make_napari_viewer, tiny_slp: Path, tmp_path: Path, notes
) -> None:
    viewer = make_napari_viewer()
    project = open_project(viewer, tiny_slp)
    job = tiny_job(tiny_slp, tmp_path / "runs", epochs=2, batches=3)
    job.predict_frames = [(0, 0), (0, 1), (0, 2)]
    job.predictions_path = str(tmp_path / "tiny.predictions.slp")
    panel = RunPanel(viewer, build_job=lambda: job)
    viewer.window.add_dock_widget(panel, name="Run")
    assert "tensorflow" not in sys.modules
    click(qtbot, panel.run_button)
    wait_done(qtbot, panel)
    state = panel.state
    assert state.status is RunStatus.FINISHED, state.last_error
    assert "CPU" in state.hardware
    for model in ("centroid", "centered_instance"):
        history = state.histories[model]
        assert len(history.batch_x) == 6 and history.n_epochs == 2
        assert history.best_epoch is not None
    panel.plot.show_model("centroid")
    panel.plot.refresh()
    assert panel.plot.batch_points()[0].size == 6
    assert panel.plot.epoch_lines()["val"][0].size == 1  # from the second epoch on
    assert panel.plot.best_line.isVisible()
    assert len(state.run_dirs) == 2 and all(Path(d, "best_model.keras").exists() for d in state.run_dirs)
    assert panel.folder_row.isVisibleTo(panel)
    assert state.predictions is not None and state.predictions.path
    # whether the 2-epoch models find animals or not, the user hears about it
    if state.predictions.n_instances:
        assert f"{project.name} predictions" in viewer.layers
        assert any(msg.startswith("Predictions added") for _, msg in notes)
    else:
        assert any(msg.startswith("No predictions: ") for _, msg in notes)
    assert panel.run_button.isEnabled()
    assert "tensorflow" not in sys.modules


def test_real_run_stop_keeps_best_model(qtbot, make_napari_viewer, tiny_slp: Path, tmp_path: Path) -> None:
    viewer = make_napari_viewer()
    job = tiny_job(tiny_slp, tmp_path / "runs", kind=PipelineKind.SINGLE_INSTANCE, epochs=50, batches=3)
    panel = RunPanel(viewer, build_job=lambda: job)
    viewer.window.add_dock_widget(panel, name="Run")
    click(qtbot, panel.run_button)
    qtbot.waitUntil(
        lambda: panel.state.history is not None and panel.state.history.n_epochs >= 1, timeout=RUN_TIMEOUT_MS
    )
    click(qtbot, panel.stop_button)
    wait_done(qtbot, panel)
    state = panel.state
    assert state.status is RunStatus.STOPPED, state.last_error
    assert state.finish_reasons == {"single_instance": "stopped"}
    assert state.history.n_epochs < 50
    assert len(state.run_dirs) == 1 and Path(state.run_dirs[0], "best_model.keras").exists()
    assert panel.headline.text().startswith("Stopped early")


def test_real_run_cancel_removes_run_folder(qtbot, make_napari_viewer, tiny_slp: Path, tmp_path: Path) -> None:
    viewer = make_napari_viewer()
    job = tiny_job(tiny_slp, tmp_path / "runs", kind=PipelineKind.SINGLE_INSTANCE, epochs=50, batches=3)
    panel = RunPanel(viewer, build_job=lambda: job)
    viewer.window.add_dock_widget(panel, name="Run")
    click(qtbot, panel.run_button)
    qtbot.waitUntil(
        lambda: panel.state.history is not None and len(panel.state.history.batch_x) >= 1, timeout=RUN_TIMEOUT_MS
    )
    run_dir = Path(panel.state.run_dirs[0])
    assert run_dir.exists()
    pid = panel.controller.process.pid
    click(qtbot, panel.cancel_button)
    wait_done(qtbot, panel)
    assert panel.state.status is RunStatus.CANCELLED
    assert not run_dir.exists()
    assert panel.state.run_dirs == []
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    assert_reaped(pid)


def test_closing_napari_mid_run_keeps_the_trained_models(
    qtbot, make_napari_viewer, tiny_slp: Path, tmp_path: Path
) -> None:
    """The real engine: closing napari while the second model trains asks, then stops and keeps both."""
    from napari_sleap_train.config.model import ModelKind
    from napari_sleap_train.config.profiles import list_trained_runs
    from napari_sleap_train.widgets.run_close import CloseChoice

    viewer = make_napari_viewer(show=True)
    open_project(viewer, tiny_slp)
    job = tiny_job(tiny_slp, tmp_path / "runs", epochs=2, batches=2)
    job.pipeline.models[ModelKind.CENTERED_INSTANCE].optimization.epochs = 1000
    panel = RunPanel(viewer, build_job=lambda: job)
    viewer.window.add_dock_widget(panel, name="Run")
    asked = []
    panel.ask_close = lambda parent, what: asked.append(what) or CloseChoice.KEEP
    click(qtbot, panel.run_button)
    qtbot.waitUntil(
        lambda: (
            panel.state.histories.get("centered_instance") is not None
            and panel.state.histories["centered_instance"].n_epochs >= 1
        ),
        timeout=RUN_TIMEOUT_MS,
    )
    process = panel.controller.process
    viewer.close()
    assert asked == ["napari"]
    try:  # the child finishes its batch, saves and exits by itself
        psutil.Process(process.pid).wait(timeout=120)
    except psutil.NoSuchProcess:
        pass
    runs = list_trained_runs(tmp_path / "runs")
    assert sorted(p.name.rsplit(".", 1)[-1] for p in runs) == ["centered_instance", "centroid"]
    for run in runs:
        assert (run / "training_config.json").is_file() and (run / "best_model.keras").is_file()
