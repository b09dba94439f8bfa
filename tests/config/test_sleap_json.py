import json
import shutil

import pytest
import sleap_io as sio

from napari_sleap_train.config.model import LRSchedule, ModelKind, TrainingConfig
from napari_sleap_train.config.serialize import ConfigError
from napari_sleap_train.config.sleap_json import (
    config_to_sleap_dict,
    read_sleap_config,
    read_sleap_skeletons,
    write_sleap_config,
)


def _keys(d, prefix=""):
    """Every dotted key path of a nested dict (skeleton contents excluded)."""
    out = set()
    for k, v in d.items():
        path = f"{prefix}{k}"
        out.add(path)
        if isinstance(v, dict) and path != "data.labels.skeletons":
            out |= _keys(v, path + ".")
    return out


@pytest.fixture(
    params=[("centroid", "centroid"), ("centered_instance", "centered_instance"), ("bottomup", "multi_instance")]
)
def sleap_model(request, shared_data):
    folder, kind = request.param
    return shared_data / "models" / f"minimal_instance.UNet.{folder}", ModelKind(kind)


def test_read_sleap_centroid_values(shared_data):
    cfg = read_sleap_config(shared_data / "models" / "minimal_instance.UNet.centroid" / "training_config.json")
    assert cfg.kind is ModelKind.CENTROID
    assert cfg.model.max_stride == 8 and cfg.model.output_stride == 4
    assert cfg.model.filters == 16 and cfg.model.filters_rate == 1.5
    assert cfg.model.up_interpolate is False and cfg.model.middle_block is True
    assert cfg.head.sigma == 1.5 and cfg.head.anchor_part is None and cfg.head.offset_refinement is True
    assert cfg.data.input_scaling == 1.0 and cfg.data.crop_size is None
    assert cfg.optimization.epochs == 30 and cfg.optimization.batch_size == 4
    assert cfg.optimization.learning_rate == pytest.approx(1e-4)
    assert cfg.optimization.batches_per_epoch == 100 and cfg.optimization.val_batches_per_epoch == 1
    assert cfg.optimization.early_stopping.patience == 10
    assert cfg.optimization.plateau.patience == 5 and cfg.optimization.plateau.cooldown == 3
    assert cfg.augmentation.rotate is False and cfg.augmentation.rotation_max_angle == 180
    assert cfg.run_name == "minimal_instance.UNet.centroid"


def test_read_sleap_centered_instance_values(shared_data):
    cfg = read_sleap_config(shared_data / "models" / "minimal_instance.UNet.centered_instance")
    assert cfg.kind is ModelKind.CENTERED_INSTANCE
    assert cfg.data.crop_size == 96 and cfg.data.crop_padding == 16
    assert cfg.model.output_stride == 2 and cfg.model.max_stride == 8
    assert cfg.head.part_names == ["A", "B"]
    assert cfg.optimization.epochs == 10


def test_read_sleap_bottom_up_values(shared_data):
    cfg = read_sleap_config(shared_data / "models" / "minimal_instance.UNet.bottomup")
    assert cfg.kind is ModelKind.MULTI_INSTANCE
    assert cfg.model.max_stride == 8 and cfg.model.output_stride == 2  # the confidence maps' stride
    assert cfg.head.sigma == 1.5 and cfg.head.part_names == ["A", "B"] and cfg.head.loss_weight == 1.0
    assert cfg.head.anchor_part is None and cfg.head.offset_refinement is True
    assert cfg.pafs.edges == [["A", "B"]]
    assert cfg.pafs.sigma == 50 and cfg.pafs.output_stride == 4 and cfg.pafs.loss_weight == 1.0


def test_bottom_up_unet_stride_is_the_finer_head(tmp_path):
    cfg = TrainingConfig(kind=ModelKind.MULTI_INSTANCE)
    cfg.model.output_stride = 4
    cfg.pafs.output_stride = 8
    cfg.pafs.loss_weight = 0.5
    d = config_to_sleap_dict(cfg, skeleton=sio.Skeleton(["a", "b", "c"], [("a", "b"), ("b", "c")]))
    assert d["model"]["backbone"]["unet"]["output_stride"] == 4
    head = d["model"]["heads"]["multi_instance"]
    assert head["pafs"] == {"edges": [["a", "b"], ["b", "c"]], "sigma": 75.0, "output_stride": 8, "loss_weight": 0.5}
    assert head["confmaps"]["part_names"] == ["a", "b", "c"] and "anchor_part" not in head["confmaps"]
    assert d["data"]["instance_cropping"]["center_on_part"] is None
    back = read_sleap_config(write_sleap_config(cfg, tmp_path / "c.json"))
    assert back.pafs.edges is None and back.pafs.loss_weight == 0.5 and back.model.output_stride == 4


