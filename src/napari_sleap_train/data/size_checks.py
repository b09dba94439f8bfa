"""Sizes of a training config checked against the labels and the hardware (numpy only).

Run before TensorFlow loads, so a size that cannot work is refused in plain
words in a second instead of ending in a crash or an out-of-memory error
minutes later:

* batch size against the training examples (a batch of 100000 from 36
  examples repeats each one thousands of times and exhausts memory);
* the crop of a centered-instance model against the labeled animals (a crop
  that leaves most body parts outside cannot learn them) and the frames (a
  crop far larger than the frame is padding);
* the memory one training batch needs at the least, against the memory available;
* on a CPU, a network far more costly than the ``cpu.*`` profile for that model
  (e.g. SLEAP's GPU-sized default of 7.8 M parameters): a warning naming the
  faster profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from napari_sleap_train.config.model import ModelKind, TrainingConfig
from napari_sleap_train.config.profiles import PROFILES, default_profile_name, get_profile
from napari_sleap_train.config.sizes import NetworkCost, unet_cost

from .anchors import anchor_points
from .crops import auto_crop_size, crop_network_size
from .scaling import padded_shape, scaled_shape

#: SLEAP's default batch size: always allowed, even on a project with fewer examples.
DEFAULT_BATCH_SIZE = 4

#: A network this many times costlier per example than the cpu.* profile is called too slow for a CPU.
CPU_COST_RATIO = 4.0

#: Crops larger than this many times the largest frame side are refused.
CROP_FRAME_RATIO = 2.0

#: Below this fraction of labeled body parts inside the crops, a crop size is refused.
MIN_PARTS_INSIDE = 0.5


@dataclass(frozen=True)
class SizeFinding:
    """One problem: ``level`` "error" (training cannot work) or "warning"."""

    model: str
    level: str
    message: str
    hint: str = ""


@dataclass
class LabelSizes:
    """What the checks need to know about the labels.

    Attributes
    ----------
    instances
        ``(n, k, 2)`` user instances of each labeled frame, original pixels.
    train_frames
        Indices into ``instances`` of the training frames.
    node_names
        Skeleton node names.
    frame_hw
        Largest ``(height, width)`` of the labeled videos (``None``: unknown).
    channels
        Image channels of the videos (1 or 3).
    """

    instances: Sequence[np.ndarray]
    train_frames: Sequence[int]
    node_names: Sequence[str]
    frame_hw: tuple[int, int] | None
    channels: int = 1


def _anchor_index(cfg: TrainingConfig, node_names: Sequence[str]) -> int | None:
    part = cfg.head.anchor_part
    return list(node_names).index(part) if part in node_names else None


def count_training_examples(cfg: TrainingConfig, labels: LabelSizes) -> int:
    """Examples per pass over the training frames: frames, or instances with an anchor."""
    if not ModelKind(cfg.kind).is_cropped:
        return len(labels.train_frames)
    anchor = _anchor_index(cfg, labels.node_names)
    total = 0
    for i in labels.train_frames:
        inst = np.asarray(labels.instances[i], dtype=np.float64)
        if len(inst):
            total += int(np.isfinite(anchor_points(inst, anchor)).all(axis=1).sum())
    return total


def auto_crop(cfg: TrainingConfig, labels: LabelSizes) -> int:
    """The crop side the engine would choose for these labels (see :func:`.crops.auto_crop_size`)."""
    aug = cfg.augmentation
    return auto_crop_size(
        list(labels.instances),
        cfg.data.input_scaling,
        cfg.model.max_stride,
        cfg.data.crop_padding,
        aug.max_rotation,
        aug.scale_max if aug.scale else 1.0,
        _anchor_index(cfg, labels.node_names),
    )


def input_size(cfg: TrainingConfig, labels: LabelSizes) -> tuple[int, int] | None:
    """Network input ``(h, w)`` of one example (``None``: frame size unknown)."""
    if ModelKind(cfg.kind).is_cropped:
        crop = cfg.data.crop_size or auto_crop(cfg, labels)
        side = crop_network_size(crop, cfg.data.input_scaling, cfg.model.max_stride)
        return side, side
    if labels.frame_hw is None:
        return None
    return padded_shape(*scaled_shape(*labels.frame_hw, cfg.data.input_scaling), cfg.model.max_stride)


def network_cost(cfg: TrainingConfig, labels: LabelSizes) -> NetworkCost | None:
    """Cost of ``cfg``'s network on its input for these labels."""
    hw = input_size(cfg, labels)
    if hw is None:
        return None
    channels = 3 if cfg.data.ensure_rgb else (1 if cfg.data.ensure_grayscale else labels.channels)
    n_out = 1 if cfg.kind == ModelKind.CENTROID else len(cfg.head.part_names or labels.node_names)
    return unet_cost(cfg.model, hw, channels, max(1, n_out), cfg.head.offset_refinement)


