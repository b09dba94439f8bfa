"""The embedded loss plot: batch points, epoch lines, best epoch, status line.

:class:`LossPlot` only reads a :class:`~napari_sleap_train.session.run_state.TrainingState`. State
signals set a *dirty* flag; a 2 Hz ``QTimer`` (shared with the run panel)
redraws from the numpy buffers, so thousands of batch events per second never
turn into thousands of repaints.

What is drawn (per model, picked in the combo box; the box follows the model
being trained):

* blue points: the loss of every training batch, at its fractional epoch;
* lines: per-epoch training and validation loss, from the first epoch on (a
  short run shows every segment, and the y-range holds them all);
* a dashed vertical line and a star at the best validation epoch.

The legend is a line of text above the plot, never over the data. First-epoch
batch points stay visible but stop counting for the automatic y-range once
later points exist: the first batches' loss is so high it would flatten
everything. The view range follows
the data in steps (:class:`~.axis_range.StableRange`) so the axes are not
re-rendered on every redraw; panning or zooming by hand stops the following,
pyqtgraph's "A" (auto-range) button resumes it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from napari_sleap_train.session.run_state import LossHistory, TrainingState
from napari_sleap_train.widgets.axis_range import StableRange
from napari_sleap_train.widgets.loss_status import (  # noqa: F401 (re-exported: the plot's text helpers)
    format_duration,
    format_loss,
    model_title,
    stage_text,
    status_lines,
)
from napari_sleap_train.widgets.status_text import StatusText

# At most 2 redraws per second. Any widget repaint in a window that holds an
# OpenGL canvas (napari's) makes Qt composite the whole window: 15 ms even for
# an empty update with software OpenGL, 25-35 ms with the plot. Measured with
# ``python -m benchmarks.gui_latency --quick`` on 2 cores while training: at
# 4 Hz 1.2% of 10 ms ticks came over 50 ms late, at 2 Hz 0.5%.
REDRAW_INTERVAL_MS = 500

BATCH_BRUSH = (70, 140, 255, 110)
TRAIN_COLOR = (255, 170, 60)
VAL_COLOR = (240, 80, 110)
TRAIN_PEN = pg.mkPen(TRAIN_COLOR, width=2)
VAL_PEN = pg.mkPen(VAL_COLOR, width=2)
BEST_PEN = pg.mkPen((120, 220, 120), width=1, style=Qt.PenStyle.DashLine)
BEST_BRUSH = (120, 220, 120, 255)


def _css(color: tuple[int, ...]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color[:3])


def legend_html() -> str:
    """The legend line: a coloured mark and a word per drawn item."""
    marks = [
        (_css(BATCH_BRUSH), "●", "batch loss"),
        (_css(TRAIN_COLOR), "━", "train (epoch)"),
        (_css(VAL_COLOR), "━", "val (epoch)"),
        (_css(BEST_BRUSH), "┆★", "best epoch"),
    ]
    return "&nbsp;&nbsp;".join(f'<span style="color: {c};">{m}</span>&nbsp;{w}' for c, m, w in marks)


class _BatchScatter(pg.ScatterPlotItem):
    """Batch-loss points, appended incrementally.

    ``ScatterPlotItem.setData`` costs O(n) Python work per call, far too slow to
    repeat 10 times a second with thousands of points; ``addPoints`` with only
    the new points keeps a redraw cheap. The item does its own log transform
    (``PlotItem`` only log-transforms ``PlotDataItem``\\s) and can be kept out of
    the automatic y-range (``ignore_y_bounds``).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.log_y = False
        self.ignore_y_bounds = False
        self.on_log_mode: list = []  # callbacks run after the log mode changed

    def setLogMode(self, x: bool, y: bool) -> None:  # noqa: N802 (called by PlotItem)
        if bool(y) != self.log_y:
            self.log_y = bool(y)
            for callback in self.on_log_mode:
                callback()

    def append(self, x: np.ndarray, y: np.ndarray) -> None:
        """Add points (data coordinates); skips values a log axis cannot show."""
        ok = np.isfinite(y)
        if self.log_y:
            ok &= y > 0
        if not ok.all():
            x, y = x[ok], y[ok]
        if x.size:
            self.addPoints(x=x, y=np.log10(y) if self.log_y else y)

    def dataBounds(self, ax, frac=1.0, orthoRange=None):  # noqa: N802 (Qt naming)
        if ax == 1 and self.ignore_y_bounds:
            return (None, None)
        return super().dataBounds(ax, frac, orthoRange)