def test_write_then_read_back_equal(sleap_model, tmp_path):
    folder, kind = sleap_model
    cfg = read_sleap_config(folder)
    skel = read_sleap_skeletons(folder / "training_config.json")[0]
    out = write_sleap_config(cfg, tmp_path / "training_config.json", skeleton=skel)
    again = read_sleap_config(out)
    assert again == cfg
    assert again.kind is kind
    assert read_sleap_skeletons(out)[0].node_names == ["A", "B"]


def test_written_file_has_every_key_sleap_wrote(sleap_model, tmp_path):
    folder, _ = sleap_model
    original = json.loads((folder / "training_config.json").read_text())
    out = write_sleap_config(read_sleap_config(folder), tmp_path / "t.json")
    written = json.loads(out.read_text())
    assert _keys(original) <= _keys(written)
    # values SLEAP needs to rebuild the network are the same
    assert written["model"]["backbone"]["unet"] == original["model"]["backbone"]["unet"]
    heads = {k: v for k, v in written["model"]["heads"].items() if v is not None}
    assert heads == {k: v for k, v in original["model"]["heads"].items() if v is not None}
    assert written["data"]["instance_cropping"] == original["data"]["instance_cropping"]
    assert written["data"]["preprocessing"]["input_scaling"] == original["data"]["preprocessing"]["input_scaling"]


def test_crop_size_units_follow_input_scaling(tmp_path):
    cfg = TrainingConfig(kind=ModelKind.CENTERED_INSTANCE)
    cfg.data.input_scaling = 0.5
    cfg.data.crop_size = 200  # original pixels -> 100 scaled -> 112 network pixels
    cfg.model.max_stride = 16
    d = config_to_sleap_dict(cfg)
    assert d["data"]["instance_cropping"]["crop_size"] == 112
    assert d["data"]["preprocessing"]["pad_to_stride"] == 1
    back = read_sleap_config(write_sleap_config(cfg, tmp_path / "c.json"))
    assert back.data.crop_size == 224


def test_settings_sleap_lacks_degrade_sensibly(tmp_path):
    cfg = TrainingConfig(kind=ModelKind.SINGLE_INSTANCE)
    cfg.optimization.lr_schedule = LRSchedule.COSINE
    cfg.augmentation.rotate = True
    cfg.augmentation.rotation_max_angle = 30
    cfg.augmentation.flip = True
    d = config_to_sleap_dict(cfg, skeleton=sio.Skeleton(["x", "y"]))
    assert d["optimization"]["learning_rate_schedule"]["reduce_on_plateau"] is False
    aug = d["optimization"]["augmentation_config"]
    assert (aug["rotation_min_angle"], aug["rotation_max_angle"], aug["random_flip"]) == (-30, 30, True)
    assert d["model"]["heads"]["single_instance"]["part_names"] == ["x", "y"]
    assert "anchor_part" not in d["model"]["heads"]["single_instance"]


