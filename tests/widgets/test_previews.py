"""Preview building blocks (numpy, a model-only viewer) and one real-pixel screenshot check."""

from __future__ import annotations

import numpy as np
import pytest
from napari.components import ViewerModel

from napari_sleap_train.config.model import ModelKind, TrainingConfig
from napari_sleap_train.config.profiles import default_pipeline
from napari_sleap_train.data.crops import (
    auto_crop_size,
    crop_network_size,
    effective_crop_size,
)
from napari_sleap_train.data.labels import collect_samples
from napari_sleap_train.data.limb_warp import limb_pairs
from napari_sleap_train.data.receptive_field import receptive_field
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.widgets.previews.examples import (
    NoExamplesError,
    model_examples,
    pipeline_examples,
)
from napari_sleap_train.widgets.previews.geometry import (
    square_corners,
    squares_on_plane,
)
from napari_sleap_train.widgets.previews.layers import (
    CROP_BOX_COLOR,
    CROP_BOXES,
    is_preview,
    remove_previews,
    upsert_rectangles,
)
from napari_sleap_train.widgets.previews.sizes import (
    crop_side_for_preview,
    crop_size_of,
    rf_side_in_frame,
)


@pytest.fixture(scope="module")
def project(sample_slp) -> SleapProject:
    return SleapProject.load(sample_slp)


def test_square_corners_are_pixel_edges_around_the_centre():
    corners = square_corners((10.0, 20.0), 8)  # x=10, y=20
    np.testing.assert_allclose(corners, [[16, 6], [16, 14], [24, 14], [24, 6]])


def test_squares_on_plane_carry_the_slice_and_skip_missing_anchors():
    centers = np.array([[5.0, 5.0], [np.nan, np.nan], [30.0, 40.0]])
    rects = squares_on_plane(centers, 10, leading=(7,))
    assert len(rects) == 2
    assert all(r.shape == (4, 3) and np.all(r[:, 0] == 7) for r in rects)
    np.testing.assert_allclose(rects[1][:, 1:].mean(axis=0), [40.0, 30.0])  # [y, x]
    assert squares_on_plane(centers, 10, leading=(1, 2))[0].shape == (4, 4)


def test_sizes_follow_the_config(project):
    instances = [s.instances for s in collect_samples(project.labels)]
    cfg = TrainingConfig(kind=ModelKind.CENTERED_INSTANCE)
    cfg.data.crop_size = 100
    assert crop_size_of(cfg, instances) == 100
    # 100 px is not a multiple of the stride: the network crop covers a bit more
    assert crop_side_for_preview(cfg, instances) == effective_crop_size(100, 1.0, 16) == 112
    cfg.data.crop_size = None
    cfg.augmentation.scale = True
    cfg.augmentation.scale_max = 1.2
    assert crop_size_of(cfg, instances) == auto_crop_size(instances, 1.0, 16, 16, 0.0, scale_max=1.2)
    assert crop_size_of(cfg, []) is None
    cfg.model.max_stride = 32
    cfg.data.input_scaling = 0.25
    assert rf_side_in_frame(cfg) == receptive_field(32) / 0.25
    cfg.model.max_stride = 24  # not a power of two: no square rather than an error
    assert rf_side_in_frame(cfg) is None


def test_upsert_updates_in_place_keeps_selection_and_removes():
    viewer = ViewerModel()
    image = viewer.add_image(np.zeros((5, 50, 50)), name="video")
    viewer.layers.selection.active = image
    rect = squares_on_plane(np.array([[10.0, 10.0]]), 8, leading=(2,))
    layer = upsert_rectangles(viewer, CROP_BOXES, rect, ndim=3, color=CROP_BOX_COLOR)
    assert is_preview(layer) and viewer.layers.selection.active is image
    two = squares_on_plane(np.array([[10.0, 10.0], [30.0, 30.0]]), 12, leading=(3,))
    same = upsert_rectangles(viewer, CROP_BOXES, two, ndim=3, color=CROP_BOX_COLOR)
    assert same is layer and len(layer.data) == 2 and [lyr.name for lyr in viewer.layers].count(CROP_BOXES) == 1
    assert set(layer.shape_type) == {"rectangle"}
    np.testing.assert_allclose(layer.edge_color[0][:3], [1.0, 0.6, 0.0])
    assert not layer.editable
    upsert_rectangles(viewer, CROP_BOXES, [], ndim=3, color=CROP_BOX_COLOR)
    assert len(layer.data) == 0
    remove_previews(viewer)
    assert [lyr.name for lyr in viewer.layers] == ["video"]


