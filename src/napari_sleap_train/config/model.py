"""Typed training configuration.

One :class:`TrainingConfig` describes one model (centroid, centered instance,
single instance or multi-instance, i.e. bottom-up) with every setting of SLEAP 1.4's training dialog. A
:class:`PipelineConfig` groups the models of a pipeline with the settings that
are shared (anchor part, predict-on, output folder).

Defaults follow SLEAP 1.4 except where noted. These are plain dataclasses: no Qt,
no TensorFlow, JSON-serialisable through :mod:`napari_sleap_train.config.serialize`.
Each is also *evented* (psygnal's ``SignalGroupDescriptor``, pure Python): setting
a field emits ``obj.events.<field>(new, old)``, and ``obj.events`` relays the
changes of nested configs, which is what the dock's widgets bind to. Nothing is
emitted, and nothing costs, while no one is connected.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar

from psygnal import SignalGroupDescriptor

from .tracking import TrackerSettings

#: Test-time views of each centered-instance crop a top-down pipeline can predict
#: with (:mod:`napari_sleap_train.predictions.views`): the crop alone, with its
#: half turn, the four quarter turns, those and their mirrors.
TEST_TIME_VIEWS = (1, 2, 4, 8)
#: The default: the consensus of the four quarter turns (issue 21, fly clip, 20-minute
#: CPU model: test frames of the training video median 0.70 -> 0.49 px, OKS mAP 0.926 ->
#: 0.941; frames far from the training frames mAP 0.41 -> 0.50), for 2x the prediction time.
DEFAULT_TEST_TIME_VIEWS = 4


class ModelKind(str, Enum):
    """Which confidence-map head a model has."""

    CENTROID = "centroid"
    CENTERED_INSTANCE = "centered_instance"
    SINGLE_INSTANCE = "single_instance"
    MULTI_INSTANCE = "multi_instance"  # bottom-up: confidence maps of every part + part affinity fields
    MULTI_CLASS_TOPDOWN = "multi_class_topdown"  # centered instance + a class vector per crop (identity)
    MULTI_CLASS_BOTTOMUP = "multi_class_bottomup"  # confidence maps of every part + class maps (identity)

    @property
    def is_identity(self) -> bool:
        """The model learns identity classes (track names)."""
        return self in (ModelKind.MULTI_CLASS_TOPDOWN, ModelKind.MULTI_CLASS_BOTTOMUP)

    @property
    def is_cropped(self) -> bool:
        """The model sees crops centred on an anchor (centered instance, top-down identity)."""
        return self in (ModelKind.CENTERED_INSTANCE, ModelKind.MULTI_CLASS_TOPDOWN)


class PipelineKind(str, Enum):
    """How the models of a pipeline work together."""

    TOP_DOWN = "top-down"
    SINGLE_INSTANCE = "single-instance"
    BOTTOM_UP = "bottom-up"
    TOP_DOWN_ID = "top-down-id"  # centroid + multi-class centered instance
    BOTTOM_UP_ID = "bottom-up-id"  # confidence maps + class maps

    @property
    def model_kinds(self) -> tuple[ModelKind, ...]:
        """Models this pipeline trains, in training order."""
        if self is PipelineKind.TOP_DOWN:
            return (ModelKind.CENTROID, ModelKind.CENTERED_INSTANCE)
        if self is PipelineKind.BOTTOM_UP:
            return (ModelKind.MULTI_INSTANCE,)
        if self is PipelineKind.TOP_DOWN_ID:
            return (ModelKind.CENTROID, ModelKind.MULTI_CLASS_TOPDOWN)
        if self is PipelineKind.BOTTOM_UP_ID:
            return (ModelKind.MULTI_CLASS_BOTTOMUP,)
        return (ModelKind.SINGLE_INSTANCE,)

    @classmethod
    def of_model(cls, kind: ModelKind | str) -> PipelineKind:
        """The pipeline a model of ``kind`` belongs to."""
        kind = ModelKind(kind)
        return next(p for p in cls if kind in p.model_kinds)


class LRSchedule(str, Enum):
    """Learning-rate schedule."""

    PLATEAU = "plateau"  # SLEAP: constant, halved on validation plateau
    COSINE = "cosine"  # linear warm-up then cosine decay over the epochs


class Precision(str, Enum):
    """Number format of the training computation."""

    AUTO = "auto"  # mixed on NVIDIA GPUs with tensor cores (compute capability 7.0+), else float32
    MIXED = "mixed"  # float16 compute, float32 weights (Keras "mixed_float16")
    FLOAT32 = "float32"


class Switch(str, Enum):
    """A feature that is on, off, or chosen for the hardware."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


