"""Which trained run each model reuses, and what that does to its settings (no Qt).

A model of the pipeline is trained from scratch, started from a trained run's
weights (fine-tuning), resumed, or not trained at all (a trained run is used
as it is). The dock keeps one :class:`ModelReuse` per model kind; the command
line says the same with ``--init-from`` / ``--resume`` / ``--use``. Both go
through :func:`take_run_settings` (what a run brings into the settings) and
:func:`reuse_lists` (the job's ``use`` / ``init_from`` / ``resume`` lists),
so a run reused in the dock and on the command line makes the same job.

Taking a run's *settings* is a separate choice (the tab's "Settings from"
picker): starting from a run takes only its network (the weights need it),
resuming takes all its settings (the same training goes on; more epochs may
be asked for).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import ClassVar

from psygnal import SignalGroupDescriptor

from napari_sleap_train.config.model import ModelKind, PipelineConfig, TrainingConfig
from napari_sleap_train.config.runs import read_run


class Reuse(str, Enum):
    """How a model uses a trained run; the values are the job's field names."""

    SCRATCH = "scratch"
    INIT_FROM = "init_from"
    RESUME = "resume"
    USE = "use"

    @property
    def words(self) -> str:
        return REUSE_LABELS[self]


#: the dock's words for each choice
REUSE_LABELS = {
    Reuse.SCRATCH: "Train from scratch",
    Reuse.INIT_FROM: "Start from run's weights (fine-tune)",
    Reuse.RESUME: "Resume run",
    Reuse.USE: "Use trained run (no training)",
}


@dataclass
class ModelReuse:
    """One model's choice: how (:class:`Reuse`) and which run folder."""

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()

    how: Reuse = Reuse.SCRATCH
    run: str | None = None

    @property
    def active(self) -> bool:
        """A run is reused (not scratch, and one is picked)."""
        return self.how is not Reuse.SCRATCH and bool(self.run)


def take_run_settings(cfg: TrainingConfig, how: Reuse, run: str | Path) -> TrainingConfig:
    """The settings ``cfg`` becomes when ``how`` reuses ``run`` (a new config; ``cfg`` is kept).

    Starting from a run takes its network; resuming takes all its settings
    (the anchor part stays the pipeline's); using or scratch change nothing.

    Raises
    ------
    napari_sleap_train.config.runs.RunError
        The run cannot be read.
    """
    out = copy.deepcopy(cfg)
    if how is Reuse.INIT_FROM:
        source = read_run(run).config
        out.model = copy.deepcopy(source.model)
        if out.kind is ModelKind.MULTI_INSTANCE:  # the field head is part of the network
            out.pafs.output_stride = source.pafs.output_stride
            out.pafs.edges = copy.deepcopy(source.pafs.edges)
    elif how is Reuse.RESUME:
        out = copy.deepcopy(read_run(run).config)
        out.kind = cfg.kind
        out.head.anchor_part = cfg.head.anchor_part
        out.profile = Path(run).name
    return out


def apply_reuse(pipeline: PipelineConfig, reuse: dict[ModelKind, ModelReuse]) -> None:
    """Put what each reused run brings into ``pipeline``'s models, in place (the command line)."""
    for kind, choice in reuse.items():
        if choice.active and kind in pipeline.models:
            pipeline.models[kind] = take_run_settings(pipeline.models[kind], choice.how, choice.run)


def reuse_lists(reuse: dict[ModelKind, ModelReuse], kinds: tuple[ModelKind, ...]) -> dict[str, list[str]]:
    """The job's ``use`` / ``init_from`` / ``resume`` run folders for the models in ``kinds``."""
    out: dict[str, list[str]] = {"use": [], "init_from": [], "resume": []}
    for kind in kinds:
        choice = reuse.get(kind)
        if choice is not None and choice.active:
            out[choice.how.value].append(str(choice.run))
    return out


def describe_reuse(choice: ModelReuse, cfg: TrainingConfig, node_names: list[str] | None = None) -> tuple[bool, str]:
    """``(fits, plain words)`` for a model's choice, checked as the job will check it.

    Parameters
    ----------
    choice
        The model's choice.
    cfg
        The model's current settings (as trained: anchor part in the head).
    node_names
        The project's body parts, when one is open.
    """
    from napari_sleap_train.config.model import PipelineKind
    from napari_sleap_train.config.runs import RunError, check_reuse

    if choice.how is Reuse.SCRATCH:
        return True, "A new run starts from random weights."
    if not choice.run:
        return False, "Pick a trained run below."
    kind = PipelineKind.of_model(cfg.kind)
    probe = PipelineConfig(kind=kind, models={cfg.kind: cfg})
    try:
        found = check_reuse(probe, node_names=node_names, **{choice.how.value: [choice.run]})
    except RunError as exc:
        return False, f"{str(exc)[:1].upper()}{str(exc)[1:]}."
    run = found[choice.how.value][cfg.kind]
    name = run.folder.name + (" (SLEAP)" if run.source == "sleap" else "")
    if choice.how is Reuse.USE:
        return True, f"Not trained: Run and Predict use {name} as it is."
    if choice.how is Reuse.INIT_FROM:
        return True, f"A new run starts from the weights of {name} (network settings taken from it)."
    epochs = _logged_epochs(run.folder)
    more = cfg.optimization.epochs - epochs
    if more <= 0:
        return False, (
            f"{name} has trained {epochs} of {cfg.optimization.epochs} epochs: raise Epochs "
            "(Optimization) to continue it."
        )
    return True, f"Continues {name} after epoch {epochs}, for up to {more} more epoch{'s' if more != 1 else ''}."


def _logged_epochs(folder: Path) -> int:
    """Epochs recorded in a run's ``training_log.csv``."""
    from napari_sleap_train.config.runs import TRAINING_LOG

    try:
        lines = [ln for ln in (Path(folder) / TRAINING_LOG).read_text().splitlines()[1:] if ln.strip()]
    except OSError:
        return 0
    return len(lines)
