"""Typed reading of a parsed SLEAP ``training_config.json``: nested keys, model kind, edges.

Every lookup names the file and the dotted key in its message, so a user with a
hand-edited or foreign config learns which setting is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import ModelKind
from .serialize import ConfigError, read_json_object

#: ``default`` of :meth:`KeyReader.get` when a missing key is an error.
MISSING = object()


class KeyReader:
    """Typed access to nested keys with messages that name the file and key."""

    def __init__(self, data: dict, source: str):
        self.data = data
        self.source = source

    def get(self, dotted: str, kind: type | tuple, default: Any = MISSING) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is MISSING:
                    raise ConfigError(f"{self.source}: missing setting {dotted}")
                return default
            node = node[part]
        if node is None and default is not MISSING:
            return default
        return self._check(dotted, node, kind)

    def _check(self, dotted: str, value: Any, kind: type | tuple) -> Any:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if value is None and type(None) in kinds:
            return None
        if float in kinds and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if int in kinds and isinstance(value, (int, float)) and not isinstance(value, bool) and int(value) == value:
            return int(value)
        if bool in kinds and isinstance(value, bool):
            return value
        if str in kinds and isinstance(value, str):
            return value
        if list in kinds and isinstance(value, list):
            return value
        if dict in kinds and isinstance(value, dict):
            return value
        names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise ConfigError(f"{self.source}: {dotted} should be {names}, got {value!r}")


def load_config_json(path: str | Path) -> tuple[dict, str]:
    """The parsed ``training_config.json`` (of a file or a model folder) and its path, for messages."""
    path = Path(path)
    if path.is_dir():
        path = path / "training_config.json"
    data = read_json_object(path, missing="Training configuration not found", holds="a training configuration")
    return data, str(path)


def head_kind(r: KeyReader) -> ModelKind:
    heads = r.get("model.heads", dict)
    present = [k for k, v in heads.items() if v is not None]
    kinds = [k for k in ModelKind if k.value in present]
    if len(kinds) != 1:
        raise ConfigError(
            f"{r.source}: expected exactly one of the heads {', '.join(k.value for k in ModelKind)}; "
            f"found {present or 'none'}"
        )
    return kinds[0]


def edge_list(r: KeyReader, dotted: str) -> list[list[str]] | None:
    edges = r.get(dotted, (list, type(None)), None)
    if edges is None:
        return None
    if not all(isinstance(e, (list, tuple)) and len(e) == 2 and all(isinstance(n, str) for n in e) for e in edges):
        raise ConfigError(f"{r.source}: {dotted} should be a list of [source, destination] node names, got {edges!r}")
    return [list(e) for e in edges]
