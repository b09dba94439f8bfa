"""What the plugin's entries in napari's menus run (manifest ``menus``; napari injects the viewer).

* Layers > Track > "Train SLEAP models..." and "Predict with SLEAP models..."
  open the training dock (or bring it forward) with the Run or Predict button
  ready: the dock is the "Run Training..." dialog of SLEAP, so the settings are
  seen before a run starts.
* File > IO Utilities > "Export SLEAP training job..." writes a job package
  (zip) of the project shown, with the dock's settings, for another machine.
* The sample project is in File > Open Sample (the ``sample_data`` contribution).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import napari.viewer
from napari.utils import progress
from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import QDockWidget, QFileDialog

from napari_sleap_train.export import ExportJobError, export_job_package

if TYPE_CHECKING:
    from napari_sleap_train.export import ExportResult

    from .dock import TrainingDock

PLUGIN = "napari-sleap-train"
WIDGET = "SLEAP Training"


def training_dock(viewer: napari.viewer.Viewer) -> TrainingDock:
    """The viewer's training dock, shown: the one already open, else a new one.

    napari names a dock opened from its menus after the plugin's display name
    and one opened by ``add_plugin_dock_widget`` after the package name, so the
    open dock is looked up among the window's widgets, not by name.
    """
    from .dock import TrainingDock

    window = viewer.window.main_menu.parent()  # napari's QMainWindow
    for dock in window.findChildren(TrainingDock):
        if not dock._closed:
            holder = dock.parentWidget()
            while holder is not None and not isinstance(holder, QDockWidget):
                holder = holder.parentWidget()
            if holder is not None:
                holder.show()
                holder.raise_()
            return dock
    dock_widget, dock = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    dock_widget.show()
    return dock


def open_for_training(viewer: napari.viewer.Viewer) -> None:
    """Layers > Track > Train SLEAP models...: the dock, its Run button focused."""
    dock = training_dock(viewer)
    dock.run_panel.run_button.setFocus()


def open_for_prediction(viewer: napari.viewer.Viewer) -> None:
    """Layers > Track > Predict with SLEAP models...: the dock, its Predict button focused."""
    dock = training_dock(viewer)
    dock.run_panel.predict_button.setFocus()


def export_training_job(viewer: napari.viewer.Viewer) -> None:
    """File > IO Utilities > Export SLEAP training job...: ask for a zip, then write it."""
    dock = training_dock(viewer)
    if dock.project is None:
        show_error("Open a SLEAP project (.slp) first: the job package holds its labeled frames.")
        return
    default = _default_zip(dock)
    path, _ = QFileDialog.getSaveFileName(dock, "Export training job", str(default), "Job package (*.zip)")
    if path:
        export_from_dock(dock, path, overwrite=True)  # the dialog asked before replacing a file


def export_from_dock(dock: TrainingDock, path: str | Path, overwrite: bool = False) -> ExportResult | None:
    """Write the job package of the dock's project and settings to ``path``, with a progress bar.

    Embedding the frames is the long step; napari's activity dock shows it.
    Returns ``None`` (after telling the user why) when nothing was written.
    """
    if dock.project is None:
        show_error("Open a SLEAP project (.slp) first: the job package holds its labeled frames.")
        return None
    with progress(total=0, desc="Exporting training job") as bar:

        def report(done: int, total: int, message: str) -> bool:
            bar.total = total
            bar.n = done
            bar.set_description(message or "Exporting training job")
            bar.refresh()
            return True

        try:
            result = export_job_package(dock.project, dock.session.pipeline, path, overwrite=overwrite, progress=report)
        except ExportJobError as exc:
            show_error(f"The training job was not exported: {exc}")
            return None
    show_info(f"Wrote {result.path.name}: unzip it where napari-sleap-train is installed and run ./train.sh.")
    return result


def _default_zip(dock: TrainingDock) -> Path:
    project_path = dock.project.path if dock.project is not None else None
    if project_path is None:
        return Path.home() / "training_job.zip"
    name = project_path.name
    for suffix in (".pkg.slp", ".slp"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return project_path.parent / f"{name}.job.zip"
