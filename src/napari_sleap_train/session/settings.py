"""The dock's settings as one evented, Qt-free object: :class:`TrainingSession`.

The session owns one live :class:`~napari_sleap_train.config.model.PipelineConfig`
and one :class:`~napari_sleap_train.config.model.TrainingConfig` per model kind
(all three kinds, so switching pipelines keeps what was set). These are
evented dataclasses: widgets bind to their fields' signals
(``session.model(kind).optimization.events.batch_size``) and set the attributes
directly. The objects are never replaced: loading a configuration or a profile
copies the values into them (:func:`assign`), so a binding made once stays
valid and each changed field emits its own signal.

The anchor part lives only in ``pipeline.anchor_part``; model heads get it
when the job is made (:meth:`PipelineConfig.trained_models`).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

from psygnal import Signal

from napari_sleap_train.config.model import (
    ModelKind,
    PipelineConfig,
    PipelineKind,
    PredictOn,
    TrainingConfig,
)
from napari_sleap_train.config.profiles import default_pipeline

from .predict_on import PredictDefault, default_predict_choice
from .reuse import ModelReuse


def assign(target: Any, source: Any) -> None:
    """Copy every field of dataclass ``source`` into ``target`` in place.

    Nested dataclasses are updated field by field (they keep their identity,
    and their signals); other values are copied. Only changed fields emit.
    """
    for f in dataclasses.fields(target):
        new = getattr(source, f.name)
        old = getattr(target, f.name)
        if dataclasses.is_dataclass(old) and type(old) is type(new):
            assign(old, new)
        elif old != new:
            setattr(target, f.name, copy.deepcopy(new))


def _default_models() -> dict[ModelKind, TrainingConfig]:
    """One config per model kind, from the built-in default profiles."""
    models: dict[ModelKind, TrainingConfig] = {}
    for kind in PipelineKind:
        models.update(default_pipeline(kind).models)
    return models


class TrainingSession:
    """Editable training settings shared by the tabs, previews and the job.

    Parameters
    ----------
    pipeline
        Starting configuration; ``None`` takes the built-in top-down default.

    Attributes
    ----------
    pipeline
        The live pipeline settings (evented; never replaced).
    project
        The open SLEAP project (``project.model.SleapProject``) or ``None``.
    reuse
        Per model kind, the trained run it reuses (:class:`~.reuse.ModelReuse`:
        train from scratch, start from, resume or use as it is).
    predict_default
        The default *Predict on* choice for the open project and why
        (:func:`~.predict_on.default_predict_choice`), ``None`` without one.
    changed
        Signal emitted (no arguments) after any setting of the pipeline or of
        any model changed, for listeners that redraw from everything (previews).
    project_changed
        Signal emitting the new project (or ``None``) after :meth:`set_project`.
    selected_changed
        Signal emitting the model kind whose tab became current.
    """

    changed = Signal()
    project_changed = Signal(object)
    selected_changed = Signal(object)

    def __init__(self, pipeline: PipelineConfig | None = None) -> None:
        self.pipeline = PipelineConfig(models=_default_models())
        self.project: Any = None
        self.reuse: dict[ModelKind, ModelReuse] = {kind: ModelReuse() for kind in ModelKind}
        self.predict_default: PredictDefault | None = None
        self._selected: ModelKind = self.pipeline.kind.model_kinds[0]
        # first in line: the models and the selection follow the kind before any widget hears of it
        self.pipeline.events.kind.connect(self._on_kind, priority=100)
        self.pipeline.events.connect(self._relay)
        for cfg in self.pipeline.models.values():
            cfg.events.connect(self._relay)
        self.load(pipeline if pipeline is not None else default_pipeline(PipelineKind.TOP_DOWN))

    # -- access ---------------------------------------------------------------
    @property
    def model_kinds(self) -> tuple[ModelKind, ...]:
        """Models of the current pipeline, in training order."""
        return self.pipeline.kind.model_kinds

    def model(self, kind: ModelKind | str) -> TrainingConfig:
        """The live config of one model (any kind, in the pipeline or not)."""
        return self.pipeline.models[ModelKind(kind)]

    def trained_model(self, kind: ModelKind | str) -> TrainingConfig:
        """A copy of one model's config as it would be trained (anchor part in its head)."""
        kind = ModelKind(kind)
        probe = PipelineConfig(
            kind=PipelineKind.of_model(kind),
            models={kind: self.model(kind)},
            anchor_part=self.pipeline.anchor_part,
        )
        return probe.trained_models()[kind]

    @property
    def selected(self) -> ModelKind:
        """Model whose tab is current (drives the receptive-field preview)."""
        return self._selected

    def select(self, kind: ModelKind | str) -> None:
        """Make ``kind`` the selected model (ignored if not in the pipeline)."""
        kind = ModelKind(kind)
        if kind in self.model_kinds and kind is not self._selected:
            self._selected = kind
            self.selected_changed.emit(kind)

    # -- changes --------------------------------------------------------------
    def _relay(self, *_: Any) -> None:
        self.changed.emit()

    def _on_kind(self, kind: PipelineKind, _old: Any = None) -> None:
        if self._selected not in PipelineKind(kind).model_kinds:
            self._selected = PipelineKind(kind).model_kinds[0]
            self.selected_changed.emit(self._selected)

    def load(self, pipeline: PipelineConfig) -> None:
        """Take every setting of ``pipeline`` (Load configuration..., start-up).

        Models ``pipeline`` does not have keep their current settings.
        """
        for kind, cfg in pipeline.models.items():
            self.load_model(kind, cfg)
        # the kind last: its listeners (the dock's tabs) see the new models
        for f in dataclasses.fields(PipelineConfig):
            if f.name not in ("models", "kind"):
                new = getattr(pipeline, f.name)
                if f.name == "tracking":  # nested settings are updated in place (widgets bind to them)
                    assign(self.pipeline.tracking, new)
                elif getattr(self.pipeline, f.name) != new:
                    setattr(self.pipeline, f.name, copy.deepcopy(new))
        self.pipeline.kind = pipeline.kind

    def load_model(self, kind: ModelKind | str, cfg: TrainingConfig) -> None:
        """Take one model's settings (profile picker); the anchor part stays the pipeline's."""
        kind = ModelKind(kind)
        cfg = copy.deepcopy(cfg)
        cfg.kind = kind
        cfg.head.anchor_part = None  # stored once, in the pipeline
        assign(self.model(kind), cfg)

    def set_project(self, project: Any) -> None:
        """Attach the open SLEAP project (or ``None``).

        A relative runs folder is taken relative to the project's folder, an
        anchor part the skeleton does not have falls back to the
        bounding-box centre, and *Predict on: suggested frames* (SLEAP's
        default) becomes random frames when the project has no unlabeled
        suggestion (the command line's rule, :mod:`.predict_on`).
        """
        self.project = project
        self.predict_default = None
        labels = getattr(project, "labels", None)
        if labels is not None:
            self.predict_default = default = default_predict_choice(labels)
            if (
                self.pipeline.predict_on is PredictOn.SUGGESTED_FRAMES
                and default.predict_on is not PredictOn.SUGGESTED_FRAMES
            ):
                self.pipeline.predict_n_frames = default.n
                self.pipeline.predict_on = default.predict_on
        if project is not None:
            path = getattr(project, "path", None)
            runs = Path(self.pipeline.runs_folder).expanduser()
            if path is not None and not runs.is_absolute():
                self.pipeline.runs_folder = str(Path(path).resolve().parent / runs)
            if self.pipeline.anchor_part not in list(project.node_names):
                self.pipeline.anchor_part = None
            from .tracking import suggest_for_project

            suggest_for_project(self.pipeline.tracking, project)  # a tracked project: its tracks
        self.project_changed.emit(project)

    def snapshot(self) -> PipelineConfig:
        """Independent copy of the settings with only the pipeline's own models, as trained."""
        cfg = copy.deepcopy(self.pipeline)
        cfg.models = cfg.trained_models()
        return cfg
