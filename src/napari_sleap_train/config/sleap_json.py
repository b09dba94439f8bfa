"""SLEAP 1.4 ``training_config.json`` <-> :class:`~.model.TrainingConfig`.

The layout is SLEAP's (``data`` / ``model`` / ``optimization`` / ``outputs``)
so SLEAP can read what we write and we can read model folders SLEAP trained.
We write every key SLEAP 1.4 writes, with SLEAP's defaults for settings this
plugin does not have; settings SLEAP does not have (cosine schedule, time
limit, ...) live only in our own ``config.json`` (see :mod:`.serialize`).

Units: SLEAP's ``instance_cropping.crop_size`` is in network-input pixels
(after input scaling); ours is in original frame pixels. Reading divides by
``input_scaling``; writing stores the network crop side
(:func:`~napari_sleap_train.config.sizes.network_crop_side`).

Bottom-up models (SLEAP's ``multi_instance`` head) keep their confidence-map
settings under ``multi_instance.confmaps`` (our ``head`` and
``model.output_stride``) and their part affinity fields under
``multi_instance.pafs`` (our ``pafs``); the U-Net's own output stride is the
finer of the two.

Identity models keep their confidence maps under ``<head>.confmaps`` too and
their class head under ``multi_class_topdown.class_vectors`` or
``multi_class_bottomup.class_maps`` (our ``identity``). The U-Net of a
top-down-id model runs down to the confidence maps' stride (the class vectors
pool the deepest features); that of a bottom-up-id model to the finer of the
maps' strides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sleap_io as sio

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
    PlateauConfig,
    TrainingConfig,
    UNetConfig,
)
from .serialize import ConfigError
from .sizes import network_crop_side
from .sleap_identity import class_head_dict, read_class_head
from .sleap_keys import KeyReader, edge_list, head_kind, load_config_json

_HEAD_KEYS = {
    ModelKind.CENTROID: ("anchor_part", "sigma", "output_stride", "offset_refinement"),
    ModelKind.CENTERED_INSTANCE: ("anchor_part", "part_names", "sigma", "output_stride", "offset_refinement"),
    ModelKind.SINGLE_INSTANCE: ("part_names", "sigma", "output_stride", "offset_refinement"),
    ModelKind.MULTI_INSTANCE: ("part_names", "sigma", "output_stride", "loss_weight", "offset_refinement"),
    ModelKind.MULTI_CLASS_TOPDOWN: (
        "anchor_part",
        "part_names",
        "sigma",
        "output_stride",
        "loss_weight",
        "offset_refinement",
    ),
    ModelKind.MULTI_CLASS_BOTTOMUP: ("part_names", "sigma", "output_stride", "loss_weight", "offset_refinement"),
}
#: Heads whose confidence-map settings sit under ``<head>.confmaps``.
_NESTED_CONFMAPS = (ModelKind.MULTI_INSTANCE, ModelKind.MULTI_CLASS_TOPDOWN, ModelKind.MULTI_CLASS_BOTTOMUP)
_OPTIMIZERS = {"adam": "adam", "adamw": "adamw", "amsgrad": "adam"}


def is_sleap_config(data: dict) -> bool:
    """True when a parsed JSON dict has SLEAP's layout (``model.backbone`` / ``model.heads``)."""
    model = data.get("model") if isinstance(data, dict) else None
    return isinstance(model, dict) and ("heads" in model or "backbone" in model)


