"""Built-in training profiles, default pipelines, and trained runs to start from.

The ``baseline*`` profiles carry the values of SLEAP 1.4's profiles of the
same names (``sleap/training_profiles/*.json``): U-Net size, strides, sigma,
input scaling, rotation augmentation, optimizer and plateau/early-stopping
settings. A profile is one entry of :data:`PROFILES`.

The ``cpu.*`` profiles are the fast recipe for machines without a GPU (most
labeling laptops), picked by :func:`default_pipeline` when no GPU is found
(:func:`detect_hardware`): U-Nets about 6x cheaper per sample than the
baselines (16 filters growing 1.5x per level instead of 2x; the centroid
model sees frames at 1/4 size with output stride 4; the centered-instance
model sees crops at 1/2 size with max stride 32, so its receptive field spans
the whole animal), AdamW at a 10x higher peak learning rate with one epoch of
warm-up and cosine decay (over the time budget when there is one), short
epochs of 50 batches so early stopping and the ETA react within a minute, and
full-circle rotation augmentation (with a rotation-aware auto crop). A
pipeline time budget goes 30% to the centroid and 70% to the
centered-instance model.

On the fly clip (2-core CPU, 20-minute budget, ``benchmarks/time_to_accuracy.py``)
half-size crops with max stride 32 were the lever: full-size crops with max
stride 16 (receptive field 76 px, less than a fly) found 86% of the nodes (OKS
mAP 0.44), half-size ones 99% (mAP 0.91); the README has the table.

For footage the model never saw (``benchmarks/generalization.py``, issue 21)
``cpu.centered_instance`` also jitters scale, gamma and brightness (no
mirroring: it taught left/right swaps), moves each crop's center by up to 2% of
its side (at prediction time the center is the centroid model's estimate, and
without jitter its error became the anchor's), and may run 1000 epochs with
patience 100, so that the default CPU budget (:data:`CPU_BUDGET_MINUTES`) is
used on a fast CPU too. Drawing frames to balance repeated poses
(``optimization.balance_poses``, :mod:`~napari_sleap_train.data.pose_balance`)
helped on new footage (late split: OKS mAP 0.50 -> 0.56) but cost the
training video's own frames (median 0.62 -> 0.76 px), so it is a choice, not
a default. The README lists each lever's effect.

``cpu.bottomup`` is the same recipe for the bottom-up model: half-size frames,
max stride 16, confidence maps at stride 4 and part affinity fields at stride
8 with edge sigma 25 (about 5 px either side of an edge at half size), trained
on random 384 px windows (``optimization.train_crop_size``; whole 1024 px fly
frames trained 7x slower and found 48% of the nodes in 20 minutes, windows
99.5%). The README has the figures.
"""

from __future__ import annotations

import copy
from pathlib import Path

from .hardware import resolve_hardware
from .model import (
    AugmentationConfig,
    DataConfig,
    EarlyStoppingConfig,
    HeadConfig,
    IdentityConfig,
    LRSchedule,
    ModelKind,
    OptimizationConfig,
    PafConfig,
    PipelineConfig,
    PipelineKind,
    PlateauConfig,
    TrainingConfig,
    UNetConfig,
)
from .serialize import ConfigError, from_dict, read_json_object
from .sleap_json import config_from_sleap_dict, is_sleap_config

#: Files a trained run folder holds its weights in (ours first).
MODEL_FILES = ("best_model.keras", "best_model.h5")

#: Early-stopping patience of the default pipelines (SLEAP's GUI default).
DEFAULT_PATIENCE = 15

#: Early-stopping patience of ``cpu.centered_instance``: its epochs are short
#: (50 batches, 1-4 s on a laptop CPU) and under the cosine schedule the
#: validation loss stalls for minutes at the high rates before it falls again.
CPU_CENTERED_PATIENCE = 100

#: Time budget of the default pipelines on the CPU (minutes): a coffee break.
CPU_BUDGET_MINUTES = 20.0


