"""The tracker a project starts with in the dock (no Qt).

What a SLEAP user expects: a project whose animals are on tracks gets the flow
tracker with max tracks = its number of tracks (its identities, the setting
SLEAP users pick for a fixed number of animals); a multi-animal project without
tracks gets the simple tracker without a limit (SLEAP's usual first choice;
the number of animals is not known); a single-animal project gets none.
"""

from __future__ import annotations

from typing import Any

from napari_sleap_train.config.tracking import TrackerSettings


def suggested_tracking(project: Any) -> TrackerSettings:
    """The starting tracker settings for ``project`` (a ``SleapProject``)."""
    labels = project.labels
    n_tracks = len(labels.tracks)
    if n_tracks:
        return TrackerSettings(tracker="flow", max_tracks=n_tracks)
    most = max((len(lf.user_instances) for lf in labels.labeled_frames), default=0)
    return TrackerSettings(tracker="simple" if most > 1 else "none")


def suggest_for_project(settings: TrackerSettings, project: Any) -> bool:
    """Take :func:`suggested_tracking` into ``settings`` while they are still the default (no tracker).

    Returns True when the settings changed. Settings the user or a loaded
    configuration chose are kept.
    """
    from .settings import assign

    if getattr(project, "labels", None) is None or settings != TrackerSettings(tracker="none"):
        return False
    assign(settings, suggested_tracking(project))
    return True