def config_from_sleap_dict(data: dict, source: str = "training_config.json") -> TrainingConfig:
    """Build a :class:`TrainingConfig` from a parsed SLEAP ``training_config.json``."""
    r = KeyReader(data, source)
    if not is_sleap_config(data):
        raise ConfigError(f"{source} is not a SLEAP training configuration (no model.heads)")
    kind = head_kind(r)
    if r.get("model.backbone.unet", (dict, type(None)), None) is None:
        other = [k for k, v in r.get("model.backbone", dict, {}).items() if v is not None]
        raise ConfigError(f"{source}: only U-Net backbones are supported, this model uses {other or 'no backbone'}")
    multi = kind is ModelKind.MULTI_INSTANCE
    head = f"model.heads.{kind.value}" + (".confmaps" if kind in _NESTED_CONFMAPS else "")
    if kind in _NESTED_CONFMAPS:
        r.get(head, dict)  # a bottom-up or identity head without confidence maps is not one we can train
    if multi:
        r.get("model.heads.multi_instance.pafs", dict)
    u = "model.backbone.unet"
    scaling = r.get("data.preprocessing.input_scaling", float, 1.0)
    if not scaling > 0:
        raise ConfigError(f"{source}: data.preprocessing.input_scaling must be positive, got {scaling}")
    sleap_crop = r.get("data.instance_cropping.crop_size", (int, type(None)), None)
    anchor = r.get(f"{head}.anchor_part", (str, type(None)), None)
    if anchor is None:
        anchor = r.get("data.instance_cropping.center_on_part", (str, type(None)), None)
    unet_stride = r.get(f"{u}.output_stride", int, 1)
    data_cfg = DataConfig(
        input_scaling=scaling,
        crop_size=None if sleap_crop is None else int(round(sleap_crop / scaling)),
        crop_padding=r.get("data.instance_cropping.crop_size_detection_padding", int, 16),
        validation_fraction=r.get("data.labels.validation_fraction", float, 0.1),
        ensure_rgb=r.get("data.preprocessing.ensure_rgb", bool, False),
        ensure_grayscale=r.get("data.preprocessing.ensure_grayscale", bool, False),
    )
    model_cfg = UNetConfig(
        max_stride=r.get(f"{u}.max_stride", int, 16),
        output_stride=r.get(f"{head}.output_stride", int, unet_stride),
        filters=r.get(f"{u}.filters", int, 32),
        filters_rate=r.get(f"{u}.filters_rate", float, 2.0),
        middle_block=r.get(f"{u}.middle_block", bool, True),
        up_interpolate=r.get(f"{u}.up_interpolate", bool, True),
        stacks=r.get(f"{u}.stacks", int, 1),
        convs_per_block=r.get(f"{u}.convs_per_block", int, 2),
        kernel_size=r.get(f"{u}.kernel_size", int, 3),
    )
    part_names = r.get(f"{head}.part_names", (list, type(None)), None)
    if part_names is not None and not all(isinstance(n, str) for n in part_names):
        raise ConfigError(f"{source}: {head}.part_names should be a list of node names, got {part_names!r}")
    head_cfg = HeadConfig(
        sigma=r.get(f"{head}.sigma", float, 2.5),
        anchor_part=anchor if kind is ModelKind.CENTROID or kind.is_cropped else None,
        part_names=None if kind is ModelKind.CENTROID else part_names,
        offset_refinement=r.get(f"{head}.offset_refinement", bool, False),
        loss_weight=r.get(f"{head}.loss_weight", float, 1.0),
    )
    pafs_cfg = PafConfig()
    if multi:
        p = "model.heads.multi_instance.pafs"
        pafs_cfg = PafConfig(
            edges=edge_list(r, f"{p}.edges"),
            sigma=r.get(f"{p}.sigma", float, 75.0),
            output_stride=r.get(f"{p}.output_stride", int, 8),
            loss_weight=r.get(f"{p}.loss_weight", float, 1.0),
        )
    identity = read_class_head(r, kind) if kind.is_identity else IdentityConfig()
    o = "optimization"
    opt_name = r.get(f"{o}.optimizer", str, "adam").lower()
    if opt_name not in _OPTIMIZERS:
        raise ConfigError(f"{source}: optimizer {opt_name!r} is not supported (use adam or adamw)")
    lrs = f"{o}.learning_rate_schedule"
    es = f"{o}.early_stopping"
    opt_cfg = OptimizationConfig(
        batch_size=r.get(f"{o}.batch_size", int, 4),
        epochs=r.get(f"{o}.epochs", int, 200),
        learning_rate=r.get(f"{o}.initial_learning_rate", float, 1e-4),
        optimizer=_OPTIMIZERS[opt_name],
        lr_schedule=LRSchedule.PLATEAU,
        batches_per_epoch=r.get(f"{o}.batches_per_epoch", (int, type(None)), None),
        min_batches_per_epoch=r.get(f"{o}.min_batches_per_epoch", int, 200),
        val_batches_per_epoch=r.get(f"{o}.val_batches_per_epoch", (int, type(None)), None),
        plateau=PlateauConfig(
            enabled=r.get(f"{lrs}.reduce_on_plateau", bool, True),
            factor=r.get(f"{lrs}.reduction_factor", float, 0.5),
            patience=r.get(f"{lrs}.plateau_patience", int, 5),
            cooldown=r.get(f"{lrs}.plateau_cooldown", int, 3),
            min_delta=r.get(f"{lrs}.plateau_min_delta", float, 1e-6),
            min_lr=r.get(f"{lrs}.min_learning_rate", float, 1e-8),
        ),
        early_stopping=EarlyStoppingConfig(
            enabled=r.get(f"{es}.stop_training_on_plateau", bool, True),
            patience=r.get(f"{es}.plateau_patience", int, 15),
            min_delta=r.get(f"{es}.plateau_min_delta", float, 1e-8),
        ),
        hard_keypoint_mining=r.get(f"{o}.hard_keypoint_mining.online_mining", bool, False),
    )
    a = f"{o}.augmentation_config"
    rot_lo = r.get(f"{a}.rotation_min_angle", float, -15.0)
    rot_hi = r.get(f"{a}.rotation_max_angle", float, 15.0)
    aug_cfg = AugmentationConfig(
        rotate=r.get(f"{a}.rotate", bool, False),
        rotation_max_angle=max(abs(rot_lo), abs(rot_hi)),
        scale=r.get(f"{a}.scale", bool, False),
        scale_min=r.get(f"{a}.scale_min", float, 0.9),
        scale_max=r.get(f"{a}.scale_max", float, 1.1),
        uniform_noise=r.get(f"{a}.uniform_noise", bool, False),
        uniform_noise_min=r.get(f"{a}.uniform_noise_min_val", float, 0.0),
        uniform_noise_max=r.get(f"{a}.uniform_noise_max_val", float, 10.0),
        gaussian_noise=r.get(f"{a}.gaussian_noise", bool, False),
        gaussian_noise_mean=r.get(f"{a}.gaussian_noise_mean", float, 5.0),
        gaussian_noise_stddev=r.get(f"{a}.gaussian_noise_stddev", float, 1.0),
        contrast=r.get(f"{a}.contrast", bool, False),
        contrast_min_gamma=r.get(f"{a}.contrast_min_gamma", float, 0.5),
        contrast_max_gamma=r.get(f"{a}.contrast_max_gamma", float, 2.0),
        brightness=r.get(f"{a}.brightness", bool, False),
        brightness_min=r.get(f"{a}.brightness_min_val", float, 0.0),
        brightness_max=r.get(f"{a}.brightness_max_val", float, 10.0),
        flip=r.get(f"{a}.random_flip", bool, False),
        flip_horizontal=r.get(f"{a}.flip_horizontal", bool, True),
    )
    return TrainingConfig(
        kind=kind,
        data=data_cfg,
        model=model_cfg,
        head=head_cfg,
        pafs=pafs_cfg,
        identity=identity,
        optimization=opt_cfg,
        augmentation=aug_cfg,
        run_name=r.get("outputs.run_name", (str, type(None)), None),
    )


