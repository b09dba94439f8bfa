"""The dock's "Export job..." and "Save SLEAP configs..." (Training Pipeline tab).

What ``napari-sleap-train export-job`` does, from the dock's settings: the
package carries the project (labeled, suggested and to-predict frames
embedded), the job, the runs the models reuse, and the scripts
(:func:`~napari_sleap_train.export.export_job_package`). The SLEAP configs are
the package's ``<kind>.training_config.json`` files on their own.

The file dialogs are attributes (``ask_zip``, ``ask_folder``, ``ask_overwrite``)
that tests replace.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from napari.utils import progress
from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import QFileDialog, QMessageBox, QWidget

from napari_sleap_train.export import ExportJobError, export_job_package
from napari_sleap_train.export.configs import save_sleap_configs, sleap_config_names
from napari_sleap_train.session.job import predict_selection
from napari_sleap_train.session.reuse import reuse_lists


def ask_zip_path(parent: QWidget, default: str) -> str | None:
    """Where to write the package (Qt's dialog asks before replacing a file)."""
    path, _ = QFileDialog.getSaveFileName(parent, "Export training job package", default, "Zip (*.zip)")
    if not path:
        return None
    return path if path.lower().endswith(".zip") else f"{path}.zip"


def ask_folder(parent: QWidget, default: str) -> str | None:
    """The folder for the SLEAP configs."""
    return QFileDialog.getExistingDirectory(parent, "Save SLEAP training configs into", default) or None


def ask_overwrite(parent: QWidget, names: list[str]) -> bool:
    """Whether to replace configs already in the folder."""
    answer = QMessageBox.question(parent, "Replace configs?", f"Replace {', '.join(names)}?")
    return answer == QMessageBox.StandardButton.Yes


class ExportActions:
    """Export a job package and save SLEAP configs from the dock's settings.

    Parameters
    ----------
    parent
        The dock (parent of the dialogs).
    session
        The dock's :class:`~napari_sleap_train.session.state.TrainingSession`.
    position
        ``() -> (video, frame)`` the viewer shows (for the frames to predict on).
    """

    def __init__(self, parent: QWidget, session: Any, position: Callable[[], tuple[int, int]]) -> None:
        self.parent = parent
        self.session = session
        self.position = position
        self.ask_zip: Callable[[QWidget, str], str | None] = ask_zip_path
        self.ask_folder: Callable[[QWidget, str], str | None] = ask_folder
        self.ask_overwrite: Callable[[QWidget, list[str]], bool] = ask_overwrite

    def _folder(self) -> Path:
        project = self.session.project
        if project is not None and project.path is not None:
            return project.path.parent
        return Path.home()

    # -- job package --------------------------------------------------------------
    def export_job_dialog(self) -> Path | None:
        """Ask where, then write the package (messages in napari's notifications)."""
        project = self.session.project
        if project is None:
            show_error("Open a SLEAP project (.slp) before exporting a training job.")
            return None
        path = self.ask_zip(self.parent, str(self._folder() / f"{project.name}.job.zip"))
        if not path:
            return None
        try:
            result = self.export_job(path)
        except ExportJobError as exc:
            show_error(str(exc))
            return None
        show_info(f"Wrote the training job package {result.path} (unzip it elsewhere and run ./train.sh).")
        return result.path

    def export_job(self, path: str | Path) -> Any:
        """Write the package for the current settings (replacing ``path``: the dialog asked)."""
        pipeline = self.session.snapshot()
        video, frame = self.position()
        frames = predict_selection(self.session, video, frame).frames
        reuse = reuse_lists(self.session.reuse, pipeline.kind.model_kinds)
        with progress(total=0, desc="Exporting the training job package") as bar:

            def report(current: int, total: int, phase: str) -> bool:
                bar.total = total
                bar.set_description(f"Exporting the training job package ({phase})")
                bar.update(current - bar.n)
                return True

            return export_job_package(
                self.session.project,
                pipeline,
                path,
                extra_frames=frames,
                overwrite=True,
                progress=report,
                reuse=reuse,
            )

    # -- SLEAP configs ------------------------------------------------------------
    def save_configs_dialog(self) -> list[Path]:
        """Ask for a folder, then write one SLEAP ``training_config.json`` per model."""
        folder = self.ask_folder(self.parent, str(self._folder()))
        if not folder:
            return []
        pipeline = self.session.snapshot()
        there = [n for n in sleap_config_names(pipeline) if (Path(folder) / n).exists()]
        if there and not self.ask_overwrite(self.parent, there):
            return []
        project = self.session.project
        try:
            written = save_sleap_configs(pipeline, folder, project.skeleton if project is not None else None)
        except ExportJobError as exc:
            show_error(str(exc))
            return []
        show_info(f"Saved {', '.join(p.name for p in written)} in {folder}.")
        return written