def test_write_into_folder(tmp_path):
    out = write_sleap_config(TrainingConfig(), tmp_path)
    assert out == tmp_path / "training_config.json" and out.is_file()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["model"]["backbone"]["unet"].update(max_stride="big"), "max_stride should be int"),
        (lambda d: d["model"]["heads"].update(centroid=None), "exactly one of the heads"),
        (lambda d: d["model"]["heads"].update(multi_instance={"confmaps": {}}), "exactly one of the heads"),
        (lambda d: d["model"]["heads"].update(centroid=None, multi_class_bottomup={}), "confmaps"),
        (
            lambda d: d["model"]["heads"].update(centroid=None, multi_class_topdown={"confmaps": {}}),
            "missing setting model.heads.multi_class_topdown.class_vectors",
        ),
        (
            lambda d: d["model"]["heads"].update(
                centroid=None, multi_class_bottomup={"confmaps": {}, "class_maps": {"classes": ["a", "a"]}}
            ),
            "names a class twice",
        ),
        (
            lambda d: d["model"]["heads"].update(
                centroid=None, multi_instance={"confmaps": {}, "pafs": {"edges": ["A"]}}
            ),
            "pafs.edges should be a list of",
        ),
        (lambda d: d["model"]["heads"].update(centroid=None, multi_instance={"confmaps": {}}), "missing setting"),
        (lambda d: d["model"]["backbone"].update(unet=None, resnet={"version": "ResNet50"}), "only U-Net"),
        (lambda d: d["optimization"].update(optimizer="sgd"), "optimizer 'sgd'"),
        (lambda d: d.pop("model"), "not a SLEAP training configuration"),
    ],
)
def test_broken_files_give_clear_errors(shared_data, tmp_path, mutate, message):
    data = json.loads((shared_data / "models" / "minimal_instance.UNet.centroid" / "training_config.json").read_text())
    mutate(data)
    path = tmp_path / "training_config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=message):
        read_sleap_config(path)


def test_missing_and_invalid_json(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        read_sleap_config(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_sleap_config(bad)
    lst = tmp_path / "list.json"
    lst.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="does not hold"):
        read_sleap_config(lst)


def test_initial_config_without_skeleton_reads(shared_data, tmp_path):
    src = shared_data / "models" / "minimal_instance.UNet.centroid" / "initial_config.json"
    shutil.copy(src, tmp_path / "initial_config.json")
    cfg = read_sleap_config(tmp_path / "initial_config.json")
    assert cfg.model.max_stride == 8
    assert read_sleap_skeletons(tmp_path / "initial_config.json") == []


@pytest.mark.parametrize(
    ("folder", "kind"),
    [("topdown_multiclass", ModelKind.MULTI_CLASS_TOPDOWN), ("bottomup_multiclass", ModelKind.MULTI_CLASS_BOTTOMUP)],
)
def test_sleap_identity_configs_round_trip(shared_data, tmp_path, folder, kind):
    src = shared_data / "models" / f"min_tracks_2node.UNet.{folder}"
    cfg = read_sleap_config(src)
    assert cfg.kind is kind
    assert cfg.identity.classes == ["female", "male"]
    skel = read_sleap_skeletons(src / "training_config.json")[0]
    out = write_sleap_config(cfg, tmp_path / "training_config.json", skeleton=skel)
    assert read_sleap_config(out) == cfg
    original = json.loads((src / "training_config.json").read_text())
    written = json.loads(out.read_text())
    assert written["model"]["heads"][kind.value] == original["model"]["heads"][kind.value]
    assert written["model"]["backbone"]["unet"] == original["model"]["backbone"]["unet"]
    assert written["data"]["instance_cropping"] == original["data"]["instance_cropping"]
    assert _keys(original["model"]) <= _keys(written["model"])


def test_sleap_identity_values(shared_data):
    td = read_sleap_config(shared_data / "models" / "min_tracks_2node.UNet.topdown_multiclass")
    assert (td.identity.num_fc_layers, td.identity.num_fc_units, td.identity.global_pool) == (3, 64, True)
    assert (td.identity.output_stride, td.identity.loss_weight) == (16, 0.01)
    assert (td.head.anchor_part, td.head.sigma, td.data.crop_size) == ("thorax", 1.5, 128)
    bu = read_sleap_config(shared_data / "models" / "min_tracks_2node.UNet.bottomup_multiclass")
    assert (bu.identity.sigma, bu.identity.output_stride, bu.identity.loss_weight) == (5.0, 2, 2.0)
    assert bu.head.part_names == ["head", "thorax"] and bu.head.anchor_part is None


def test_identity_classes_default_to_sleaps_when_missing(shared_data, tmp_path):
    src = shared_data / "models" / "min_tracks_2node.UNet.topdown_multiclass" / "training_config.json"
    data = json.loads(src.read_text())
    data["model"]["heads"]["multi_class_topdown"]["class_vectors"] = {"classes": None}
    (tmp_path / "training_config.json").write_text(json.dumps(data))
    cfg = read_sleap_config(tmp_path)
    assert cfg.identity.classes is None
    assert (cfg.identity.num_fc_layers, cfg.identity.output_stride, cfg.identity.loss_weight) == (1, 1, 1.0)
