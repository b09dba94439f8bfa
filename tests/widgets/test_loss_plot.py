"""LossPlot draws what the TrainingState holds: batch points, epoch lines, best epoch."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import pytest
from qtpy.QtCore import QRect

from napari_sleap_train.protocol import events as ev
from napari_sleap_train.session.run_state import TrainingState, apply_event
from napari_sleap_train.widgets.loss_plot import LossPlot, format_duration, status_lines


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def feed_model(state: TrainingState, model: str, n_epochs: int, bpe: int, best: int, scale: float = 1.0) -> None:
    """Feed one model's events: val loss is lowest at epoch ``best``."""
    apply_event(state, ev.ModelStarted(model=model, epochs=50, batches_per_epoch=bpe, patience=10))
    best_val = math.inf
    best_epoch = 0
    for e in range(n_epochs):
        for b in range(bpe):
            apply_event(state, ev.Batch(model=model, epoch=e, batch=b, loss=scale * (1.0 / (1 + e + b / bpe))))
        val = scale * (0.5 + abs(e - best) * 0.05)
        if val < best_val:
            best_val, best_epoch = val, e
        apply_event(
            state,
            ev.Epoch(
                model=model,
                epoch=e,
                train_loss=scale / (1 + e),
                val_loss=val,
                best_epoch=best_epoch,
                best_val_loss=best_val,
                epochs_without_improvement=e - best_epoch,
                patience=10,
                eta=30.0,
            ),
        )


@pytest.fixture
def state() -> TrainingState:
    s = TrainingState(clock=FakeClock())
    s.begin()
    apply_event(s, ev.Started(description="CPU (2 cores), no GPU found", models=["centroid", "centered_instance"]))
    return s


@pytest.fixture
def plot(qtbot, state: TrainingState) -> LossPlot:
    widget = LossPlot(state)
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    return widget


