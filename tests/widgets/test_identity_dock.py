"""The identity pipelines (top-down-id, bottom-up-id) in the dock, as a user drives them.

Real viewers (``make_napari_viewer``) and real projects on disk: the procedural
sample (tracks ``mouse1``/``mouse2``), the tiny two-track project of the runner
tests, the same project without tracks, and the fly clip (``female``/``male``).
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap_train.config.model import ModelKind, PipelineKind
from napari_sleap_train.session.identity import too_few_classes
from napari_sleap_train.widgets.previews.inputs_window import (
    _grid_and_text,
    class_layer_name,
    confmap_layer_name,
    input_layer_name,
)
from napari_sleap_train.widgets.previews.layers import CROP_BOXES
from napari_sleap_train.widgets.tabs.pipeline_tab import IDENTITY_TRACKING_TITLE
from tests.runner.tiny_project import make_tiny_project

TD_ID, BU_ID = PipelineKind.TOP_DOWN_ID, PipelineKind.BOTTOM_UP_ID
MCT, MCB = ModelKind.MULTI_CLASS_TOPDOWN, ModelKind.MULTI_CLASS_BOTTOMUP


def _shown(dock, widget) -> bool:
    native = getattr(widget, "native", widget)
    return native.isVisibleTo(dock)


def _open(make_napari_viewer, path):
    viewer = make_napari_viewer()
    viewer.open(str(path), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    return viewer, dock


@pytest.fixture
def untracked_docked(make_napari_viewer, tmp_path):
    viewer, dock = _open(make_napari_viewer, make_tiny_project(tmp_path, n_frames=4))
    yield viewer, dock
    dock.cleanup()


@pytest.fixture
def tiny_tracked_docked(make_napari_viewer, tmp_path):
    path = make_tiny_project(tmp_path, n_frames=4, tracks=("female", "male"))
    viewer, dock = _open(make_napari_viewer, path)
    yield viewer, dock
    dock.cleanup()


def test_switching_to_the_identity_pipelines_shows_their_tabs_and_fields(docked):
    _, dock = docked
    tab = dock.pipeline_tab
    tab.kind.value = TD_ID
    assert dock.model_tab_titles()[1:] == ["Centroid", "Centered Instance ID"]
    assert _shown(dock, tab.anchor) and _shown(dock, tab.sigma_centroid) and _shown(dock, tab.sigma_nodes_id)
    assert not _shown(dock, tab.sigma_nodes)
    # the tracker has nothing to do: its section is disabled, with a note saying why
    assert not tab.tracking_section.isEnabled() and tab.tracking_section.text() == IDENTITY_TRACKING_TITLE
    assert not tab.tracking_section.isExpanded()
    heads = dock.model_tabs[MCT].heads
    assert heads.classes.value.startswith("mouse1, mouse2")  # the sample's track names
    heads.fc_layers.value = 4
    heads.fc_units.value = 32
    heads.class_weight.value = 0.05
    ident = dock.session.model(MCT).identity
    assert (ident.num_fc_layers, ident.num_fc_units, ident.loss_weight) == (4, 32, pytest.approx(0.05))
    # the multi-class centered-instance model crops: crop size row and crop boxes
    assert dock.model_tabs[MCT].crop_size is not None
    dock.previews.update()
    assert CROP_BOXES in dock.viewer.layers
    assert dock.run_panel.run_button.isEnabled() and not dock.run_panel.block_note.text()

    tab.kind.value = BU_ID
    assert dock.model_tab_titles()[1:] == ["Multi-Instance ID"]
    assert not _shown(dock, tab.anchor) and _shown(dock, tab.sigma_multi_id)
    dock.previews.update()  # (the redraw is debounced)
    assert CROP_BOXES not in dock.viewer.layers or not dock.viewer.layers[CROP_BOXES].data
    heads = dock.model_tabs[MCB].heads
    heads.map_sigma.value = 3.5
    heads.class_stride.value = 8
    assert (dock.session.model(MCB).identity.sigma, dock.session.model(MCB).identity.output_stride) == (3.5, 8)
    assert not tab.tracking_section.isEnabled()

    tab.kind.value = PipelineKind.TOP_DOWN  # back: the tracker is the user's again
    assert tab.tracking_section.isEnabled() and tab.tracking_section.text() == "Tracking"
    assert dock.model_tab_titles()[1:] == ["Centroid", "Centered Instance"]


def test_run_is_refused_next_to_run_on_a_project_without_tracks(untracked_docked, notes):
    _, dock = untracked_docked
    panel = dock.run_panel
    assert panel.run_button.isEnabled()
    dock.pipeline_tab.kind.value = BU_ID
    expected = too_few_classes(BU_ID, [])
    assert panel.block_note.text() == expected and _shown(dock, panel.block_note)
    assert not panel.run_button.isEnabled() and panel.headline.text() == "Run is off: see why below."
    assert "no track" in expected and "at least two tracks" in expected
    assert panel.run() is False and not panel.is_running
    assert any(expected in text for _, text in notes)
    assert dock.model_tabs[MCB].heads.classes.value.startswith("none")
    dock.pipeline_tab.kind.value = PipelineKind.BOTTOM_UP  # a pipeline without classes may run
    assert panel.run_button.isEnabled() and not _shown(dock, panel.block_note)


def test_bottom_up_id_inputs_show_the_class_maps(tiny_tracked_docked):
    viewer, dock = tiny_tracked_docked
    dock.pipeline_tab.kind.value = BU_ID
    stacks = dock.view_training_inputs(n=2, seed=0)
    (stack,) = stacks
    assert stack.classes == ["female", "male"]
    n, h, w = stack.images.shape[:3]
    stride = stack.class_stride
    assert stack.class_maps.shape == (n, h // stride, w // stride, 2)  # no loss-weight channel
    # each class map covers its animal: both classes are somewhere on every example
    assert (stack.class_maps.reshape(n, -1, 2).max(axis=1) > 0.5).all()
    window = dock.inputs_window.viewer
    for name in ("female", "male"):
        layer = window.layers[class_layer_name(MCB, name)]
        assert layer.data.shape == stack.class_maps.shape[:3]
        # on the class maps' grid: one cell every `stride` input pixels
        assert layer.scale[-1] == pytest.approx(stride * window.layers[input_layer_name(MCB)].scale[-1])
    _, text = _grid_and_text(window)
    assert "class maps every" in text.text and "female green" in text.text
    assert input_layer_name(MCB) in window.layers and confmap_layer_name(MCB) in window.layers


def test_top_down_id_inputs_name_each_crops_class(tiny_tracked_docked):
    _, dock = tiny_tracked_docked
    dock.pipeline_tab.kind.value = TD_ID
    centroid, crops = dock.view_training_inputs(n=4, seed=0)
    assert crops.kind is MCT and crops.crop_size is not None
    assert len(crops.example_classes) == len(crops.images) == 4
    # every frame has both animals, each on its track: two crops per frame, one of each class
    assert sorted(crops.example_classes[:2]) == ["female", "male"]
    assert centroid.example_classes is None
    _, text = _grid_and_text(dock.inputs_window.viewer)
    assert f"classes of the examples: 0 {crops.example_classes[0]}, 1 {crops.example_classes[1]}" in text.text


def test_fly_clip_top_down_id(make_napari_viewer, shared_data):
    viewer, dock = _open(make_napari_viewer, shared_data / "fly" / "clip.2node.slp")
    try:
        dock.pipeline_tab.kind.value = TD_ID
        assert dock.model_tabs[MCT].heads.classes.value.startswith("female, male")
        assert dock.run_panel.run_button.isEnabled()
    finally:
        dock.cleanup()


def test_putting_the_animals_on_two_tracks_lets_run_start(untracked_docked):
    viewer, dock = untracked_docked
    dock.pipeline_tab.kind.value = TD_ID
    assert not dock.run_panel.run_button.isEnabled()
    labels = next(la for la in viewer.layers if la.name.endswith("labels"))
    viewer.layers.selection.active = labels
    rows = np.flatnonzero(labels.data[:, 0] == 0)
    instance = labels.features["instance"].to_numpy()
    panel = dock.tracks_panel
    for name, which in (("female", instance[rows[0]]), ("male", None)):
        labels = next(la for la in viewer.layers if la.name.endswith("labels"))
        rows = np.flatnonzero(labels.data[:, 0] == 0)
        instance = labels.features["instance"].to_numpy()
        which = instance[rows[0]] if which is not None else next(i for i in instance[rows] if i != instance[rows[0]])
        labels.selected_data = set(rows[instance[rows] == which].tolist())
        panel.new_track.value = name
        panel.set_track.clicked.emit()
    assert dock.model_tabs[MCT].heads.classes.value.startswith("female, male")
    assert dock.run_panel.run_button.isEnabled() and not dock.run_panel.block_note.text()
