"""Training-settings options shared by ``train`` and ``export-job``, and arguments -> pipeline.

Both subcommands take the same settings options and turn them into a
:class:`~napari_sleap_train.config.model.PipelineConfig` with
:func:`pipeline_from_args`; the job itself is made by the session's
:func:`~napari_sleap_train.session.job.make_train_job`, as in the dock. Options
left out leave the settings as they are (profiles, config files, a job file).
"""

from __future__ import annotations

import argparse

#: defaults of the options that are None on the command line (None: "not given")
DEFAULTS = {"pipeline": "top-down", "device": "auto", "precision": "auto", "xla": "auto"}


class JobOptionsError(ValueError):
    """A settings option has a bad value (printed without a traceback)."""


def add_settings_options(p: argparse.ArgumentParser) -> None:
    """Register the training-settings options on ``p``."""
    p.add_argument(
        "--pipeline",
        choices=["top-down", "bottom-up", "single-instance", "top-down-id", "bottom-up-id"],
        default=None,
        help="pipeline kind (default: top-down)",
    )
    p.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME",
        help="built-in profile for the model of its kind (repeatable, e.g. baseline.centroid); "
        "default: the cpu.* profiles when no GPU is found, else the baseline ones",
    )
    p.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="CFG.json",
        help="training config (ours or SLEAP's training_config.json) for the model of its kind (repeatable)",
    )
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs per model")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="peak learning rate (default: the profile's); runs started with --init-from use a "
        "tenth of it, with no warm-up, as in the dock",
    )
    p.add_argument("--patience", type=int, default=None, help="early-stopping patience in epochs")
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="MIN",
        help="wall-time budget of the whole pipeline in minutes (data preparation included), "
        "split between the models (cpu profiles: 30%% centroid, 70%% centered instance); "
        "each model stops in time keeping its best checkpoint (default: 20 with the cpu "
        "profiles, none on a GPU; 0: no limit)",
    )
    p.add_argument(
        "--model-time-limit",
        type=float,
        default=None,
        metavar="MIN",
        help="wall-time limit of each model's training in minutes",
    )
    p.add_argument(
        "--snapshot-minutes",
        default=None,
        metavar="M[,M...]",
        help="also keep copies of each model's best checkpoint at these minutes of the pipeline "
        "budget (best_model.at<M>min.keras; e.g. 5,10)",
    )
    p.add_argument("--batches-per-epoch", type=int, default=None, help="batches per epoch (default: one pass)")
    p.add_argument(
        "--device", default=None, help="auto, cpu, gpu:N, or several GPUs mirrored: gpu:0,1 / gpu:all (default: auto)"
    )
    p.add_argument(
        "--precision",
        choices=["auto", "mixed", "float32"],
        default=None,
        help="mixed = float16 compute with float32 weights; auto (default): mixed on NVIDIA GPUs "
        "with tensor cores (compute capability 7.0+), float32 elsewhere",
    )
    p.add_argument(
        "--xla",
        choices=["auto", "on", "off"],
        default=None,
        help="XLA compilation of the training step; auto (default): on for NVIDIA GPUs, off on CPU and Apple",
    )
    p.add_argument(
        "--multi-worker",
        action="store_true",
        default=None,
        help="train across machines with MultiWorkerMirroredStrategy (needs TF_CONFIG on each worker)",
    )
    p.add_argument("--anchor-part", default=None, help="node the crops centre on (default: bounding-box middle)")
    from .tracking_options import add_tracking_options

    add_tracking_options(p)  # the tracker of the predictions made after training


def add_reuse_options(p: argparse.ArgumentParser) -> None:
    """``--init-from`` / ``--resume`` / ``--use RUN``: reuse trained runs, one model kind each."""
    p.add_argument(
        "--init-from",
        action="append",
        default=[],
        metavar="RUN",
        help="start the model of this run's kind from its weights (fine-tuning; our run folder or "
        "a SLEAP 1.4 model folder); the network settings are the run's (repeatable, one per "
        "model kind)",
    )
    p.add_argument(
        "--resume",
        action="append",
        default=[],
        metavar="RUN",
        help="continue training a stopped run of ours after its last epoch, with its settings "
        "(--epochs can raise the total; repeatable, one per model kind)",
    )
    p.add_argument(
        "--use",
        action="append",
        default=[],
        metavar="RUN",
        help="use this trained run (ours or SLEAP 1.4's) as it is: its model kind is not trained "
        "(repeatable, one per model kind)",
    )


def reuse_args(args: argparse.Namespace) -> dict[str, list[str]]:
    """The job's ``use`` / ``init_from`` / ``resume`` lists from the options (absolute folders)."""
    from pathlib import Path

    return {
        name: [str(Path(folder).expanduser().resolve()) for folder in getattr(args, name, None) or []]
        for name in ("use", "init_from", "resume")
    }