def test_batch_and_epoch_points_are_drawn(plot: LossPlot, state: TrainingState) -> None:
    feed_model(state, "centroid", n_epochs=6, bpe=5, best=3)
    plot.refresh()
    x, y = plot.batch_points()
    assert x.size == 30
    np.testing.assert_allclose(x, state.history.batch_x.data)
    np.testing.assert_allclose(y, state.history.batch_loss.data)
    # epoch lines from the first epoch on
    tx, ty = plot.epoch_lines()["train"]
    vx, vy = plot.epoch_lines()["val"]
    assert len(tx) == len(vx) == 6
    np.testing.assert_allclose(vx, [1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(ty, [1 / (1 + e) for e in range(6)])
    # best epoch 3 (0-based) ends at x = 4
    assert plot.best_line.isVisible() and plot.best_line.value() == pytest.approx(4.0)
    sx, sy = plot.best_star.getData()
    assert list(sx) == [4.0] and sy[0] == pytest.approx(0.5)


def test_first_epoch_batches_leave_the_y_range_once_later_ones_exist(plot: LossPlot, state: TrainingState) -> None:
    apply_event(state, ev.ModelStarted(model="centroid", epochs=5, batches_per_epoch=4))
    for b in range(4):
        apply_event(state, ev.Batch(model="centroid", epoch=0, batch=b, loss=100.0))
    plot.refresh()
    assert plot.first_epoch_item.dataBounds(1) != (None, None)
    apply_event(state, ev.Batch(model="centroid", epoch=1, batch=0, loss=1.0))
    plot.refresh()
    assert plot.first_epoch_item.dataBounds(1) == (None, None)
    assert plot.first_epoch_item.dataBounds(0)[1] == pytest.approx(1.0)
    assert len(plot.batch_points()[0]) == 5


def test_redraws_are_throttled_by_a_timer(qtbot, plot: LossPlot, state: TrainingState) -> None:
    apply_event(state, ev.ModelStarted(model="centroid", epochs=5, batches_per_epoch=1000))
    for b in range(500):
        apply_event(state, ev.Batch(model="centroid", epoch=0, batch=b, loss=1.0))
    # nothing drawn synchronously: events only mark the plot dirty
    assert plot.batch_points()[0].size == 0
    assert plot.timer.isActive()
    qtbot.waitUntil(lambda: plot.batch_points()[0].size == 500, timeout=2000)
    apply_event(state, ev.Done(status="finished"))
    assert not plot.timer.isActive()


def test_log_scale_toggle_keeps_points(plot: LossPlot, state: TrainingState) -> None:
    feed_model(state, "centroid", n_epochs=3, bpe=4, best=2)
    apply_event(state, ev.Batch(model="centroid", epoch=3, batch=0, loss=0.0))  # not drawable on log axis
    plot.refresh()
    assert plot.batch_points()[0].size == 13
    plot.log_checkbox.setChecked(True)
    plot.refresh()
    assert plot.plot_widget.getPlotItem().getAxis("left").logMode
    x, y = plot.batch_points()
    assert x.size == 12 and np.all(y > 0)
    np.testing.assert_allclose(y, state.history.batch_loss.data[:12])
    np.testing.assert_allclose(plot.epoch_lines()["train"][1], [1, 1 / 2, 1 / 3])
    plot.log_checkbox.setChecked(False)
    plot.refresh()
    assert plot.batch_points()[0].size == 13


def test_next_model_gets_its_own_curves(plot: LossPlot, state: TrainingState) -> None:
    feed_model(state, "centroid", n_epochs=4, bpe=3, best=1)
    plot.refresh()
    assert plot.shown_model == "centroid"
    feed_model(state, "centered_instance", n_epochs=2, bpe=5, best=1, scale=0.1)
    plot.refresh()
    assert plot.shown_model == "centered_instance"
    assert plot.batch_points()[0].size == 10
    assert plot.epoch_lines()["val"][0].size == 2
    # the first model is still there to look at
    assert plot.model_combo.count() == 2
    plot.show_model("centroid")
    assert plot.batch_points()[0].size == 12
    assert plot.epoch_lines()["val"][0].size == 4
    assert plot.best_line.value() == pytest.approx(2.0)


def test_reset_clears_the_plot(plot: LossPlot, state: TrainingState) -> None:
    feed_model(state, "centroid", n_epochs=3, bpe=3, best=1)
    plot.refresh()
    state.begin()
    assert plot.batch_points()[0].size == 0
    assert plot.epoch_lines()["val"][0].size == 0
    assert not plot.best_line.isVisible()
    assert plot.model_combo.count() == 0


def test_status_line_shows_progress_and_plateau(plot: LossPlot, state: TrainingState) -> None:
    state._clock.now = 75.0
    feed_model(state, "centroid", n_epochs=6, bpe=5, best=2)
    apply_event(state, ev.Batch(model="centroid", epoch=6, batch=1, loss=0.1))
    plot.refresh()
    text = plot.status_label.text()
    assert "Centroid (1/2)" in text
    assert "epoch 7/50, batch 2/5" in text
    assert "elapsed 1:15" in text and "ETA 0:30" in text
    assert "no improvement for 3/10 epochs" in text
    assert "best 0.5 at epoch 3" in text
    assert "Training on CPU (2 cores), no GPU found" in text


def test_status_line_before_first_epoch_shows_stage(state: TrainingState) -> None:
    apply_event(state, ev.Status(model="centroid", stage="building pipeline", detail="18 train / 2 val frames"))
    assert status_lines(state)[0].startswith("Centroid (1/2) · Building pipeline (18 train / 2 val frames)…")
    apply_event(state, ev.PredictProgress(done=4, total=20))
    assert "Predicting 4/20 frames…" in status_lines(state)[0]


def test_status_line_idle_is_empty() -> None:
    assert status_lines(TrainingState()) == []


@pytest.mark.parametrize("seconds, text", [(0, "0:00"), (75, "1:15"), (3725, "1:02:05"), (None, "?"), (math.inf, "?")])
def test_format_duration(seconds, text) -> None:
    assert format_duration(seconds) == text


def test_many_batch_points_redraw_incrementally(plot: LossPlot, state: TrainingState) -> None:
    apply_event(state, ev.ModelStarted(model="centroid", epochs=100, batches_per_epoch=200))
    for e in range(20):
        for b in range(200):
            apply_event(state, ev.Batch(model="centroid", epoch=e, batch=b, loss=1.0 / (1 + e)))
        plot.refresh()
    x, _ = plot.batch_points()
    assert x.size == 4000
    assert np.all(np.diff(x) > 0)  # each point drawn once, none duplicated


def test_placeholder_until_first_batch(plot: LossPlot, state: TrainingState) -> None:
    plot.refresh()
    assert plot.placeholder.isVisible() and "first training batch" in plot.placeholder.toPlainText()
    apply_event(state, ev.ModelStarted(model="centroid", epochs=5, batches_per_epoch=4))
    apply_event(state, ev.Batch(model="centroid", epoch=0, batch=0, loss=1.0))
    plot.refresh()
    assert not plot.placeholder.isVisible()


def test_status_line_while_first_batch_is_traced_and_while_evaluating(state: TrainingState) -> None:
    apply_event(state, ev.ModelStarted(model="centroid", epochs=50, batches_per_epoch=3))
    apply_event(state, ev.Status(model="centroid", stage="training", detail="first batch (the graph is traced once)"))
    assert "epoch 1/50, first batch (the graph is traced once)…" in status_lines(state)[0]
    apply_event(state, ev.Batch(model="centroid", epoch=0, batch=0, loss=1.0))
    assert "epoch 1/50, batch 1/3" in status_lines(state)[0]
    apply_event(state, ev.Status(stage="evaluating", detail="predicting the validation frames"))
    assert "Evaluating (predicting the validation frames)…" in status_lines(state)[0]


def test_view_follows_the_data_in_steps_until_the_user_moves_it(plot: LossPlot, state: TrainingState) -> None:
    view = plot.plot_widget.getPlotItem().getViewBox()
    feed_model(state, "centroid", n_epochs=3, bpe=4, best=2)
    plot.refresh()
    (x0, x1), (y0, y1) = view.viewRange()
    assert x0 == pytest.approx(0.0) and x1 == pytest.approx(4.0)  # 3 epochs, with room to grow
    x, y = plot.batch_points()
    later = x > 1.0
    assert y0 <= y[later].min() and y[later].max() <= y1
    # a batch inside the shown range does not move the view
    apply_event(state, ev.Batch(model="centroid", epoch=3, batch=0, loss=0.3))
    plot.refresh()
    assert view.viewRange()[0][1] == pytest.approx(4.0)
    # the next epoch grows the epoch axis one step
    apply_event(state, ev.Batch(model="centroid", epoch=4, batch=0, loss=0.3))
    plot.refresh()
    assert view.viewRange()[0][1] == pytest.approx(5.0)
    # the user zooms: the view stays where they put it
    view.scaleBy((0.5, 0.5))
    view.sigRangeChangedManually.emit(view.state["mouseEnabled"])
    kept = view.viewRange()
    for b in range(4):
        apply_event(state, ev.Batch(model="centroid", epoch=5, batch=b, loss=0.2))
    plot.refresh()
    assert view.viewRange() == kept
    # pyqtgraph's auto-range button: follow the data again
    view.enableAutoRange()
    plot.refresh()
    assert view.viewRange()[0][1] == pytest.approx(8.0)  # last batch at epoch 6
    assert not any(view.autoRangeEnabled())


# ---------------------------------------------------------------- what a user reads off the plot (issue 15)


def test_a_three_epoch_run_shows_both_segments_and_epoch_one_in_range(plot: LossPlot, state: TrainingState) -> None:
    feed_model(state, "centroid", n_epochs=3, bpe=4, best=2)
    plot.refresh()
    (_, _), (y0, y1) = plot.plot_widget.getPlotItem().getViewBox().viewRange()
    for name in ("train", "val"):
        x, y = plot.epoch_lines()[name]
        np.testing.assert_allclose(x, [1, 2, 3])  # two segments, not one
        assert y0 <= y.min() and y.max() <= y1, f"{name} loss of some epoch is off the y-range"


def test_the_legend_is_outside_the_data_and_only_the_best_epoch_has_a_star(
    qtbot, plot: LossPlot, state: TrainingState
) -> None:
    feed_model(state, "centroid", n_epochs=6, bpe=5, best=3)
    plot.show()
    qtbot.waitExposed(plot)
    plot.refresh()
    scene_items = plot.plot_widget.scene().items()
    assert not [i for i in scene_items if isinstance(i, pg.LegendItem)], "a legend is drawn over the data"
    stars = [i for i in scene_items if isinstance(i, pg.ScatterPlotItem) and i.opts.get("symbol") == "star"]
    assert sum(len(i.data) for i in stars) == 1  # the best epoch, nothing else
    assert plot.legend.isVisible() and "best epoch" in plot.legend.text()
    legend = plot.legend.geometry()
    assert legend.bottom() <= plot.plot_widget.geometry().top()


def _bottom_title_rect(plot: LossPlot) -> QRect:
    label = plot.plot_widget.getPlotItem().getAxis("bottom").label
    rect = plot.plot_widget.mapFromScene(label.sceneBoundingRect()).boundingRect()
    return QRect(plot.plot_widget.mapTo(plot, rect.topLeft()), rect.size())


@pytest.mark.parametrize("height", [420, 260])
def test_the_epoch_axis_title_is_not_covered_by_the_status_text(
    qtbot, plot: LossPlot, state: TrainingState, height: int
) -> None:
    feed_model(state, "centroid", n_epochs=4, bpe=3, best=2)
    plot.resize(420, height)
    plot.show()
    qtbot.waitExposed(plot)
    plot.refresh()
    qtbot.wait(50)
    assert len(plot.status_label.text().split("\n")) >= 3
    title = _bottom_title_rect(plot)
    assert plot.plot_widget.geometry().contains(title)
    assert not plot.status_label.geometry().intersects(title)


def test_picking_another_model_shows_that_models_status(plot: LossPlot, state: TrainingState) -> None:
    feed_model(state, "centroid", n_epochs=4, bpe=2, best=1)
    apply_event(state, ev.ModelFinished(model="centroid", reason="completed", best_epoch=1, epochs_trained=4))
    feed_model(state, "centered_instance", n_epochs=2, bpe=2, best=1, scale=3.0)
    plot.refresh()
    assert plot.shown_model == "centered_instance"
    assert plot.status_label.text().startswith("Centered instance (2/2)")
    plot.show_model("centroid")
    text = plot.status_label.text()
    assert text.startswith("Centroid (1/2) · finished · 4 epochs trained"), text
    assert "best 0.5 at epoch 2" in text  # the centroid's best, not the centered instance's
    assert "no improvement for 2/10 epochs" in text
    plot.show_model("centered_instance")
    assert plot.status_label.text().startswith("Centered instance (2/2)")