def read_sleap_config(path: str | Path) -> TrainingConfig:
    """Read a SLEAP 1.4 ``training_config.json`` (or a model folder holding one).

    Raises
    ------
    ConfigError
        When the file is missing, not JSON, not SLEAP's layout, uses a model
        type this plugin cannot train (identity models, non-U-Net backbones), or
        holds a value of the wrong type.
    """
    data, source = load_config_json(path)
    return config_from_sleap_dict(data, source)


def read_sleap_skeletons(path: str | Path) -> list[sio.Skeleton]:
    """Skeletons embedded in a SLEAP ``training_config.json`` (empty list if none)."""
    from sleap_io.io.skeleton import decode_training_config

    data, source = load_config_json(path)
    if not data.get("data", {}).get("labels", {}).get("skeletons"):
        return []
    try:
        skels = decode_training_config(data)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ConfigError(f"{source}: the embedded skeleton cannot be read ({exc})") from None
    return skels if isinstance(skels, list) else [skels]


def _skeleton_dicts(skeleton: sio.Skeleton | None) -> list[dict]:
    if skeleton is None:
        return []
    from sleap_io.io.skeleton import encode_skeleton

    encoded = json.loads(encode_skeleton([skeleton]))
    return encoded if isinstance(encoded, list) else [encoded]


