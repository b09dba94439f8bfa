"""Bring the results of a run back into the viewer.

When the child reports a :class:`~napari_sleap_train.protocol.events.Predictions`
event, :func:`show_predictions` merges the new ``.slp`` into the opened project
(SLEAP's rules: new predictions replace older ones on the same frame, user
instances are never touched) and updates the ``"<project> predictions"`` Points
layer (plus its skeleton) through the io layer, so they look exactly like the
layers of a project opened from disk and saving the project includes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sleap_io as sio
from napari.layers import Layer

from napari_sleap_train.io.binding import project_layer, refresh_layers
from napari_sleap_train.io.layers import PREDICTION_ROLES, ROLE_KEY, project_layer_data
from napari_sleap_train.project.errors import PredictionsError
from napari_sleap_train.project.merge import PredictionsUpdate
from napari_sleap_train.project.merge_plan import PreparedMerge
from napari_sleap_train.project.model import SleapProject


class ResultsError(RuntimeError):
    """The predictions of a run cannot be shown (plain-words message)."""


@dataclass
class ShownPredictions:
    """What :func:`show_predictions` did: the layers shown and the merge counts."""

    layers: list[Layer] = field(default_factory=list)
    counts: PredictionsUpdate = field(default_factory=PredictionsUpdate)
    merged_labels: sio.Labels | None = None

    @property
    def summary(self) -> str:
        """One sentence for a notification."""
        return self.counts.summary


def load_predictions(path: str | Path | sio.Labels) -> sio.Labels:
    """Read a predictions file written by the engine (labels already read are returned)."""
    if isinstance(path, sio.Labels):
        return path
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"The predictions file {path} does not exist.")
    try:
        return sio.load_slp(path.as_posix(), open_videos=False)
    except Exception as exc:
        raise ResultsError(
            f"The predictions file {path.name} could not be read ({type(exc).__name__}: {exc})."
        ) from exc


def show_predictions(
    viewer: Any,
    path: str | Path | sio.Labels,
    project: SleapProject | None,
    on_merged: Callable[[], None] | None = None,
) -> ShownPredictions:
    """Merge the predictions at ``path`` into ``project`` and show them as layers.

    With a project, the predictions are merged into it in place
    (:meth:`SleapProject.add_predictions`: SLEAP's rules, user instances never
    touched), so a later save writes them too, and the project's predictions
    layers are updated in place or added below its labels layer.

    Parameters
    ----------
    viewer
        The napari viewer.
    path
        The ``.slp`` the child wrote (predictions only, or the project with
        them), or its labels read already (off the GUI thread).
    project
        The opened project the run was trained on; ``None`` shows the file's
        predictions on their own (a project opened some other way).
    on_merged
        Called after the merge, before the layers are updated (progress).

    Raises
    ------
    ResultsError
        The file cannot be read or its predictions do not fit the project.
    """
    if project is not None:
        try:
            update = project.add_predictions(path)
        except PredictionsError as exc:
            raise ResultsError(f"The predictions of this run cannot be shown: {exc}") from exc
        if on_merged is not None:
            on_merged()
        refresh = refresh_layers(project, viewer.layers)
        return ShownPredictions(layers=[*refresh.updated, *refresh.added], counts=update, merged_labels=project.labels)

    predicted = load_predictions(path)
    view = SleapProject(predicted, None if isinstance(path, sio.Labels) else path)  # labels: no file name
    counts = PredictionsUpdate(
        n_frames=len(predicted.labeled_frames),
        n_instances=sum(len(lf.predicted_instances) for lf in predicted.labeled_frames),
    )
    shown = ShownPredictions(counts=counts, merged_labels=predicted)
    for data, kwargs, kind in project_layer_data(view):
        role = kwargs["metadata"].get(ROLE_KEY)
        if role not in PREDICTION_ROLES:
            continue
        kwargs = dict(kwargs)
        kwargs["name"] = f"{view.name} predictions" if role == "predictions" else f"{view.name} predictions skeleton"
        shown.layers.append(_replace_or_insert(viewer, Layer.create(data, kwargs, kind)))
    return shown


def show_merged(
    viewer: Any,
    project: SleapProject,
    prepared: PreparedMerge,
    defer: Callable[[Callable[[], None]], None] | None = None,
) -> ShownPredictions:
    """Apply a merge prepared off the GUI thread and set the layers from its tables (GUI thread).

    The project and its predictions Points layer change together (the layer's
    ids are the project's); with ``defer`` (e.g. a ``QTimer``) the layers are
    set in a later turn of the event loop than the project, so neither step
    holds the GUI long (a whole-video prediction's layer holds a window of it:
    :mod:`~napari_sleap_train.io.prediction_window`).

    Raises
    ------
    ResultsError
        The predictions do not fit the project.
    """
    try:
        update, tables = project.apply_merge(prepared)
    except PredictionsError as exc:
        raise ResultsError(f"The predictions of this run cannot be shown: {exc}") from exc
    if defer is None:
        refresh_layers(project, viewer.layers, tables=tables)
    else:  # one visible change (each costs a repaint of the canvas), after the project's merge
        defer(lambda: refresh_layers(project, viewer.layers, tables=tables))
    layers = [la for la in (project_layer(project, role) for role in PREDICTION_ROLES) if la is not None]
    return ShownPredictions(layers=layers, counts=update, merged_labels=project.labels)


def _replace_or_insert(viewer: Any, layer: Layer) -> Layer:
    """Put ``layer`` where an old layer of the same name was, else on top."""
    old = next((la for la in viewer.layers if la.name == layer.name), None)
    if old is None:
        viewer.layers.append(layer)
        return layer
    index = viewer.layers.index(old)
    layer.visible = old.visible
    layer.opacity = old.opacity
    viewer.layers.remove(old)
    viewer.layers.insert(index, layer)
    return layer