class PredictOn(str, Enum):
    """Which frames to predict on after training (SLEAP 1.4's choices)."""

    NOTHING = "nothing"
    CURRENT_FRAME = "current_frame"
    RANDOM_FRAMES = "random_frames"  # N random unlabeled frames, all videos
    RANDOM_FRAMES_CURRENT_VIDEO = "random_frames_current_video"
    SUGGESTED_FRAMES = "suggested_frames"
    USER_LABELED_FRAMES = "user_labeled_frames"
    CURRENT_VIDEO = "current_video"
    ALL_VIDEOS = "all_videos"


@dataclass
class DataConfig:
    """Preprocessing and data split.

    Attributes
    ----------
    input_scaling
        Factor applied to frames before they enter the network (0.25 halves
        twice). Centroid models usually run downscaled.
    crop_size
        Side of the square crop of centered-instance models in original
        pixels; ``None`` picks it automatically from the labels (rotation aware).
    crop_padding
        Extra pixels added around the largest instance for the auto crop size.
    validation_fraction
        Fraction of labeled frames held out for validation.
    ensure_rgb, ensure_grayscale
        Convert frames to three or one channel before training.
    """

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    input_scaling: float = 1.0
    crop_size: int | None = None
    crop_padding: int = 16
    validation_fraction: float = 0.1
    ensure_rgb: bool = False
    ensure_grayscale: bool = False


@dataclass
class AugmentationConfig:
    """Random augmentation applied to each training sample (SLEAP's set)."""

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    rotate: bool = False
    rotation_max_angle: float = 15.0  # degrees, symmetric: [-max, +max]
    scale: bool = False
    scale_min: float = 0.9
    scale_max: float = 1.1
    uniform_noise: bool = False
    uniform_noise_min: float = 0.0
    uniform_noise_max: float = 10.0
    gaussian_noise: bool = False
    gaussian_noise_mean: float = 5.0
    gaussian_noise_stddev: float = 1.0
    contrast: bool = False
    contrast_min_gamma: float = 0.5
    contrast_max_gamma: float = 2.0
    brightness: bool = False
    brightness_min: float = 0.0
    brightness_max: float = 10.0
    flip: bool = False
    flip_horizontal: bool = True  # False flips vertically
    # Centered-instance models: shift each training crop's center by up to this
    # share of the crop side in x and y, so the model finds the anchor in the
    # image instead of at the center (at prediction time the center is the
    # centroid model's estimate, which is off by a few pixels). Not in SLEAP.
    anchor_jitter: float = 0.0
    # Centered-instance models: bend each limb tip (a skeleton leaf: leg and wing
    # tips) about its parent node by up to this many degrees and change the
    # limb's length by up to limb_stretch, the image following
    # (data/limb_warp.py), to show poses the labels do not. Not in SLEAP.
    limb_angle: float = 0.0
    limb_stretch: float = 0.0

    @property
    def bends_limbs(self) -> bool:
        """True when limb tips are bent (:mod:`~napari_sleap_train.data.limb_warp`)."""
        return self.limb_angle > 0 or self.limb_stretch > 0

    @property
    def max_rotation(self) -> float:
        """Largest absolute rotation in degrees (0 when rotation is off)."""
        return abs(self.rotation_max_angle) if self.rotate else 0.0


@dataclass
class PlateauConfig:
    """Reduce the learning rate when validation loss stops improving."""

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    enabled: bool = True
    factor: float = 0.5
    patience: int = 5
    cooldown: int = 3
    min_delta: float = 1e-6
    min_lr: float = 1e-8


@dataclass
class EarlyStoppingConfig:
    """Stop when validation loss has not improved by ``min_delta`` for ``patience`` epochs."""

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    enabled: bool = True
    patience: int = 15
    min_delta: float = 1e-8


