"""RunPanel in a napari viewer, driven by the fake engine through the real EngineProcess."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import sleap_io as sio
from napari.layers import Layer
from qtpy.QtCore import Qt, QTimer

from napari_sleap_train.io.layers import PROJECT_KEY, ROLE_KEY, project_layer_data
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.session.run_state import RunStatus, TrainingState
from napari_sleap_train.widgets.run_close import CloseChoice
from napari_sleap_train.widgets.run_panel import RunPanel, format_metrics, headline
from tests.widgets.fake_engine import FakeEngine, assert_reaped, make_job

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def fake_engine(tmp_path: Path) -> FakeEngine:
    return FakeEngine(tmp_path)


@pytest.fixture
def panel(make_napari_viewer, qtbot, fake_engine: FakeEngine, tmp_path: Path):
    viewer = make_napari_viewer()
    widget = RunPanel(viewer, build_job=lambda: make_job(tmp_path), process_factory=fake_engine)
    viewer.window.add_dock_widget(widget, name="Run", area="right")
    yield widget
    widget.shutdown()


def wait_done(qtbot, panel: RunPanel, timeout: int = 20000) -> None:
    qtbot.waitUntil(lambda: panel.state.status.is_final and not panel.busy, timeout=timeout)
    assert panel.controller.wait(10)


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_fake_run_shows_status_plot_and_run_folder(
    qtbot, panel: RunPanel, fake_engine: FakeEngine, tmp_path: Path, notes
) -> None:
    fake_engine.options = {
        "epochs": 4,
        "batches": 5,
        "metrics": {"oks_map": 0.734, "pixel_error": {"mean": 1.5, "p90": 3.21}},
    }
    assert panel.run_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.headline.text().startswith("Ready")
    # status, progress and plot redraw on one clock: one window repaint per tick
    assert panel.plot.timer is panel.timer
    click(qtbot, panel.run_button)
    assert not panel.run_button.isEnabled()
    assert panel.cancel_button.isEnabled()
    wait_done(qtbot, panel)
    assert panel.state.status is RunStatus.FINISHED
    assert panel.run_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.headline.text().startswith("Finished in")
    # the plot shows the last model; the first one is one combo entry away
    panel.plot.refresh()
    x, _ = panel.plot.batch_points()
    assert x.size == 20
    assert panel.plot.epoch_lines()["val"][0].size == 4  # every epoch, the first included
    assert panel.plot.best_line.value() == pytest.approx(2.0)
    assert "Training on CPU (2 cores)" in panel.plot.status_label.text()
    # run folder: both model folders share the runs folder
    assert panel.folder_row.isVisibleTo(panel)
    assert str(tmp_path / "models") in panel.folder_label.text()
    panel.copy_run_folder()
    from qtpy.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == str(tmp_path / "models")
    assert panel.metrics_label.isVisibleTo(panel)
    assert panel.metrics_label.text() == "Centered instance: OKS mAP 0.734 · error mean 1.50 px, p90 3.21 px"
    assert any("Training finished" in msg for _, msg in notes)


def test_progress_before_first_epoch(qtbot, panel: RunPanel, fake_engine: FakeEngine) -> None:
    fake_engine.options = {"epochs": 2, "batches": 10, "wait_at": [0, 0, 3]}
    click(qtbot, panel.run_button)
    # starting: busy bar with the stage
    assert panel.progress.isVisibleTo(panel) and panel.progress.maximum() == 0
    qtbot.waitUntil(lambda: panel.state.batch == 3, timeout=20000)
    panel._refresh()
    assert panel.progress.maximum() == 20 and panel.progress.value() == 4
    assert panel.headline.text() == "Training centroid model (1/2)…"
    assert "epoch 1/2, batch 4/10" in "\n".join(
        __import__("napari_sleap_train.widgets.loss_plot", fromlist=["status_lines"]).status_lines(panel.state)
    )
    click(qtbot, panel.cancel_button)
    wait_done(qtbot, panel)


def test_stop_button_stops_early(qtbot, panel: RunPanel, fake_engine: FakeEngine, tmp_path: Path) -> None:
    fake_engine.options = {"epochs": 3, "batches": 4, "wait_at": [0, 1, 1]}
    click(qtbot, panel.run_button)
    qtbot.waitUntil(lambda: panel.state.batch == 1 and panel.state.current_epoch == 1, timeout=20000)
    assert panel.stop_button.isEnabled()
    click(qtbot, panel.stop_button)
    assert not panel.stop_button.isEnabled()  # pressed once
    assert panel.headline.text().startswith("Stopping")
    wait_done(qtbot, panel)
    assert panel.state.status is RunStatus.STOPPED
    assert panel.headline.text().startswith("Stopped early")
    assert panel.run_button.isEnabled()
    assert (tmp_path / "models" / "fake.centroid" / "best_model.keras").exists()
    assert panel.folder_row.isVisibleTo(panel)


def test_cancel_button_discards_run(qtbot, panel: RunPanel, fake_engine: FakeEngine, tmp_path: Path) -> None:
    fake_engine.options = {"wait_at": [0, 0, 0]}
    click(qtbot, panel.run_button)
    qtbot.waitUntil(lambda: panel.state.batch == 0, timeout=20000)
    click(qtbot, panel.cancel_button)
    assert panel.headline.text() == "Cancelling…"
    wait_done(qtbot, panel)
    assert panel.state.status is RunStatus.CANCELLED
    assert panel.headline.text().startswith("Cancelled")
    assert not (tmp_path / "models" / "fake.centroid").exists()
    assert not panel.folder_row.isVisibleTo(panel)
    assert panel.run_button.isEnabled()


def test_error_shows_notification_and_reenables_run(qtbot, panel: RunPanel, fake_engine: FakeEngine, notes) -> None:
    fake_engine.options = {"error_at": [0, 1]}
    click(qtbot, panel.run_button)
    wait_done(qtbot, panel)
    assert panel.state.status is RunStatus.FAILED
    errors = [msg for severity, msg in notes if "error" in severity.lower()]
    assert errors and "ran out of memory" in errors[0] and "Lower the batch size" in errors[0]
    assert panel.headline.text() == "Failed: The computer ran out of memory while training."
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    # and a second run works
    fake_engine.options = {"epochs": 1, "batches": 2}
    click(qtbot, panel.run_button)
    wait_done(qtbot, panel)
    assert panel.state.status is RunStatus.FINISHED


def test_build_job_none_does_nothing(qtbot, make_napari_viewer, fake_engine: FakeEngine) -> None:
    viewer = make_napari_viewer()
    widget = RunPanel(viewer, build_job=lambda: None, process_factory=fake_engine)
    qtbot.addWidget(widget)
    click(qtbot, widget.run_button)
    assert widget.state.status is RunStatus.IDLE and fake_engine.processes == []
    assert widget.run_button.isEnabled()


def test_deleting_panel_mid_run_terminates_child(
    qtbot, make_napari_viewer, fake_engine: FakeEngine, tmp_path: Path
) -> None:
    viewer = make_napari_viewer()
    widget = RunPanel(viewer, build_job=lambda: make_job(tmp_path), process_factory=fake_engine)
    viewer.window.add_dock_widget(widget, name="Run")
    fake_engine.options = {"wait_at": [0, 0, 1]}
    click(qtbot, widget.run_button)
    state = widget.state
    qtbot.waitUntil(lambda: state.batch == 1, timeout=20000)
    process = fake_engine.last
    pid = process.pid
    assert psutil.pid_exists(pid)
    viewer.window.remove_dock_widget(widget)
    widget.deleteLater()
    del widget
    qtbot.waitUntil(lambda: process.returncode is not None, timeout=15000)
    assert_reaped(pid)


def test_closing_napari_mid_run_terminates_child(
    qtbot, make_napari_viewer, fake_engine: FakeEngine, tmp_path: Path
) -> None:
    viewer = make_napari_viewer()
    widget = RunPanel(viewer, build_job=lambda: make_job(tmp_path), process_factory=fake_engine)
    viewer.window.add_dock_widget(widget, name="Run")
    fake_engine.options = {"wait_at": [0, 0, 1]}
    click(qtbot, widget.run_button)
    qtbot.waitUntil(lambda: widget.state.batch == 1, timeout=20000)
    pid = fake_engine.last.pid
    viewer.close()
    # the panel was destroyed with the window, and ended the child on its way out
    assert fake_engine.last.returncode is not None
    assert_reaped(pid)


def test_gui_stays_responsive_during_fast_run(qtbot, panel: RunPanel, fake_engine: FakeEngine) -> None:
    """A 10 ms timer keeps ticking while thousands of events stream in."""
    fake_engine.options = {"epochs": 10, "batches": 150, "batch_delay": 0.0005}
    ticks: list[float] = []
    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    click(qtbot, panel.run_button)
    probe.start()
    wait_done(qtbot, panel, timeout=60000)
    probe.stop()
    assert panel.state.status is RunStatus.FINISHED
    assert len(panel.state.histories["centered_instance"].batch_x) == 1500
    gaps = np.diff(ticks)
    assert len(gaps) > 20
    # responsiveness, not speed: no event-loop stall anywhere near a frozen UI
    print(
        f"latency probe: {len(gaps)} ticks, max gap {gaps.max() * 1000:.0f} ms, median {np.median(gaps) * 1000:.0f} ms"
    )
    assert gaps.max() < 0.15, f"GUI blocked for {gaps.max() * 1000:.0f} ms"


# ---------------------------------------------------------------- predictions back as layers


def _write_predictions(project: sio.Labels, path: Path, shift: float = 3.0) -> Path:
    """Predictions for frame 0 (both instances, shifted) and frame 5 of the project's video."""
    skeleton, video = project.skeletons[0], project.videos[0]
    user = [inst.numpy() for inst in project.labeled_frames[0].user_instances]
    frames = []
    for frame_idx in (0, 5):
        instances = [
            sio.PredictedInstance.from_numpy(
                pts + shift, skeleton=skeleton, point_scores=np.full(len(pts), 0.9), score=0.8
            )
            for pts in user
        ]
        frames.append(sio.LabeledFrame(video=video, frame_idx=frame_idx, instances=instances))
    labels = sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton])
    sio.save_slp(labels, str(path), embed=False, verbose=False)
    return path


