"""Frames decoded once, examples of the right shapes and targets, tf.data batches."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.config.model import ModelKind
from napari_sleap_train.data.training_inputs import centroid_example
from napari_sleap_train.engine.dataset import ExampleMaker, balanced_draws, make_datasets
from napari_sleap_train.engine.labeled_data import FrameStore, LabeledData
from tests.runner.tiny_project import make_tiny_project, tiny_config


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    return sio.load_slp(str(make_tiny_project(tmp_path_factory.mktemp("tiny"))))


def test_split_and_frames_are_decoded_once(labels):
    data = LabeledData.from_labels(labels, validation_fraction=0.2, seed=0)
    assert len(data.train_idx) == 8 and len(data.val_idx) == 2
    assert not set(data.train_idx) & set(data.val_idx)
    store = FrameStore(labels, [s.key for s in data.samples])
    assert store.preloaded and store.decode_count == 10
    for _ in range(3):
        for s in data.samples:
            assert store[s.key].shape == (64, 64, 1)
    assert store.decode_count == 10


def test_small_budget_uses_a_bounded_cache(labels):
    data = LabeledData.from_labels(labels, 0.2)
    store = FrameStore(labels, [s.key for s in data.samples], budget_bytes=3 * 64 * 64)
    assert not store.preloaded and store.decode_count == 0
    for s in data.samples:
        store[s.key]
    assert len(store._cache) == 3 and store.decode_count == 10


@pytest.mark.parametrize(
    "kind, input_hw, out_channels",
    [
        (ModelKind.CENTROID, (32, 32), 1),
        (ModelKind.CENTERED_INSTANCE, (40, 40), 2),
        (ModelKind.SINGLE_INSTANCE, (64, 64), 2),
    ],
)
def test_batches_have_model_shapes(labels, kind, input_hw, out_channels):
    cfg = tiny_config(kind)
    cfg.head.anchor_part = "head" if kind != ModelKind.SINGLE_INSTANCE else None
    data = LabeledData.from_labels(labels, 0.2)
    maker = ExampleMaker(cfg, data, FrameStore(labels, [s.key for s in data.samples]))
    assert maker.input_hw == input_hw and maker.n_outputs == out_channels
    sets = make_datasets(
        maker, batch_size=4, batches_per_epoch=None, min_batches_per_epoch=1, val_batches_per_epoch=None
    )
    per_frame = 2 if kind == ModelKind.CENTERED_INSTANCE else 1
    assert sets.n_train == 8 * per_frame and sets.n_val == 2 * per_frame
    assert sets.batches_per_epoch == int(np.ceil(sets.n_train / 4))
    x, y = next(iter(sets.train))
    assert tuple(x.shape) == (4, *input_hw, 1)
    assert tuple(y.shape) == (4, input_hw[0] // 2, input_hw[1] // 2, out_channels)
    assert float(np.max(x)) <= 1.0 and float(np.max(y)) > 0.5
    vx, vy = next(iter(sets.val))
    assert vx.shape[0] == 4  # full batches only: a short set is topped up from its start


def test_validation_targets_are_the_plain_training_inputs(labels):
    cfg = tiny_config(ModelKind.CENTROID)
    cfg.augmentation.rotate = True  # augmentation must not touch validation
    data = LabeledData.from_labels(labels, 0.2)
    store = FrameStore(labels, [s.key for s in data.samples])
    maker = ExampleMaker(cfg, data, store)
    sets = make_datasets(maker, 2, 1, 1, None)
    vx, vy = next(iter(sets.val))
    sample = data.samples[data.val_idx[0]]
    ex, ey = centroid_example(store[sample.key], sample.instances, cfg, augment=False, node_names=data.node_names)
    np.testing.assert_allclose(vx[0], ex, atol=1e-6)
    np.testing.assert_allclose(vy[0], ey, atol=1e-6)


def test_training_split_files(labels, tmp_path):
    data = LabeledData.from_labels(labels, 0.2)
    data.write_split(tmp_path)
    train = sio.load_slp(str(tmp_path / "labels_gt.train.slp"))
    val = sio.load_slp(str(tmp_path / "labels_gt.val.slp"))
    assert sorted(lf.frame_idx for lf in val.labeled_frames) == sorted(
        data.samples[i].frame_index for i in data.val_idx
    )
    assert len(train.labeled_frames) + len(val.labeled_frames) == 10


def test_bottom_up_batches_hold_maps_and_fields_on_their_strides(tmp_path):
    labels = sio.load_slp(str(make_tiny_project(tmp_path, n_frames=6, edge=("head", "tail"))))
    cfg = tiny_config(ModelKind.MULTI_INSTANCE)  # maps at stride 2, fields at stride 4
    data = LabeledData.from_labels(labels, 0.2)
    maker = ExampleMaker(cfg, data, FrameStore(labels, [s.key for s in data.samples]))
    assert maker.edge_names() == [["head", "tail"]] and maker.n_edges == 1
    sets = make_datasets(
        maker, batch_size=2, batches_per_epoch=None, min_batches_per_epoch=1, val_batches_per_epoch=None
    )
    x, (cm, pafs) = next(iter(sets.train))
    assert x.shape == (2, 64, 64, 1) and cm.shape == (2, 32, 32, 2) and pafs.shape == (2, 16, 16, 2)
    # every frame has two animals: the head channel has two peaks, the fields unit vectors along the edges
    _, (cm_val, pafs_val) = next(iter(sets.val))
    assert np.sort(np.asarray(cm_val[0, ..., 0]).ravel())[-1] > 0.9
    norms = np.linalg.norm(np.asarray(pafs_val[0]), axis=-1)
    assert 0.9 < norms.max() < 2.01 and norms.min() == 0.0


def test_bottom_up_trains_on_windows_and_validates_on_whole_frames(tmp_path):
    labels = sio.load_slp(str(make_tiny_project(tmp_path, n_frames=6, edge=("head", "tail"))))
    data = LabeledData.from_labels(labels, 0.2)
    frames = FrameStore(labels, [s.key for s in data.samples])
    cfg = tiny_config(ModelKind.MULTI_INSTANCE, train_crop_size=32)  # 64x64 frames, max stride 8
    maker = ExampleMaker(cfg, data, frames)
    assert maker.train_hw == (32, 32) and maker.input_hw == (64, 64)
    sets = make_datasets(
        maker, batch_size=2, batches_per_epoch=None, min_batches_per_epoch=1, val_batches_per_epoch=None
    )
    x, (cm, pafs) = next(iter(sets.train))
    assert x.shape == (2, 32, 32, 1) and cm.shape == (2, 16, 16, 2) and pafs.shape == (2, 8, 8, 2)
    assert float(np.max(cm)) > 0.5  # windows are placed around the animals
    x, (cm, pafs) = next(iter(sets.val))
    assert x.shape == (2, 64, 64, 1) and cm.shape == (2, 32, 32, 2) and pafs.shape == (2, 16, 16, 2)
    # a window as large as the frame would only add padding: whole frames then
    big = ExampleMaker(tiny_config(ModelKind.MULTI_INSTANCE, train_crop_size=64), data, frames)
    assert big.train_hw == big.input_hw == (64, 64) and big.train_crop_size is None


def test_bottom_up_without_edges_is_a_data_error(labels):
    from napari_sleap_train.engine.errors import EngineDataError

    data = LabeledData.from_labels(labels, 0.2)  # the plain tiny skeleton has no edges
    with pytest.raises(EngineDataError, match="skeleton has none"):
        ExampleMaker(tiny_config(ModelKind.MULTI_INSTANCE), data, FrameStore(labels, [s.key for s in data.samples]))


def test_balanced_sampling_draws_a_rare_pose_as_often_as_a_repeated_one(labels):
    """Seven training frames of one resting pose and one of another: each pose half the draws."""
    data = LabeledData.from_labels(labels, 0.2)
    rest = data.samples[int(data.train_idx[0])].instances
    rare = int(data.train_idx[-1])
    for i in data.train_idx[:-1]:
        data.samples[int(i)].instances = rest + np.float32(np.random.default_rng(int(i)).uniform(-3, 3))
    data.samples[rare].instances = rest[:, ::-1].copy()  # the nodes in reverse: another pose
    cfg = tiny_config(ModelKind.CENTROID)
    maker = ExampleMaker(cfg, data, FrameStore(labels, [s.key for s in data.samples]))
    plain = make_datasets(maker, 2, 1, 1, None)
    balanced = make_datasets(maker, 2, 1, 1, None, balance_poses=True)
    assert plain.distinct_poses is None and balanced.distinct_poses == pytest.approx(2.0 * len(rest))
    draws, _ = balanced_draws(data, seed=0, n=4000)
    assert set(draws) <= set(data.train_idx.tolist())
    assert np.mean(draws == rare) == pytest.approx(0.5, abs=0.03)  # uniform: 1/8
    x, _ = next(iter(balanced.train))
    assert tuple(x.shape) == (2, 32, 32, 1)


def test_centered_instance_maker_bends_the_fly_skeletons_limbs(shared_data):
    labels = sio.load_slp(str(shared_data / "fly" / "clip.slp"))
    labels.labeled_frames = labels.labeled_frames[:6]
    data = LabeledData.from_labels(labels, 0.2)
    cfg = tiny_config(ModelKind.CENTERED_INSTANCE)
    cfg.head.anchor_part = "thorax"
    cfg.data.crop_size = 192
    frames = FrameStore(labels, [s.key for s in data.samples])
    assert ExampleMaker(cfg, data, frames).limbs is None  # off by default
    cfg.augmentation.limb_angle, cfg.augmentation.limb_stretch = 20.0, 0.2
    maker = ExampleMaker(cfg, data, frames)
    names = data.node_names
    tips = {names[t]: names[p] for t, p in maker.limbs}
    legs = [f"{leg}leg{side}4" for leg in ("fore", "mid", "hind") for side in "LR"]
    assert tips == {
        **{n: "thorax" for n in ["abdomen", "wingL", "wingR", *legs]},
        "eyeL": "head",
        "eyeR": "head",
    }
    index = int(data.train_idx[0])
    x0, y0 = maker.make(index, augment=False)
    xa, ya = maker.make(index, augment=True)
    assert xa.shape == x0.shape and ya.shape == y0.shape and np.isfinite(xa).all()
    np.testing.assert_array_equal(maker.make(index, augment=False)[0], x0)
