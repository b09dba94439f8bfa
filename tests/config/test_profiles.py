import json
import os
import shutil

import pytest

from napari_sleap_train.config import hardware
from napari_sleap_train.config.hardware import detect_hardware
from napari_sleap_train.config.model import LRSchedule, ModelKind, PipelineKind, TrainingConfig
from napari_sleap_train.config.profiles import (
    PROFILES,
    default_pipeline,
    default_profile_name,
    get_profile,
    list_profiles,
    list_trained_runs,
    load_training_config,
)
from napari_sleap_train.config.serialize import ConfigError, save_json
from napari_sleap_train.config.sleap_json import read_sleap_config, write_sleap_config
from napari_sleap_train.data.receptive_field import receptive_field_in_frame


def test_baseline_values_match_sleap():
    c = PROFILES["baseline.centroid"]
    assert (c.kind, c.data.input_scaling, c.model.max_stride, c.model.output_stride) == (ModelKind.CENTROID, 0.5, 16, 2)
    assert (c.model.filters, c.model.filters_rate, c.head.sigma) == (16, 2.0, 2.5)
    assert c.augmentation.rotate and c.augmentation.rotation_max_angle == 15
    m = PROFILES["baseline_medium_rf.topdown"]
    assert (m.model.max_stride, m.model.filters, m.model.filters_rate, m.head.sigma) == (16, 24, 2.0, 2.5)
    large = PROFILES["baseline_large_rf.topdown"]
    assert (large.model.max_stride, large.model.filters, large.model.filters_rate) == (32, 24, 1.5)
    single = PROFILES["baseline_large_rf.single"]
    assert (single.kind, single.model.max_stride, single.model.filters) == (ModelKind.SINGLE_INSTANCE, 32, 32)
    for name, cfg in PROFILES.items():
        if name.startswith("baseline"):
            assert cfg.optimization.optimizer == "adam" and cfg.optimization.learning_rate == pytest.approx(1e-4)
        assert cfg.optimization.batch_size == 4


def test_bottom_up_baseline_matches_sleap():
    """SLEAP 1.4's baseline_medium_rf.bottomup.json."""
    b = PROFILES["baseline_medium_rf.bottomup"]
    assert b.kind is ModelKind.MULTI_INSTANCE
    assert (b.model.max_stride, b.model.output_stride, b.model.filters, b.model.filters_rate) == (32, 4, 16, 2.0)
    assert (b.head.sigma, b.head.loss_weight, b.data.input_scaling) == (2.5, 1.0, 1.0)
    assert (b.pafs.edges, b.pafs.sigma, b.pafs.output_stride, b.pafs.loss_weight) == (None, 75.0, 8, 1.0)
    assert b.optimization.plateau.patience == 8 and b.optimization.early_stopping.patience == 10
    assert b.augmentation.rotate and b.augmentation.rotation_max_angle == 15
    cpu = PROFILES["cpu.bottomup"]
    assert cpu.kind is ModelKind.MULTI_INSTANCE and cpu.data.input_scaling == 0.5
    assert cpu.pafs.output_stride % cpu.model.output_stride == 0 and cpu.pafs.output_stride <= cpu.model.max_stride
    # the CPU recipe trains on 384 px windows (192 px at half size); SLEAP's baseline on whole frames
    assert cpu.optimization.train_crop_size == 384 and b.optimization.train_crop_size is None


def test_large_rf_profiles_see_more():
    med = PROFILES["baseline_medium_rf.topdown"].model.max_stride
    large = PROFILES["baseline_large_rf.topdown"].model.max_stride
    assert receptive_field_in_frame(large, 1.0) > receptive_field_in_frame(med, 1.0)


def test_list_profiles_by_kind():
    assert list_profiles(ModelKind.CENTROID) == ["baseline.centroid", "cpu.centroid"]
    assert list_profiles("centered_instance") == [
        "baseline_medium_rf.topdown",
        "baseline_large_rf.topdown",
        "cpu.centered_instance",
    ]
    assert list_profiles(ModelKind.SINGLE_INSTANCE) == [
        "baseline_medium_rf.single",
        "baseline_large_rf.single",
        "cpu.single",
    ]


def test_get_profile_is_a_fresh_copy():
    a = get_profile("baseline.centroid")
    a.model.filters = 99
    a.augmentation.rotate = False
    b = get_profile("baseline.centroid")
    assert b.model.filters == 16 and b.augmentation.rotate
    assert b.profile == "baseline.centroid"
    with pytest.raises(ConfigError, match="Unknown training profile 'nope'.*baseline.centroid"):
        get_profile("nope")