@pytest.fixture
def project_viewer(make_napari_viewer, shared_data: Path):
    viewer = make_napari_viewer()
    project = SleapProject.load(shared_data / "minimal" / "minimal_instance.slp")
    for data, kwargs, kind in project_layer_data(project):
        viewer.add_layer(Layer.create(data, kwargs, kind))
    return viewer, project


def test_predictions_come_back_as_layer(qtbot, project_viewer, fake_engine: FakeEngine, tmp_path: Path, notes) -> None:
    viewer, project = project_viewer
    src = _write_predictions(project.labels, tmp_path / "src_predictions.slp")
    fake_engine.options = {"epochs": 2, "batches": 2, "predictions_src": str(src), "n_pred_frames": 2}
    widget = RunPanel(
        viewer,
        build_job=lambda: make_job(tmp_path, predictions_path=str(tmp_path / "out.slp")),
        process_factory=fake_engine,
    )
    viewer.window.add_dock_widget(widget, name="Run")
    click(qtbot, widget.run_button)
    wait_done(qtbot, widget)
    assert widget.project is project
    name = f"{project.name} predictions"
    assert name in viewer.layers
    layer = viewer.layers[name]
    assert layer.metadata[PROJECT_KEY] is project
    assert layer.metadata[ROLE_KEY] == "predictions"
    # 2 frames x 2 instances x 2 nodes, [frame, y, x]
    assert layer.data.shape == (8, 3)
    assert sorted(set(layer.data[:, 0].astype(int))) == [0, 5]
    first = project.labels.labeled_frames[0].instances[0].numpy()  # (x, y)
    row = layer.data[(layer.data[:, 0] == 0) & (layer.features["node"] == "A").to_numpy()]
    assert np.any(np.all(np.isclose(row[:, 1:], first[0, ::-1] + 3.0), axis=1))
    assert f"{project.name} predictions skeleton" in viewer.layers
    # predictions sit below the editable labels layer
    names = [la.name for la in viewer.layers]
    assert names.index(name) < names.index(f"{project.name} labels")
    assert any("Predictions added: 4 predicted instance(s) on 2 frame(s)" in msg for _, msg in notes)
    assert widget.prediction_layers == [viewer.layers[f"{project.name} predictions skeleton"], layer]

    # a second run replaces the layer in place (no duplicates)
    src2 = _write_predictions(project.labels, tmp_path / "src2.slp", shift=5.0)
    fake_engine.options = {"epochs": 1, "batches": 1, "predictions_src": str(src2), "n_pred_frames": 2}
    widget.build_job = lambda: make_job(tmp_path, predictions_path=str(tmp_path / "out2.slp"))
    click(qtbot, widget.run_button)
    wait_done(qtbot, widget)
    assert [la.name for la in viewer.layers].count(name) == 1
    assert viewer.layers[name].data.shape == (8, 3)
    # the predictions were merged into the opened project (so saving keeps them):
    # the second run replaced the first run's predictions on the same frames
    assert any("4 predicted instance(s) on 2 frame(s), replacing 4 older prediction(s)" in msg for _, msg in notes)
    predicted = [inst for lf in project.labels.labeled_frames for inst in lf.predicted_instances]
    assert len(predicted) == 4
    saved = project.save(tmp_path / "saved.slp")
    import sleap_io as sio

    back = sio.load_slp(str(saved))
    assert sum(len(lf.predicted_instances) for lf in back.labeled_frames) == 4
    assert sum(len(lf.user_instances) for lf in back.labeled_frames) == sum(
        len(lf.user_instances) for lf in project.labels.labeled_frames
    )
    widget.shutdown()


