"""The class heads of SLEAP 1.4 identity models in ``training_config.json``.

``multi_class_topdown.class_vectors`` (a class probability vector per crop) and
``multi_class_bottomup.class_maps`` (one map per class) <-> our
:class:`~.model.IdentityConfig`. The confidence maps of both sit beside them
under ``<head>.confmaps`` and are read by :mod:`.sleap_json`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .model import IdentityConfig, ModelKind
from .serialize import ConfigError

#: The class head of each identity model kind and the keys SLEAP 1.4 writes for it.
CLASS_HEADS: dict[ModelKind, tuple[str, tuple[str, ...]]] = {
    ModelKind.MULTI_CLASS_TOPDOWN: (
        "class_vectors",
        ("classes", "num_fc_layers", "num_fc_units", "global_pool", "output_stride", "loss_weight"),
    ),
    ModelKind.MULTI_CLASS_BOTTOMUP: ("class_maps", ("classes", "sigma", "output_stride", "loss_weight")),
}


def read_class_head(r: Any, kind: ModelKind) -> IdentityConfig:
    """The class head of an identity model, read with :class:`~.sleap_keys.KeyReader` ``r``.

    Defaults for missing keys are SLEAP 1.4's (one fully connected layer of 64
    units, global pooling, class maps of sigma 5, output stride 1).
    """
    name, _ = CLASS_HEADS[kind]
    p = f"model.heads.{kind.value}.{name}"
    r.get(p, dict)
    classes = r.get(f"{p}.classes", (list, type(None)), None)
    if classes is not None and not all(isinstance(c, str) for c in classes):
        raise ConfigError(f"{r.source}: {p}.classes should be a list of track names, got {classes!r}")
    if classes is not None and len(set(classes)) != len(classes):
        raise ConfigError(f"{r.source}: {p}.classes names a class twice: {classes!r}")
    default = IdentityConfig()
    if kind is ModelKind.MULTI_CLASS_TOPDOWN:
        return IdentityConfig(
            classes=None if classes is None else list(classes),
            output_stride=r.get(f"{p}.output_stride", int, 1),
            num_fc_layers=r.get(f"{p}.num_fc_layers", int, 1),
            num_fc_units=r.get(f"{p}.num_fc_units", int, 64),
            global_pool=r.get(f"{p}.global_pool", bool, True),
            loss_weight=r.get(f"{p}.loss_weight", float, 1.0),
            sigma=default.sigma,
        )
    return IdentityConfig(
        classes=None if classes is None else list(classes),
        sigma=r.get(f"{p}.sigma", float, 5.0),
        output_stride=r.get(f"{p}.output_stride", int, 1),
        loss_weight=r.get(f"{p}.loss_weight", float, 1.0),
    )


def class_head_dict(kind: ModelKind, identity: IdentityConfig) -> dict[str, dict]:
    """``{"class_vectors" | "class_maps": {...}}`` with the keys SLEAP 1.4 writes."""
    name, keys = CLASS_HEADS[kind]
    values = dataclasses.asdict(identity)
    return {name: {k: values[k] for k in keys}}
