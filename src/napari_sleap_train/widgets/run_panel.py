"""Run / Stop / Cancel, progress, the loss plot and the results of a run.

The training dock embeds one :class:`RunPanel` at its bottom::

    panel = RunPanel(viewer, build_job)   # build_job() -> TrainJob | None

``build_job`` is called when the user presses Run; it returns ``None`` after
telling the user why the settings cannot run. The panel then owns the run: a
:class:`~.run_controller.RunController` starts the engine child, a
:class:`~napari_sleap_train.session.run_state.TrainingState` collects its events on the GUI thread,
the :class:`~.loss_plot.LossPlot` draws them, and predictions come back as
layers (:mod:`.results`). Closing the panel or napari while a run is going
asks whether to keep or discard the model in training (:mod:`.run_close`);
nothing trained is ever deleted silently.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QEvent, Qt, QTimer, QUrl
from qtpy.QtGui import QDesktopServices, QGuiApplication
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from napari_sleap_train.protocol import events as ev
from napari_sleap_train.session.run_state import RunStatus, TrainingState
from napari_sleap_train.widgets.loss_plot import REDRAW_INTERVAL_MS, LossPlot, format_duration
from napari_sleap_train.widgets.prediction_loader import PredictionLoader
from napari_sleap_train.widgets.run_close import CloseChoice, CloseGuard, ask_how_to_end, main_window_of
from napari_sleap_train.widgets.run_controller import ProcessFactory, RunController
from napari_sleap_train.widgets.run_text import format_metrics, headline, progress_view
from napari_sleap_train.widgets.tabs import tooltips as tips

#: Qt's "no maximum" size
QWIDGETSIZE_MAX = (1 << 24) - 1
LINK_COLOR = "#6fb3ff"  # readable on napari's dark and light themes


class RunPanel(QWidget):
    """Run / Stop / Cancel with progress, loss plot, run folder and metrics.

    Parameters
    ----------
    viewer
        The napari viewer (predictions are added to it).
    build_job
        Called on Run; returns a :class:`~napari_sleap_train.protocol.job.TrainJob`
        or ``None`` (after showing why) when the settings are not runnable.
    process_factory
        Makes the engine process (default: ``EngineProcess()``); tests pass one
        that launches a fake engine.
    project_getter
        Returns the opened project the predictions belong to (default: the
        project of the viewer's layers, see :func:`~napari_sleap_train.io.binding.find_project`).
    """

    def __init__(
        self,
        viewer: Any,
        build_job: Callable[[], Any],
        process_factory: ProcessFactory | None = None,
        project_getter: Callable[[], Any] | None = None,
        parent: QWidget | None = None,
        build_predict_job: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.build_job = build_job
        #: called on Predict; returns a PredictJob or ``None`` (after showing why); no button without it
        self.build_predict_job = build_predict_job
        self.loader = PredictionLoader(viewer)
        self.loader.on_busy_changed = lambda _busy: self._refresh()  # the headline says it is merging
        self._predicting_only = False
        self.project_getter = project_getter or self._find_project
        self.state = TrainingState()
        self.controller = RunController(self.state, process_factory)
        self.project = None  # project of the current run (captured on Run)
        self.snapshot_path: Path | None = None  # labels snapshot the dock wrote for this run
        #: asked how to end a running training when napari or the panel closes (tests replace it)
        self.ask_close: Callable[[QWidget, str], CloseChoice] = ask_how_to_end
        self._close_guard = CloseGuard(self, lambda: self.end_for_close("napari"))
        self._ended_for_close = False
        self.prediction_layers: list = []
        self._last_status: RunStatus | None = None

        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Train the models of the pipeline with the settings above")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip(
            "Stop training: keep the best model so far and every finished one, then predict. "
            "No later model of the pipeline is trained (predictions need every model)."
        )
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("End now: discard the model being trained (finished models are kept)")
        self.predict_button = QPushButton("Predict")
        self.predict_button.setToolTip(tips.PREDICT_BUTTON)
        self.predict_button.setVisible(build_predict_job is not None)
        for button in (self.run_button, self.predict_button, self.stop_button, self.cancel_button):
            button.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        # what Run will predict on and why (set by the dock), right under the buttons
        self.predict_note = QLabel()
        self.predict_note.setWordWrap(True)
        self.predict_note.setObjectName("sleapPredictNote")
        self.predict_note.setVisible(False)
        # why Run cannot start with these settings (set by the dock), right under the buttons
        self.block_note = QLabel()
        self.block_note.setWordWrap(True)
        self.block_note.setObjectName("sleapRunBlocked")
        self.block_note.setStyleSheet("color: #f0a030;")
        self.block_note.setVisible(False)

        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setMaximumHeight(16)

        # Status text, progress and plot follow the state on one clock (2 Hz):
        # updates in one event-loop pass share one window repaint.
        self._dirty = False
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        self.plot = LossPlot(self.state, timer=self.timer)
        # folded while no run has been started: before Run the settings need the room
        self.plot_section = QCollapsible("Loss plot")
        self.plot_section.setObjectName("section:Loss plot")
        self.plot_section.setDuration(0)
        self.plot_section.layout().setContentsMargins(0, 0, 0, 0)
        self.plot_section.addWidget(self.plot)
        self.plot_section.collapse(animate=False)
        self.plot_section.toggled.connect(self._fit_height)

        self.metrics_label = QLabel()
        self.metrics_label.setWordWrap(True)
        self.metrics_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.metrics_label.setVisible(False)

        self.folder_label = QLabel()
        self.folder_label.setTextFormat(Qt.TextFormat.RichText)
        self.folder_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction | Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.folder_label.setOpenExternalLinks(False)
        self.folder_label.linkActivated.connect(self._open_folder)
        self.folder_label.setToolTip("Click to open the run folder; select to copy")
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy path")
        self.copy_button.setToolTip("Copy the run folder path to the clipboard")
        self.copy_button.clicked.connect(self.copy_run_folder)
        self.folder_row = QWidget()
        folder_layout = QHBoxLayout(self.folder_row)
        folder_layout.setContentsMargins(0, 0, 0, 0)
        folder_layout.addWidget(self.folder_label, 1)
        folder_layout.addWidget(self.copy_button)
        self.folder_row.setVisible(False)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.predict_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.headline, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.block_note)
        layout.addWidget(self.predict_note)
        layout.addWidget(self.progress)
        layout.addWidget(self.plot_section, 1)
        layout.addWidget(self.metrics_label)
        layout.addWidget(self.folder_row)

        self.run_button.clicked.connect(self.run)
        self.predict_button.clicked.connect(self.predict)
        self.stop_button.clicked.connect(self.stop)
        self.cancel_button.clicked.connect(self.cancel)
        # psygnal holds these bound methods weakly: no cycle through the state.
        self.state.changed.connect(self._on_changed)
        self.state.reset.connect(self._on_reset)  # a new run: show its plot
        self.state.error.connect(self._on_error)
        self.state.message.connect(self._on_message)
        self.state.predictions_ready.connect(self._on_predictions)
        self.state.metrics_added.connect(self._on_metrics)
        self.state.finished.connect(self._on_finished)
        # End the child when this widget goes away (dock closed, napari quit).
        # The closure holds only the controller: a bound method of the dying
        # widget would never be called, and would keep the widget alive. Once
        # shut down, the controller drops late events, so the state stays quiet.
        controller = self.controller
        self.destroyed.connect(lambda *_: controller.shutdown())
        self._refresh()
        self._fit_height()

    # ------------------------------------------------------------ actions

    @property
    def is_running(self) -> bool:
        return self.controller.is_running or self.state.is_running

    def run(self) -> bool:
        """Build the job and start training (what the Run button does)."""
        if self.is_running:
            return False
        if self.block_note.text():
            show_error(self.block_note.text())
            return False
        try:
            job = self.build_job()
        except Exception as exc:  # noqa: BLE001 (the user must hear why nothing starts)
            show_error(f"The run could not be prepared: {exc}")
            return False
        if job is None:
            return False
        self._predicting_only = False
        return self._start(job)

    def predict(self) -> bool:
        """Predict with trained models, no training (what the Predict button does)."""
        if self.is_running or self.build_predict_job is None:
            return False
        try:
            job = self.build_predict_job()
        except Exception as exc:  # noqa: BLE001 (the user must hear why nothing starts)
            show_error(f"The prediction could not be prepared: {exc}")
            return False
        if job is None:
            return False
        self._predicting_only = True
        return self._start(job)

    def set_blocked(self, text: str) -> None:
        """Refuse Run with ``text`` shown under the buttons (empty: Run may start)."""
        if text == self.block_note.text():
            return
        self.block_note.setText(text)
        self.block_note.setVisible(bool(text))
        self._refresh()
        self._fit_height()

    def set_predict_note(self, text: str) -> None:
        """Say under the buttons what a run will predict on, and why (empty: hide)."""
        self.predict_note.setText(text)
        self.predict_note.setVisible(bool(text))
        self._fit_height()

    @property
    def busy(self) -> bool:
        """A run is going or its predictions are still being loaded into the viewer."""
        return self.is_running or self.loader.busy

    def _start(self, job: Any) -> bool:
        self.project = self.project_getter()
        self.prediction_layers = []
        self.metrics_label.clear()
        self.metrics_label.setVisible(False)
        self.folder_row.setVisible(False)
        self.snapshot_path = _snapshot_of(job)
        started = self.controller.start(job)
        self._refresh()
        return started

    def stop(self) -> None:
        """Stop early: keep the best model and go on to predict."""
        self.controller.stop()
        self._refresh()

    def cancel(self) -> None:
        """End now and discard this run."""
        self.controller.cancel()
        self._refresh()

    def shutdown(self, keep: bool = True) -> None:
        """End a running child now; ``keep``: stop and keep its models, else discard the one in training."""
        self.controller.shutdown(keep=keep)
        if not keep:
            self._remove_snapshot()

    def end_for_close(self, what: str = "the training panel") -> None:
        """napari or the dock is closing: ask how to end a running training (once), then end it."""
        if self._ended_for_close or not self.controller.is_running:
            return
        self._ended_for_close = True
        choice = self.ask_close(self, what)
        self.shutdown(keep=choice is CloseChoice.KEEP)

    def event(self, event) -> bool:
        # shown in (or moved to) a window: watch the napari window so its closing asks first
        if event.type() in (QEvent.Type.Show, QEvent.Type.ParentChange):
            self._close_guard.watch(main_window_of(self))
        return super().event(event)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._fit_height()  # wrapped notes take more or fewer lines

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self.end_for_close()
        self.shutdown()
        super().closeEvent(event)

    def _remove_snapshot(self) -> None:
        """The labels snapshot is only an input of the run: remove it once nothing needs it."""
        path, self.snapshot_path = self.snapshot_path, None
        if path is not None:
            try:
                path.unlink(missing_ok=True)
                path.parent.rmdir()  # only when empty
            except OSError:
                pass

    @property
    def run_folder(self) -> str | None:
        """The run folder shown when the run is done (parent folder when there are several)."""
        dirs = self.state.run_dirs
        if not dirs:
            return None
        if len(dirs) == 1:
            return dirs[0]
        parents = {str(Path(d).parent) for d in dirs}
        return parents.pop() if len(parents) == 1 else dirs[-1]

    def copy_run_folder(self) -> None:
        folder = self.run_folder
        if folder:
            QGuiApplication.clipboard().setText(folder)

    def _open_folder(self, url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))

    def _find_project(self):
        from napari_sleap_train.io.binding import find_project

        return find_project(self.viewer.layers)

    # ------------------------------------------------------------ state slots (GUI thread)

    def _on_changed(self) -> None:
        predicting = self.state.status is RunStatus.PREDICTING and self._last_status is not RunStatus.PREDICTING
        if predicting and self.project is not None:
            self.loader.prepare(self.project)  # the predictions layers go in while the child predicts
        if self.state.status is not self._last_status:
            self._refresh()  # buttons must follow status changes at once
        else:
            self._dirty = True
            if not self.timer.isActive():
                self.timer.start()

    def _on_reset(self) -> None:
        self.plot_section.expand(animate=False)

    def _fit_height(self, *_: Any) -> None:
        """Folded plot: no taller than the buttons and notes (the tabs above get the room); open: it grows."""
        content = self.plot_section.content()
        layout = self.layout()
        layout.invalidate()  # a label was shown, hidden or given new text
        width = max(self.width(), 1)
        wraps = layout.hasHeightForWidth()
        if self.plot_section.isExpanded():
            content.setMaximumHeight(QWIDGETSIZE_MAX)  # QCollapsible caps it at its size hint
            self.plot_section.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
            self.setMaximumHeight(QWIDGETSIZE_MAX)
            # The splitter knows only the minimum size hint, which ignores wrapped lines (the
            # evaluation line): without this it squeezed the plot under the status text.
            self.setMinimumHeight(layout.minimumHeightForWidth(width) if wraps else 0)
            return
        self.plot_section.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setMinimumHeight(0)
        height = layout.heightForWidth(width) if wraps else -1
        self.setMaximumHeight(height if height > 0 else layout.sizeHint().height())

    def _tick(self) -> None:
        if self._dirty:
            self._refresh()
        if not self.state.is_running:
            self.timer.stop()

    def _on_error(self, error: ev.Error) -> None:
        text = error.message
        if error.hint:
            text += f"\n{error.hint}"
        show_error(text)

    def _on_message(self, message: ev.Message) -> None:
        if message.level == "warning":
            show_warning(message.text)

    def _on_metrics(self, _event: ev.Metrics) -> None:
        text = format_metrics(self.state.metrics)
        self.metrics_label.setText(text)
        self.metrics_label.setToolTip("\n".join(f"{m or 'pipeline'}: {v}" for m, v in self.state.metrics.items()))
        self.metrics_label.setVisible(bool(text))
        self._fit_height()

    def _on_predictions(self, event: ev.Predictions) -> None:
        if not event.path or event.n_frames == 0 or event.n_instances == 0:
            reason = event.explanation or (
                "no frames were chosen to predict on" if event.n_frames == 0 else "no animals were found"
            )
            show_info(f"No predictions: {reason}")
            return
        tracks = f"; tracks assigned ({event.n_tracks} tracks)" if event.tracking else ""
        self.loader.load(event.path, self.project, lambda shown: self._on_shown(shown, tracks), show_error)

    def _on_shown(self, shown, tracks: str = "") -> None:
        self.prediction_layers = shown.layers
        show_info(f"Predictions added: {shown.summary}{tracks}")

    def _on_finished(self, done: ev.Done) -> None:
        self.loader.release()  # a run that ended without predictions leaves no empty layers
        self._refresh()
        if done.status != "failed":  # a failed run keeps it, to be run again with the CLI
            self._remove_snapshot()
        folder = self.run_folder
        if folder and done.status in ("finished", "stopped", "cancelled"):  # a cancel keeps finished models
            url = QUrl.fromLocalFile(folder).toString()
            self.folder_label.setText(f'Run folder: <a href="{url}" style="color: {LINK_COLOR};">{folder}</a>')
            self.folder_row.setVisible(True)
            self._fit_height()
        if done.status == "finished" and self._predicting_only:
            show_info(f"Prediction finished ({format_duration(self.state.elapsed())}).")
        elif done.status == "finished":
            show_info(f"Training finished ({format_duration(self.state.elapsed())}).")
        elif done.status == "stopped":
            show_info("Training stopped early; the best model was kept.")

    # ------------------------------------------------------------ view

    def _refresh(self) -> None:
        self._dirty = False
        state = self.state
        self._last_status = state.status
        running = self.is_running
        self.run_button.setEnabled(not running and not self.block_note.text())
        self.predict_button.setEnabled(not running)
        self.stop_button.setEnabled(
            running
            and state.status is not RunStatus.STARTING
            and not self.controller.stop_requested
            and not self.controller.cancel_requested
        )
        self.cancel_button.setEnabled(running and not self.controller.cancel_requested)
        text = headline(state, self.controller.stop_requested)
        if self.block_note.text() and not running and state.status is RunStatus.IDLE:
            text = "Run is off: see why below."
        if self.loader.busy and not running:
            text = "Reading and merging the predictions…"
        if self.controller.cancel_requested and running:
            text = "Cancelling…"
        if self.headline.text() != text:
            self.headline.setText(text)
        self._update_progress()

    def _update_progress(self) -> None:
        view, bar = progress_view(self.state), self.progress
        bar.setVisible(view.visible)
        if not view.visible:
            return
        bar.setRange(0, view.maximum)
        if view.maximum:
            bar.setValue(view.value)
        bar.setFormat(view.text)


def _snapshot_of(job: Any) -> Path | None:
    """The job's labels file when it is the snapshot the dock wrote (``<runs>/labels/*.slp``)."""
    from napari_sleap_train.session.job import snapshot_of

    return snapshot_of(job)
