"""The dock fits a 1366x768 laptop screen: what a user needs before Run is in sight without scrolling."""

from __future__ import annotations

from qtpy.QtCore import QPoint, QRect
from qtpy.QtWidgets import QApplication

from napari_sleap_train.protocol import events as ev
from napari_sleap_train.session.run_state import apply_event

SCREEN = (1366, 768)


def _rect_in(widget, window) -> QRect:
    return window.rect() if widget is window else QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def fully_shown(widget, window) -> bool:
    """Visible, and inside every parent (a scroll area's viewport clips what is scrolled away)."""
    if not widget.isVisible() or widget.height() == 0:
        return False
    rect = _rect_in(widget, window)
    parent = widget.parentWidget()
    while parent is not None:
        if not _rect_in(parent, window).contains(rect):
            return False
        if parent is window:
            return True
        parent = parent.parentWidget()
    return False


def _epoch_title_in(plot, window) -> QRect:
    label = plot.plot_widget.getPlotItem().getAxis("bottom").label
    rect = plot.plot_widget.mapFromScene(label.sceneBoundingRect()).boundingRect()
    return QRect(plot.plot_widget.mapTo(window, rect.topLeft()), rect.size())


def _settle() -> None:
    """Let Qt finish laying out: a loaded machine can need more than a few event-loop turns."""
    import time

    for _ in range(5):
        QApplication.processEvents()
    last = None
    for _ in range(40):  # until no widget moves between two passes (layouts run in later turns)
        now = [(w.geometry().getRect(), w.isVisible()) for w in QApplication.allWidgets()]
        if now == last:
            return
        last = now
        time.sleep(0.02)
        QApplication.processEvents()


def open_on_laptop(make_napari_viewer, sample_slp):
    """The dock, with the sample project, in a shown viewer window of laptop size (``dock.window()``).

    (Not a fixture: a fixture holding a shown viewer trips napari's leak check.)
    """
    viewer = make_napari_viewer(show=True)
    viewer.open(str(sample_slp), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    window = dock.window()
    window.move(0, 0)
    window.resize(*SCREEN)
    _settle()
    assert (window.width(), window.height()) == SCREEN
    return dock


def _before_run(dock) -> dict[str, object]:
    tab = dock.pipeline_tab
    return {
        "Pipeline": tab.kind.native,
        "Anchor part": tab.anchor.native,
        "Sigma": tab.sigma_nodes.native,
        "Time budget": tab.time_budget.native,
        "Runs folder": tab.runs_folder.native,
        "Predict on": tab.predict_on.native,
        "predict-on explanation": tab.predict_info.native,
        "View Training Image Inputs": tab.view_inputs.native,
        "Save config": tab.save_config.native,
        "Load config": tab.load_config.native,
        "Run": dock.run_panel.run_button,
        "Predict": dock.run_panel.predict_button,
        "predict note": dock.run_panel.predict_note,
    }


def _hidden(window, controls: dict[str, object]) -> list[str]:
    return [name for name, widget in controls.items() if not fully_shown(widget, window)]


def test_everything_needed_before_run_is_in_sight_with_labeling_open(make_napari_viewer, sample_slp):
    dock = open_on_laptop(make_napari_viewer, sample_slp)
    window = dock.window()
    assert dock.labeling.section.isExpanded()  # open by default
    assert dock.pipeline_tab.predict_info.value  # the explanation has text to show
    assert _hidden(window, _before_run(dock)) == []
    dock.labeling.section.collapse(animate=False)
    _settle()
    assert _hidden(window, _before_run(dock)) == []


def test_top_down_id_keeps_everything_before_run_in_sight(make_napari_viewer, sample_slp):
    from napari_sleap_train.config.model import PipelineKind

    dock = open_on_laptop(make_napari_viewer, sample_slp)
    window = dock.window()
    dock.pipeline_tab.kind.value = PipelineKind.TOP_DOWN_ID
    _settle()
    controls = _before_run(dock)
    controls["Sigma"] = dock.pipeline_tab.sigma_nodes_id.native  # the identity model's own sigma
    controls["Tracking (disabled, says why)"] = dock.pipeline_tab.tracking_section
    assert _hidden(window, controls) == []


def test_after_a_run_the_plot_shows_and_the_settings_keep_their_rows(make_napari_viewer, sample_slp, tmp_path):
    dock = open_on_laptop(make_napari_viewer, sample_slp)
    window = dock.window()
    panel = dock.run_panel
    assert not fully_shown(panel.plot.plot_widget, window)  # folded until a run
    state = panel.state
    state.begin()
    apply_event(state, ev.Started(description="CPU", models=["centroid"]))
    apply_event(state, ev.ModelStarted(model="centroid", epochs=3, batches_per_epoch=2, run_dir=str(tmp_path)))
    for epoch in range(3):
        for batch in range(2):
            apply_event(state, ev.Batch(model="centroid", epoch=epoch, batch=batch, loss=1.0 / (1 + epoch)))
        loss = 1 / (1 + epoch)
        apply_event(state, ev.Epoch(model="centroid", epoch=epoch, train_loss=loss, val_loss=loss, best_epoch=epoch))
    # the evaluation line is long enough to wrap in the dock
    values = {"oks_map": 0.004, "pixel_error": {"mean": 3.77, "p90": 6.72}, "pck": {"5": 0.55}}
    apply_event(state, ev.Metrics(model="", values={**values, "detected_fraction": 0.72, "n_frames": 4}))
    apply_event(state, ev.Done(status="finished", run_dirs=[str(tmp_path)]))
    _settle()
    assert fully_shown(panel.plot.plot_widget, window)
    assert fully_shown(panel.metrics_label, window) and fully_shown(panel.plot.status_label, window)
    # nothing squeezed: the plot's epoch title sits above the status text
    title = _epoch_title_in(panel.plot, window)
    assert _rect_in(panel.plot.plot_widget, window).contains(title)
    assert not _rect_in(panel.plot.status_label, window).intersects(title)
    assert panel.plot.plot_widget.height() >= 120
    controls = _before_run(dock)
    assert fully_shown(panel.run_button, window)
    # on this screen Labeling and the plot take turns: the run folded Labeling to show the plot
    assert not dock.labeling.section.isExpanded()
    shown = [name for name in controls if name not in _hidden(window, controls)]
    assert len(shown) >= 11, f"only {shown} in sight after a run"  # 8 setting rows, Run, Predict, note
    # opening Labeling again (to review the predictions) folds the plot; the settings stay in sight
    dock.labeling.section.expand(animate=False)
    _settle()
    assert not panel.plot_section.isExpanded()
    assert _hidden(window, _before_run(dock)) == []
    assert fully_shown(panel.run_button, window)
