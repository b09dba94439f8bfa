"""The dock's settings as a small pure-Python object (no Qt).

:class:`PipelineState` owns the :class:`~napari_sleap_train.config.model.PipelineConfig`
the user is editing, the SLEAP project it applies to and which model tab is
selected. Widgets write into it with :meth:`PipelineState.set` and listen to
:attr:`PipelineState.changed`; the run panel's ``build_job`` and the previews
read it. Keeping it free of Qt lets tests and the job builder use it directly.

Settings are addressed by *keys*: ``"pipeline.<field>"`` for pipeline-level
settings and ``"<model kind>.<dotted path>"`` for a model, e.g.
``"centered_instance.data.crop_size"`` or ``"centroid.model.max_stride"``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from psygnal import Signal

from napari_sleap_train.config.model import (
    ModelKind,
    PipelineConfig,
    PipelineKind,
    TrainingConfig,
)
from napari_sleap_train.config.profiles import default_pipeline

#: key emitted by :attr:`PipelineState.changed` when everything may have changed
ALL = "*"


class UnknownSettingError(KeyError):
    """A settings key does not name a field of the pipeline or a model config."""

    def __str__(self) -> str:  # KeyError quotes its message; keep plain words
        return str(self.args[0])


def _default_models(kind: PipelineKind) -> dict[ModelKind, TrainingConfig]:
    """Model configs of the built-in default pipeline of ``kind``."""
    return default_pipeline(kind).models


class PipelineState:
    """Editable training settings shared by the tabs, previews and job builder.

    Parameters
    ----------
    pipeline
        Starting configuration; ``None`` takes the built-in top-down default.

    Attributes
    ----------
    changed
        Signal emitting the key that changed, or :data:`ALL` after
        :meth:`load`, :meth:`set_pipeline_kind` or :meth:`set_project`.
    selected_changed
        Signal emitting the model kind whose tab became current.
    """

    changed = Signal(str)
    selected_changed = Signal(object)

    def __init__(self, pipeline: PipelineConfig | None = None) -> None:
        if pipeline is None:
            pipeline = default_pipeline(PipelineKind.TOP_DOWN)
        self._pipeline = pipeline
        self._fill_models()
        self.project: Any = None  # io.project.SleapProject once one is open
        self._selected: ModelKind = self._pipeline.kind.model_kinds[0]

    # -- access ---------------------------------------------------------------
    @property
    def pipeline(self) -> PipelineConfig:
        """The live pipeline configuration (edit through :meth:`set`)."""
        return self._pipeline

    @property
    def model_kinds(self) -> tuple[ModelKind, ...]:
        """Models of the current pipeline, in training order."""
        return self._pipeline.kind.model_kinds

    def model(self, kind: ModelKind | str) -> TrainingConfig:
        """Config of one model of the pipeline."""
        return self._pipeline.models[ModelKind(kind)]

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

    def _resolve(self, key: str) -> tuple[Any, str]:
        scope, _, path = key.partition(".")
        if not path:
            raise UnknownSettingError(
                f"Setting key {key!r} needs a scope, e.g. 'pipeline.{key}'"
            )
        if scope == "pipeline":
            obj: Any = self._pipeline
        else:
            try:
                obj = self.model(scope)
            except (ValueError, KeyError):
                raise UnknownSettingError(
                    f"{scope!r} is not a model of the {self._pipeline.kind.value} pipeline"
                ) from None
        *parents, attr = path.split(".")
        for name in parents:
            if not hasattr(obj, name):
                raise UnknownSettingError(f"Unknown setting {key!r}")
            obj = getattr(obj, name)
        if not hasattr(obj, attr):
            raise UnknownSettingError(f"Unknown setting {key!r}")
        return obj, attr

    def get(self, key: str) -> Any:
        """Value of the setting ``key``."""
        obj, attr = self._resolve(key)
        return getattr(obj, attr)

    def has(self, key: str) -> bool:
        """Whether ``key`` names a setting of the current pipeline."""
        try:
            self._resolve(key)
        except UnknownSettingError:
            return False
        return True

    # -- changes --------------------------------------------------------------
    def set(self, key: str, value: Any) -> None:
        """Set one setting and emit :attr:`changed` if its value changed."""
        if key == "pipeline.kind":
            self.set_pipeline_kind(value)
            return
        obj, attr = self._resolve(key)
        if getattr(obj, attr) == value:
            return
        setattr(obj, attr, value)
        if key == "pipeline.anchor_part":
            self._pipeline.sync_shared()
        self.changed.emit(key)

    def set_pipeline_kind(self, kind: PipelineKind | str) -> None:
        """Switch pipeline kind, keeping settings of models both pipelines share."""
        kind = PipelineKind(kind)
        if kind is self._pipeline.kind:
            return
        self._pipeline.kind = kind
        self._fill_models()
        self._selected = kind.model_kinds[0]
        self.changed.emit(ALL)
        self.selected_changed.emit(self._selected)

    def load(self, pipeline: PipelineConfig) -> None:
        """Replace every setting (Load configuration..., profiles)."""
        self._pipeline = copy.deepcopy(pipeline)
        self._fill_models()
        if self._selected not in self.model_kinds:
            self._selected = self.model_kinds[0]
        self.changed.emit(ALL)
        self.selected_changed.emit(self._selected)

    def load_model(self, kind: ModelKind | str, cfg: TrainingConfig) -> None:
        """Replace one model's settings (profile picker), keeping the shared ones."""
        kind = ModelKind(kind)
        cfg = copy.deepcopy(cfg)
        cfg.kind = kind
        self._pipeline.models[kind] = cfg
        self._pipeline.sync_shared()
        self.changed.emit(ALL)

    def set_project(self, project: Any) -> None:
        """Attach the open SLEAP project (or ``None``) and emit :data:`ALL`.

        The runs folder defaults to ``<project folder>/models`` (a relative
        runs folder is taken relative to the project), and an anchor part the
        skeleton does not have falls back to the bounding-box centre.
        """
        self.project = project
        if project is not None:
            path = getattr(project, "path", None)
            runs = Path(self._pipeline.runs_folder).expanduser()
            if path is not None and not runs.is_absolute():
                self._pipeline.runs_folder = str(Path(path).resolve().parent / runs)
            if self._pipeline.anchor_part not in list(project.node_names):
                self._pipeline.anchor_part = None
                self._pipeline.sync_shared()
        self.changed.emit(ALL)

    def snapshot(self) -> PipelineConfig:
        """Independent copy of the pipeline with only its own models, synced."""
        cfg = copy.deepcopy(self._pipeline)
        cfg.models = {k: cfg.models[k] for k in cfg.kind.model_kinds}
        cfg.sync_shared()
        return cfg

    def _fill_models(self) -> None:
        missing = [
            k for k in self._pipeline.kind.model_kinds if k not in self._pipeline.models
        ]
        if missing:
            defaults = _default_models(self._pipeline.kind)
            for k in missing:
                self._pipeline.models[k] = copy.deepcopy(
                    defaults.get(k, TrainingConfig(kind=k))
                )
        self._pipeline.sync_shared()