def _profile(
    kind: ModelKind,
    *,
    max_stride: int,
    output_stride: int,
    filters: int,
    filters_rate: float,
    input_scaling: float = 1.0,
    sigma: float = 2.5,
    rotation: float = 15.0,
    plateau_min_delta: float = 1e-8,
    early_stopping_patience: int = 10,
) -> TrainingConfig:
    """A SLEAP-style baseline: U-Net, Adam 1e-4, batch 4, 200 epochs, rotation augmentation."""
    return TrainingConfig(
        kind=kind,
        data=DataConfig(input_scaling=input_scaling, crop_size=None, crop_padding=16, validation_fraction=0.1),
        model=UNetConfig(
            max_stride=max_stride,
            output_stride=output_stride,
            filters=filters,
            filters_rate=filters_rate,
            middle_block=True,
            up_interpolate=True,
            stacks=1,
        ),
        head=HeadConfig(sigma=sigma),
        optimization=OptimizationConfig(
            batch_size=4,
            epochs=200,
            learning_rate=1e-4,
            optimizer="adam",
            batches_per_epoch=None,
            min_batches_per_epoch=200,
            val_batches_per_epoch=None,
            plateau=PlateauConfig(
                enabled=True, factor=0.5, patience=5, cooldown=3, min_delta=plateau_min_delta, min_lr=1e-8
            ),
            early_stopping=EarlyStoppingConfig(enabled=True, patience=early_stopping_patience, min_delta=1e-8),
        ),
        augmentation=AugmentationConfig(rotate=True, rotation_max_angle=rotation),
    )


def _cpu_profile(
    kind: ModelKind,
    *,
    input_scaling: float,
    output_stride: int,
    sigma: float,
    time_share: float,
    max_stride: int = 16,
    filters: int = 16,
    filters_rate: float = 1.5,
    learning_rate: float = 1e-3,
    hard_keypoint_mining: bool = False,
) -> TrainingConfig:
    """The fast CPU recipe (see the module docstring): the baseline U-Net layout,
    smaller, with AdamW, a cosine schedule, short epochs and full rotation."""
    cfg = _profile(
        kind,
        max_stride=max_stride,
        output_stride=output_stride,
        filters=filters,
        filters_rate=filters_rate,
        input_scaling=input_scaling,
        sigma=sigma,
        rotation=180.0,
        plateau_min_delta=1e-6,
        early_stopping_patience=15,
    )
    opt = cfg.optimization
    opt.learning_rate = learning_rate
    opt.optimizer = "adamw"
    opt.weight_decay = 1e-4
    opt.lr_schedule = LRSchedule.COSINE
    opt.warmup_epochs = 1
    opt.batches_per_epoch = 50
    opt.min_batches_per_epoch = 50
    opt.plateau.min_lr = 1e-6
    opt.time_share = time_share
    opt.hard_keypoint_mining = hard_keypoint_mining
    return cfg


def _cpu_centered() -> TrainingConfig:
    """The CPU centered-instance network: half-size crops, output stride 2, max stride 32."""
    return _cpu_profile(
        ModelKind.CENTERED_INSTANCE, input_scaling=0.5, output_stride=2, sigma=2.5, time_share=0.7, max_stride=32
    )


def _generalising(cfg: TrainingConfig) -> TrainingConfig:
    """``cfg`` (the CPU centered-instance recipe) trained for footage it never saw (issue 21).

    Scale jitter 0.9-1.1, gamma 0.7-1.4 and brightness +-20 (no mirroring),
    the crop center jittered by 2% of the crop side, and an epoch cap (1000)
    and patience (100) that let a budgeted run use its whole share (the
    default CPU pipeline has a :data:`CPU_BUDGET_MINUTES` budget, so the
    cosine schedule follows it).
    """
    aug = cfg.augmentation
    aug.scale, aug.scale_min, aug.scale_max = True, 0.9, 1.1
    aug.contrast, aug.contrast_min_gamma, aug.contrast_max_gamma = True, 0.7, 1.4
    aug.brightness, aug.brightness_min, aug.brightness_max = True, -20.0, 20.0
    aug.anchor_jitter = 0.02
    opt = cfg.optimization
    opt.epochs = 1000
    opt.early_stopping.patience = CPU_CENTERED_PATIENCE
    return cfg


