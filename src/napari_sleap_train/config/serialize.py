"""Dataclass configs <-> plain JSON-compatible dicts (this plugin's own format).

SLEAP's ``training_config.json`` layout is handled in
:mod:`napari_sleap_train.config.sleap_json`; this module only round-trips our
dataclasses, and is what the runner uses to hand a job to the child process.
Unknown keys are rejected with a clear message so typos in hand-edited files
do not silently fall back to defaults.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration file or dict cannot be read."""


def to_dict(obj: Any) -> Any:
    """Convert a (nested) dataclass into JSON-compatible builtins."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {to_dict(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where)
            except (ConfigError, TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ConfigError(f"{where}: {value!r} does not fit {tp}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return from_dict(tp, value, where)
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in tp)
            raise ConfigError(f"{where}: {value!r} is not one of {choices}") from None
    if origin is dict:
        kt, vt = args
        return {_convert(kt, k, where): _convert(vt, v, f"{where}.{k}") for k, v in value.items()}
    if origin in (list, tuple):
        (it, *_) = args or (Any,)
        return [_convert(it, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return int(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    return value


def from_dict(cls: type[T], data: dict[str, Any], where: str | None = None) -> T:
    """Build dataclass ``cls`` from a dict made by :func:`to_dict`.

    Missing keys take their defaults; unknown keys raise :class:`ConfigError`.
    """
    where = where or cls.__name__
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)


def save_json(obj: Any, path: str | Path) -> Path:
    """Write a dataclass config as indented JSON and return the path."""
    path = Path(path)
    path.write_text(json.dumps(to_dict(obj), indent=2) + "\n")
    return path


def read_json_object(
    path: str | Path,
    *,
    missing: str = "Configuration file not found",
    holds: str = "a configuration object",
) -> dict[str, Any]:
    """Read a JSON file that must hold one object, with plain-words errors.

    ``missing`` starts the message for a file that does not exist; ``holds``
    names what the file should contain.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{missing}: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold {holds}")
    return data


def load_json(cls: type[T], path: str | Path) -> T:
    """Read a dataclass config written by :func:`save_json`."""
    return from_dict(cls, read_json_object(path))