def test_model_examples_match_training_inputs_geometry(project):
    pipeline = default_pipeline("top-down")
    centroid = pipeline.models[ModelKind.CENTROID]
    stack = model_examples(project, centroid, n=3, seed=0)
    n, h, w, c = stack.images.shape
    assert n == 3 and c == 1
    assert h % centroid.model.max_stride == 0 and w % centroid.model.max_stride == 0
    s = centroid.model.output_stride
    assert stack.confmaps.shape == (3, h // s, w // s)
    assert 0.0 <= stack.images.min() and stack.images.max() <= 1.0
    ci = pipeline.models[ModelKind.CENTERED_INSTANCE]
    ci.data.crop_size = 80
    crops = model_examples(project, ci, n=5, seed=0)
    side = crop_network_size(80, ci.data.input_scaling, ci.model.max_stride)
    assert crops.images.shape == (5, side, side, 1) and crops.crop_size == 80
    # confidence maps peak on the nodes of the centred instance
    assert np.all(crops.confmaps.reshape(5, -1).max(axis=1) > 0.5)
    # bent limbs show in the preview as the engine trains on them
    ci.augmentation.rotate = False
    plain = model_examples(project, ci, n=5, seed=0)
    assert len(limb_pairs(project.node_names, project.edges, 1)) > 0
    ci.augmentation.limb_angle, ci.augmentation.limb_stretch = 40.0, 0.3
    bent = model_examples(project, ci, n=5, seed=0)
    assert bent.images.shape == plain.images.shape
    assert np.all(bent.confmaps.reshape(5, -1).max(axis=1) > 0.5)
    assert not np.allclose(bent.images, plain.images)


def test_bottom_up_examples_are_the_training_windows(project):
    cfg = default_pipeline("bottom-up").models[ModelKind.MULTI_INSTANCE]
    cfg.optimization.train_crop_size = 192  # of the 384 px sample frames: 96 px windows at half size
    stack = model_examples(project, cfg, n=3, seed=0)
    assert stack.images.shape == (3, 96, 96, 1)
    assert stack.confmaps.shape == (3, 24, 24) and stack.pafs.shape[:3] == (3, 12, 12)
    assert np.all(stack.confmaps.reshape(3, -1).max(axis=1) > 0.5)  # windows are placed around the animals
    cfg.optimization.train_crop_size = 384  # as large as the frame: the engine trains on whole frames, so shown
    assert model_examples(project, cfg, n=2, seed=0).images.shape == (2, 192, 192, 1)


def test_pipeline_examples_and_no_labels_message(project, tmp_path):
    stacks = pipeline_examples(project, default_pipeline("single-instance"), n=2)
    assert [s.kind for s in stacks] == [ModelKind.SINGLE_INSTANCE]
    import sleap_io as sio

    empty = sio.Labels(videos=project.labels.videos, skeletons=project.labels.skeletons)
    with pytest.raises(NoExamplesError, match="label a frame"):
        model_examples(SleapProject(empty), TrainingConfig(kind=ModelKind.CENTROID), n=2)


def _orange(img: np.ndarray) -> np.ndarray:
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return (r > 200) & (g > 110) & (g < 190) & (b < 80)


def test_crop_boxes_are_really_drawn_on_the_canvas(make_napari_viewer, sample_slp, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1200, 800)
    viewer.open(str(sample_slp), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    frame = min(f for _, f in dock.project.user_frames())
    viewer.dims.set_current_step(0, frame)
    tab = dock.model_tabs[ModelKind.CENTERED_INSTANCE]
    tab.crop_auto.value = False
    tab.crop_size.value = 128
    dock.previews.update()
    boxes = viewer.layers[CROP_BOXES]
    assert list(boxes.text.values) == ["crop 128 px"] * len(boxes.data)
    boxes.text.visible = False  # measure the box edges only
    for layer in viewer.layers:  # only the crop boxes and the video stay visible
        layer.visible = layer is boxes or layer.metadata.get("sleap_role") == "video"
    first = np.asarray(boxes.data[0])[:, -2:]
    cy, cx = first.mean(axis=0)
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    camera.center = (cy, cx)
    camera.zoom = 1.0  # one screen pixel per frame pixel
    qtbot.wait(100)
    shot = viewer.screenshot(canvas_only=True, flash=False)
    mask = _orange(shot)
    assert mask.sum() > 200, "no crop-box coloured pixels on the canvas"
    # the box drawn around the canvas centre is 128 px wide and high
    hh, ww = np.array(shot.shape[:2]) / 2.0
    rows = np.flatnonzero(mask[:, int(ww)])
    cols = np.flatnonzero(mask[int(hh), :])
    near_r = rows[np.abs(rows - hh) < 100]
    near_c = cols[np.abs(cols - ww) < 100]
    assert near_r.min() == pytest.approx(hh - 64, abs=4) and near_r.max() == pytest.approx(hh + 64, abs=4)
    assert near_c.min() == pytest.approx(ww - 64, abs=4) and near_c.max() == pytest.approx(ww + 64, abs=4)
    boxes.visible = False
    qtbot.wait(50)
    assert _orange(viewer.screenshot(canvas_only=True, flash=False)).sum() < 20
    dock.cleanup()


# ---------------------------------------------------------------- labels and placement (issue 15)


def test_labeled_boxes_skip_boxes_overlapping_a_labeled_one():
    from napari_sleap_train.widgets.previews.geometry import labeled_boxes

    centers = np.array([[100, 100], [130, 110], [400, 400], [np.nan, np.nan], [420, 300], [460, 410]])
    # touching: none; overlapping boxes with labels far enough apart: both
    assert labeled_boxes(centers, 96) == [True, False, True, True, True]
    # zoomed out, a label is wider than the box: labels of neighbouring boxes would overlap
    assert labeled_boxes(centers, 96, label_size=(200, 30)) == [True, False, True, True, False]


def test_inside_frame_moves_a_square_into_the_frame():
    from napari_sleap_train.widgets.previews.geometry import inside_frame

    np.testing.assert_allclose(inside_frame([10, 370], 100, (384, 500)), [49.5, 333.5])
    np.testing.assert_allclose(inside_frame([200, 150], 100, (384, 500)), [200, 150])  # already inside
    assert inside_frame([10, 10], 500, (384, 384))[0] == pytest.approx(191.5)  # larger than the frame: centred
    np.testing.assert_allclose(inside_frame([10, 370], 100, (384, 500), margin=10), [59.5, 323.5])
    assert inside_frame([10, 10], 380, (384, 384), margin=10)[0] == pytest.approx(189.5)  # no room for the margin


def _wait(qtbot, predicate) -> None:
    def check() -> bool:
        try:
            return bool(predicate())
        except (ValueError, IndexError):
            return False

    qtbot.waitUntil(check, timeout=3000)


def _labels_layer(viewer):
    return next(lyr for lyr in viewer.layers if lyr.metadata.get("sleap_role") == "labels")


def _box_labels(layer) -> list[str]:
    return [str(t) for t in layer.features["label"]]


def _frame_with_two_instances(dock) -> int:
    return next(f for v, f in sorted(dock.project.user_frames()) if len(dock.project.labeled_instances(v, f)) >= 2)


def test_crop_labels_do_not_pile_up_when_animals_touch(docked, qtbot):
    from napari_sleap_train.widgets.previews.layers import CROP_BOXES

    viewer, dock = docked
    frame = _frame_with_two_instances(dock)
    viewer.dims.set_current_step(0, frame)
    boxes = viewer.layers[CROP_BOXES]
    _wait(qtbot, lambda: len(boxes.data) == 2 and _box_labels(boxes)[1] != "")  # apart: both labeled
    labels = _labels_layer(viewer)
    data = np.array(labels.data)
    inst = np.asarray(labels.features["instance"])
    on_frame = np.rint(data[:, 0]) == frame
    ids = sorted(set(inst[on_frame]))
    first, second = (on_frame & (inst == i) for i in ids[:2])
    # the second animal now lies against the first one
    data[second, 1:] += data[first, 1:].mean(axis=0) - data[second, 1:].mean(axis=0) + (12, 20)
    labels.data = data
    _wait(qtbot, lambda: len(boxes.data) == 2 and _box_labels(boxes).count("") == 1)
    assert [t for t in _box_labels(boxes) if t][0].startswith("crop ")  # one label for the touching pair


def test_receptive_field_stays_in_the_frame_and_says_where_it_is_on_unlabeled_frames(docked, qtbot):
    from napari_sleap_train.widgets.previews.layers import RECEPTIVE_FIELD

    viewer, dock = docked
    frame = _frame_with_two_instances(dock)
    viewer.dims.set_current_step(0, frame)
    rf = viewer.layers[RECEPTIVE_FIELD]
    labels = _labels_layer(viewer)
    data = np.array(labels.data)
    on_frame = np.rint(data[:, 0]) == frame
    data[on_frame, 2] -= data[on_frame, 2].min() - 2.0  # every animal against the left edge
    labels.data = data
    h, w = dock.frames.frame_size(0)

    def inside() -> bool:
        yx = np.asarray(rf.data[0])[:, -2:]
        return yx[:, 1].min() >= -0.5 - 1e-6 and yx[:, 1].max() <= w - 0.5 + 1e-6

    _wait(qtbot, inside)
    assert "view centre" not in _box_labels(rf)[0]
    unlabeled = next(f for f in range(h) if not len(dock.project.labeled_instances(0, f)))
    viewer.dims.set_current_step(0, unlabeled)
    _wait(qtbot, lambda: "view centre: no labels on this frame" in _box_labels(rf)[0])


def test_training_inputs_fit_each_model_to_the_view(docked):
    from napari_sleap_train.widgets.previews.inputs_window import confmap_layer_name, input_layer_name

    _, dock = docked
    ci = dock.model_tabs[ModelKind.CENTERED_INSTANCE]
    ci.crop_auto.value = False
    ci.crop_size.value = 64
    dock.view_training_inputs(n=2, seed=0)
    window = dock.inputs_window.viewer
    cen = window.layers[input_layer_name(ModelKind.CENTROID)]
    crops = window.layers[input_layer_name(ModelKind.CENTERED_INSTANCE)]
    assert crops.data.shape[1] < cen.data.shape[1]  # in network pixels the crop is smaller
    cen_side = (np.asarray(cen.data.shape[1:3]) * np.asarray(cen.scale)[1:]).max()
    crop_side = (np.asarray(crops.data.shape[1:3]) * np.asarray(crops.scale)[1:]).max()
    assert crop_side == pytest.approx(cen_side)  # on screen both fill their grid cell
    for kind in (ModelKind.CENTROID, ModelKind.CENTERED_INSTANCE):  # the maps stay on their inputs
        image, cm = window.layers[input_layer_name(kind)], window.layers[confmap_layer_name(kind)]
        stride = dock.session.model(kind).model.output_stride
        np.testing.assert_allclose(np.asarray(cm.scale)[1:], np.asarray(image.scale)[1:] * stride)