def _bottom_up(
    cfg: TrainingConfig, pafs: PafConfig, plateau_patience: int | None = None, train_crop_size: int | None = None
) -> TrainingConfig:
    """``cfg`` (a multi-instance profile) with its part affinity field head (and training windows)."""
    cfg.pafs = pafs
    cfg.optimization.train_crop_size = train_crop_size
    if plateau_patience is not None:
        cfg.optimization.plateau.patience = plateau_patience
    return cfg


def _identity(cfg: TrainingConfig, kind: ModelKind, identity: IdentityConfig) -> TrainingConfig:
    """``cfg`` (a centered-instance or multi-instance profile) as an identity model of ``kind``."""
    cfg.kind = kind
    cfg.identity = identity
    return cfg


#: Built-in profiles by name (SLEAP 1.4 names). Use :func:`get_profile` for a copy.
PROFILES: dict[str, TrainingConfig] = {
    "baseline.centroid": _profile(
        ModelKind.CENTROID,
        input_scaling=0.5,
        max_stride=16,
        output_stride=2,
        filters=16,
        filters_rate=2.0,
        early_stopping_patience=20,
    ),
    "baseline_medium_rf.topdown": _profile(
        ModelKind.CENTERED_INSTANCE, max_stride=16, output_stride=4, filters=24, filters_rate=2.0
    ),
    "baseline_large_rf.topdown": _profile(
        ModelKind.CENTERED_INSTANCE, max_stride=32, output_stride=4, filters=24, filters_rate=1.5
    ),
    "baseline_medium_rf.single": _profile(
        ModelKind.SINGLE_INSTANCE, max_stride=16, output_stride=2, filters=16, filters_rate=2.0
    ),
    "baseline_large_rf.single": _profile(
        ModelKind.SINGLE_INSTANCE,
        max_stride=32,
        output_stride=4,
        filters=32,
        filters_rate=1.5,
        plateau_min_delta=1e-5,
    ),
    # SLEAP 1.4's baseline_medium_rf.bottomup.json: confidence maps at stride 4,
    # fields at stride 8 with SLEAP's edge sigma 75, plateau patience 8.
    "baseline_medium_rf.bottomup": _bottom_up(
        _profile(ModelKind.MULTI_INSTANCE, max_stride=32, output_stride=4, filters=16, filters_rate=2.0),
        PafConfig(edges=None, sigma=75.0, output_stride=8, loss_weight=1.0),
        plateau_patience=8,
    ),
    # Fast CPU recipe: the default when no GPU is found.
    "cpu.centroid": _cpu_profile(
        ModelKind.CENTROID,
        input_scaling=0.25,
        output_stride=4,
        sigma=4.0,
        time_share=0.3,
    ),
    "cpu.centered_instance": _generalising(_cpu_centered()),
    "cpu.single": _cpu_profile(
        ModelKind.SINGLE_INSTANCE,
        input_scaling=0.5,
        output_stride=2,
        sigma=2.5,
        time_share=1.0,
    ),
    "cpu.bottomup": _bottom_up(
        _cpu_profile(
            ModelKind.MULTI_INSTANCE,
            input_scaling=0.5,
            output_stride=4,
            sigma=2.5,
            time_share=1.0,
            max_stride=16,
        ),
        PafConfig(edges=None, sigma=25.0, output_stride=8, loss_weight=1.0),
        train_crop_size=384,
    ),
    # Identity models: the top-down / bottom-up recipes with SLEAP 1.4's class heads
    # (class vectors pooled from the deepest features through 3 x 64 units as in
    # SLEAP's own multi-class test models; class maps of sigma 5 on the confidence
    # maps' grid). The class vectors' cross-entropy gets SLEAP's test model's weight
    # 0.01: at weight 1 it swamps the confidence-map loss (about 0.01); on the tiny
    # two-animal project the classes were then right but the maps stayed flat.
    "baseline_medium_rf.topdown_id": _identity(
        _profile(ModelKind.CENTERED_INSTANCE, max_stride=16, output_stride=4, filters=24, filters_rate=2.0),
        ModelKind.MULTI_CLASS_TOPDOWN,
        IdentityConfig(output_stride=16, num_fc_layers=3, num_fc_units=64, global_pool=True, loss_weight=0.01),
    ),
    "baseline_medium_rf.bottomup_id": _identity(
        _profile(ModelKind.MULTI_INSTANCE, max_stride=32, output_stride=4, filters=16, filters_rate=2.0),
        ModelKind.MULTI_CLASS_BOTTOMUP,
        IdentityConfig(sigma=5.0, output_stride=4, loss_weight=1.0),
    ),
    "cpu.topdown_id": _identity(
        _cpu_centered(),
        ModelKind.MULTI_CLASS_TOPDOWN,
        IdentityConfig(output_stride=32, num_fc_layers=2, num_fc_units=64, global_pool=True, loss_weight=0.01),
    ),
    "cpu.bottomup_id": _identity(
        _cpu_profile(
            ModelKind.MULTI_INSTANCE,
            input_scaling=0.5,
            output_stride=4,
            sigma=2.5,
            time_share=1.0,
            max_stride=16,
        ),
        ModelKind.MULTI_CLASS_BOTTOMUP,
        IdentityConfig(sigma=5.0, output_stride=4, loss_weight=1.0),
    ),
}

