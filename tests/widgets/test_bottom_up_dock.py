"""The bottom-up pipeline in the dock, as a user drives it: its tab, its settings, the field preview.

Real viewers (``make_napari_viewer``), real projects on disk; the expected
fields come straight from :func:`napari_sleap_train.data.pafs.part_affinity_fields`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.config.model import ModelKind, PipelineKind
from napari_sleap_train.data.pafs import part_affinity_fields
from napari_sleap_train.widgets.previews.inputs_window import (
    confmap_layer_name,
    fields_layer_name,
    input_layer_name,
)
from napari_sleap_train.widgets.previews.layers import CROP_BOXES, PAF_VECTORS, RECEPTIVE_FIELD
from napari_sleap_train.widgets.previews.paf_vectors import ARROW_FRACTION, MIN_WEIGHT

MULTI = ModelKind.MULTI_INSTANCE
#: the hand-made animal: three body parts on a bent line (xy, frame pixels) on frame 1
HAND_MADE = np.array([[20.0, 30.0], [52.0, 30.0], [52.0, 70.0]])


def _shown(dock, widget) -> bool:
    return widget.native.isVisibleTo(dock)


def _wait_for(qtbot, condition) -> None:
    qtbot.waitUntil(condition, timeout=3000)


def _paf_layer(viewer):
    return viewer.layers[PAF_VECTORS] if PAF_VECTORS in viewer.layers else None


@pytest.fixture(scope="module")
def hand_made_slp(tmp_path_factory) -> Path:
    """A 96x96, 3-frame video with one labeled animal (a -> b -> c) on frame 1."""
    folder = tmp_path_factory.mktemp("hand_made")
    frames = np.full((3, 96, 96, 1), 40, np.uint8)
    sio.save_video(frames, str(folder / "hand.mp4"), fps=10, crf=1)
    video = sio.Video.from_filename(str(folder / "hand.mp4"))
    skeleton = sio.Skeleton(["a", "b", "c"], [("a", "b"), ("b", "c")])
    instance = sio.Instance.from_numpy(HAND_MADE, skeleton=skeleton)
    labels = sio.Labels(
        labeled_frames=[sio.LabeledFrame(video=video, frame_idx=1, instances=[instance])],
        videos=[video],
        skeletons=[skeleton],
    )
    path = folder / "hand.slp"
    sio.save_slp(labels, str(path), verbose=False)
    return path


@pytest.fixture
def hand_docked(make_napari_viewer, hand_made_slp):
    viewer = make_napari_viewer()
    viewer.open(str(hand_made_slp), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    dock.pipeline_tab.kind.value = PipelineKind.BOTTOM_UP
    viewer.dims.set_current_step(0, 1)
    yield viewer, dock
    dock.cleanup()


def _expected_vectors(sigma: float, stride: int, scaling: float = 1.0) -> np.ndarray:
    """The arrows ``[[y, x], [dy, dx]]`` of the hand-made animal, from data/pafs.py alone."""
    assert scaling == 1.0  # frame pixels are network pixels: no scaling to undo here
    fields = part_affinity_fields(HAND_MADE, np.array([[0, 1], [1, 2]]), 96, 96, sigma, stride)
    oh, ow = fields.shape[:2]
    out = []
    for e in range(2):
        for i in range(oh):
            for j in range(ow):
                fx, fy = fields[i, j, 2 * e], fields[i, j, 2 * e + 1]
                if np.hypot(fx, fy) >= MIN_WEIGHT:
                    d = np.array([fy, fx]) * ARROW_FRACTION * stride
                    out.append([np.array([i, j]) * stride - d / 2, d])
    return np.array(out).reshape(-1, 2, 2)


def _same_arrows(got: np.ndarray, expected: np.ndarray) -> bool:
    def rows(a):
        return a.reshape(len(a), -1)[np.lexsort(a.reshape(len(a), -1).T[::-1])]

    return got.shape == expected.shape and np.allclose(rows(got), rows(expected), atol=1e-5)


def test_the_vectors_layer_is_the_fields_of_data_pafs_on_a_hand_made_animal(hand_docked, qtbot):
    viewer, dock = hand_docked
    tab = dock.model_tabs[MULTI]
    tab.input_scaling.value = 1.0
    tab.output_stride.value = 2
    heads = tab.heads
    heads.edge_sigma.value = 40.0
    heads.paf_stride.value = 4
    dock.previews.update()
    layer = _paf_layer(viewer)
    assert layer is not None and layer.vector_style == "arrow"
    data = np.asarray(layer.data)
    assert np.all(data[:, 0, 0] == 1) and np.all(data[:, 1, 0] == 0)  # on frame 1 only
    expected = _expected_vectors(40.0, 4)
    assert len(expected) > 10
    assert _same_arrows(data[:, :, 1:], expected)
    # geometry, not only agreement: a -> b points right (+x), b -> c points down (+y)
    colors = np.asarray(layer.edge_color)
    first = np.all(np.isclose(colors, colors[np.argmax(data[:, 1, 2])]), axis=1)
    assert np.all(data[first, 1, 2] > 0) and np.allclose(data[first, 1, 1], 0, atol=1e-6)
    assert np.all(data[~first, 1, 1] > 0) and np.allclose(data[~first, 1, 2], 0, atol=1e-6)

    # the arrows follow the edge sigma and the field stride, from the widgets
    heads.edge_sigma.value = 150.0
    _wait_for(qtbot, lambda: _same_arrows(np.asarray(_paf_layer(viewer).data)[:, :, 1:], _expected_vectors(150.0, 4)))
    assert len(_paf_layer(viewer).data) > len(data)  # wider fields, more arrows
    heads.paf_stride.value = 8
    _wait_for(qtbot, lambda: _same_arrows(np.asarray(_paf_layer(viewer).data)[:, :, 1:], _expected_vectors(150.0, 8)))
    # and the frame: nothing labeled on frame 2, the animal again on frame 1
    viewer.dims.set_current_step(0, 2)
    _wait_for(qtbot, lambda: len(_paf_layer(viewer).data) == 0)
    viewer.dims.set_current_step(0, 1)
    _wait_for(qtbot, lambda: len(_paf_layer(viewer).data) > 0)


def test_the_arrows_follow_input_scaling_back_on_the_frame(hand_docked):
    viewer, dock = hand_docked
    dock.model_tabs[MULTI].input_scaling.value = 0.5
    dock.model_tabs[MULTI].heads.paf_stride.value = 8
    dock.previews.update()
    data = np.asarray(_paf_layer(viewer).data)[:, :, 1:]
    centres = data[:, 0] + data[:, 1] / 2
    step = 8 / 0.5
    # grid points of a half-size network, 16 frame pixels apart (OpenCV's pixel-centre mapping)
    assert np.allclose(((centres + 0.5) * 0.5 - 0.5) / 8 % 1, 0, atol=1e-6)
    assert np.isclose(np.abs(data[:, 1]).max(), ARROW_FRACTION * step, atol=0.5)
    # every arrow sits near one of the two edges
    near_ab = (np.abs(centres[:, 0] - 30) <= step) & (centres[:, 1] >= 20 - step) & (centres[:, 1] <= 52 + step)
    near_bc = (np.abs(centres[:, 1] - 52) <= step) & (centres[:, 0] >= 30 - step) & (centres[:, 0] <= 70 + step)
    assert np.all(near_ab | near_bc)


def test_switching_to_bottom_up_shows_its_tab_settings_and_arrows(docked, qtbot):
    viewer, dock = docked
    frame = sorted(f for v, f in dock.project.user_frames() if v == 0)[0]
    viewer.dims.set_current_step(0, frame)
    dock.pipeline_tab.kind.value = PipelineKind.BOTTOM_UP
    assert dock.model_tab_titles() == ["Training Pipeline", "Multi-Instance"]
    assert dock.session.selected is MULTI
    tab, pipe = dock.model_tabs[MULTI], dock.pipeline_tab
    assert "Heads" in tab.sections and tab.heads is not None
    assert all(_shown(dock, w) for w in (pipe.sigma_multi, pipe.sigma_edges, pipe.max_instances))
    assert not any(_shown(dock, w) for w in (pipe.anchor, pipe.sigma_centroid, pipe.sigma_nodes, pipe.sigma_single))
    _wait_for(qtbot, lambda: _paf_layer(viewer) is not None and len(_paf_layer(viewer).data) > 0)
    assert CROP_BOXES not in viewer.layers and RECEPTIVE_FIELD in viewer.layers
    # the pipeline tab's "sigma for edges" and the model tab's are one setting
    pipe.sigma_edges.value = 42.0
    assert tab.heads.edge_sigma.value == 42.0 == dock.session.model(MULTI).pafs.sigma
    assert tab.heads.info.value.startswith("Fields reach")

    dock.pipeline_tab.kind.value = PipelineKind.TOP_DOWN
    assert dock.model_tab_titles() == ["Training Pipeline", "Centroid", "Centered Instance"]
    _wait_for(qtbot, lambda: PAF_VECTORS not in viewer.layers and CROP_BOXES in viewer.layers)
    assert not _shown(dock, pipe.sigma_edges)
    dock.pipeline_tab.kind.value = PipelineKind.SINGLE_INSTANCE
    assert _shown(dock, pipe.sigma_single) and not _shown(dock, pipe.sigma_multi)
    _wait_for(qtbot, lambda: PAF_VECTORS not in viewer.layers)

    dock.pipeline_tab.kind.value = PipelineKind.BOTTOM_UP  # back: the settings were kept
    assert dock.model_tabs[MULTI].heads.edge_sigma.value == 42.0
    _wait_for(qtbot, lambda: _paf_layer(viewer) is not None)
    dock.cleanup()  # closing the dock takes its arrows away
    assert PAF_VECTORS not in viewer.layers


def test_bottom_up_profiles_are_in_the_tab_profile_choice(docked):
    _, dock = docked
    dock.pipeline_tab.kind.value = PipelineKind.BOTTOM_UP
    tab = dock.model_tabs[MULTI]
    values = list(tab.profile.choices)
    assert "profile:baseline_medium_rf.bottomup" in values and "profile:cpu.bottomup" in values
    assert not any("centroid" in v or "single" in v for v in values)
    tab.profile.value = "profile:baseline_medium_rf.bottomup"
    cfg = dock.session.model(MULTI)
    assert (cfg.pafs.sigma, cfg.pafs.output_stride, cfg.model.output_stride) == (75.0, 8, 4)
    assert tab.heads.edge_sigma.value == 75.0 and tab.heads.paf_stride.value == 8
    tab.profile.value = "profile:cpu.bottomup"
    assert tab.heads.edge_sigma.value == 25.0 and tab.input_scaling.value == 0.5


def test_a_field_stride_that_cannot_work_is_said_in_the_tab(docked):
    _, dock = docked
    dock.pipeline_tab.kind.value = PipelineKind.BOTTOM_UP
    tab = dock.model_tabs[MULTI]
    tab.output_stride.value = 4
    tab.heads.paf_stride.value = 2
    assert "multiple of the confidence maps' (4)" in tab.heads.info.value


def test_a_skeleton_without_edges_is_said_and_draws_nothing(make_napari_viewer, tmp_path):
    from tests.runner.tiny_project import make_tiny_project

    slp = make_tiny_project(tmp_path, n_frames=3)  # head, tail: no edge
    viewer = make_napari_viewer()
    viewer.open(str(slp), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    dock.pipeline_tab.kind.value = PipelineKind.BOTTOM_UP
    dock.previews.update()
    assert PAF_VECTORS not in viewer.layers
    assert "skeleton has none" in dock.previews.last_error
    assert dock.model_tabs[MULTI].heads.info.value.startswith("The skeleton has no edges")
    dock.cleanup()


def test_view_training_inputs_shows_confmaps_and_field_arrows(docked):
    _, dock = docked
    dock.pipeline_tab.kind.value = PipelineKind.BOTTOM_UP
    (stack,) = dock.view_training_inputs(n=3, seed=1)
    assert stack.kind is MULTI and stack.pafs is not None and stack.pafs.shape[0] == 3
    assert stack.pafs.shape[-1] == 2 * len(dock.project.edges)
    window = dock.inputs_window.viewer
    names = [layer.name for layer in window.layers]
    assert names == [input_layer_name(MULTI), confmap_layer_name(MULTI), fields_layer_name(MULTI)]
    assert window.layers[confmap_layer_name(MULTI)].data.max() > 0.5  # every body part's blob
    arrows = np.asarray(window.layers[fields_layer_name(MULTI)].data)
    assert set(arrows[:, 0, 0].astype(int)) == {0, 1, 2}  # arrows on every example
    # each arrow is the field at its grid point
    i, (y, x) = arrows[0, 0, 0].astype(int), arrows[0, 0, 1:] + arrows[0, 1, 1:] / 2
    s = stack.paf_stride
    fields = stack.pafs[i, int(round(y / s)), int(round(x / s))].reshape(-1, 2)
    assert any(np.allclose(f[::-1] * ARROW_FRACTION * s, arrows[0, 1, 1:], atol=1e-5) for f in fields)


def test_loading_sleap_bottom_up_config_switches_the_dock_to_bottom_up(docked, shared_data):
    """Load configuration... with a SLEAP 1.4 bottom-up training_config.json."""
    _, dock = docked
    assert dock.session.pipeline.kind is PipelineKind.TOP_DOWN
    dock.load_configuration(shared_data / "models" / "minimal_instance.UNet.bottomup" / "training_config.json")
    assert dock.session.pipeline.kind is PipelineKind.BOTTOM_UP
    assert dock.model_tab_titles() == ["Training Pipeline", "Multi-Instance"]
    heads = dock.model_tabs[MULTI].heads
    assert (heads.sigma.value, heads.edge_sigma.value, heads.paf_stride.value) == (1.5, 50.0, 4)
    assert dock.pipeline_tab.sigma_edges.value == 50.0 and dock.model_tabs[MULTI].output_stride.value == 2


def test_save_then_load_keeps_the_bottom_up_settings(docked, tmp_path):
    _, dock = docked
    dock.pipeline_tab.kind.value = PipelineKind.BOTTOM_UP
    heads = dock.model_tabs[MULTI].heads
    heads.edge_sigma.value, heads.paf_stride.value, heads.paf_weight.value = 33.0, 16, 0.5
    path = dock.save_configuration(tmp_path / "pipeline.json")
    dock.pipeline_tab.kind.value = PipelineKind.TOP_DOWN
    dock.session.model(MULTI).pafs.sigma = 99.0
    dock.load_configuration(path)
    heads = dock.model_tabs[MULTI].heads
    assert dock.session.pipeline.kind is PipelineKind.BOTTOM_UP
    assert (heads.edge_sigma.value, heads.paf_stride.value, heads.paf_weight.value) == (33.0, 16, 0.5)
