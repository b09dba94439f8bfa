"""Trained run folders as a job reuses them: read one, and check that it fits (no TensorFlow).

A job can reuse a trained run in three ways (see
:class:`~napari_sleap_train.protocol.job.TrainJob`): *use* it as it is (its
model kind is not trained), *initialise* a new run with its weights
(fine-tuning), or *resume* it (continue its training). Our run folders and
SLEAP 1.4 model folders (``training_config.json`` + ``best_model.h5``) can be
used and fine-tuned from; only our own folders can be resumed (they keep the
optimizer state in ``latest_model.keras`` and the epochs in
``training_log.csv``).

:func:`check_reuse` is called by the one job builder (dock, ``train``,
``export-job``) and again by the engine once it has the labels, so a folder
that does not fit fails in plain words before any training starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from napari_sleap_train.config.model import (
    ModelKind,
    PipelineConfig,
    TrainingConfig,
    UNetConfig,
)
from napari_sleap_train.config.serialize import ConfigError

#: how a job reuses a run, as the job's field names
REUSE_FIELDS = ("use", "init_from", "resume")
#: the words a user reads for each
REUSE_WORDS = {"use": "use", "init_from": "start from", "resume": "resume"}

KERAS_MODEL = "best_model.keras"
SLEAP_MODEL = "best_model.h5"
LATEST_MODEL = "latest_model.keras"
TRAINING_LOG = "training_log.csv"


class RunError(ConfigError):
    """A run folder cannot be reused as asked (plain-words message)."""


@dataclass
class TrainedRun:
    """What a job needs to know about a trained run folder.

    Attributes
    ----------
    folder
        The run folder.
    config
        Its training configuration (our ``config.json`` or SLEAP's file).
    part_names
        Body parts its confidence maps predict, in order (``None``: unknown or
        a centroid model).
    source
        ``"keras"`` (ours, ``best_model.keras``) or ``"sleap"`` (``best_model.h5``).
    """

    folder: Path
    config: TrainingConfig
    part_names: list[str] | None
    source: str

    @property
    def kind(self) -> ModelKind:
        return self.config.kind

    @property
    def can_resume(self) -> bool:
        """Ours, with the latest checkpoint and the epoch log a resumed run continues from."""
        return (self.folder / LATEST_MODEL).is_file() and (self.folder / TRAINING_LOG).is_file()


def read_run(folder: str | Path) -> TrainedRun:
    """Read a trained run folder.

    Raises
    ------
    RunError
        The folder is missing, holds no trained model or no readable config.
    """
    from napari_sleap_train.config.profiles import load_training_config

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise RunError(f"run folder not found: {folder}")
    if (folder / KERAS_MODEL).is_file():
        source = "keras"
    elif (folder / SLEAP_MODEL).is_file():
        source = "sleap"
    else:
        raise RunError(f"{folder.name} holds no trained model ({KERAS_MODEL} or {SLEAP_MODEL})")
    try:
        cfg = load_training_config(folder)
    except ConfigError as exc:
        raise RunError(f"{folder.name}: {exc}") from None
    parts = None
    if cfg.kind is not ModelKind.CENTROID:
        parts = list(cfg.head.part_names) if cfg.head.part_names else _sleap_part_names(folder)
    return TrainedRun(folder=folder, config=cfg, part_names=parts, source=source)


def _sleap_part_names(folder: Path) -> list[str] | None:
    """Resolved part names from ``training_config.json`` (our runs write them there, as SLEAP does)."""
    path = folder / "training_config.json"
    if not path.is_file():
        return None
    try:
        from napari_sleap_train.config.sleap_json import read_sleap_config

        names = read_sleap_config(path).head.part_names
    except (ConfigError, ImportError, OSError):
        return None
    return list(names) if names else None


def architecture_differences(a: UNetConfig, b: UNetConfig) -> list[str]:
    """``"filters 16 (run) vs 32 (settings)"`` for each network setting that differs."""
    out = []
    for f in fields(UNetConfig):
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if va != vb:
            out.append(f"{f.name.replace('_', ' ')} {va} in the run, {vb} in the settings")
    return out


def network_differences(run: TrainingConfig, settings: TrainingConfig) -> list[str]:
    """:func:`architecture_differences` plus, for bottom-up models, the field head's stride and edges."""
    out = architecture_differences(run.model, settings.model)
    if ModelKind(settings.kind) is ModelKind.MULTI_INSTANCE:
        if run.pafs.output_stride != settings.pafs.output_stride:
            out.append(
                f"part affinity field output stride {run.pafs.output_stride} in the run, "
                f"{settings.pafs.output_stride} in the settings"
            )
        if None not in (run.pafs.edges, settings.pafs.edges) and run.pafs.edges != settings.pafs.edges:
            out.append(f"part affinity field edges {run.pafs.edges} in the run, {settings.pafs.edges} in the settings")
    return out


def check_reuse(
    pipeline: PipelineConfig,
    *,
    use: Sequence[str] = (),
    init_from: Sequence[str] = (),
    resume: Sequence[str] = (),
    node_names: Iterable[str] | None = None,
) -> dict[str, dict[ModelKind, TrainedRun]]:
    """Check the runs a job reuses and return them by way of reuse and model kind.

    Parameters
    ----------
    pipeline
        The job's settings (the models it trains).
    use, init_from, resume
        Run folders, each at most one per model kind and each kind in one list.
    node_names
        The project's body parts; given, runs that predict other parts are refused.

    Raises
    ------
    RunError
        A folder cannot be read, is of a kind the pipeline does not have, two
        folders name the same model kind, a fine-tuning source has another
        network or other body parts, or a resumed folder cannot be continued.
    """
    nodes = None if node_names is None else list(node_names)
    wanted = pipeline.kind.model_kinds
    found: dict[str, dict[ModelKind, TrainedRun]] = {name: {} for name in REUSE_FIELDS}
    owner: dict[ModelKind, tuple[str, str]] = {}  # kind -> (way of reuse, folder name)
    for name, folders in (("use", use), ("init_from", init_from), ("resume", resume)):
        verb = REUSE_WORDS[name]
        for folder in folders:
            run = read_run(folder)
            kind = run.kind
            if kind not in wanted:
                raise RunError(
                    f"cannot {verb} {run.folder.name}: it is a {kind.value} model and the "
                    f"{pipeline.kind.value} pipeline has {', '.join(k.value for k in wanted)}"
                )
            if kind in owner:
                how, first = owner[kind]
                raise RunError(
                    f"two runs were given for the {kind.value} model ({REUSE_WORDS[how]} {first}, "
                    f"{verb} {run.folder.name}): pick one per model"
                )
            owner[kind] = (name, run.folder.name)
            if nodes is not None and run.part_names is not None and run.part_names != nodes:
                raise RunError(
                    f"cannot {verb} {run.folder.name}: it predicts the body parts "
                    f"{', '.join(run.part_names)}, the project's skeleton has {', '.join(nodes)}"
                )
            if name == "resume" and not run.can_resume:
                raise RunError(
                    f"cannot resume {run.folder.name}: it has no {LATEST_MODEL} and {TRAINING_LOG} "
                    "(SLEAP folders and finished copies can be used or started from, not resumed)"
                )
            if name in ("init_from", "resume") and kind in pipeline.models:
                diff = network_differences(run.config, pipeline.models[kind])
                if diff:
                    raise RunError(
                        f"cannot {verb} {run.folder.name} for the {kind.value} model: its network differs "
                        f"({'; '.join(diff)}); take the run's settings (Settings from: run {run.folder.name}) "
                        "or train from scratch"
                    )
            found[name][kind] = run
    return found


def check_prediction_models(runs: list[TrainedRun]) -> None:
    """Refuse, before any model loads, a set of runs that does not make a pipeline.

    A prediction needs one single-instance model, one bottom-up
    (multi-instance) model, or one centroid and one centered-instance model
    (top-down).

    Raises
    ------
    RunError
        The runs do not make a pipeline; the message says what to add or remove.
    """
    kinds = [run.kind for run in runs]
    names = ", ".join(f"{run.folder.name} ({run.kind.value})" for run in runs) or "none"
    if len(set(kinds)) != len(kinds):
        raise RunError(f"two models of the same kind were given ({names}); give one of each")
    alone_kinds = (
        (ModelKind.SINGLE_INSTANCE, "single-instance"),
        (ModelKind.MULTI_INSTANCE, "bottom-up"),
        (ModelKind.MULTI_CLASS_BOTTOMUP, "bottom-up-id"),
    )
    for alone, what in alone_kinds:
        if kinds == [alone]:
            return
        if alone in kinds:
            raise RunError(f"a {what} model predicts alone, without other models ({names})")
    if ModelKind.MULTI_CLASS_TOPDOWN in kinds:
        # SLEAP runs a top-down-id model alone on given anchors; here a centroid model finds them
        if ModelKind.CENTERED_INSTANCE in kinds:
            raise RunError(f"give a centered-instance or a top-down-id model, not both ({names})")
        return  # with a centroid model, or alone on the user instances' anchors (as SLEAP does)
    missing = [k.value.replace("_", "-") for k in (ModelKind.CENTROID, ModelKind.CENTERED_INSTANCE) if k not in kinds]
    if missing:
        raise RunError(
            f"top-down prediction needs a centroid and a centered-instance model; got {names}: "
            f"add -m with a {' and a '.join(missing)} run"
        )