@pytest.mark.parametrize("hardware", ["cpu", "gpu"])
def test_default_pipelines(hardware):
    td = default_pipeline(PipelineKind.TOP_DOWN, hardware)
    assert [c.kind for c in td.ordered_models()] == [ModelKind.CENTROID, ModelKind.CENTERED_INSTANCE]
    lrs = {"cpu": [1e-3, 1e-3], "gpu": [1e-4, 1e-4]}[hardware]
    patience = {"cpu": [15, 100], "gpu": [15, 15]}[hardware]  # cpu.centered_instance: CPU_CENTERED_PATIENCE
    assert td.time_limit_minutes == {"cpu": 20.0, "gpu": None}[hardware]  # the CPU recipe is budgeted
    for cfg, lr, wait in zip(td.ordered_models(), lrs, patience):
        assert cfg.optimization.early_stopping.patience == wait
        assert cfg.optimization.learning_rate == pytest.approx(lr) and cfg.optimization.batch_size == 4
    single = default_pipeline("single-instance", hardware)
    assert list(single.models) == [ModelKind.SINGLE_INSTANCE]
    bottom_up = default_pipeline("bottom-up", hardware)
    assert list(bottom_up.models) == [ModelKind.MULTI_INSTANCE]
    want = {"cpu": "cpu.bottomup", "gpu": "baseline_medium_rf.bottomup"}[hardware]
    assert bottom_up.models[ModelKind.MULTI_INSTANCE].profile == want
    assert PipelineKind.of_model(ModelKind.MULTI_INSTANCE) is PipelineKind.BOTTOM_UP
    assert PipelineKind.of_model("centroid") is PipelineKind.TOP_DOWN
    # pipelines do not share config objects with PROFILES or each other
    td.models[ModelKind.CENTROID].model.filters = 1
    assert default_pipeline(PipelineKind.TOP_DOWN, hardware).models[ModelKind.CENTROID].model.filters == 16
    with pytest.raises(ConfigError, match="hardware"):
        default_pipeline(PipelineKind.TOP_DOWN, "tpu")


def test_cpu_profiles_are_the_default_without_a_gpu(monkeypatch):
    monkeypatch.setattr(hardware, "_has_nvidia_gpu", lambda: False)
    monkeypatch.setattr(hardware, "_has_metal", lambda: False)
    monkeypatch.delenv(hardware.HARDWARE_ENV, raising=False)
    assert detect_hardware() == "cpu"
    td = default_pipeline()  # hardware="auto"
    assert [c.profile for c in td.ordered_models()] == ["cpu.centroid", "cpu.centered_instance"]
    assert default_pipeline("single-instance").models[ModelKind.SINGLE_INSTANCE].profile == "cpu.single"
    assert default_profile_name(ModelKind.CENTROID) == "cpu.centroid"
    # with a GPU the SLEAP baselines are the default; the user may still force either
    monkeypatch.setattr(hardware, "_has_nvidia_gpu", lambda: True)
    assert detect_hardware() == "gpu"
    assert [c.profile for c in default_pipeline().ordered_models()] == [
        "baseline.centroid",
        "baseline_medium_rf.topdown",
    ]
    assert default_pipeline(hardware="cpu").models[ModelKind.CENTROID].profile == "cpu.centroid"
    monkeypatch.setenv(hardware.HARDWARE_ENV, "cpu")
    assert detect_hardware() == "cpu"


def test_cpu_recipe_values():
    c, ci = get_profile("cpu.centroid"), get_profile("cpu.centered_instance")
    # centroid on quarter-size frames, output stride 4; centered instance on half-size crops,
    # stride 2, with max stride 32: its receptive field covers the whole fly (legs told apart)
    assert (c.data.input_scaling, c.model.output_stride, ci.data.input_scaling, ci.model.output_stride) == (
        0.25,
        4,
        0.5,
        2,
    )
    assert (c.model.max_stride, ci.model.max_stride) == (16, 32)
    for cfg in (c, ci, get_profile("cpu.single")):
        opt = cfg.optimization
        assert (cfg.model.filters, cfg.model.filters_rate) == (16, 1.5)
        assert opt.optimizer == "adamw" and opt.lr_schedule == LRSchedule.COSINE and opt.warmup_epochs == 1
        assert opt.batches_per_epoch == 50 and opt.learning_rate >= 1e-3
        assert cfg.augmentation.rotate and cfg.augmentation.rotation_max_angle == 180
    # hard keypoint mining stalled the centered-instance model in the 20-minute benchmark
    assert not ci.optimization.hard_keypoint_mining and ci.head.sigma == 2.5
    # issue 21: for new footage the centered-instance model jitters scale, gamma, brightness and
    # its crop center (never mirrors) and may use a whole 20-minute share; pose balance is a choice
    # (it cost the training video's own frames)
    aug = ci.augmentation
    assert aug.scale and aug.contrast and aug.brightness and not aug.flip
    assert (aug.scale_min, aug.scale_max, aug.contrast_min_gamma, aug.contrast_max_gamma) == (0.9, 1.1, 0.7, 1.4)
    assert (aug.brightness_min, aug.brightness_max, aug.anchor_jitter) == (-20.0, 20.0, 0.02)
    assert not ci.optimization.balance_poses and not c.optimization.balance_poses
    assert (ci.optimization.epochs, ci.optimization.early_stopping.patience) == (1000, 100)
    # a pipeline budget goes 30/70 to the two top-down models
    assert c.optimization.time_share == pytest.approx(0.3) and ci.optimization.time_share == pytest.approx(0.7)


