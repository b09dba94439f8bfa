"""Train one model of a pipeline in its run folder.

:func:`train_model` builds the example pipeline and the U-Net, compiles,
announces the model (``ModelStarted``), runs ``fit`` with the
:class:`~napari_sleap_train.engine.callbacks.TrainingMonitor`, and returns a
:class:`ModelResult`. Resuming loads ``latest_model.keras`` (weights and
optimizer state) from the run folder and continues after the last logged epoch;
starting from a trained run copies its weights into the new network first.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from napari_sleap_train.config.model import ModelKind, TrainingConfig
from napari_sleap_train.data.receptive_field import receptive_field
from napari_sleap_train.engine.acceleration import Acceleration, precision_policy
from napari_sleap_train.engine.budget import Snapshot
from napari_sleap_train.engine.callbacks import (
    BEST_MODEL,
    LATEST_MODEL,
    TRAINING_LOG,
    TrainingMonitor,
    read_training_log,
)
from napari_sleap_train.engine.channel import Channel
from napari_sleap_train.engine.dataset import ExampleMaker, make_datasets
from napari_sleap_train.engine.errors import EngineConfigError, EngineDataError
from napari_sleap_train.engine.identity_losses import WeightedClassMapsLoss, WeightedClassVectorLoss
from napari_sleap_train.engine.init_weights import copy_run_weights
from napari_sleap_train.engine.labeled_data import FrameStore, LabeledData
from napari_sleap_train.engine.losses import make_loss
from napari_sleap_train.engine.run_files import save_model
from napari_sleap_train.engine.schedule import fine_tune_schedule
from napari_sleap_train.engine.unet import build_model
from napari_sleap_train.protocol.events import Message, ModelStarted, Status


@dataclass
class ModelResult:
    """How the training of one model ended."""

    run_dir: str
    reason: str
    best_epoch: int
    best_val_loss: float
    epochs_trained: int
    resolved: TrainingConfig  # the config with automatic values filled in (crop size)


def make_optimizer(cfg: TrainingConfig) -> keras.optimizers.Optimizer:
    """Adam (SLEAP's default) or AdamW with the configured learning rate."""
    opt = cfg.optimization
    name = opt.optimizer.lower()
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=opt.learning_rate, amsgrad=False)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate=opt.learning_rate, weight_decay=opt.weight_decay)
    raise EngineConfigError(f"Unknown optimizer {opt.optimizer!r}: use 'adam' or 'adamw'.")


def check_config(cfg: TrainingConfig) -> None:
    """Reject settings training cannot use, with a plain message."""
    opt = cfg.optimization
    if opt.batch_size < 1:
        raise EngineConfigError(f"Batch size must be at least 1, got {opt.batch_size}.")
    if opt.epochs < 1:
        raise EngineConfigError(f"Epochs must be at least 1, got {opt.epochs}.")
    if not opt.learning_rate > 0:
        raise EngineConfigError(f"Learning rate must be positive, got {opt.learning_rate}.")
    if opt.fine_tune_learning_rate is not None and not opt.fine_tune_learning_rate > 0:
        raise EngineConfigError(f"Fine-tuning learning rate must be positive, got {opt.fine_tune_learning_rate}.")
    if not cfg.data.input_scaling > 0:
        raise EngineConfigError(f"Input scaling must be positive, got {cfg.data.input_scaling}.")
    if cfg.head.offset_refinement:
        raise EngineConfigError(
            "Training with offset refinement is not supported; turn 'offset refinement' off "
            "(SLEAP models that have it can still be used for prediction).",
        )


def _compile(model: keras.Model, cfg: TrainingConfig, xla: bool = False) -> None:
    # Keras wraps the optimizer in a LossScaleOptimizer when the model is mixed_float16.
    loss = make_loss(cfg.optimization.hard_keypoint_mining)
    if cfg.kind == ModelKind.MULTI_INSTANCE:
        # confidence maps and part affinity fields, each with its SLEAP loss weight
        model.compile(
            optimizer=make_optimizer(cfg),
            loss=[loss, keras.losses.MeanSquaredError(name="paf_mse")],
            loss_weights=[cfg.head.loss_weight, cfg.pafs.loss_weight],
            jit_compile=xla,
        )
        return
    if ModelKind(cfg.kind).is_identity:
        # confidence maps and the class head (weighted: instances without a track count 0)
        vectors = cfg.kind == ModelKind.MULTI_CLASS_TOPDOWN
        model.compile(
            optimizer=make_optimizer(cfg),
            loss=[loss, WeightedClassVectorLoss() if vectors else WeightedClassMapsLoss()],
            loss_weights=[cfg.head.loss_weight, cfg.identity.loss_weight],
            jit_compile=xla,
        )
        return
    model.compile(optimizer=make_optimizer(cfg), loss=loss, jit_compile=xla)


