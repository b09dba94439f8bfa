"""The SLEAP Training dock as a user drives it: settings, live previews, config files, jobs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_sleap_train.config.model import ModelKind, PipelineKind, Precision, PredictOn, Switch
from napari_sleap_train.config.sleap_json import read_sleap_config
from napari_sleap_train.data.anchors import anchor_points
from napari_sleap_train.data.crops import auto_crop_size, crop_network_size
from napari_sleap_train.data.labels import collect_samples
from napari_sleap_train.data.receptive_field import receptive_field
from napari_sleap_train.protocol.job import TrainJob
from napari_sleap_train.widgets.dock import NO_PROJECT_HINT, TrainingDock
from napari_sleap_train.widgets.previews.geometry import inside_frame
from napari_sleap_train.widgets.previews.inputs_window import (
    confmap_layer_name,
    input_layer_name,
)
from napari_sleap_train.widgets.previews.layers import CROP_BOXES, RECEPTIVE_FIELD

CI = ModelKind.CENTERED_INSTANCE


def _rects(layer) -> list[np.ndarray]:
    return [np.asarray(d) for d in layer.data]


def _sides(layer) -> list[tuple[float, float]]:
    """(height, width) of every rectangle of a shapes layer."""
    out = []
    for r in _rects(layer):
        yx = r[:, -2:]
        out.append((float(np.ptp(yx[:, 0])), float(np.ptp(yx[:, 1]))))
    return out


def _centers_xy(layer) -> np.ndarray:
    return np.array([r[:, -2:].mean(axis=0)[::-1] for r in _rects(layer)])


def _shown(dock, widget) -> bool:
    """Whether a tab widget is shown once the dock is (the test viewer stays hidden)."""
    return widget.native.isVisibleTo(dock)


def _labeled_frames(dock) -> list[int]:
    return sorted(f for v, f in dock.project.user_frames() if v == 0)


def _wait_for(qtbot, predicate) -> None:
    def check() -> bool:
        try:
            return bool(predicate())
        except ValueError:  # shapes do not match yet: the redraw is pending
            return False

    qtbot.waitUntil(check, timeout=3000)


def test_hint_without_project_then_dock_follows_opened_project(make_napari_viewer, sample_slp):
    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    assert isinstance(dock, TrainingDock)
    assert dock.hint.text() == NO_PROJECT_HINT
    assert "Open a SLEAP project (.slp)" in dock.hint.text()
    assert not dock.tabs.isEnabled()
    assert CROP_BOXES not in viewer.layers
    assert dock.build_job() is None  # explains instead of failing

    viewer.open(str(sample_slp), plugin="napari-sleap-train")  # layers.events.inserted
    assert dock.project is not None
    assert "sample" in dock.hint.text() and "labeled frames" in dock.hint.text()
    assert dock.tabs.isEnabled()
    assert CROP_BOXES in viewer.layers and RECEPTIVE_FIELD in viewer.layers
    # runs folder defaults to <project folder>/models
    assert dock.session.pipeline.runs_folder == str(sample_slp.parent.resolve() / "models")
    # anchor choices come from the skeleton
    choices = [c for c in dock.pipeline_tab.anchor.choices]
    assert choices[0] == "" and "trunk" in choices
    dock.cleanup()


def test_fixed_crop_size_draws_boxes_of_that_size_around_each_instance(docked, qtbot):
    viewer, dock = docked
    frame = _labeled_frames(dock)[1]
    viewer.dims.set_current_step(0, frame)
    tab = dock.model_tabs[CI]
    tab.crop_auto.value = False
    tab.crop_size.value = 128
    assert dock.session.model(CI).data.crop_size == 128
    layer = viewer.layers[CROP_BOXES]
    _wait_for(qtbot, lambda: _sides(layer) and all(s == (128.0, 128.0) for s in _sides(layer)))
    instances = dock.project.labeled_instances(0, frame)
    assert len(layer.data) == len(instances) >= 1
    np.testing.assert_allclose(_centers_xy(layer), anchor_points(instances, None), atol=1e-6)
    assert set(layer.shape_type) == {"rectangle"}


def test_auto_crop_size_matches_data_auto_crop_size(docked, qtbot):
    viewer, dock = docked
    viewer.dims.set_current_step(0, _labeled_frames(dock)[0])
    tab = dock.model_tabs[CI]
    tab.crop_auto.value = False
    tab.crop_size.value = 96
    tab.crop_auto.value = True
    cfg = dock.session.model(CI)
    assert cfg.data.crop_size is None
    assert not tab.crop_size.enabled
    # rotation augmentation enlarges the auto crop; the boxes follow
    tab.augmentation.rotate.value = True
    tab.augmentation.rotation_max.value = 45
    instances = [s.instances for s in collect_samples(dock.project.labels)]
    expected = auto_crop_size(
        instances,
        input_scaling=cfg.data.input_scaling,
        max_stride=cfg.model.max_stride,
        padding=cfg.data.crop_padding,
        max_rotation_deg=45.0,
    )
    layer = viewer.layers[CROP_BOXES]
    _wait_for(qtbot, lambda: _sides(layer) and _sides(layer)[0] == (expected, expected))
    assert f"{expected} px" in tab.crop_info.value


def test_receptive_field_follows_max_stride_and_input_scaling(docked, qtbot):
    viewer, dock = docked
    dock.show_tab("Centroid")
    assert dock.session.selected is ModelKind.CENTROID
    tab = dock.model_tabs[ModelKind.CENTROID]
    viewer.dims.set_current_step(0, _labeled_frames(dock)[0])
    tab.input_scaling.value = 1.0
    tab.max_stride.value = 16
    layer = viewer.layers[RECEPTIVE_FIELD]
    _wait_for(qtbot, lambda: _sides(layer) == [(76.0, 76.0)])
    tab.max_stride.value = 32
    tab.input_scaling.value = 0.5
    side = receptive_field(32) / 0.5
    _wait_for(qtbot, lambda: _sides(layer) == [(side, side)])
    assert "156 px network = 312 px in the frame" in tab.rf_info.value
    # the square sits on the first instance's anchor of the current frame, moved inside the frame
    frame = int(viewer.dims.current_step[0])
    instances = dock.project.labeled_instances(0, frame)
    if len(instances):
        frame_hw = dock.frames.frame_size(0)
        expected = inside_frame(anchor_points(instances, None)[0], side, frame_hw, max(frame_hw) / 40)
        np.testing.assert_allclose(_centers_xy(layer)[0], expected, atol=1e-4)
    # 2-D layer: shown on every frame
    assert layer.ndim == 2
    # switching to the other model's tab shows that model's receptive field
    dock.show_tab("Centered Instance")
    ci = dock.session.model(CI)
    ci_side = receptive_field(ci.model.max_stride) / ci.data.input_scaling
    _wait_for(qtbot, lambda: _sides(layer) == [(ci_side, ci_side)])


def test_boxes_follow_the_frame_slider(docked, qtbot):
    viewer, dock = docked
    layer = viewer.layers[CROP_BOXES]
    frames = _labeled_frames(dock)
    for frame in (frames[0], frames[-1], frames[len(frames) // 2]):
        viewer.dims.set_current_step(0, frame)
        expected = anchor_points(dock.project.labeled_instances(0, frame), None)

        def moved(frame=frame, expected=expected):
            rects = _rects(layer)
            # a 2-D layer redrawn for each frame (cheaper than one napari re-slices)
            return len(rects) == len(expected) and np.allclose(_centers_xy(layer), expected)

        _wait_for(qtbot, moved)
    unlabeled = next(f for f in range(60) if f not in frames)
    viewer.dims.set_current_step(0, unlabeled)
    _wait_for(qtbot, lambda: len(layer.data) == 0)
    # preview layers are updated in place, never duplicated
    names = [lyr.name for lyr in viewer.layers]
    assert names.count(CROP_BOXES) == 1 and names.count(RECEPTIVE_FIELD) == 1


def test_anchor_part_moves_the_boxes(docked, qtbot):
    viewer, dock = docked
    frame = _labeled_frames(dock)[0]
    viewer.dims.set_current_step(0, frame)
    dock.pipeline_tab.anchor.value = "nose"
    assert dock.session.pipeline.anchor_part == "nose"
    # stored once, in the pipeline; the heads get it in the job
    assert dock.session.model(CI).head.anchor_part is None
    assert dock.session.trained_model(CI).head.anchor_part == "nose"
    nose = dock.project.labeled_instances(0, frame)[:, 0]
    layer = viewer.layers[CROP_BOXES]
    _wait_for(qtbot, lambda: np.allclose(_centers_xy(layer), nose))


def test_pipeline_switch_changes_tabs_and_previews(docked, qtbot):
    viewer, dock = docked
    assert dock.model_tab_titles() == [
        "Training Pipeline",
        "Centroid",
        "Centered Instance",
    ]
    dock.pipeline_tab.kind.value = PipelineKind.SINGLE_INSTANCE
    assert dock.model_tab_titles() == ["Training Pipeline", "Single Instance"]
    assert dock.session.selected is ModelKind.SINGLE_INSTANCE
    assert not _shown(dock, dock.pipeline_tab.anchor)
    _wait_for(qtbot, lambda: CROP_BOXES not in viewer.layers)  # no crops without a centered-instance model
    assert RECEPTIVE_FIELD in viewer.layers
    dock.pipeline_tab.kind.value = PipelineKind.TOP_DOWN
    assert dock.model_tab_titles() == [
        "Training Pipeline",
        "Centroid",
        "Centered Instance",
    ]
    _wait_for(qtbot, lambda: CROP_BOXES in viewer.layers)


def test_widgets_and_state_stay_in_sync_both_ways(docked):
    _, dock = docked
    tab = dock.model_tabs[ModelKind.CENTROID]
    tab.batch_size.value = 2
    tab.patience.value = 7
    tab.time_limit.value = 30
    assert dock.session.model(ModelKind.CENTROID).optimization.batch_size == 2
    assert dock.session.model(ModelKind.CENTROID).optimization.early_stopping.patience == 7
    assert dock.session.model(ModelKind.CENTROID).optimization.time_limit_minutes == 30.0
    dock.session.model(ModelKind.CENTROID).optimization.learning_rate = 5e-4
    assert tab.learning_rate.value == pytest.approx(5e-4)
    dock.session.pipeline.predict_on = PredictOn.RANDOM_FRAMES
    assert dock.pipeline_tab.predict_on.value is PredictOn.RANDOM_FRAMES
    assert _shown(dock, dock.pipeline_tab.predict_n)


def test_center_jitter_and_pose_balance_are_dock_settings(docked):
    _, dock = docked
    tab, cfg = dock.model_tabs[CI], dock.session.model(CI)
    assert dock.model_tabs[ModelKind.CENTROID].augmentation.center_jitter is None  # whole frames: no crop to move
    tab.augmentation.center_jitter.value = 6
    assert cfg.augmentation.anchor_jitter == pytest.approx(0.06)  # shown in % of the crop side
    cfg.augmentation.anchor_jitter = 0.1
    assert tab.augmentation.center_jitter.value == pytest.approx(10.0)
    tab.balance_poses.value = not cfg.optimization.balance_poses
    assert tab.balance_poses.value is cfg.optimization.balance_poses
    for widget in (tab.augmentation.center_jitter, tab.balance_poses):
        assert widget.tooltip and len(widget.tooltip.split()) > 8


def test_bend_limbs_is_a_centered_instance_setting(docked):
    _, dock = docked
    tab, cfg = dock.model_tabs[CI].augmentation, dock.session.model(CI).augmentation
    assert dock.model_tabs[ModelKind.CENTROID].augmentation.limb_angle is None  # no limbs on a centroid
    assert (tab.limb_angle.value, tab.limb_stretch.value) == (0.0, 0.0) and not cfg.bends_limbs
    tab.limb_angle.value = 20
    tab.limb_stretch.value = 15  # shown in % of the limb's length
    assert (cfg.limb_angle, cfg.limb_stretch) == (20.0, pytest.approx(0.15)) and cfg.bends_limbs
    cfg.limb_stretch = 0.3
    assert tab.limb_stretch.value == pytest.approx(30.0)
    assert "limb" in tab.limb_angle.tooltip


def test_default_patience_and_plain_words_tooltips(docked):
    _, dock = docked
    tab = dock.model_tabs[CI]
    assert tab.patience.value == 100  # cpu.centered_instance's (the tests run without a GPU)
    assert "out of memory" in tab.batch_size.tooltip
    for widget in (
        tab.crop_size,
        tab.input_scaling,
        tab.rf_info,
        tab.patience,
        tab.batch_size,
    ):
        assert widget.tooltip and len(widget.tooltip.split()) > 8


def test_save_then_load_configuration_restores_every_tab(docked, tmp_path):
    _, dock = docked
    ci, cen = dock.model_tabs[CI], dock.model_tabs[ModelKind.CENTROID]
    ci.crop_auto.value = False
    ci.crop_size.value = 144
    cen.max_stride.value = 32
    cen.epochs.value = 12
    dock.pipeline_tab.anchor.value = "trunk"
    dock.pipeline_tab.run_prefix.value = "mice_"
    path = dock.save_configuration(tmp_path / "pipeline.json")
    assert json.loads(path.read_text())["anchor_part"] == "trunk"

    ci.crop_auto.value = True
    cen.max_stride.value = 8
    cen.epochs.value = 99
    dock.pipeline_tab.anchor.value = ""
    dock.pipeline_tab.run_prefix.value = ""
    dock.pipeline_tab.kind.value = PipelineKind.SINGLE_INSTANCE

    dock.load_configuration(path)
    assert dock.model_tab_titles() == [
        "Training Pipeline",
        "Centroid",
        "Centered Instance",
    ]
    ci, cen = dock.model_tabs[CI], dock.model_tabs[ModelKind.CENTROID]
    assert ci.crop_auto.value is False and ci.crop_size.value == 144
    assert cen.max_stride.value == 32 and cen.epochs.value == 12
    assert dock.pipeline_tab.anchor.value == "trunk"
    assert dock.pipeline_tab.run_prefix.value == "mice_"
    assert dock.session.model(CI).data.crop_size == 144


def test_load_sleap_training_config(docked, shared_data):
    _, dock = docked
    path = shared_data / "models" / "minimal_instance.UNet.centered_instance" / "training_config.json"
    expected = read_sleap_config(path)
    dock.load_configuration(path)
    tab = dock.model_tabs[CI]
    assert tab.max_stride.value == expected.model.max_stride
    assert tab.filters.value == expected.model.filters
    assert tab.input_scaling.value == pytest.approx(expected.data.input_scaling)
    assert dock.session.model(CI).optimization.batch_size == expected.optimization.batch_size


def test_profile_picker_loads_a_builtin_profile(docked):
    from napari_sleap_train.config.profiles import get_profile, list_profiles

    _, dock = docked
    tab = dock.model_tabs[ModelKind.CENTROID]
    name = list_profiles(ModelKind.CENTROID)[-1]
    tab.profile.value = f"profile:{name}"
    expected = get_profile(name)
    assert dock.session.model(ModelKind.CENTROID).model.max_stride == expected.model.max_stride
    assert tab.max_stride.value == expected.model.max_stride
    assert tab.input_scaling.value == pytest.approx(expected.data.input_scaling)


def test_view_training_inputs_opens_example_stacks(docked):
    _, dock = docked
    ci = dock.model_tabs[CI]
    ci.crop_auto.value = False
    ci.crop_size.value = 96
    stacks = dock.view_training_inputs(n=4, seed=1)
    window = dock.inputs_window.viewer
    assert window is not None and window is not dock.viewer
    cen_cfg, ci_cfg = dock.session.model(ModelKind.CENTROID), dock.session.model(CI)
    cen = window.layers[input_layer_name(ModelKind.CENTROID)]
    n, h, w = cen.data.shape
    assert n == 4 and h % cen_cfg.model.max_stride == 0 and w % cen_cfg.model.max_stride == 0
    assert h == pytest.approx(384 * cen_cfg.data.input_scaling, abs=cen_cfg.model.max_stride)
    cm = window.layers[confmap_layer_name(ModelKind.CENTROID)]
    s = cen_cfg.model.output_stride
    assert cm.data.shape == (4, h // s, w // s)
    assert tuple(cm.scale) == (1.0, s, s)
    assert cm.blending == "additive"
    assert 0.9 < cm.data.max() <= 1.0  # Gaussians peak at 1 on the anchors
    crops = window.layers[input_layer_name(CI)]
    side = crop_network_size(96, ci_cfg.data.input_scaling, ci_cfg.model.max_stride)
    assert crops.data.shape == (4, side, side)
    assert window.layers[confmap_layer_name(CI)].data.shape == (
        4,
        side // ci_cfg.model.output_stride,
    ) * 1 + (side // ci_cfg.model.output_stride,)
    assert [st.kind for st in stacks] == [ModelKind.CENTROID, CI]
    # the video's dims are untouched: examples live in their own window
    assert dock.viewer.dims.axis_labels[0] != "example"
    # a second click refreshes in place (no duplicate layers)
    dock.view_training_inputs(n=4, seed=2)
    assert dock.inputs_window.viewer is window
    assert len(window.layers) == 4


def test_build_job_snapshots_labels_and_selects_frames(docked):
    _, dock = docked
    dock.pipeline_tab.predict_on.value = PredictOn.RANDOM_FRAMES
    dock.pipeline_tab.predict_n.value = 5
    dock.pipeline_tab.run_prefix.value = "t_"
    job = dock.build_job()
    assert isinstance(job, TrainJob)
    snapshot = job.labels_path
    assert snapshot.endswith(".slp") and "t_sample" in snapshot
    from pathlib import Path

    assert Path(snapshot).is_file() and Path(snapshot) != dock.project.path
    assert len(job.predict_frames) == 5
    labeled = set(dock.project.user_frames())
    assert not labeled & set(job.predict_frames)
    assert job.pipeline.kind is PipelineKind.TOP_DOWN
    assert set(job.pipeline.models) == {ModelKind.CENTROID, CI}
    assert Path(job.runs_folder).is_dir()


def test_device_choice_reaches_the_job(docked):
    _, dock = docked
    combo = dock.pipeline_tab.device
    values = [value for _label, value in combo.choices] if isinstance(combo.choices[0], tuple) else list(combo.choices)
    assert values[0] == "auto" and values[-1] == "cpu"
    assert combo.value == "auto"
    combo.value = "cpu"
    assert dock.session.pipeline.device == "cpu"
    job = dock.build_job()
    assert job.pipeline.device == "cpu"


def test_closing_the_dock_removes_previews_and_inputs_window(make_napari_viewer, sample_slp):
    viewer = make_napari_viewer()
    viewer.open(str(sample_slp), plugin="napari-sleap-train")
    dock_widget, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    dock.previews.update()
    dock.view_training_inputs(n=2)
    assert dock.inputs_window.is_open
    assert CROP_BOXES in viewer.layers and RECEPTIVE_FIELD in viewer.layers
    viewer.window.remove_dock_widget(dock_widget)
    assert CROP_BOXES not in viewer.layers and RECEPTIVE_FIELD not in viewer.layers
    assert not dock.inputs_window.is_open
    # project layers are untouched
    assert any(layer.metadata.get("sleap_project") is not None for layer in viewer.layers)


def test_predict_on_explains_the_selected_frames(docked):
    _, dock = docked
    dock.pipeline_tab.predict_on.value = PredictOn.RANDOM_FRAMES
    dock.pipeline_tab.predict_n.value = 5
    assert "5" in dock.pipeline_tab.predict_info.value
    dock.pipeline_tab.predict_on.value = PredictOn.NOTHING
    assert "off" in dock.pipeline_tab.predict_info.value


def test_finished_run_appears_in_the_profile_picker(docked):
    from pathlib import Path

    from napari_sleap_train.config.model import TrainingConfig
    from napari_sleap_train.config.serialize import save_json
    from napari_sleap_train.protocol import events as ev

    _, dock = docked
    runs = Path(dock.session.pipeline.runs_folder)
    run = runs / "250101_120000.centroid"
    run.mkdir(parents=True)
    trained = TrainingConfig(kind=ModelKind.CENTROID)
    trained.optimization.epochs = 7
    trained.model.filters = 48
    save_json(trained, run / "config.json")
    (run / "best_model.keras").write_bytes(b"weights")
    tab = dock.model_tabs[ModelKind.CENTROID]
    assert f"run:{run}" not in tab.profile.choices
    dock.run_panel.state.finished.emit(ev.Done(status="finished"))
    assert f"run:{run}" in tab.profile.choices
    assert tab.profile.choices.index(f"run:{run}") == 1  # trained runs before built-in profiles
    tab.profile.value = f"run:{run}"
    assert tab.epochs.value == 7 and tab.filters.value == 48
    assert dock.session.model(ModelKind.CENTROID).profile == run.name


def test_editing_points_moves_the_boxes(docked, qtbot):
    viewer, dock = docked
    frame = _labeled_frames(dock)[0]
    viewer.dims.set_current_step(0, frame)
    layer = viewer.layers[CROP_BOXES]
    before = anchor_points(dock.project.labeled_instances(0, frame), None)
    _wait_for(qtbot, lambda: np.allclose(_centers_xy(layer), before))
    labels = next(lyr for lyr in viewer.layers if lyr.metadata.get("sleap_role") == "labels")
    data = np.array(labels.data)
    on_frame = np.rint(data[:, 0]) == frame
    data[on_frame, 2] += 10.0  # drag every point of this frame 10 px to the right
    labels.data = data
    _wait_for(qtbot, lambda: np.allclose(_centers_xy(layer), before + [10.0, 0.0]))


def test_precision_and_xla_choices_reach_the_job(docked):
    _, dock = docked
    tab = dock.pipeline_tab
    assert tab.precision.value is Precision.AUTO and tab.xla.value is Switch.AUTO
    assert "tensor cores" in tab.precision.tooltip
    tab.precision.value = Precision.MIXED
    tab.xla.value = Switch.OFF
    job = dock.build_job()
    assert job.pipeline.precision is Precision.MIXED and job.pipeline.xla is Switch.OFF
