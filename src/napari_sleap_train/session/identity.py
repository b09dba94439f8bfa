"""The classes of an identity pipeline in the dock, and why Run is refused without two (no Qt).

Classes are the names of the tracks the project's user instances are on
(:func:`~napari_sleap_train.data.class_targets.project_classes`, as the
engine resolves them). A project with fewer than two cannot train an identity
model: the dock says so next to Run, with the words the engine's preflight
uses (:func:`~napari_sleap_train.data.class_targets.too_few_classes`, shared
with ``engine/preflight.py``; the dock may not import the engine).
"""

from __future__ import annotations

from typing import Any

from napari_sleap_train.config.model import PipelineKind
from napari_sleap_train.data.class_targets import project_classes
from napari_sleap_train.data.class_targets import too_few_classes as refusal
from napari_sleap_train.data.labels import collect_samples

#: what the two identity pipelines are called in messages, by pipeline kind
_WHAT = {PipelineKind.TOP_DOWN_ID: "top-down-id", PipelineKind.BOTTOM_UP_ID: "bottom-up-id"}


def is_identity_pipeline(kind: PipelineKind) -> bool:
    """Whether the pipeline's models learn identity classes (its classes are the tracks)."""
    return any(k.is_identity for k in PipelineKind(kind).model_kinds)


def classes_of(project: Any) -> list[str]:
    """Class names a project gives an identity model: its user instances' track names."""
    if project is None or getattr(project, "labels", None) is None:
        return []
    project.sync()
    track_ids = [t for s in collect_samples(project.labels) for t in s.track_ids]
    return project_classes([t.name for t in project.labels.tracks], track_ids)


def too_few_classes(kind: PipelineKind, classes: list[str]) -> str:
    """The engine's refusal of an identity model with fewer than two classes, and its hint."""
    message, hint = refusal(_WHAT[PipelineKind(kind)], classes)
    return f"{message} {hint[0].upper()}{hint[1:]}."


def run_block(session: Any) -> str:
    """Why Run cannot start for the session's pipeline and project (``""``: it can).

    Only identity pipelines are refused here, for fewer than two classes; a
    model's own ``identity.classes``, when set, are what it learns.
    """
    kind = session.pipeline.kind
    if not is_identity_pipeline(kind) or session.project is None:
        return ""
    given = [session.model(k).identity.classes for k in kind.model_kinds if k.is_identity]
    classes = list(given[0]) if given and given[0] else classes_of(session.project)
    return "" if len(classes) >= 2 else too_few_classes(kind, classes)
