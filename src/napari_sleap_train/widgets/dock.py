"""The *SLEAP Training* dock widget (Plugins > SLEAP Training).

Layout, top to bottom: a hint line (project name, or what to do without one),
the tabs (*Training Pipeline* and one per model of the pipeline, each
scrollable with collapsible sections) and the run panel (Run / Stop / Cancel,
loss plot), which stays visible below the tabs. The loss plot is folded until a
run starts, so that before Run every needed setting fits a 1366x768 screen
(``tests/widgets/test_dock_layout.py``).

The settings live in a Qt-free :class:`~napari_sleap_train.session.settings.TrainingSession`
(``dock.session``); the tabs bind to its evented fields, the previews draw from
it and :meth:`TrainingDock.build_job` turns it into a
:class:`~napari_sleap_train.protocol.job.TrainJob` with the session's job
builder. This module and :mod:`.tabs.sections` are where Qt is used directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QEvent, QSize, Qt
from qtpy.QtWidgets import (
    QFileDialog,
    QLabel,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from napari_sleap_train.config.model import ModelKind, PredictOn
from napari_sleap_train.config.serialize import ConfigError, save_json
from napari_sleap_train.data.errors import DataError
from napari_sleap_train.io.binding import find_project
from napari_sleap_train.io.layers import PROJECT_KEY, ROLE_KEY
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.session.identity import run_block
from napari_sleap_train.session.job import JobError, dock_predict_job, dock_train_job, predict_selection
from napari_sleap_train.session.predict_on import predict_note
from napari_sleap_train.session.profiles import pipeline_from_file
from napari_sleap_train.session.settings import TrainingSession

from .export_actions import ExportActions
from .labeling_panel import LabelingPanel, project_line
from .previews.controller import PreviewController
from .previews.examples import ExampleStack, NoExamplesError, pipeline_examples
from .previews.inputs_window import TrainingInputsWindow
from .previews.project_frames import ProjectFrames
from .previews.sizes import auto_crop_of
from .tabs.model_tab import TITLES, ModelTab
from .tabs.pipeline_tab import PipelineTab
from .tabs.sections import scroll_page

if TYPE_CHECKING:
    import napari.viewer

    from napari_sleap_train.protocol.job import TrainJob

NO_PROJECT_HINT = "Open a SLEAP project (.slp) to configure training (File > Open, or drag and drop)."
PIPELINE_TAB = "Training Pipeline"
#: examples shown by View Training Image Inputs
N_EXAMPLES = 8
#: predict-on choices whose frames depend on where the viewer is
_POSITION_CHOICES = (
    PredictOn.CURRENT_FRAME,
    PredictOn.RANDOM_FRAMES_CURRENT_VIDEO,
    PredictOn.CURRENT_VIDEO,
)
#: preferred dock width in pixels
DOCK_WIDTH = 420
#: dock height (px) below which Labeling and the loss plot are not open together
ROOM_FOR_BOTH = 900
#: share of the dock's height the opened loss plot and run panel take (the settings keep the rest)
PLOT_SHARE = 0.45


class TrainingDock(QWidget):
    """Training settings, live previews and the run panel for one viewer.

    Parameters
    ----------
    napari_viewer
        The viewer the dock is added to (napari passes it).
    """

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.session = TrainingSession()
        self.project: SleapProject | None = None
        self.frames: ProjectFrames | None = None
        self.previews = PreviewController(napari_viewer, self.session)
        self.inputs_window = TrainingInputsWindow()
        self._labels_layer: Any = None
        self._closed = False
        self._docked = False

        self.hint = QLabel(NO_PROJECT_HINT)
        self.hint.setWordWrap(True)
        self.hint.setObjectName("sleapTrainingHint")

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.pipeline_tab = PipelineTab(self.session)
        from .tracks_panel import TracksPanel

        self.tracks_panel = TracksPanel(napari_viewer)  # tracks on the viewer, proofreading
        self.pipeline_tab.tracking.add_viewer_tools(self.tracks_panel)
        self.tabs.addTab(scroll_page(self.pipeline_tab), PIPELINE_TAB)
        self.model_tabs: dict[ModelKind, ModelTab] = {}
        self._pages: dict[ModelKind, QWidget] = {}
        self._sync_model_tabs()

        from .run_panel import RunPanel

        self.run_panel = RunPanel(napari_viewer, self.build_job, build_predict_job=self.build_predict_job)
        # a finished run is a new entry in the profile pickers
        self.run_panel.state.finished.connect(self._on_run_finished)
        run_widget = getattr(self.run_panel, "native", self.run_panel)

        # the user can trade settings space for plot space
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(run_widget)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([650, 350])
        # a run opens the folded loss plot: give it its share of the height
        self.run_panel.plot_section.toggled.connect(self._on_plot_toggled)
        self.labeling = LabelingPanel(napari_viewer)  # folds away to give the tabs room
        self.labeling.section.toggled.connect(self._on_labeling_toggled)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.hint)
        layout.addWidget(self.labeling.section)
        layout.addWidget(self.splitter, stretch=1)

        self.tabs.currentChanged.connect(self._on_tab_changed)
        pipeline = self.session.pipeline.events
        pipeline.kind.connect(self._on_kind_changed)
        pipeline.runs_folder.connect(self.refresh_profiles)
        pipeline.predict_on.connect(self.refresh_predict_info)
        pipeline.predict_n_frames.connect(self.refresh_predict_info)
        self.pipeline_tab.view_inputs.changed.connect(lambda *_: self.view_training_inputs())
        self.pipeline_tab.save_config.changed.connect(lambda *_: self._save_dialog())
        self.pipeline_tab.load_config.changed.connect(lambda *_: self._load_dialog())
        self.exports = ExportActions(self, self.session, self.current_position)
        self.pipeline_tab.export_job.changed.connect(lambda *_: self.exports.export_job_dialog())
        self.pipeline_tab.save_sleap_configs.changed.connect(lambda *_: self.exports.save_configs_dialog())
        napari_viewer.layers.events.inserted.connect(self._on_layers_changed)
        napari_viewer.layers.events.removed.connect(self._on_layers_changed)
        napari_viewer.dims.events.current_step.connect(self._on_frame_changed)
        # the inputs window is a separate top-level viewer: close it with ours
        inputs = self.inputs_window
        self.destroyed.connect(lambda *_: inputs.close())
        self.set_project(find_project(napari_viewer.layers))

    def sizeHint(self) -> QSize:
        # narrow enough to leave the canvas most of a 1366 px wide screen
        return QSize(DOCK_WIDTH, super().sizeHint().height())

    # -- project ------------------------------------------------------------------
    def _on_layers_changed(self, *_: Any) -> None:
        if self._closed:
            return
        project = find_project(self.viewer.layers)
        if project is not self.project:
            self.set_project(project)

    def set_project(self, project: SleapProject | None) -> None:
        """Configure training for ``project`` (``None``: show the hint)."""
        self._watch_labels_layer(None)
        self.project = project
        self.frames = ProjectFrames(project, self.viewer) if project is not None else None
        self.session.set_project(project)
        self.hint.setText(project_line(project) if project is not None else NO_PROJECT_HINT)
        self.labeling.set_project(project)
        self.tracks_panel.set_project(project)
        if project is not None:
            self._watch_labels_layer(self._find_labels_layer(project))
        self.tabs.setEnabled(project is not None)
        self.previews.set_project(self.frames)
        for tab in self.model_tabs.values():
            tab._refresh_info()  # the auto crop size is the new project's
            tab.reuse.refresh()  # a run's body parts are checked against the new skeleton
        if hasattr(self, "run_panel"):
            self.refresh_predict_info()

    def _find_labels_layer(self, project: SleapProject) -> Any:
        for layer in self.viewer.layers:
            if layer.metadata.get(PROJECT_KEY) is project and layer.metadata.get(ROLE_KEY) == "labels":
                return layer
        return None

    def _watch_labels_layer(self, layer: Any) -> None:
        if self._labels_layer is not None:
            try:
                self._labels_layer.events.data.disconnect(self._on_labels_edited)
            except (TypeError, ValueError, RuntimeError):
                pass
        self._labels_layer = layer
        if layer is not None:
            layer.events.data.connect(self._on_labels_edited)

    def _on_labels_edited(self, *_: Any) -> None:
        if self.project is not None:  # the counts follow the edits
            self.hint.setText(project_line(self.project))
        if self.frames is not None:
            self.frames.invalidate()
        for tab in self.model_tabs.values():
            tab._refresh_info()
        self._refresh_run_block()  # tracks may have been edited
        self.previews._on_change()

    # -- tabs ---------------------------------------------------------------------
    def _sync_model_tabs(self) -> None:
        """Make the model tabs match the pipeline (top-down: 2 tabs, single: 1)."""
        kinds = self.session.model_kinds
        if tuple(self.model_tabs) == kinds:
            return
        current = self.session.selected
        for kind, tab in self.model_tabs.items():
            page = self._pages.pop(kind)
            self.tabs.removeTab(self.tabs.indexOf(page))
            tab.close()
            page.deleteLater()
        self.model_tabs = {}
        for kind in kinds:
            tab = ModelTab(kind, self.session, self._auto_crop)
            self.model_tabs[kind] = tab
            self._pages[kind] = scroll_page(tab)
            self.tabs.addTab(self._pages[kind], TITLES[kind])
        if current in self.model_tabs:
            self.session.select(current)

    def _on_run_finished(self, *_: Any) -> None:
        if not self._closed:
            self.refresh_profiles()
            self.tracks_panel.refresh()  # new predictions may be on tracks

    def _on_plot_toggled(self, expanded: bool) -> None:
        if expanded and not self._closed:
            self._fold_if_crowded(self.labeling.section)
            total = sum(self.splitter.sizes())
            plot = max(int(total * PLOT_SHARE), self.splitter.widget(1).minimumSizeHint().height())
            self.splitter.setSizes([total - plot, plot])

    def _on_labeling_toggled(self, expanded: bool) -> None:
        if expanded and not self._closed:
            self._fold_if_crowded(self.run_panel.plot_section)

    def _fold_if_crowded(self, other) -> None:
        """On a short screen Labeling and the loss plot take turns: the one just opened folds ``other``.

        Both open, with a run's status and evaluation lines, need more height than a
        1366x768 screen has; Qt would then squeeze every widget below its minimum
        (the plot under its status text).
        """
        if other.isExpanded() and self.isVisible() and self.height() < ROOM_FOR_BOTH:
            other.collapse(animate=False)

    def _auto_crop(self, cfg) -> int | None:
        if self.frames is None:
            return None
        return auto_crop_of(cfg, self.frames.all_instances(), self.frames.project.node_names)

    def _on_kind_changed(self, *_: Any) -> None:
        if not self._closed:
            self._sync_model_tabs()
            self.refresh_profiles()
            self.refresh_predict_info()

    def refresh_profiles(self, *_: Any) -> None:
        """Re-list trained runs in every profile picker (new run, new runs folder)."""
        if self._closed:
            return
        for tab in self.model_tabs.values():
            tab.refresh_profiles()

    def _on_frame_changed(self, *_: Any) -> None:
        if not self._closed and self.session.pipeline.predict_on in _POSITION_CHOICES:
            self.refresh_predict_info()

    def _refresh_run_block(self) -> None:
        """Refuse Run, saying why next to it, while the settings cannot train (identity without two tracks)."""
        text = run_block(self.session)
        if text == self.run_panel.block_note.text():
            return
        self.run_panel.set_blocked(text)
        if not self.run_panel.plot_section.isExpanded():  # the splitter does not grow a pane by itself
            total = sum(self.splitter.sizes())
            panel = min(self.run_panel.maximumHeight(), total // 2)
            self.splitter.setSizes([total - panel, panel])

    def refresh_predict_info(self, *_: Any) -> None:
        """Say in plain words which frames *Predict on* selects right now."""
        if self._closed:
            return
        self._refresh_run_block()
        if self.project is None:
            self.pipeline_tab.predict_info.value = ""
            self.run_panel.set_predict_note("")
            return
        video, frame = self.current_position()
        try:
            selection = predict_selection(self.session, video, frame)
        except (ValueError, OSError) as exc:
            self.pipeline_tab.predict_info.value = str(exc)
            self.run_panel.set_predict_note(f"Predict on: {exc}")
            return
        self.pipeline_tab.predict_info.value = selection.explanation
        self.run_panel.set_predict_note(predict_note(self.session, selection))

    def _on_tab_changed(self, index: int) -> None:
        for kind, page in self._pages.items():
            if self.tabs.widget(index) is page:
                self.session.select(kind)

    def model_tab_titles(self) -> list[str]:
        """Titles of the tabs, in order (for tests and screenshots)."""
        return [self.tabs.tabText(i) for i in range(self.tabs.count())]

    def show_tab(self, title: str) -> None:
        """Make the tab called ``title`` current."""
        self.tabs.setCurrentIndex(self.model_tab_titles().index(title))

    # -- actions ------------------------------------------------------------------
    def current_position(self) -> tuple[int, int]:
        """``(video, frame)`` the viewer shows."""
        if self.frames is None:
            return 0, 0
        return self.frames.position(self.viewer)

    def build_predict_job(self):
        """The Predict button's job (``None``, with a message, if impossible)."""
        video, frame = self.current_position()
        try:
            return dock_predict_job(self.session, video, frame)
        except (JobError, OSError) as exc:
            show_error(str(exc))
            return None

    def build_job(self) -> TrainJob | None:
        """The training job for the run panel (``None``, with a message, if impossible)."""
        video, frame = self.current_position()
        if self.project is not None and self.project.lone_point_warning():
            show_warning(self.project.lone_point_warning())
        try:
            return dock_train_job(self.session, video, frame)
        except (JobError, OSError) as exc:
            show_error(str(exc))
            return None

    def view_training_inputs(self, n: int = N_EXAMPLES, seed: int | None = None) -> list[ExampleStack]:
        """Open (or refresh) the window of augmented training examples."""
        if self.project is None:
            show_error(NO_PROJECT_HINT)
            return []
        if seed is None:
            seed = int(self.viewer.dims.current_step[0]) if self.viewer.dims.ndim else 0
        try:
            stacks = pipeline_examples(self.project, self.session.snapshot(), n=n, seed=seed)
        except (NoExamplesError, DataError) as exc:
            show_error(str(exc))
            return []
        self.inputs_window.show(stacks)
        return stacks

    def save_configuration(self, path: str | Path) -> Path:
        """Write every setting of every tab to ``path`` (this plugin's JSON)."""
        return save_json(self.session.snapshot(), path)

    def load_configuration(self, path: str | Path) -> None:
        """Load settings from our config file or a SLEAP ``training_config.json``.

        Raises
        ------
        ConfigError
            The file cannot be read as a configuration.
        """
        pipeline = pipeline_from_file(path, self.session.pipeline)
        self.session.load(pipeline)
        if self.project is not None:  # keep anchor/runs folder valid for this project
            self.session.set_project(self.project)

    def _default_config_path(self) -> str:
        folder = Path(self.session.pipeline.runs_folder).expanduser()
        if not folder.is_dir() and self.project is not None and self.project.path is not None:
            folder = self.project.path.parent
        return str(folder / "training_pipeline.json")

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save training configuration",
            self._default_config_path(),
            "JSON (*.json)",
        )
        if path:
            try:
                saved = self.save_configuration(path)
            except OSError as exc:
                show_error(f"Could not save the configuration: {exc}")
            else:
                show_info(f"Saved the training configuration to {saved}")

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Load training configuration",
            str(Path(self._default_config_path()).parent),
            "Training configuration (*.json);;All files (*)",
        )
        if path:
            try:
                self.load_configuration(path)
            except (ConfigError, DataError, OSError) as exc:
                show_error(f"Could not load {Path(path).name}: {exc}")

    # -- cleanup ------------------------------------------------------------------
    def cleanup(self) -> None:
        """Remove the preview layers and disconnect from the viewer (idempotent)."""
        if self._closed:
            return
        # a running training is ended the way the user chooses (never deleted silently)
        end_run = getattr(self.run_panel, "end_for_close", None)
        if callable(end_run):
            end_run("the training panel")
        self._closed = True
        self.run_panel.loader.close()  # its pending steps would touch a closing viewer
        pipeline = self.session.pipeline.events
        for signal, slot in (
            (self.viewer.layers.events.inserted, self._on_layers_changed),
            (self.viewer.layers.events.removed, self._on_layers_changed),
            (self.viewer.dims.events.current_step, self._on_frame_changed),
            (pipeline.kind, self._on_kind_changed),
            (pipeline.runs_folder, self.refresh_profiles),
            (pipeline.predict_on, self.refresh_predict_info),
            (pipeline.predict_n_frames, self.refresh_predict_info),
        ):
            try:
                signal.disconnect(slot)
            except (TypeError, ValueError, RuntimeError):
                pass
        self._watch_labels_layer(None)
        self.run_panel.state.finished.disconnect(self._on_run_finished)
        self.previews.close()
        self.inputs_window.close()
        for tab in self.model_tabs.values():
            tab.close()
        self.pipeline_tab.close()
        self.labeling.close_panel()
        self.tracks_panel.stop_following()
        close_panel = getattr(self.run_panel, "close", None)
        if callable(close_panel):
            close_panel()

    def event(self, event: QEvent) -> bool:
        # napari's remove_dock_widget (the panel's close button) un-parents us:
        # that is when the previews must go.
        if event.type() == QEvent.Type.ParentChange:
            if self.parent() is not None:
                self._docked = True
            elif self._docked:
                self.cleanup()
        return super().event(event)

    def closeEvent(self, event) -> None:
        self.cleanup()
        super().closeEvent(event)
