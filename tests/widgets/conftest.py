"""Fixtures for the dock tests: a small procedural project and a docked widget."""

from __future__ import annotations

from pathlib import Path

import pytest
from napari.utils.notifications import notification_manager


@pytest.fixture(scope="session")
def sample_slp(tmp_path_factory) -> Path:
    """A small procedural SLEAP project (2 mice, 60 frames, 20 labeled), written once."""
    from napari_sleap_train.sample.project import write_sample_project

    folder = tmp_path_factory.mktemp("sample")
    project = write_sample_project(folder, seed=0, n_frames=60, n_labeled=20, n_suggested=5)
    return project.labels_path


@pytest.fixture
def docked(make_napari_viewer, sample_slp, qtbot):
    """``(viewer, dock)`` with the sample project open and the dock added through the manifest."""
    viewer = make_napari_viewer()
    viewer.open(str(sample_slp), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    dock.previews.update()
    yield viewer, dock
    dock.cleanup()


@pytest.fixture
def notes(qtbot):
    """Notifications napari shows during the test, as (severity, message)."""
    seen: list[tuple[str, str]] = []

    def on_note(event) -> None:
        note = event.value if hasattr(event, "value") else event
        seen.append((str(note.severity), note.message))

    notification_manager.notification_ready.connect(on_note)
    yield seen
    notification_manager.notification_ready.disconnect(on_note)