def test_every_profile_round_trips_through_sleap_json(tmp_path):
    for name in PROFILES:
        cfg = get_profile(name)
        cfg.profile = None  # not part of SLEAP's format
        back = read_sleap_config(write_sleap_config(cfg, tmp_path / f"{name}.json"))
        if name.startswith("cpu."):
            # SLEAP's format has no cosine schedule, warm-up, weight decay, time share,
            # pose balance or center jitter: everything else (network, data,
            # augmentation, head) survives.
            assert back.augmentation.anchor_jitter == 0.0
            back.augmentation.anchor_jitter = cfg.augmentation.anchor_jitter
            assert (back.model, back.data, back.head, back.augmentation) == (
                cfg.model,
                cfg.data,
                cfg.head,
                cfg.augmentation,
            )
            assert back.optimization.learning_rate == cfg.optimization.learning_rate
            continue
        assert back == cfg


def test_load_training_config_reads_both_formats(tmp_path, shared_data):
    ours = get_profile("baseline_large_rf.single")
    ours.optimization.time_limit_minutes = 30.0
    save_json(ours, tmp_path / "config.json")
    assert load_training_config(tmp_path / "config.json") == ours
    assert load_training_config(tmp_path) == ours  # folder: config.json preferred
    sleap = load_training_config(shared_data / "models" / "minimal_instance.UNet.centroid")
    assert sleap.model.max_stride == 8
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(ConfigError, match="holds no config.json"):
        load_training_config(tmp_path / "empty_dir")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "centroid", "modle": {}}))
    with pytest.raises(ConfigError, match="unknown setting"):
        load_training_config(bad)


def _make_run(root, name, kind, mtime, sleap_layout=True, model_file="best_model.keras"):
    run = root / name
    run.mkdir()
    cfg = TrainingConfig(kind=kind)
    if sleap_layout:
        write_sleap_config(cfg, run)
    else:
        save_json(cfg, run / "config.json")
    if model_file:
        (run / model_file).write_bytes(b"weights")
        os.utime(run / model_file, (mtime, mtime))
    return run


def test_list_trained_runs_newest_first(tmp_path, shared_data):
    a = _make_run(tmp_path, "250101_100000.centroid", ModelKind.CENTROID, 1000)
    b = _make_run(tmp_path, "250102_100000.centroid", ModelKind.CENTROID, 3000, sleap_layout=False)
    c = _make_run(
        tmp_path, "250103_100000.centered_instance", ModelKind.CENTERED_INSTANCE, 2000, model_file="best_model.h5"
    )
    _make_run(tmp_path, "250104_100000.centroid", ModelKind.CENTROID, 4000, model_file=None)  # never finished
    (tmp_path / "not_a_run.txt").write_text("x")
    (tmp_path / "sleap_run").mkdir()
    for name in ("training_config.json", "best_model.h5"):  # copyfile: not the read-only modes
        shutil.copyfile(shared_data / "models" / "minimal_instance.UNet.centroid" / name, tmp_path / "sleap_run" / name)
    os.utime(tmp_path / "sleap_run" / "best_model.h5", (500, 500))
    assert list_trained_runs(tmp_path, ModelKind.CENTROID) == [b, a, tmp_path / "sleap_run"]
    assert list_trained_runs(tmp_path, "centered_instance") == [c]
    assert list_trained_runs(tmp_path) == [b, c, a, tmp_path / "sleap_run"]
    assert list_trained_runs(tmp_path / "missing", ModelKind.CENTROID) == []


@pytest.mark.parametrize("hardware", ["cpu", "gpu"])
def test_identity_pipelines_have_default_profiles(hardware):
    from napari_sleap_train.config.model import ModelKind, PipelineKind
    from napari_sleap_train.config.profiles import default_pipeline

    td = default_pipeline(PipelineKind.TOP_DOWN_ID, hardware)
    assert list(td.models) == [ModelKind.CENTROID, ModelKind.MULTI_CLASS_TOPDOWN]
    ident = td.models[ModelKind.MULTI_CLASS_TOPDOWN]
    assert ident.kind is ModelKind.MULTI_CLASS_TOPDOWN and ident.identity.global_pool
    assert ident.identity.output_stride == ident.model.max_stride  # the class vectors pool the deepest features
    bu = default_pipeline(PipelineKind.BOTTOM_UP_ID, hardware)
    assert list(bu.models) == [ModelKind.MULTI_CLASS_BOTTOMUP]
    assert bu.models[ModelKind.MULTI_CLASS_BOTTOMUP].identity.sigma == 5.0
    td.anchor_part = "thorax"
    assert td.trained_models()[ModelKind.MULTI_CLASS_TOPDOWN].head.anchor_part == "thorax"