#: Profile each model of a default pipeline starts from, per hardware.
DEFAULT_PROFILES: dict[tuple[str, ModelKind], str] = {
    ("gpu", ModelKind.CENTROID): "baseline.centroid",
    ("gpu", ModelKind.CENTERED_INSTANCE): "baseline_medium_rf.topdown",
    ("gpu", ModelKind.SINGLE_INSTANCE): "baseline_medium_rf.single",
    ("cpu", ModelKind.CENTROID): "cpu.centroid",
    ("cpu", ModelKind.CENTERED_INSTANCE): "cpu.centered_instance",
    ("cpu", ModelKind.SINGLE_INSTANCE): "cpu.single",
    ("gpu", ModelKind.MULTI_INSTANCE): "baseline_medium_rf.bottomup",
    ("cpu", ModelKind.MULTI_INSTANCE): "cpu.bottomup",
    ("gpu", ModelKind.MULTI_CLASS_TOPDOWN): "baseline_medium_rf.topdown_id",
    ("cpu", ModelKind.MULTI_CLASS_TOPDOWN): "cpu.topdown_id",
    ("gpu", ModelKind.MULTI_CLASS_BOTTOMUP): "baseline_medium_rf.bottomup_id",
    ("cpu", ModelKind.MULTI_CLASS_BOTTOMUP): "cpu.bottomup_id",
}


def list_profiles(kind: ModelKind | str) -> list[str]:
    """Names of the built-in profiles for one model kind, in definition order."""
    kind = ModelKind(kind)
    return [name for name, cfg in PROFILES.items() if cfg.kind is kind]


def get_profile(name: str) -> TrainingConfig:
    """A fresh copy of a built-in profile (``cfg.profile`` is set to its name).

    Raises
    ------
    ConfigError
        For an unknown name (the message lists the known ones).
    """
    try:
        cfg = copy.deepcopy(PROFILES[name])
    except KeyError:
        raise ConfigError(f"Unknown training profile {name!r}; known profiles: {', '.join(PROFILES)}") from None
    cfg.profile = name
    return cfg