def config_to_sleap_dict(cfg: TrainingConfig, skeleton: sio.Skeleton | None = None) -> dict:
    """SLEAP 1.4 ``training_config.json`` dict of a config (all of SLEAP's keys)."""
    kind = ModelKind(cfg.kind)
    d, m, h, o, a = cfg.data, cfg.model, cfg.head, cfg.optimization, cfg.augmentation
    part_names = h.part_names
    if part_names is None and skeleton is not None and kind is not ModelKind.CENTROID:
        part_names = list(skeleton.node_names)  # SLEAP records the resolved node list
    head_values = {
        "anchor_part": h.anchor_part,
        "part_names": part_names,
        "sigma": h.sigma,
        "output_stride": m.output_stride,
        "offset_refinement": h.offset_refinement,
        "loss_weight": h.loss_weight,
    }
    heads: dict[str, Any] = {
        "single_instance": None,
        "centroid": None,
        "centered_instance": None,
        "multi_instance": None,
        "multi_class_bottomup": None,
        "multi_class_topdown": None,
    }
    head = {k: head_values[k] for k in _HEAD_KEYS[kind]}
    unet_stride = m.output_stride
    if kind is ModelKind.MULTI_INSTANCE:
        p = cfg.pafs
        edges = p.edges
        if edges is None and skeleton is not None:
            edges = [list(e) for e in skeleton.edge_names]  # resolved, as SLEAP records them
        pafs = {"edges": edges, "sigma": p.sigma, "output_stride": p.output_stride, "loss_weight": p.loss_weight}
        head = {"confmaps": head, "pafs": pafs}
        unet_stride = min(m.output_stride, p.output_stride)
    if kind.is_identity:
        head = {"confmaps": head, **class_head_dict(kind, cfg.identity)}
        if kind is ModelKind.MULTI_CLASS_BOTTOMUP:
            unet_stride = min(m.output_stride, cfg.identity.output_stride)
    heads[kind.value] = head
    centered = kind.is_cropped
    crop = None
    if centered and d.crop_size is not None:
        crop = network_crop_side(d.crop_size, d.input_scaling, m.max_stride)
    rot = abs(a.rotation_max_angle)
    plateau_on = o.plateau.enabled and LRSchedule(o.lr_schedule) is LRSchedule.PLATEAU
    return {
        "data": {
            "labels": {
                "training_labels": None,
                "validation_labels": None,
                "validation_fraction": d.validation_fraction,
                "test_labels": None,
                "search_path_hints": [],
                "skeletons": _skeleton_dicts(skeleton),
            },
            "preprocessing": {
                "ensure_rgb": d.ensure_rgb,
                "ensure_grayscale": d.ensure_grayscale,
                "imagenet_mode": None,
                "input_scaling": d.input_scaling,
                "pad_to_stride": 1 if centered else m.max_stride,
            },
            "instance_cropping": {
                "center_on_part": h.anchor_part if kind is ModelKind.CENTROID or kind.is_cropped else None,
                "crop_size": crop,
                "crop_size_detection_padding": d.crop_padding,
            },
        },
        "model": {
            "backbone": {
                "leap": None,
                "unet": {
                    "stem_stride": None,
                    "max_stride": m.max_stride,
                    "output_stride": unet_stride,
                    "filters": m.filters,
                    "filters_rate": m.filters_rate,
                    "middle_block": m.middle_block,
                    "up_interpolate": m.up_interpolate,
                    "stacks": m.stacks,
                },
                "hourglass": None,
                "resnet": None,
                "pretrained_encoder": None,
            },
            "heads": heads,
        },
        "optimization": {
            "preload_data": True,
            "augmentation_config": {
                "rotate": a.rotate,
                "rotation_min_angle": -rot,
                "rotation_max_angle": rot,
                "translate": False,
                "translate_min": -5,
                "translate_max": 5,
                "scale": a.scale,
                "scale_min": a.scale_min,
                "scale_max": a.scale_max,
                "uniform_noise": a.uniform_noise,
                "uniform_noise_min_val": a.uniform_noise_min,
                "uniform_noise_max_val": a.uniform_noise_max,
                "gaussian_noise": a.gaussian_noise,
                "gaussian_noise_mean": a.gaussian_noise_mean,
                "gaussian_noise_stddev": a.gaussian_noise_stddev,
                "contrast": a.contrast,
                "contrast_min_gamma": a.contrast_min_gamma,
                "contrast_max_gamma": a.contrast_max_gamma,
                "brightness": a.brightness,
                "brightness_min_val": a.brightness_min,
                "brightness_max_val": a.brightness_max,
                "random_crop": False,
                "random_crop_height": 256,
                "random_crop_width": 256,
                "random_flip": a.flip,
                "flip_horizontal": a.flip_horizontal,
            },
            "online_shuffling": True,
            "shuffle_buffer_size": 128,
            "prefetch": True,
            "batch_size": o.batch_size,
            "batches_per_epoch": o.batches_per_epoch,
            "min_batches_per_epoch": o.min_batches_per_epoch,
            "val_batches_per_epoch": o.val_batches_per_epoch,
            "min_val_batches_per_epoch": 10,
            "epochs": o.epochs,
            "optimizer": o.optimizer,
            "initial_learning_rate": o.learning_rate,
            "learning_rate_schedule": {
                "reduce_on_plateau": plateau_on,
                "reduction_factor": o.plateau.factor,
                "plateau_min_delta": o.plateau.min_delta,
                "plateau_patience": o.plateau.patience,
                "plateau_cooldown": o.plateau.cooldown,
                "min_learning_rate": o.plateau.min_lr,
            },
            "hard_keypoint_mining": {
                "online_mining": o.hard_keypoint_mining,
                "hard_to_easy_ratio": 2.0,
                "min_hard_keypoints": 2,
                "max_hard_keypoints": None,
                "loss_scale": 5.0,
            },
            "early_stopping": {
                "stop_training_on_plateau": o.early_stopping.enabled,
                "plateau_min_delta": o.early_stopping.min_delta,
                "plateau_patience": o.early_stopping.patience,
            },
        },
        "outputs": {
            "save_outputs": True,
            "run_name": cfg.run_name,
            "run_name_prefix": "",
            "run_name_suffix": "",
            "runs_folder": "models",
            "tags": [],
            "save_visualizations": False,
            "keep_viz_images": False,
            "log_to_csv": True,
            "checkpointing": {
                "initial_model": False,
                "best_model": True,
                "every_epoch": False,
                "latest_model": False,
                "final_model": False,
            },
            "tensorboard": {
                "write_logs": False,
                "loss_frequency": "epoch",
                "architecture_graph": False,
                "profile_graph": False,
                "visualizations": True,
            },
            "zmq": {
                "subscribe_to_controller": False,
                "controller_address": "tcp://127.0.0.1:9000",
                "controller_polling_timeout": 10,
                "publish_updates": False,
                "publish_address": "tcp://127.0.0.1:9001",
            },
        },
    }


def write_sleap_config(cfg: TrainingConfig, path: str | Path, skeleton: sio.Skeleton | None = None) -> Path:
    """Write ``cfg`` as a SLEAP 1.4 ``training_config.json`` and return the path.

    Parameters
    ----------
    cfg
        Model config.
    path
        File to write (a folder gets ``training_config.json`` inside it).
    skeleton
        Embedded in ``data.labels.skeletons`` as SLEAP does, so SLEAP can run
        the model without the labels file.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "training_config.json"
    path.write_text(json.dumps(config_to_sleap_dict(cfg, skeleton), indent=4) + "\n")
    return path