def test_predictions_layers_go_in_while_the_run_predicts_and_out_when_none_came(
    qtbot, project_viewer, fake_engine: FakeEngine, tmp_path: Path, notes
) -> None:
    viewer, project = project_viewer
    src = _write_predictions(project.labels, tmp_path / "src_predictions.slp")
    # predicting takes a while (2 x 0.5 s), as a whole video does
    options = {"epochs": 1, "batches": 1, "batch_delay": 0.5, "predictions_src": str(src), "n_pred_frames": 0}
    fake_engine.options = options
    widget = RunPanel(viewer, build_job=lambda: make_job(tmp_path), process_factory=fake_engine)
    viewer.window.add_dock_widget(widget, name="Run")
    inserted: list[str] = []
    viewer.layers.events.inserted.connect(lambda event: inserted.append(event.value.metadata.get(ROLE_KEY)))
    click(qtbot, widget.run_button)
    wait_done(qtbot, widget)
    # the run started predicting: its (empty) layers went in, ready for the predictions
    assert inserted == ["predictions_skeleton", "predictions"]
    # none came: the empty layers are gone again
    assert not any(la.metadata.get(ROLE_KEY, "").startswith("predictions") for la in viewer.layers)
    assert any("No predictions" in msg for _, msg in notes)
    widget.shutdown()


