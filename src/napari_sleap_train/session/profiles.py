"""Profile choices: what a model starts from, and reading configuration files.

The profile picker of a model tab lists trained runs of the runs folder first
(newest first), then built-in profiles. A choice is a string:
``"run:<folder>"`` or ``"profile:<name>"``. Listing and parsing are
:mod:`napari_sleap_train.config.profiles`'s job; this module maps them to
picker entries and puts chosen model configs into a pipeline
(:func:`use_models`, shared by the dock and the command line).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from napari_sleap_train.config.model import (
    ModelKind,
    PipelineConfig,
    PipelineKind,
    TrainingConfig,
)
from napari_sleap_train.config.profiles import (
    get_profile,
    list_profiles,
    list_trained_runs,
    load_training_config,
)
from napari_sleap_train.config.serialize import ConfigError, from_dict

#: first entry of the picker: keep the current settings
NO_PROFILE = ""


def profile_choices(runs_folder: str | Path, kind: ModelKind) -> list[tuple[str, str]]:
    """``(label, choice)`` pairs for the picker of a ``kind`` model."""
    choices = [("(current settings)", NO_PROFILE)]
    choices += [(f"run: {d.name}", f"run:{d}") for d in list_trained_runs(Path(runs_folder).expanduser(), kind)]
    choices += [(name, f"profile:{name}") for name in list_profiles(kind)]
    return choices


def load_model_choice(choice: str, kind: ModelKind) -> TrainingConfig:
    """Config of a picker choice for a ``kind`` model.

    Raises
    ------
    ConfigError
        Unknown choice, unreadable run, or a run of another model kind.
    """
    source, _, value = choice.partition(":")
    if source == "profile":
        return get_profile(value)
    if source == "run":
        cfg = load_training_config(value)
        if cfg.kind is not kind:
            raise ConfigError(f"{Path(value).name} is a {cfg.kind.value} run, not {kind.value}")
        cfg.profile = Path(value).name
        return cfg
    raise ConfigError(f"Unknown profile choice {choice!r}")


def read_config_file(path: str | Path) -> PipelineConfig | TrainingConfig:
    """Read any configuration file the dock can load.

    A pipeline saved by *Save configuration...*, one model's ``config.json``
    (a run's) or SLEAP's ``training_config.json``.

    Raises
    ------
    ConfigError
        With a plain-words message when the file is none of these.
    """
    path = Path(path)
    if path.is_file():
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path.name} is not a JSON configuration file: {exc}") from None
        if isinstance(data, dict) and "models" in data and "kind" in data:
            return from_dict(PipelineConfig, data, path.name)
    return load_training_config(path)


def pipeline_from_file(path: str | Path, current: PipelineConfig) -> PipelineConfig:
    """Pipeline after loading ``path`` on top of the ``current`` settings.

    A pipeline file replaces everything. A single model's file (ours or
    SLEAP's) replaces that model and switches the pipeline kind if the model
    does not belong to the current one.
    """
    cfg = read_config_file(path)
    if isinstance(cfg, PipelineConfig):
        return cfg
    out = copy.deepcopy(current)
    if cfg.kind not in out.kind.model_kinds:
        out.kind = PipelineKind.of_model(cfg.kind)
    use_models(out, [cfg])
    return out


def use_models(pipeline: PipelineConfig, configs: list[TrainingConfig], strict: bool = False) -> None:
    """Put model configs (profiles, config files) into ``pipeline``, in place.

    The anchor part is the pipeline's: when the configs name one anchor part
    (a SLEAP ``training_config.json`` carries it in its head), the pipeline
    takes it; when they disagree the pipeline's stays.

    Raises
    ------
    ConfigError
        ``strict`` and a config is of a model kind the pipeline does not train.
    """
    anchors = set()
    for cfg in configs:
        if cfg.kind not in pipeline.kind.model_kinds and strict:
            wanted = ", ".join(k.value for k in pipeline.kind.model_kinds)
            raise ConfigError(
                f"a {cfg.kind.value} config does not fit the {pipeline.kind.value} pipeline (needs {wanted})"
            )
        pipeline.models[cfg.kind] = cfg
        if cfg.kind is not ModelKind.SINGLE_INSTANCE and cfg.head.anchor_part is not None:
            anchors.add(cfg.head.anchor_part)
    if len(anchors) == 1:
        pipeline.anchor_part = anchors.pop()