def _hardware(args: argparse.Namespace) -> str:
    """Hardware the default profiles are chosen for: --hardware, else from --device."""
    hardware = getattr(args, "hardware", None)
    if hardware:
        return hardware
    device = (args.device or DEFAULTS["device"]).strip().lower()
    return "gpu" if device.startswith("gpu") else ("cpu" if device.startswith("cpu") else "auto")


def pipeline_from_args(args: argparse.Namespace, base=None):
    """The pipeline settings the options describe, on top of ``base``.

    ``base`` (a :class:`PipelineConfig`, e.g. a job file's) is copied; without
    it the default pipeline of ``--pipeline`` for the hardware is the start.

    Raises
    ------
    JobOptionsError
        Unknown profile, unreadable config, config of the wrong kind, bad value.
    """
    import copy

    from napari_sleap_train.config.model import PipelineKind, Precision, Switch
    from napari_sleap_train.config.profiles import default_pipeline, get_profile, load_training_config
    from napari_sleap_train.config.serialize import ConfigError
    from napari_sleap_train.session.profiles import use_models

    try:
        if base is None:
            pipeline = default_pipeline(PipelineKind(args.pipeline or DEFAULTS["pipeline"]), _hardware(args))
        else:
            pipeline = copy.deepcopy(base)
            if args.pipeline is not None and PipelineKind(args.pipeline) is not pipeline.kind:
                raise JobOptionsError(
                    f"--pipeline {args.pipeline} does not match the job's {pipeline.kind.value} pipeline"
                )
        chosen = [get_profile(name) for name in args.profile]
        chosen += [load_training_config(path) for path in args.config]
        use_models(pipeline, chosen, strict=True)
        _take_reused_settings(pipeline, reuse_args(args))
    except ConfigError as exc:
        raise JobOptionsError(str(exc)) from exc
    for name, value in (
        ("--epochs", args.epochs),
        ("--batch-size", args.batch_size),
        ("--patience", args.patience),
        ("--batches-per-epoch", args.batches_per_epoch),
    ):
        if value is not None and value < 1:
            raise JobOptionsError(f"{name} must be at least 1, got {value}")
    if args.learning_rate is not None and not args.learning_rate > 0:
        raise JobOptionsError(f"--learning-rate must be positive, got {args.learning_rate}")
    if args.time_limit is not None and not args.time_limit >= 0:
        raise JobOptionsError(f"--time-limit must be a number of minutes (0: no limit), got {args.time_limit}")
    if args.model_time_limit is not None and not args.model_time_limit > 0:
        raise JobOptionsError(f"--model-time-limit must be a positive number of minutes, got {args.model_time_limit}")
    if args.time_limit is not None:
        pipeline.time_limit_minutes = args.time_limit or None
    if args.snapshot_minutes is not None:
        pipeline.snapshot_minutes = _minutes_list(args.snapshot_minutes)
    for kind in pipeline.kind.model_kinds:
        opt = pipeline.models[kind].optimization
        if args.epochs is not None:
            opt.epochs = args.epochs
        if args.batch_size is not None:
            opt.batch_size = args.batch_size
        if args.learning_rate is not None:
            # the scratch rate only: --init-from runs take a tenth of it, as the dock's field does
            opt.learning_rate = args.learning_rate
        if args.patience is not None:
            opt.early_stopping.patience = args.patience
        if args.model_time_limit is not None:
            opt.time_limit_minutes = args.model_time_limit
        if args.batches_per_epoch is not None:
            opt.batches_per_epoch = args.batches_per_epoch
    if args.anchor_part is not None:
        pipeline.anchor_part = args.anchor_part or None
    if args.device is not None:
        pipeline.device = args.device
    if args.multi_worker is not None:
        pipeline.multi_worker = bool(args.multi_worker)
    if args.precision is not None:
        pipeline.precision = Precision(args.precision)
    if args.xla is not None:
        pipeline.xla = Switch(args.xla)
    from .tracking_options import TrackingOptionsError, tracking_from_args

    try:
        pipeline.tracking = tracking_from_args(args, pipeline.tracking)
    except TrackingOptionsError as exc:
        raise JobOptionsError(str(exc)) from exc
    return pipeline


def _take_reused_settings(pipeline, reuse: dict[str, list[str]]) -> None:
    """What ``--init-from`` (the network) and ``--resume`` (every setting) bring, as in the dock."""
    from napari_sleap_train.config.runs import read_run
    from napari_sleap_train.session.reuse import Reuse, take_run_settings

    for name in ("init_from", "resume"):
        for folder in reuse[name]:
            kind = read_run(folder).kind
            if kind in pipeline.models and kind in pipeline.kind.model_kinds:
                pipeline.models[kind] = take_run_settings(pipeline.models[kind], Reuse(name), folder)


def _minutes_list(text: str) -> list[float]:
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise JobOptionsError(
            f"--snapshot-minutes takes minutes separated by commas (e.g. 5,10), got {text!r}"
        ) from None
    if any(not v > 0 for v in values):
        raise JobOptionsError(f"--snapshot-minutes must be positive minutes, got {text!r}")
    return values