def test_bad_predictions_file_is_an_error_not_a_crash(
    qtbot, project_viewer, fake_engine: FakeEngine, tmp_path: Path, notes
) -> None:
    viewer, _project = project_viewer
    bad = tmp_path / "bad.slp"
    bad.write_text("not a SLEAP file")
    fake_engine.options = {"epochs": 1, "batches": 1, "predictions_src": str(bad)}
    widget = RunPanel(viewer, build_job=lambda: make_job(tmp_path), process_factory=fake_engine)
    viewer.window.add_dock_widget(widget, name="Run")
    click(qtbot, widget.run_button)
    wait_done(qtbot, widget)
    assert widget.state.status is RunStatus.FINISHED
    assert any("could not be read" in msg for _, msg in notes)
    assert widget.run_button.isEnabled()


def test_no_predicted_frames_explains_why(
    qtbot, panel: RunPanel, fake_engine: FakeEngine, tmp_path: Path, notes
) -> None:
    src = tmp_path / "empty.slp"
    src.write_text("")
    fake_engine.options = {
        "epochs": 1,
        "batches": 1,
        "predictions_src": str(src),
        "n_pred_frames": 0,
        "explanation": "all 20 suggested frames are already labeled",
    }
    click(qtbot, panel.run_button)
    wait_done(qtbot, panel)
    assert ("info", "No predictions: all 20 suggested frames are already labeled") in notes