def default_profile_name(kind: ModelKind | str, hardware: str = "auto") -> str:
    """Profile a model of ``kind`` starts from on ``hardware`` ("auto": :func:`detect_hardware`)."""
    hardware = resolve_hardware(hardware)
    kind = ModelKind(kind)
    return DEFAULT_PROFILES.get((hardware, kind), DEFAULT_PROFILES[("gpu", kind)])


def default_pipeline(kind: PipelineKind | str = PipelineKind.TOP_DOWN, hardware: str = "auto") -> PipelineConfig:
    """A pipeline with every model config filled from the default profiles.

    ``hardware`` is ``"cpu"``, ``"gpu"`` or ``"auto"`` (the default: the CPU
    profiles unless :func:`detect_hardware` finds a GPU). Early stopping
    patience of the SLEAP baselines is :data:`DEFAULT_PATIENCE` (15); the ``cpu.*``
    profiles keep their own (15, and :data:`CPU_CENTERED_PATIENCE` for
    ``cpu.centered_instance``); the rest comes from the profiles. On the
    CPU the pipeline has a :data:`CPU_BUDGET_MINUTES` time budget.
    """
    kind = PipelineKind(kind)
    hardware = resolve_hardware(hardware)
    models = {}
    for model_kind in kind.model_kinds:
        name = default_profile_name(model_kind, hardware)
        cfg = get_profile(name)
        if not name.startswith("cpu."):  # SLEAP's baselines: the GUI default; cpu.* carry their own
            cfg.optimization.early_stopping.patience = DEFAULT_PATIENCE
        models[model_kind] = cfg
    budget = CPU_BUDGET_MINUTES if hardware == "cpu" else None
    return PipelineConfig(kind=kind, models=models, time_limit_minutes=budget)


def load_training_config(path: str | Path) -> TrainingConfig:
    """Read our ``config.json`` or a SLEAP ``training_config.json``.

    ``path`` may be a file or a run folder (then ``config.json`` is tried
    first, then ``training_config.json``). Our format is a
    :class:`TrainingConfig` written by :func:`~.serialize.save_json`.

    Raises
    ------
    ConfigError
        When no readable configuration is found.
    """
    path = Path(path)
    if path.is_dir():
        candidates = [path / n for n in ("config.json", "training_config.json") if (path / n).is_file()]
        if not candidates:
            raise ConfigError(f"{path} holds no config.json or training_config.json")
        errors = []
        for candidate in candidates:
            try:
                return _load_config_file(candidate)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError("; ".join(errors))
    return _load_config_file(path)


def _load_config_file(path: Path) -> TrainingConfig:
    data = read_json_object(path, holds="a training configuration")
    if is_sleap_config(data):
        return config_from_sleap_dict(data, str(path))
    return from_dict(TrainingConfig, data, str(path))


def _run_kind(run: Path) -> ModelKind | None:
    try:
        return load_training_config(run).kind
    except ConfigError:
        return None


def list_trained_runs(runs_folder: str | Path, kind: ModelKind | str | None = None) -> list[Path]:
    """Run folders in ``runs_folder`` with a trained model, newest first.

    A run counts when it holds ``best_model.keras`` or ``best_model.h5`` and a
    readable config; with ``kind`` only runs of that model kind are listed.
    Age is the modification time of the model file. A missing folder gives
    an empty list.
    """
    root = Path(runs_folder)
    if not root.is_dir():
        return []
    want = None if kind is None else ModelKind(kind)
    found: list[tuple[float, Path]] = []
    for run in root.iterdir():
        if not run.is_dir():
            continue
        model = next((run / f for f in MODEL_FILES if (run / f).is_file()), None)
        if model is None:
            continue
        run_kind = _run_kind(run)
        if run_kind is None or (want is not None and run_kind is not want):
            continue
        found.append((model.stat().st_mtime, run))
    found.sort(key=lambda t: (t[0], t[1].name), reverse=True)
    return [run for _, run in found]