def train_model(
    cfg: TrainingConfig,
    data: LabeledData,
    frames: FrameStore,
    run_dir: str | Path,
    channel: Channel,
    resume: bool = False,
    deadline: float | None = None,
    snapshots: list[Snapshot] | None = None,
    strategy=None,
    acceleration: Acceleration | None = None,
    on_ready: Callable[[TrainingConfig], None] | None = None,
    init_from: str | Path | None = None,
) -> ModelResult:
    """Train (or continue training) one model.

    Parameters
    ----------
    cfg
        The model's settings.
    data
        Samples and train/validation split.
    frames
        Decoded frames shared by the models of the pipeline.
    run_dir
        Existing run folder; checkpoints and logs go here.
    channel
        Events out, commands in.
    resume
        Continue from ``latest_model.keras`` and ``training_log.csv`` in ``run_dir``.
    deadline
        ``time.monotonic()`` at which to stop (this model's share of a pipeline budget).
    snapshots
        Best-model copies to keep at given training times.
    strategy
        ``tf.distribute`` strategy (:mod:`~.distribute`); ``None``: the default
        single-device strategy. The config's batch size is per replica.
    acceleration
        Mixed precision / XLA (:mod:`~.acceleration`); ``None``: float32, no XLA.
    on_ready
        Called with the resolved config once it is known, before the first
        batch: the pipeline writes the run folder's configs there, so a folder
        left by a killed process is usable from its first checkpoint on.
    init_from
        A trained run folder (ours or SLEAP 1.4's) whose weights start this
        model (fine-tuning; :func:`~.init_weights.copy_run_weights`). The
        optimizer and epochs start fresh, on the fine-tuning schedule
        (:func:`with_fine_tune_schedule`: a lower peak rate, no warm-up).

    Returns
    -------
    ModelResult
    """
    check_config(cfg)
    run_dir = Path(run_dir)
    kind = cfg.kind.value
    if init_from is not None and not resume:
        cfg = with_fine_tune_schedule(cfg, Path(init_from).name, channel)
    opt = cfg.optimization
    channel.emit(Status(model=kind, stage="building pipeline", detail="preparing training examples"))
    maker = ExampleMaker(cfg, data, frames, seed=opt.seed)
    strategy = strategy or tf.distribute.get_strategy()
    global_batch = opt.batch_size * strategy.num_replicas_in_sync
    sets = make_datasets(
        maker,
        global_batch,
        opt.batches_per_epoch,
        opt.min_batches_per_epoch,
        opt.val_batches_per_epoch,
        seed=opt.seed,
        balance_poses=opt.balance_poses,
    )
    if sets.n_val == 0:
        raise EngineDataError("No validation examples: label more frames or raise the validation fraction.")
    resolved = copy.deepcopy(cfg)
    if ModelKind(cfg.kind).is_cropped:
        resolved.data.crop_size = int(maker.crop_size)
    if maker.identity is not None:
        resolved.head.part_names = [data.node_names[i] for i in maker.parts]
        resolved.identity.classes = list(maker.identity.classes)
        unclassed, total = maker.identity.unclassed(data.train_idx)
        if unclassed:
            channel.emit(
                Message(
                    level="warning",
                    text=(
                        f"{unclassed} of the {total} training instances of the {kind} model "
                        f"{'has' if unclassed == 1 else 'have'} no track (or one that is not among the "
                        f"classes {', '.join(maker.identity.classes)}) and {'is' if unclassed == 1 else 'are'} "
                        "left out of the class loss."
                    ),
                )
            )
    if maker.train_hw != maker.input_hw:
        (th, tw), (ih, iw) = maker.train_hw, maker.input_hw
        channel.emit(
            Message(
                text=f"{kind}: training on random {th}x{tw} windows of the {ih}x{iw} network input "
                f"(train crop size {maker.train_crop_size} px); validation and prediction use whole frames"
            )
        )
    if sets.distinct_poses is not None:
        channel.emit(
            Message(
                text=f"{kind}: the {len(data.train_idx)} training frames show about "
                f"{sets.distinct_poses:.0f} distinct poses; frames are drawn so each pose comes up "
                "about equally often (optimization.balance_poses)"
            )
        )
    if cfg.kind == ModelKind.MULTI_INSTANCE:
        # the run folder says which maps and fields it predicts, in channel order
        resolved.head.part_names = [data.node_names[i] for i in maker.parts]
        resolved.pafs.edges = maker.edge_names()

    channel.check_cancel()
    channel.emit(Status(model=kind, stage="compiling", detail="building the network"))
    history = read_training_log(run_dir / TRAINING_LOG) if resume else []
    initial_epoch = int(history[-1]["epoch"]) + 1 if history else 0
    latest = run_dir / LATEST_MODEL
    acceleration = acceleration or Acceleration(False, False, "")
    with strategy.scope(), precision_policy(acceleration):  # variables live on every replica
        if resume and latest.exists():
            model = keras.models.load_model(latest, compile=True)
        else:
            # crop-trained models take any input size: windows in training, whole frames after
            hw = maker.input_hw if maker.train_hw == maker.input_hw else (None, None)
            model = build_model(cfg, maker.n_outputs, maker.channels, hw, n_edges=maker.n_edges)
            if init_from is not None:
                channel.emit(Status(model=kind, stage="compiling", detail=f"loading weights of {Path(init_from).name}"))
                copy_run_weights(model, init_from)
            _compile(model, cfg, acceleration.xla)

    if on_ready is not None:
        on_ready(resolved)
    channel.emit(
        ModelStarted(
            model=kind,
            run_dir=str(run_dir),
            epochs=opt.epochs,
            batches_per_epoch=sets.batches_per_epoch,
            n_train=sets.n_train,
            n_val=sets.n_val,
            input_shape=[*maker.input_hw, maker.channels],
            crop_size=maker.crop_size,
            receptive_field=receptive_field(cfg.model.max_stride, cfg.model.convs_per_block, cfg.model.kernel_size),
            patience=opt.early_stopping.patience,
            parameters=int(model.count_params()),
        )
    )
    monitor = TrainingMonitor(
        kind,
        channel,
        run_dir,
        opt,
        initial_epoch=initial_epoch,
        history=history,
        deadline=deadline,
        snapshots=snapshots,
        batches_per_epoch=sets.batches_per_epoch,
    )
    if initial_epoch < opt.epochs:
        channel.emit(Status(model=kind, stage="training", detail="first batch (the graph is traced once)"))
        fit(model, sets, opt.epochs, initial_epoch, monitor)
    if not (run_dir / BEST_MODEL).exists():
        save_model(model, run_dir / BEST_MODEL)  # e.g. stopped before the first epoch ended
    best_loss = monitor.early.best
    return ModelResult(
        run_dir=str(run_dir),
        reason=monitor.reason.value,
        best_epoch=max(monitor.early.best_epoch, 0),
        best_val_loss=best_loss if math.isfinite(best_loss) else math.nan,
        epochs_trained=initial_epoch + monitor.epochs_done,
        resolved=resolved,
    )