# ---------------------------------------------------------------- pure helpers


def test_format_metrics_is_compact() -> None:
    evaluation = {
        "node_names": ["a", "b"],
        "n_frames": 12,
        "oks_map": 0.71234,
        "oks_mar": 0.8,
        "mean_oks": None,
        "pixel_error": {"n": 40, "mean": 1.234, "median": 1.0, "p90": 3.456, "p95": 4.0},
        "pck": {"2": 0.5, "5": 0.9, "10": 1.0},
        "detected_fraction": 0.975,
    }
    text = format_metrics(
        {
            "pipeline": evaluation,
            "centroid": {"dist_p90": 2.5, "n": 10, "name": "x"},
            "centered_instance": {"oks_map": None, "n_frames": 2, "pixel_error": {"mean": None}},
        }
    )
    lines = text.splitlines()
    assert lines[0] == (
        "Pipeline: OKS mAP 0.712 · error mean 1.23 px, p90 3.46 px · PCK@5px 90% · detected 98% (12 validation frames)"
    )
    assert lines[1] == "Centroid: dist p90 2.5 · n 10"
    assert lines[2] == "Centered instance: OKS mAP n/a (2 validation frames)"


def test_headline_for_each_status() -> None:
    from napari_sleap_train.protocol import events as ev
    from napari_sleap_train.session.run_state import apply_event

    state = TrainingState()
    assert headline(state).startswith("Ready")
    state.begin()
    assert headline(state) == "Starting the training process…"
    assert headline(state, stop_requested=True).startswith("Stopping")
    apply_event(state, ev.Status(stage="loading labels"))
    assert headline(state) == "Loading labels…"
    apply_event(state, ev.Started(models=["centroid", "centered_instance"]))
    apply_event(state, ev.ModelStarted(model="centroid", epochs=3, batches_per_epoch=2))
    assert headline(state) == "Training centroid model (1/2)…"
    apply_event(state, ev.Status(stage="evaluating"))
    assert headline(state) == "Evaluating…"
    apply_event(state, ev.PredictProgress(done=1, total=3))
    assert headline(state) == "Predicting…"
    apply_event(state, ev.Done(status="finished"))
    assert headline(state).startswith("Finished in")


def test_build_job_that_raises_is_reported(qtbot, make_napari_viewer, fake_engine: FakeEngine, notes) -> None:
    def broken():
        raise ValueError("the anchor part 'nose' is not in the skeleton")

    widget = RunPanel(make_napari_viewer(), build_job=broken, process_factory=fake_engine)
    qtbot.addWidget(widget)
    click(qtbot, widget.run_button)
    assert widget.state.status is RunStatus.IDLE and widget.run_button.isEnabled()
    assert any("could not be prepared: the anchor part 'nose'" in msg for _, msg in notes)


def _snapshot_job(tmp_path: Path):
    """A job whose labels file is a dock-style snapshot in ``<runs>/labels/``."""
    snapshot = tmp_path / "models" / "labels" / "project.250101_000000.slp"
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.write_text("snapshot")
    job = make_job(tmp_path)
    job.labels_path = str(snapshot)
    return job, snapshot


