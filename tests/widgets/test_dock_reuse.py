"""The model tabs' *Weights* controls, the Predict button and the predict-on default, as a user drives them.

Fast tests build jobs from the widgets (run folders laid out as the engine
writes them, nothing trained). The slow ones train tiny models in a real
child process first, then press Run and Predict in the dock.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from qtpy.QtCore import Qt

from napari_sleap_train.config.model import ModelKind, PredictOn
from napari_sleap_train.config.profiles import get_profile
from napari_sleap_train.protocol.job import PredictJob
from napari_sleap_train.session.reuse import Reuse
from tests.runner.tiny_project import make_tiny_project, write_run_folder

CEN, CI = ModelKind.CENTROID, ModelKind.CENTERED_INSTANCE


def _sample_nodes(dock) -> list[str]:
    return list(dock.project.node_names)


def _runs(dock, tmp_path: Path) -> dict[str, Path]:
    """Runs of the sample's skeleton in the dock's runs folder (and one of another skeleton)."""
    dock.session.pipeline.runs_folder = str(tmp_path / "models")  # this test's own runs
    runs = tmp_path / "models"
    nodes = _sample_nodes(dock)
    ci = get_profile("cpu.centered_instance")
    ci.model.filters = 12  # unlike the current settings
    out = {
        "centroid": write_run_folder(runs / "260101_000000.centroid", get_profile("cpu.centroid"), nodes),
        "centered": write_run_folder(runs / "260101_000001.centered_instance", ci, nodes, resumable=True),
        "other": write_run_folder(tmp_path / "elsewhere" / "x.centered_instance", ci, ("a", "b")),
    }
    dock.refresh_profiles()
    return out


def _pick(tab, how: Reuse, run: Path) -> None:
    tab.reuse.run.value = str(run)
    tab.reuse.how.value = how


def test_settings_and_weights_are_two_choices(docked):
    _, dock = docked
    tab = dock.model_tabs[CI]
    labels = [w.value for w in tab[0] if hasattr(w, "value") and isinstance(w.value, str)]
    assert "Settings from:" in labels  # was "Start from:", which only ever copied settings
    assert "not the weights" in tab.profile.tooltip
    assert tab.reuse.how.value is Reuse.SCRATCH
    assert tab.reuse.info.value == "A new run starts from random weights."
    job = dock.build_job()
    assert job.use == job.init_from == job.resume == []


def test_use_trained_run_skips_the_model_in_the_job(docked, tmp_path):
    _, dock = docked
    runs = _runs(dock, tmp_path)
    tab = dock.model_tabs[CEN]
    assert str(runs["centroid"]) in tab.reuse.run.choices  # listed from the runs folder
    _pick(tab, Reuse.USE, runs["centroid"])
    assert tab.reuse.info.value.startswith("Not trained: Run and Predict use 260101_000000.centroid")
    assert not tab.sections["Optimization"].isEnabled()  # its training settings do not apply
    job = dock.build_job()
    assert job.use == [str(runs["centroid"])] and job.init_from == job.resume == []


def test_start_from_takes_the_run_network_and_refuses_a_changed_one(docked, tmp_path, notes):
    _, dock = docked
    runs = _runs(dock, tmp_path)
    tab = dock.model_tabs[CI]
    _pick(tab, Reuse.INIT_FROM, runs["centered"])
    assert tab.filters.value == 12  # the run's network came with its weights
    assert "starts from the weights of 260101_000001.centered_instance" in tab.reuse.info.value
    job = dock.build_job()
    assert job.init_from == [str(runs["centered"])]
    assert job.pipeline.models[CI].model.filters == 12

    tab.filters.value = 16  # a network the weights do not fit
    assert tab.reuse.info.value.startswith("⚠") and "filters 12 in the run, 16 in the settings" in tab.reuse.info.value
    before = set(Path(dock.session.pipeline.runs_folder).rglob("*"))
    assert dock.build_job() is None
    assert any("network differs" in msg for _, msg in notes)
    assert set(Path(dock.session.pipeline.runs_folder).rglob("*")) == before  # no snapshot written


def test_a_run_of_another_skeleton_is_flagged(docked, tmp_path, notes):
    _, dock = docked
    runs = _runs(dock, tmp_path)
    tab = dock.model_tabs[CI]
    tab.reuse.add_folder(runs["other"])  # the "Folder…" button, without the dialog
    tab.reuse.how.value = Reuse.USE
    assert "predicts the body parts a, b" in tab.reuse.info.value
    assert dock.build_job() is None
    assert any("predicts the body parts a, b" in msg for _, msg in notes)


def test_resume_takes_the_run_settings(docked, tmp_path):
    _, dock = docked
    runs = _runs(dock, tmp_path)
    tab = dock.model_tabs[CI]
    _pick(tab, Reuse.RESUME, runs["centered"])
    assert tab.filters.value == 12
    epochs = dock.session.model(CI).optimization.epochs
    assert f"after epoch 2, for up to {epochs - 2} more" in tab.reuse.info.value
    job = dock.build_job()
    assert job.resume == [str(runs["centered"])]


def test_predict_button_predicts_with_the_runs_in_use(docked, tmp_path, qtbot):
    _, dock = docked
    runs = _runs(dock, tmp_path)
    panel = dock.run_panel
    assert panel.predict_button.isVisible() or not panel.isVisible()
    _pick(dock.model_tabs[CEN], Reuse.USE, runs["centroid"])  # the centered instance: the newest in the folder
    dock.pipeline_tab.predict_on.value = PredictOn.CURRENT_VIDEO  # the whole current video
    job = dock.build_predict_job()
    assert isinstance(job, PredictJob)
    assert job.model_dirs == [str(runs["centroid"]), str(runs["centered"])]
    assert len(job.frames) == dock.project.frame_count(0)
    assert Path(job.output_path).parent.name == "predictions"


def test_test_time_views_reach_both_jobs(docked, tmp_path):
    _, dock = docked
    runs = _runs(dock, tmp_path)
    tab = dock.pipeline_tab
    assert tab.views.value == 4 and dock.build_job().pipeline.test_time_views == 4  # the default
    assert "as SLEAP does" in tab.views.tooltip
    tab.views.value = 2
    assert dock.session.pipeline.test_time_views == 2
    assert dock.build_job().pipeline.test_time_views == 2  # predictions after training
    _pick(dock.model_tabs[CEN], Reuse.USE, runs["centroid"])
    assert dock.build_predict_job().views == 2  # and the Predict button's
    dock.session.pipeline.test_time_views = 1  # the state drives the widget too
    assert tab.views.value == 1


def test_predict_without_a_trained_run_says_so(docked, notes, tmp_path):
    _, dock = docked
    dock.session.pipeline.runs_folder = str(tmp_path / "empty")
    assert dock.build_predict_job() is None
    assert any("No trained centroid or centered instance model" in msg for _, msg in notes)


def test_pipeline_time_budget_in_the_dock(docked):
    _, dock = docked
    dock.pipeline_tab.time_budget.value = 12
    assert dock.session.pipeline.time_limit_minutes == 12.0
    assert dock.build_job().pipeline.time_limit_minutes == 12.0
    dock.pipeline_tab.time_budget.value = 0
    assert dock.session.pipeline.time_limit_minutes is None
    for box, text in (
        (dock.pipeline_tab.time_budget, "no budget"),
        (dock.pipeline_tab.max_instances, "no limit"),
        (dock.model_tabs[CEN].time_limit, "no limit"),
    ):
        assert box.value == box.min and box.native.text() == text  # shown instead of 0


def test_tooltips_agree_with_the_defaults(docked):
    _, dock = docked
    tab = dock.model_tabs[CEN]
    lr = tab.learning_rate.value
    assert f"{lr:g}" in tab.learning_rate.tooltip  # 0.001 in the box, 0.001 named in the tooltip
    assert "50" in tab.epochs.tooltip and "batches" in tab.epochs.tooltip
    assert "0 (the default) means no limit" in dock.pipeline_tab.max_instances.tooltip


def test_predict_on_defaults_to_random_frames_without_suggestions(make_napari_viewer, tmp_path, qtbot):
    """The tiny project has no suggestions: the dock predicts on random frames and says why, by Run."""
    import sleap_io as sio

    full = sio.load_slp(str(make_tiny_project(tmp_path / "p", n_frames=12)))
    part = sio.Labels(labeled_frames=full.labeled_frames[:6], videos=full.videos, skeletons=full.skeletons)
    slp = tmp_path / "p" / "half.slp"  # 6 of 12 frames labeled, no suggestions
    sio.save_slp(part, str(slp), verbose=False)
    viewer = make_napari_viewer()
    viewer.open(str(slp), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    try:
        assert dock.session.pipeline.predict_on is PredictOn.RANDOM_FRAMES
        note = dock.run_panel.predict_note.text()
        assert note.startswith("After training: predict on") and "the project has no suggested frames" in note
        # the same rule as the predict command's default
        from napari_sleap_train.session.predict_on import default_predict_choice

        assert default_predict_choice(dock.project.labels).predict_on is PredictOn.RANDOM_FRAMES
    finally:
        dock.cleanup()


def test_suggested_frames_stay_the_default_when_some_are_unlabeled(docked):
    _, dock = docked
    assert dock.session.pipeline.predict_on is PredictOn.SUGGESTED_FRAMES
    assert "suggested" in dock.run_panel.predict_note.text()


# ---------------------------------------------------------------------- real child process


@pytest.fixture
def minimal_docked(make_napari_viewer, shared_data, tmp_path, qtbot):
    """The dock on SLEAP's minimal project (a copy), its SLEAP 1.4 models picked with "Folder…"."""
    import shutil

    folder = tmp_path / "minimal"
    shutil.copytree(shared_data / "minimal", folder)
    viewer = make_napari_viewer()
    viewer.open(str(folder / "minimal_instance.slp"), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    dock.session.pipeline.device = "cpu"
    models = shared_data / "models"
    for kind, name in ((CEN, "minimal_instance.UNet.centroid"), (CI, "minimal_instance.UNet.centered_instance")):
        dock.model_tabs[kind].reuse.add_folder(models / name)
    yield viewer, dock
    dock.cleanup()


def _press(qtbot, panel, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.state.status.is_final and not panel.busy, timeout=400_000)
    assert panel.controller.wait(60)


@pytest.mark.slow
def test_use_trained_model_skips_training_in_a_real_run(minimal_docked, qtbot):
    viewer, dock = minimal_docked
    for kind in (CEN, CI):
        dock.model_tabs[kind].reuse.how.value = Reuse.USE
        assert dock.model_tabs[kind].reuse.info.value.startswith("Not trained")
    dock.pipeline_tab.predict_on.value = PredictOn.CURRENT_FRAME
    runs = Path(dock.session.pipeline.runs_folder)
    panel = dock.run_panel
    _press(qtbot, panel, panel.run_button)
    state = panel.state
    assert state.status.value == "finished", state.last_error
    assert not state.histories  # no model trained: no loss curve
    assert sum("(not retrained)" in m.text for m in state.messages) == 2
    assert {p.name for p in runs.iterdir() if p.is_dir()} <= {"predictions", "labels"}  # no new run folder
    assert f"{dock.project.name} predictions" in viewer.layers


@pytest.mark.slow
def test_predict_button_runs_without_training(minimal_docked, qtbot):
    viewer, dock = minimal_docked
    for kind in (CEN, CI):
        dock.model_tabs[kind].reuse.how.value = Reuse.USE
    dock.pipeline_tab.predict_on.value = PredictOn.RANDOM_FRAMES
    dock.pipeline_tab.predict_n.value = 3
    panel = dock.run_panel
    _press(qtbot, panel, panel.predict_button)
    assert panel.state.status.value == "finished", panel.state.last_error
    assert not panel.state.histories and panel.state.run_dirs == []
    layer = viewer.layers[f"{dock.project.name} predictions"]
    assert len(set(layer.data[:, 0].astype(int))) == 3