def with_fine_tune_schedule(cfg: TrainingConfig, source: str, channel: Channel) -> TrainingConfig:
    """``cfg`` with the fine-tuning schedule of a run started from ``source``'s weights (logged).

    See :func:`~napari_sleap_train.engine.schedule.fine_tune_schedule`; the run
    folder's config records the rate actually used.
    """
    opt = cfg.optimization
    plan = fine_tune_schedule(opt.learning_rate, opt.warmup_epochs, opt.fine_tune_learning_rate, source)
    tuned = copy.deepcopy(cfg)
    tuned.optimization.learning_rate = plan.learning_rate
    tuned.optimization.warmup_epochs = plan.warmup_epochs
    channel.emit(Message(text=f"{cfg.kind.value}: {plan.reason}"))
    return tuned


def fit(model: keras.Model, sets, epochs: int, initial_epoch: int, monitor: TrainingMonitor) -> None:
    """Run Keras ``fit`` (a separate function so tests can simulate failures here)."""
    model.fit(
        sets.train,
        steps_per_epoch=sets.batches_per_epoch,
        epochs=epochs,
        initial_epoch=initial_epoch,
        validation_data=sets.val,
        validation_steps=sets.val_batches,
        callbacks=[monitor],
        shuffle=False,  # tf.data shuffles already
        verbose=0,
    )