class LossPlot(QWidget):
    """Loss plot with model picker, log-scale toggle and status line.

    Parameters
    ----------
    state
        The run state to draw; the plot never changes it. The state holds
        the plot's slots weakly (psygnal), so it may outlive the plot.
    parent
        Qt parent widget.
    timer
        A redraw timer shared with other widgets of the window (the run
        panel): their updates then land in the same event-loop pass and
        cost one window repaint instead of several. Default: its own timer.
    """

    def __init__(self, state: TrainingState, parent: QWidget | None = None, timer: QTimer | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._dirty = True
        self._shown_model: str | None = None
        self._last_status = ""

        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Which model's losses to show")
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.log_checkbox = QCheckBox("log scale")
        self.log_checkbox.setToolTip("Show the loss on a logarithmic axis")

        self.plot_widget = pg.PlotWidget(background=None)
        self.plot_widget.setMinimumHeight(120)
        self.plot_widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        plot = self.plot_widget.getPlotItem()
        plot.setLabel("bottom", "epoch")
        # the axis title's box reaches a few pixels below the axis: room for it above the status text
        plot.setContentsMargins(0, 0, 0, 6)
        plot.setLabel("left", "loss")
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setMenuEnabled(True)
        view = plot.getViewBox()
        view.setLimits(xMin=0)
        view.disableAutoRange()  # ranges follow the data in steps (self.ranges)
        view.sigRangeChangedManually.connect(self._on_user_range)
        self.ranges = StableRange()
        self._follow = True
        # the legend sits outside the data area: inside it covered points and its star read as a second best mark
        self.legend = QLabel(legend_html())
        self.legend.setObjectName("sleapLossLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)

        scatter_kwargs = dict(pen=None, symbol="o", size=4, brush=BATCH_BRUSH)
        self.batch_item = _BatchScatter(name="batch loss", **scatter_kwargs)
        # First-epoch batches: drawn like the others but kept out of the y auto-range
        # once later batches exist.
        self.first_epoch_item = _BatchScatter(**scatter_kwargs)
        for item in (self.batch_item, self.first_epoch_item):
            item.on_log_mode.append(self._rebuild_batches)
        self._drawn_model: str | None = None
        self._n_drawn = 0
        self.train_curve = pg.PlotDataItem(name="train loss (epoch)", pen=TRAIN_PEN, connect="finite")
        self.val_curve = pg.PlotDataItem(name="val loss (epoch)", pen=VAL_PEN, connect="finite")
        self.best_star = pg.PlotDataItem(
            name="best epoch",
            pen=None,
            symbol="star",
            symbolSize=16,
            symbolPen=pg.mkPen((30, 30, 30)),
            symbolBrush=BEST_BRUSH,
        )
        self.best_line = pg.InfiniteLine(angle=90, movable=False, pen=BEST_PEN)
        self.best_line.setVisible(False)
        for item in (self.first_epoch_item, self.batch_item, self.train_curve, self.val_curve, self.best_star):
            plot.addItem(item)
        plot.addItem(self.best_line, ignoreBounds=True)
        self.placeholder = pg.TextItem("", color=(150, 150, 150), anchor=(0.5, 0.5))
        plot.addItem(self.placeholder, ignoreBounds=True)

        # changes several times a second: a StatusText repaints without a relayout
        self.status_label = StatusText(lines=1)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Model:"))
        top.addWidget(self.model_combo)
        top.addStretch(1)
        top.addWidget(self.log_checkbox)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.status_label)

        if timer is None:
            timer = QTimer(self)
            timer.setInterval(REDRAW_INTERVAL_MS)
        self.timer = timer
        self.timer.timeout.connect(self._tick)

        self.model_combo.currentIndexChanged.connect(self._on_combo)
        self.log_checkbox.toggled.connect(self.set_log_scale)
        state.batch_added.connect(self._mark_dirty)
        state.epoch_added.connect(self._mark_dirty)
        state.model_started.connect(self._on_model_started)
        state.reset.connect(self._on_reset)
        state.changed.connect(self._on_changed)
        self._sync_models()
        self.refresh()

    # ------------------------------------------------------------ public

    @property
    def shown_model(self) -> str | None:
        """Model whose losses are drawn."""
        return self._shown_model

    def show_model(self, model: str) -> None:
        """Draw ``model``'s losses (adds it to the combo box if needed)."""
        self._sync_models()
        index = self.model_combo.findData(model)
        if index < 0:
            self.model_combo.addItem(model_title(model), model)
            index = self.model_combo.count() - 1
        self.model_combo.setCurrentIndex(index)

    def set_log_scale(self, on: bool) -> None:
        """Logarithmic y-axis on/off."""
        if self.log_checkbox.isChecked() != on:
            self.log_checkbox.setChecked(on)  # re-enters through toggled
            return
        self.plot_widget.getPlotItem().setLogMode(x=False, y=on)
        self.ranges.reset()
        self._dirty = True
        self.refresh()

    def refresh(self) -> None:
        """Redraw now (normally the timer does this when something changed)."""
        self._dirty = False
        self._redraw()
        self._update_status()

    # ------------------------------------------------------------ state slots

    def _mark_dirty(self, model: str = "") -> None:
        if self._shown_model is None and model:
            self.show_model(model)
        self._dirty = True
        self._ensure_timer()

    def _on_model_started(self, model: str) -> None:
        self.show_model(model)  # follow the model being trained
        self._dirty = True
        self._ensure_timer()

    def _on_reset(self) -> None:
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.blockSignals(False)
        self._shown_model = None
        self.ranges.reset()
        self._follow = True
        self._sync_models()
        self.refresh()
        self._ensure_timer()

    def _on_changed(self) -> None:
        self._ensure_timer()
        if not self.state.is_running:
            # The run ended: draw the final state at once, then rest.
            self.timer.stop()
            self.refresh()

    def _ensure_timer(self) -> None:
        if self.state.is_running and not self.timer.isActive():
            self.timer.start()

    def _tick(self) -> None:
        if self._dirty:
            self._dirty = False
            self._redraw()
        self._update_status()  # elapsed and ETA move even without events
        if not self.state.is_running:
            self.timer.stop()

    def _on_combo(self, index: int) -> None:
        self._shown_model = self.model_combo.itemData(index) if index >= 0 else None
        self.ranges.reset()
        self._dirty = True
        self.refresh()

    def _sync_models(self) -> None:
        known = list(self.state.models) + [m for m in self.state.histories if m not in self.state.models]
        self.model_combo.blockSignals(True)
        for model in known:
            if self.model_combo.findData(model) < 0:
                self.model_combo.addItem(model_title(model), model)
        self.model_combo.blockSignals(False)
        if self._shown_model is None and self.model_combo.count():
            self.model_combo.setCurrentIndex(0)
            self._shown_model = self.model_combo.itemData(0)

    # ------------------------------------------------------------ drawing

    def _finite(self, y: np.ndarray) -> np.ndarray:
        ok = np.isfinite(y)
        if self.log_checkbox.isChecked():
            ok &= y > 0
        return ok

    def _rebuild_batches(self) -> None:
        """Redraw every batch point from the buffers (log toggle, model switch)."""
        self._drawn_model = None
        self._dirty = True

    def _draw_batches(self, history: LossHistory | None) -> None:
        model = None if history is None else history.model
        if model != self._drawn_model or (history is not None and len(history.batch_x) < self._n_drawn):
            self.batch_item.clear()
            self.first_epoch_item.clear()
            self._drawn_model = model
            self._n_drawn = 0
        if history is None:
            return
        bx, by = history.batch_x.data, history.batch_loss.data
        if bx.size > self._n_drawn:
            new_x, new_y = bx[self._n_drawn :], by[self._n_drawn :]
            first = new_x <= 1.0
            self.first_epoch_item.append(new_x[first], new_y[first])
            self.batch_item.append(new_x[~first], new_y[~first])
            self._n_drawn = bx.size
        ignore = len(self.batch_item.data) > 0
        if ignore != self.first_epoch_item.ignore_y_bounds:
            self.first_epoch_item.ignore_y_bounds = ignore
            self.first_epoch_item.informViewBoundsChanged()

    def _update_placeholder(self, history: LossHistory | None) -> None:
        empty = history is None or (len(history.batch_x) == 0 and history.n_epochs == 0)
        text = ""
        if empty and self.state.is_running:
            text = "The loss appears here after the first training batch."
        self.placeholder.setText(text)
        self.placeholder.setVisible(bool(text))
        if text:
            (x0, x1), (y0, y1) = self.plot_widget.getPlotItem().getViewBox().viewRange()
            self.placeholder.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    def _on_user_range(self, *_args) -> None:
        self._follow = False  # the user panned or zoomed: leave the view where they put it

    def _follow_data(self) -> None:
        view = self.plot_widget.getPlotItem().getViewBox()
        if any(view.autoRangeEnabled()):  # pyqtgraph's "A" button: follow the data again
            view.disableAutoRange()
            self._follow = True
            self.ranges.reset()
        if not self._follow:
            return
        # the data items' bounds in view coordinates (log10 on a log axis); items
        # added with ignoreBounds (best line, placeholder) are not counted
        (x_bounds, y_bounds) = view.childrenBounds()
        changed = self.ranges.update(x_bounds[1] if x_bounds else None, tuple(y_bounds) if y_bounds else None)
        if changed is not None:
            view.setRange(xRange=changed[0], yRange=changed[1], padding=0)

    def _redraw(self) -> None:
        history: LossHistory | None = self.state.histories.get(self._shown_model or "")
        self._draw(history)
        self._follow_data()
        self._update_placeholder(history)

    def _draw(self, history: LossHistory | None) -> None:
        self._draw_batches(history)
        if history is None:
            for item in (self.train_curve, self.val_curve, self.best_star):
                item.setData([], [])
            self.best_line.setVisible(False)
            return

        ex = history.epoch_x
        for curve, y in ((self.train_curve, history.train_loss.data), (self.val_curve, history.val_loss.data)):
            keep = self._finite(y)
            curve.setData(ex[keep], y[keep])

        best_x = history.best_x
        if best_x is not None and self._finite(np.array([history.best_val_loss]))[0]:
            self.best_line.setPos(best_x)
            self.best_line.setVisible(True)
            self.best_star.setData([best_x], [history.best_val_loss])
        else:
            self.best_line.setVisible(False)
            self.best_star.setData([], [])

    # ------------------------------------------------------------ inspection (tests, screenshots)

    def epoch_lines(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{"train": (x, loss), "val": (x, loss)}`` of the drawn epoch lines."""
        lines = {}
        for name, curve in (("train", self.train_curve), ("val", self.val_curve)):
            x, y = curve.getData()
            x = np.zeros(0) if x is None else np.asarray(x, dtype=float)
            y = np.zeros(0) if y is None else np.asarray(y, dtype=float)
            lines[name] = (x, 10.0**y if self.log_checkbox.isChecked() else y)
        return lines

    def batch_points(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, loss) of every drawn batch point, in data units (not log)."""
        xs, ys = [], []
        for item in (self.first_epoch_item, self.batch_item):
            x, y = item.getData()
            xs.append(np.asarray(x, dtype=float))
            ys.append(np.asarray(y, dtype=float))
        x, y = np.concatenate(xs), np.concatenate(ys)
        order = np.argsort(x, kind="stable")
        y = 10.0**y if self.log_checkbox.isChecked() else y
        return x[order], y[order]

    def _update_status(self) -> None:
        lines = status_lines(self.state, self._shown_model)  # the text speaks of the model drawn
        text = "\n".join(lines)
        if text != self._last_status:
            self._last_status = text
            # one line per fact, elided to the dock's width; the tooltip has it all
            self.status_label.setText(text)
            self.status_label.setToolTip(text)
