"""Closing the training dock or napari while a run is going asks the user and never deletes silently.

The dock writes its real labels snapshot (``<runs>/labels/*.slp``); the run is
the fake engine (a real child process speaking the protocol, no TensorFlow).
"""

from __future__ import annotations

from pathlib import Path

from napari_sleap_train.widgets.run_close import CloseChoice
from tests.widgets.fake_engine import FakeEngine, assert_reaped


def start_run_in_dock(viewer, sample_slp: Path, qtbot, tmp_path: Path, choice: CloseChoice):
    """Open the project, dock the widget and start a fake run; returns (dock widget, dock, fake, asked)."""
    viewer.open(str(sample_slp), plugin="napari-sleap-train")
    dock_widget, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    dock.session.pipeline.runs_folder = str(tmp_path / "models")
    fake = FakeEngine(tmp_path)
    fake.options = {"epochs": 50, "batches": 4, "batch_delay": 0.05}
    panel = dock.run_panel
    panel.controller.process_factory = fake
    asked: list[str] = []
    panel.ask_close = lambda parent, what: asked.append(what) or choice
    assert panel.run()
    qtbot.waitUntil(lambda: panel.state.histories.get("centered_instance") is not None, timeout=30000)
    assert panel.snapshot_path is not None and panel.snapshot_path.is_file()
    return dock_widget, dock, fake, asked


def test_removing_the_dock_asks_and_keep_keeps_every_model(
    make_napari_viewer, sample_slp, qtbot, tmp_path: Path
) -> None:
    viewer = make_napari_viewer(show=True)
    dock_widget, _, fake, asked = start_run_in_dock(viewer, sample_slp, qtbot, tmp_path, CloseChoice.KEEP)
    process = fake.last
    viewer.window.remove_dock_widget(dock_widget)
    assert asked == ["the training panel"]
    qtbot.waitUntil(lambda: process.returncode is not None, timeout=15000)
    assert_reaped(process.pid)
    for model in ("centroid", "centered_instance"):
        assert (tmp_path / "models" / f"fake.{model}" / "best_model.keras").exists()


def test_closing_napari_asks_once_and_cancel_discards_only_the_model_in_training(
    make_napari_viewer, sample_slp, qtbot, tmp_path: Path
) -> None:
    viewer = make_napari_viewer(show=True)
    _, dock, fake, asked = start_run_in_dock(viewer, sample_slp, qtbot, tmp_path, CloseChoice.CANCEL)
    process = fake.last
    snapshot = dock.run_panel.snapshot_path
    viewer.close()
    assert asked == ["napari"]
    qtbot.waitUntil(lambda: process.returncode is not None, timeout=15000)
    assert (tmp_path / "models" / "fake.centroid" / "best_model.keras").exists()
    assert not (tmp_path / "models" / "fake.centered_instance").exists()
    assert not snapshot.exists()
