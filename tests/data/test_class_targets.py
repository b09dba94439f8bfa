import numpy as np
import pytest

from napari_sleap_train.config.model import IdentityConfig, ModelKind, TrainingConfig, UNetConfig
from napari_sleap_train.data.class_targets import (
    NO_CLASS,
    class_indices,
    class_maps_target,
    class_vector_target,
    project_classes,
)
from napari_sleap_train.data.identity_inputs import bottom_up_id_example, top_down_id_examples


def test_classes_are_the_names_of_the_tracks_the_user_instances_use():
    names = ["female", "male", "unused", "female"]  # a second track named female is the same class
    assert project_classes(names, [0, None, 1, 3]) == ["female", "male"]
    assert project_classes(names, [None, None]) == []


def test_instances_without_a_track_or_a_class_get_no_class():
    names = ["female", "male", "pup"]
    got = class_indices([1, None, 0, 2], names, ["female", "male"])
    assert got.tolist() == [1, NO_CLASS, 0, NO_CLASS]


def test_class_vectors_are_one_hot_with_their_weight_last():
    assert class_vector_target(1, 3).tolist() == [0, 1, 0, 1]
    assert class_vector_target(NO_CLASS, 3).tolist() == [0, 0, 0, 0]  # weight 0: out of the loss


def test_class_maps_cover_every_node_of_their_class():
    pts = np.array([[[8.0, 8.0], [16.0, 8.0]], [[40.0, 40.0], [np.nan, np.nan]]])
    out = class_maps_target(pts, np.array([1, 0]), 2, 64, 64, sigma=1.0, output_stride=2)
    assert out.shape == (32, 32, 3)
    # 1 on the cells around both nodes of class 1 (sigma: 1 cell = 2 px), 0 elsewhere
    assert out[4, 4, 1] == 1 and out[4, 8, 1] == 1 and out[4, 5, 1] == 1 and out[4, 12, 1] == 0
    assert out[20, 20, 0] == 1 and out[20, 20, 1] == 0 and out[4, 4, 0] == 0
    assert set(np.unique(out[..., :2])) == {0.0, 1.0}
    assert (out[..., 2] == 1).all()  # every instance has a class: every cell counts


def test_overlapping_animals_share_the_cells_by_their_map_values():
    pts = np.array([[[10.0, 10.0]], [[12.0, 10.0]]])
    out = class_maps_target(pts, np.array([0, 1]), 2, 32, 32, sigma=2.0, output_stride=2)
    np.testing.assert_allclose(out[5, 5, :2].sum(), 1.0, rtol=1e-6)  # shared, not both 1
    assert out[5, 5, 0] > out[5, 5, 1]  # the cell is on the first animal's node


def test_cells_of_an_unclassed_instance_are_out_of_the_class_loss():
    pts = np.array([[[8.0, 8.0], [16.0, 8.0]], [[40.0, 40.0], [44.0, 40.0]]])
    out = class_maps_target(pts, np.array([0, NO_CLASS]), 2, 64, 64, sigma=1.0, output_stride=2)
    weight = out[..., 2]
    assert weight[20, 20] == 0 and weight[20, 22] == 0  # on its nodes
    assert weight[4, 4] == 1 and weight[0, 31] == 1  # elsewhere
    assert out[20, 20, :2].tolist() == [0, 0]  # and it is in no class map
    with pytest.raises(ValueError, match="class indices"):
        class_maps_target(pts, np.array([0]), 2, 64, 64, 2.0, 2)


def _cfg(kind):
    cfg = TrainingConfig(kind=kind, model=UNetConfig(max_stride=8, output_stride=2))
    cfg.identity = IdentityConfig(classes=["female", "male"], sigma=2.0, output_stride=2)
    cfg.head.sigma = 2.0
    cfg.head.anchor_part = "head" if kind is ModelKind.MULTI_CLASS_TOPDOWN else None
    return cfg


def test_bottom_up_id_example_follows_the_augmented_points():
    image = np.zeros((64, 64, 1), np.uint8)
    pts = np.array([[[10.0, 20.0], [14.0, 20.0]], [[40.0, 50.0], [44.0, 50.0]]])
    cfg = _cfg(ModelKind.MULTI_CLASS_BOTTOMUP)
    cfg.augmentation.flip = True
    cfg.augmentation.flip_horizontal = True
    rng = np.random.default_rng(0)
    img, cm, maps = bottom_up_id_example(image, pts, np.array([0, 1]), cfg, rng, augment=False, node_names=["a", "b"])
    assert img.shape == (64, 64, 1) and cm.shape == (32, 32, 2) and maps.shape == (32, 32, 3)
    assert maps[10, 5, 0] == 1 and maps[25, 20, 1] == 1
    # with augmentation the class maps stay on the confidence maps' peaks
    for seed in range(4):
        _, cm, maps = bottom_up_id_example(
            image, pts, np.array([0, 1]), cfg, np.random.default_rng(seed), augment=True, node_names=["a", "b"]
        )
        peak = np.unravel_index(np.argmax(cm[..., 0]), cm.shape[:2])
        assert maps[peak][:2].max() == 1 and cm[peak][0] > 0.5


def test_top_down_id_examples_give_each_crop_its_instances_class():
    image = np.zeros((64, 64, 1), np.uint8)
    pts = np.array([[[10.0, 20.0], [14.0, 20.0]], [[np.nan, np.nan], [np.nan, np.nan]], [[40.0, 50.0], [44.0, 50.0]]])
    cfg = _cfg(ModelKind.MULTI_CLASS_TOPDOWN)
    out = top_down_id_examples(image, pts, np.array([1, 0, NO_CLASS]), cfg, crop_size=24, augment=False,
                               node_names=["head", "tail"])  # fmt: skip
    assert len(out) == 2  # the instance without an anchor gives no crop
    (x0, cm0, v0), (x1, cm1, v1) = out
    assert x0.shape == (24, 24, 1) and cm0.shape == (12, 12, 2)
    assert v0.tolist() == [0, 1, 1] and v1.tolist() == [0, 0, 0]