@dataclass
class OptimizationConfig:
    """Optimizer, schedule and loop lengths."""

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    batch_size: int = 4
    epochs: int = 200
    learning_rate: float = 1e-4
    optimizer: str = "adam"  # "adam" or "adamw"
    weight_decay: float = 0.0  # only used by adamw
    lr_schedule: LRSchedule = LRSchedule.PLATEAU
    warmup_epochs: int = 0
    # peak rate of a run started from trained weights (engine/schedule.py fine_tune_schedule);
    # None: FINE_TUNE_LR_FRACTION of learning_rate
    fine_tune_learning_rate: float | None = None
    batches_per_epoch: int | None = None  # None: one pass, at least min_batches_per_epoch
    min_batches_per_epoch: int = 200
    val_batches_per_epoch: int | None = None  # None: whole validation set
    plateau: PlateauConfig = field(default_factory=PlateauConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    time_limit_minutes: float | None = None  # stop (keeping best) after this wall time
    time_share: float = 1.0  # relative share of a pipeline time budget (PipelineConfig.time_limit_minutes)
    hard_keypoint_mining: bool = False
    # Draw training frames with weights that balance repeated poses
    # (data/pose_balance.py) instead of uniformly. Not in SLEAP's training_config.json.
    balance_poses: bool = False
    seed: int = 0
    # Bottom-up models: train on random square crops of this side (original frame
    # pixels) around the labeled animals instead of whole frames; validation and
    # prediction still see whole frames (data/train_crops.py). None: whole frames.
    # Not in SLEAP's training_config.json (SLEAP has no such setting).
    train_crop_size: int | None = None


@dataclass
class UNetConfig:
    """U-Net backbone (SLEAP's ``model.backbone.unet``)."""

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    max_stride: int = 16
    output_stride: int = 2
    filters: int = 32
    filters_rate: float = 2.0
    middle_block: bool = True
    up_interpolate: bool = True
    stacks: int = 1
    convs_per_block: int = 2
    kernel_size: int = 3


@dataclass
class HeadConfig:
    """Confidence-map head.

    ``anchor_part`` is used by centroid and centered-instance heads (``None``:
    bounding-box midpoint). In a pipeline it comes from
    :attr:`PipelineConfig.anchor_part`, the one place it is set, and is written
    here by :meth:`PipelineConfig.trained_models` when a job is made (so a run
    folder's config says what it trained on). ``part_names`` restricts which
    nodes are predicted (``None``: every node of the skeleton).
    """

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    sigma: float = 2.5
    anchor_part: str | None = None
    part_names: list[str] | None = None
    offset_refinement: bool = False
    #: Weight of the confidence-map loss (SLEAP's ``loss_weight``); matters next to
    #: the part affinity field loss of a bottom-up model.
    loss_weight: float = 1.0


@dataclass
class PafConfig:
    """Part affinity field head of a bottom-up model (SLEAP's ``multi_instance.pafs``).

    Each edge gets a 2-channel field (x, y of the unit vector from source to
    destination) near its segment. ``sigma`` is SLEAP's "sigma for edges" with
    SLEAP's meaning, so a SLEAP config trains the same fields: the weight at
    distance ``d`` (network-input pixels) from the segment is
    ``exp(-d**4 / (2 * sigma**2))``, above one half within ``1.085 * sqrt(sigma)``
    pixels (sigma 75: 9.4 px). See :mod:`napari_sleap_train.data.pafs`.

    Attributes
    ----------
    edges
        ``[source, destination]`` node names; ``None``: every skeleton edge.
    sigma
        Spread of the fields around each edge.
    output_stride
        Stride of the field grid relative to the network input (a multiple of
        the confidence maps' stride, at most the U-Net's max stride).
    loss_weight
        Weight of the field loss next to the confidence-map loss.
    """

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    edges: list[list[str]] | None = None
    sigma: float = 75.0
    output_stride: int = 8
    loss_weight: float = 1.0


@dataclass
class IdentityConfig:
    """Identity head of a top-down-id or bottom-up-id model (SLEAP's ``class_vectors`` / ``class_maps``).

    Classes are the project's track names: a top-down-id model gives each crop
    a vector of class probabilities (global pooling of the deepest features,
    fully connected layers, softmax); a bottom-up-id model predicts one map per
    class (1 on the cells its instances cover, SLEAP's class maps), read at
    each part's peaks.

    Attributes
    ----------
    classes
        Class (track) names in output order; ``None``: the project's tracks,
        resolved when the job is made.
    sigma
        Class maps only: an instance covers the cells where the Gaussians of
        ``sigma`` grid cells (SLEAP's unit: ``sigma * output_stride`` input
        pixels) on its nodes exceed 0.2.
    output_stride
        Class maps: their grid stride; class vectors: the stride of the
        features they pool.
    num_fc_layers, num_fc_units, global_pool
        Class vectors only: fully connected layers before the softmax, and
        global max pooling (else the features are flattened, fixing the crop size).
    loss_weight
        Weight of the class loss next to the confidence-map loss.
    """

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    classes: list[str] | None = None
    sigma: float = 5.0
    output_stride: int = 16
    num_fc_layers: int = 1
    num_fc_units: int = 64
    global_pool: bool = True
    loss_weight: float = 1.0


@dataclass
class TrainingConfig:
    """Everything needed to train one model."""

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    kind: ModelKind = ModelKind.CENTROID
    data: DataConfig = field(default_factory=DataConfig)
    model: UNetConfig = field(default_factory=UNetConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    pafs: PafConfig = field(default_factory=PafConfig)  # used by multi-instance (bottom-up) models only
    identity: IdentityConfig = field(default_factory=IdentityConfig)  # used by identity models only
    optimization: OptimizationConfig = field(default_factory=OptimizationConfig)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    run_name: str | None = None  # None: "<timestamp>.<kind>"
    profile: str | None = None  # built-in profile this config started from


@dataclass
class PipelineConfig:
    """A training pipeline as chosen on the *Training Pipeline* tab.

    ``models`` maps each model kind of the pipeline to its config (it may hold
    models of the other pipeline kind, kept while the user switches kinds). The
    anchor part is stored here once; :meth:`trained_models` gives the configs
    as they are trained, with it written into their heads.
    """

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    kind: PipelineKind = PipelineKind.TOP_DOWN
    models: dict[ModelKind, TrainingConfig] = field(default_factory=dict)
    anchor_part: str | None = None
    max_instances: int | None = None
    #: Top-down predictions: the consensus of this many views of each crop (one of
    #: :data:`TEST_TIME_VIEWS`; 1 runs the crop once, as SLEAP does).
    test_time_views: int = DEFAULT_TEST_TIME_VIEWS
    runs_folder: str = "models"
    run_name_prefix: str = ""
    predict_on: PredictOn = PredictOn.SUGGESTED_FRAMES
    predict_n_frames: int = 20
    device: str = "auto"  # "auto", "cpu", "gpu:N", "gpu:N,M" / "gpu:all" (mirrored), "cpu:K" (test)
    multi_worker: bool = False  # MultiWorkerMirroredStrategy over the machines in TF_CONFIG
    #: Mixed precision (float16 compute); "auto" turns it on where tensor cores make it faster.
    precision: Precision = Precision.AUTO
    #: XLA compilation of the training step; "auto": on for NVIDIA GPUs only
    #: (on this project's 2-core CPU benchmark it made each step 2.7x slower).
    xla: Switch = Switch.AUTO
    #: Wall-time budget of the whole pipeline (data preparation and every model);
    #: split between the models by their ``optimization.time_share``.
    time_limit_minutes: float | None = None
    #: Keep copies of each model's best checkpoint at these minutes of the
    #: pipeline budget (scaled to each model's share when a budget is set).
    snapshot_minutes: list[float] = field(default_factory=list)
    #: Tracking of the predictions made after training (SLEAP's default: no tracker).
    tracking: TrackerSettings = field(default_factory=lambda: TrackerSettings(tracker="none"))

    def trained_models(self) -> dict[ModelKind, TrainingConfig]:
        """Copies of the models this pipeline trains, in training order, as trained.

        Each copy has its ``kind`` set from its key and, for the centroid and
        centered-instance models, the pipeline's anchor part in its head. The
        pipeline itself is not changed.
        """
        out: dict[ModelKind, TrainingConfig] = {}
        for kind in self.kind.model_kinds:
            if kind not in self.models:
                continue
            cfg = copy.deepcopy(self.models[kind])
            cfg.kind = kind
            if kind is ModelKind.CENTROID or kind.is_cropped:
                cfg.head.anchor_part = self.anchor_part
            out[kind] = cfg
        return out

    def ordered_models(self) -> list[TrainingConfig]:
        """Model configs in training order (centroid before centered instance)."""
        return [self.models[k] for k in self.kind.model_kinds if k in self.models]