def check_batch_size(cfg: TrainingConfig, labels: LabelSizes) -> SizeFinding | None:
    """A batch larger than the training set (and than SLEAP's default of 4) is refused."""
    batch = cfg.optimization.batch_size
    n = count_training_examples(cfg, labels)
    if n == 0 or batch <= max(n, DEFAULT_BATCH_SIZE):
        return None
    return SizeFinding(
        cfg.kind.value,
        "error",
        f"The batch size ({batch:,}) is larger than the {n} training example{'s' if n != 1 else ''} of the "
        f"{cfg.kind.value} model: "
        f"each batch would repeat every example about {batch // n:,} times and need far more memory.",
        f"use a batch size of at most {n} (SLEAP's default is {DEFAULT_BATCH_SIZE})",
    )


def _parts_inside(cfg: TrainingConfig, labels: LabelSizes, crop: float) -> tuple[int, int]:
    """Labeled body parts inside a crop of side ``crop`` centred on each anchor, and all of them."""
    side = crop_network_size(crop, cfg.data.input_scaling, cfg.model.max_stride) / cfg.data.input_scaling
    anchor = _anchor_index(cfg, labels.node_names)
    inside = total = 0
    for inst in labels.instances:
        inst = np.asarray(inst, dtype=np.float64)
        if not len(inst):
            continue
        centre = anchor_points(inst, anchor)[:, None, :]
        visible = np.isfinite(inst).all(axis=2) & np.isfinite(centre).all(axis=2)
        near = (np.abs(inst - centre) <= side / 2).all(axis=2)
        inside += int((visible & near).sum())
        total += int(visible.sum())
    return inside, total


def check_crop_size(cfg: TrainingConfig, labels: LabelSizes) -> SizeFinding | None:
    """A set crop size must hold the animals and not dwarf the frames."""
    crop = cfg.data.crop_size
    if not ModelKind(cfg.kind).is_cropped or not crop:
        return None
    model = cfg.kind.value
    auto = auto_crop(cfg, labels)
    if labels.frame_hw is not None:
        limit = max(int(CROP_FRAME_RATIO * max(labels.frame_hw)), auto)
        if crop > limit:
            h, w = labels.frame_hw
            return SizeFinding(
                model,
                "error",
                f"The crop size ({crop:,} px) is far larger than the frames ({w} x {h} px): the crops would be "
                "almost all padding and too large for memory.",
                f"use at most {limit} px, or leave the crop size on auto ({auto} px for these labels)",
            )
    inside, total = _parts_inside(cfg, labels, crop)
    if total == 0 or inside == total:
        return None
    share = inside / total
    side = crop_network_size(crop, cfg.data.input_scaling, cfg.model.max_stride) / cfg.data.input_scaling
    rounded = f" ({side:g} px once rounded to the network's max stride)" if side != crop else ""
    text = (
        f"With a crop size of {crop} px{rounded} only {share:.0%} of the labeled body parts lie inside the crops "
        f"(centred on the {'anchor part' if cfg.head.anchor_part else 'middle of each animal'}): "
        "the model cannot learn the parts outside."
    )
    hint = f"use a crop of about {auto} px (the automatic size for these labels) or leave it on auto"
    return SizeFinding(model, "error" if share < MIN_PARTS_INSIDE else "warning", text, hint)