def test_closing_napari_mid_run_asks_and_keeps(
    qtbot, make_napari_viewer, fake_engine: FakeEngine, tmp_path: Path
) -> None:
    viewer = make_napari_viewer(show=True)
    job, _ = _snapshot_job(tmp_path)
    widget = RunPanel(viewer, build_job=lambda: job, process_factory=fake_engine)
    viewer.window.add_dock_widget(widget, name="Run")
    asked = []
    widget.ask_close = lambda parent, what: asked.append(what) or CloseChoice.KEEP
    fake_engine.options = {"epochs": 50, "batches": 4, "batch_delay": 0.05}
    click(qtbot, widget.run_button)
    qtbot.waitUntil(lambda: widget.state.histories.get("centered_instance") is not None, timeout=20000)
    process = fake_engine.last
    viewer.close()
    assert asked == ["napari"]
    qtbot.waitUntil(lambda: process.returncode is not None, timeout=15000)
    assert_reaped(process.pid)
    # stop and keep: the finished model and the one in training both stay
    for model in ("centroid", "centered_instance"):
        assert (tmp_path / "models" / f"fake.{model}" / "best_model.keras").exists()


def test_removing_the_panel_mid_run_asks_and_cancel_discards_only_the_model_in_training(
    qtbot, make_napari_viewer, fake_engine: FakeEngine, tmp_path: Path
) -> None:
    viewer = make_napari_viewer(show=True)
    job, snapshot = _snapshot_job(tmp_path)
    widget = RunPanel(viewer, build_job=lambda: job, process_factory=fake_engine)
    viewer.window.add_dock_widget(widget, name="Run")
    asked = []
    widget.ask_close = lambda parent, what: asked.append(what) or CloseChoice.CANCEL
    fake_engine.options = {"epochs": 50, "batches": 4, "batch_delay": 0.05}
    click(qtbot, widget.run_button)
    qtbot.waitUntil(lambda: widget.state.histories.get("centered_instance") is not None, timeout=20000)
    process = fake_engine.last
    widget.close()
    assert asked == ["the training panel"]
    qtbot.waitUntil(lambda: process.returncode is not None, timeout=15000)
    assert (tmp_path / "models" / "fake.centroid" / "best_model.keras").exists()
    assert not (tmp_path / "models" / "fake.centered_instance").exists()
    assert not snapshot.exists()
    viewer.window.remove_dock_widget(widget)


def test_cancel_removes_the_labels_snapshot(qtbot, panel: RunPanel, fake_engine: FakeEngine, tmp_path: Path) -> None:
    job, snapshot = _snapshot_job(tmp_path)
    panel.build_job = lambda: job
    fake_engine.options = {"wait_at": [0, 0, 0]}
    click(qtbot, panel.run_button)
    qtbot.waitUntil(lambda: panel.state.batch == 0, timeout=20000)
    click(qtbot, panel.cancel_button)
    wait_done(qtbot, panel)
    assert panel.state.status is RunStatus.CANCELLED
    assert not snapshot.exists() and not snapshot.parent.exists()


def test_cancel_during_the_second_model_keeps_the_first(
    qtbot, panel: RunPanel, fake_engine: FakeEngine, tmp_path: Path
) -> None:
    fake_engine.options = {"epochs": 50, "batches": 4, "batch_delay": 0.05}
    click(qtbot, panel.run_button)
    qtbot.waitUntil(lambda: panel.state.histories.get("centered_instance") is not None, timeout=20000)
    click(qtbot, panel.cancel_button)
    wait_done(qtbot, panel)
    assert panel.state.status is RunStatus.CANCELLED
    assert panel.headline.text() == "Cancelled: the model in training was discarded; 1 finished model kept."
    assert (tmp_path / "models" / "fake.centroid" / "best_model.keras").exists()
    assert not (tmp_path / "models" / "fake.centered_instance").exists()
    assert panel.folder_row.isVisibleTo(panel) and "fake.centroid" in panel.folder_label.text()
