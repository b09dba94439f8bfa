"""Identity training pieces in-process: networks, weighted class losses, examples and batches."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.config.model import ModelKind
from napari_sleap_train.engine.dataset import ExampleMaker, make_datasets
from napari_sleap_train.engine.errors import EngineConfigError
from napari_sleap_train.engine.identity_losses import WeightedClassMapsLoss, WeightedClassVectorLoss
from napari_sleap_train.engine.labeled_data import FrameStore, LabeledData
from napari_sleap_train.engine.unet import build_model
from tests.runner.tiny_project import make_tiny_project, tiny_config


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    path = make_tiny_project(tmp_path_factory.mktemp("tiny"), tracks=("female", "male"), untracked=1)
    return sio.load_slp(str(path))


def _cfg(kind):
    cfg = tiny_config(kind)
    cfg.identity.classes = ["female", "male"]
    if kind is ModelKind.MULTI_CLASS_TOPDOWN:
        cfg.head.anchor_part = "head"
    return cfg


def test_networks_have_sleaps_heads_on_their_strides():
    td = build_model(_cfg(ModelKind.MULTI_CLASS_TOPDOWN), 2, 1, (40, 40))
    cms, vectors = td.outputs
    assert tuple(cms.shape) == (None, 20, 20, 2) and tuple(vectors.shape) == (None, 2)
    assert td.get_layer("ClassVectorsHead").activation.__name__ == "softmax"
    assert td.get_layer("pre_classification_global_pool") is not None
    bu = build_model(_cfg(ModelKind.MULTI_CLASS_BOTTOMUP), 2, 1, (64, 64))
    cms, maps = bu.outputs
    assert tuple(cms.shape) == (None, 32, 32, 2) and tuple(maps.shape) == (None, 32, 32, 2)
    one = _cfg(ModelKind.MULTI_CLASS_BOTTOMUP)
    one.identity.classes = ["female"]
    with pytest.raises(EngineConfigError, match="at least two classes"):
        build_model(one, 2, 1, (64, 64))


def test_class_losses_leave_weight_zero_examples_out():
    vec = WeightedClassVectorLoss()
    pred = np.array([[0.9, 0.1], [0.5, 0.5]], np.float32)
    tracked = np.array([[1, 0, 1], [0, 1, 1]], np.float32)
    untracked = np.array([[1, 0, 1], [0, 0, 0]], np.float32)
    assert float(vec(tracked, pred)) == pytest.approx((-np.log(0.9) - np.log(0.5)) / 2, rel=1e-5)
    assert float(vec(untracked, pred)) == pytest.approx(-np.log(0.9) / 2, rel=1e-5)
    maps = WeightedClassMapsLoss()
    y = np.zeros((1, 4, 4, 3), np.float32)
    y[..., -1] = 1.0
    p = np.full((1, 4, 4, 2), 0.5, np.float32)
    assert float(maps(y, p)) == pytest.approx(0.25)
    y[0, :2, :, -1] = 0.0  # half the cells are near an untracked animal
    assert float(maps(y, p)) == pytest.approx(0.125)


@pytest.mark.parametrize(
    "kind, input_hw, class_shape",
    [(ModelKind.MULTI_CLASS_TOPDOWN, (40, 40), (3,)), (ModelKind.MULTI_CLASS_BOTTOMUP, (64, 64), (32, 32, 3))],
)
def test_batches_hold_confidence_maps_and_class_targets(labels, kind, input_hw, class_shape):
    cfg = _cfg(kind)
    data = LabeledData.from_labels(labels, 0.2, seed=0)
    maker = ExampleMaker(cfg, data, FrameStore(labels, [s.key for s in data.samples]))
    assert maker.identity.classes == ["female", "male"]
    unclassed, total = maker.identity.unclassed(range(len(data.samples)))
    assert (unclassed, total) == (1, 20)
    sets = make_datasets(maker, 4, 2, 1, None)
    x, (cm, cls) = next(iter(sets.train))
    assert tuple(x.shape) == (4, *input_hw, 1) and cm.shape[-1] == 2
    assert tuple(cls.shape) == (4, *class_shape)
    assert set(np.unique(np.asarray(cls)[..., -1])) <= {0.0, 1.0}