def check_memory(cfg: TrainingConfig, labels: LabelSizes, available_bytes: int | None) -> SizeFinding | None:
    """Refuse a batch whose layer outputs alone exceed the available memory."""
    cost = network_cost(cfg, labels)
    if cost is None or not available_bytes:
        return None
    batch = cfg.optimization.batch_size
    # float32, and at least half the layer outputs stay for the backward pass (TensorFlow
    # fuses each conv with its ReLU): a floor, so only a batch that surely fails is refused
    per_example = 2 * cost.activations
    need = per_example * batch
    if need <= available_bytes:
        return None
    fits = available_bytes // per_example
    return SizeFinding(
        cfg.kind.value,
        "error",
        f"One training batch of the {cfg.kind.value} model needs at least {_amount(need)} of memory "
        f"({batch} examples of {'x'.join(map(str, input_size(cfg, labels)))} px), more than the "
        f"{_amount(available_bytes)} available.",
        f"use a batch size of at most {fits}, or a lower input scaling"
        if fits >= 1
        else "one example alone does not fit: lower the input scaling or use a smaller crop",
    )


def _amount(nbytes: float) -> str:
    return f"{nbytes / 1024**3:,.1f} GB" if nbytes >= 1024**3 else f"{nbytes / 1024**2:,.0f} MB"


def check_network_cost(cfg: TrainingConfig, labels: LabelSizes, hardware: str) -> SizeFinding | None:
    """On a CPU, warn about a network far costlier than the cpu.* profile of its kind."""
    if hardware != "cpu" or (cfg.profile in PROFILES and not cfg.profile.startswith("cpu.")):
        return None  # built-in GPU profiles on a CPU are named by the pipeline's profile note
    faster_name = default_profile_name(cfg.kind, "cpu")
    faster = get_profile(faster_name)
    faster.head = cfg.head  # same anchor and parts, same crop: only the networks differ
    faster.data.crop_size = cfg.data.crop_size
    mine, theirs = network_cost(cfg, labels), network_cost(faster, labels)
    if mine is None or theirs is None or mine.multiply_adds <= CPU_COST_RATIO * theirs.multiply_adds:
        return None
    ratio = mine.multiply_adds / theirs.multiply_adds
    return SizeFinding(
        cfg.kind.value,
        "warning",
        f"The {cfg.kind.value} network has {mine.parameters / 1e6:.1f} M parameters and needs {ratio:.0f}x the "
        f"computation per example of the {faster_name} profile ({theirs.parameters / 1e6:.1f} M parameters): "
        "it is sized for a GPU and trains very slowly on a CPU.",
        f"choose the {faster_name} profile for a usable model in minutes",
    )


def check_training_sizes(
    cfg: TrainingConfig, labels: LabelSizes, hardware: str, available_bytes: int | None = None
) -> list[SizeFinding]:
    """Every size check of one model, errors first.

    Parameters
    ----------
    cfg
        The model's config.
    labels
        Instances, split and frame size of the project.
    hardware
        ``"cpu"`` or ``"gpu"``: where training will run.
    available_bytes
        Memory training may use (``None``: not checked). Pass the free RAM on a CPU.
    """
    found = [
        check_batch_size(cfg, labels),
        check_crop_size(cfg, labels),
        check_memory(cfg, labels, available_bytes),
        check_network_cost(cfg, labels, hardware),
    ]
    found = [f for f in found if f is not None]
    return sorted(found, key=lambda f: f.level != "error")
