"""Bring the results of a run back into the viewer.

When the child reports a :class:`~napari_sleap_train.runner.events.Predictions`
event, :func:`show_predictions` reads the new ``.slp``, merges its predicted
instances into the project's labels with
:func:`~napari_sleap_train.predictions.merge.merge_with_report` (SLEAP's rules:
new predictions replace older ones on the same frame, user instances are never
touched) and shows the merged predictions as the ``"<project> predictions"``
Points layer (plus its skeleton), built by the io layer functions so they look
exactly like the layers of a project opened from disk. An existing layer of
that name is replaced in place (same position in the layer list).

The predictions layers keep the opened project in ``metadata["sleap_project"]``
so the training widget and the writer keep working on the user's project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sleap_io as sio
from napari.layers import Layer

from napari_sleap_train.io.layers import project_layer_data
from napari_sleap_train.io.project import PROJECT_KEY, ROLE_KEY, SleapProject
from napari_sleap_train.predictions.merge import MergeError, MergeResult, merge_with_report

PREDICTION_ROLES = ("predictions_skeleton", "predictions")


class ResultsError(RuntimeError):
    """The predictions of a run cannot be shown (plain-words message)."""


@dataclass
class ShownPredictions:
    """What :func:`show_predictions` did."""

    layers: list[Layer] = field(default_factory=list)
    n_frames: int = 0  # frames that got new predictions
    n_instances: int = 0  # new predicted instances
    n_replaced: int = 0  # older predicted instances replaced
    n_duplicates: int = 0  # new predictions on top of a user instance
    merged_labels: sio.Labels | None = None

    @property
    def summary(self) -> str:
        """One sentence for a notification."""
        text = f"{self.n_instances} predicted instance(s) on {self.n_frames} frame(s)"
        if self.n_replaced:
            text += f", replacing {self.n_replaced} older prediction(s)"
        if self.n_duplicates:
            text += f"; {self.n_duplicates} lie on top of user labels"
        return text + "."


def load_predictions(path: str | Path) -> sio.Labels:
    """Read a predictions file written by the engine."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"The predictions file {path} does not exist.")
    try:
        return sio.load_slp(path.as_posix(), open_videos=False)
    except Exception as exc:  # noqa: BLE001 (sleap-io raises many kinds)
        raise ResultsError(f"The predictions file {path.name} could not be read ({type(exc).__name__}: {exc}).") from exc


def _project_layers(viewer: Any, project: SleapProject) -> list[Layer]:
    return [layer for layer in viewer.layers if layer.metadata.get(PROJECT_KEY) is project]


def show_predictions(viewer: Any, path: str | Path, project: SleapProject | None) -> ShownPredictions:
    """Merge the predictions at ``path`` into ``project``'s labels and show them as layers.

    Parameters
    ----------
    viewer
        The napari viewer.
    path
        The ``.slp`` the child wrote (predictions only, or the project with them).
    project
        The opened project the run was trained on; ``None`` shows the file's
        predictions on their own (a project opened some other way).

    Raises
    ------
    ResultsError
        The file cannot be read or its predictions do not fit the project.
    """
    predicted = load_predictions(path)
    if project is None:
        view = SleapProject(predicted, path)
        result = MergeResult(labels=predicted, n_frames=len(predicted.labeled_frames),
                             n_instances=sum(len(lf.predicted_instances) for lf in predicted.labeled_frames))
        owner = view
        name = view.name
    else:
        try:
            result = merge_with_report(project.labels, predicted)
        except MergeError as exc:
            raise ResultsError(f"The predictions do not fit {project.name}: {exc}") from exc
        # A throw-away project over the merged labels builds the layer data the
        # same way the reader does; the layers then point at the user's project.
        view = SleapProject(result.labels, project.path)
        owner = project
        name = project.name

    layer_data = [item for item in project_layer_data(view) if item[1]["metadata"].get(ROLE_KEY) in PREDICTION_ROLES]
    shown = ShownPredictions(n_frames=result.n_frames, n_instances=result.n_instances,
                             n_replaced=result.n_replaced, n_duplicates=len(result.duplicates),
                             merged_labels=result.labels)
    if not layer_data:
        return shown

    siblings = _project_layers(viewer, owner) if project is not None else []
    labels_layer = next((la for la in siblings if la.metadata.get(ROLE_KEY) == "labels"), None)
    for data, kwargs, kind in layer_data:
        role = kwargs["metadata"][ROLE_KEY]
        kwargs = dict(kwargs)
        kwargs["metadata"] = {**kwargs["metadata"], PROJECT_KEY: owner}
        kwargs["name"] = f"{name} predictions" if role == "predictions" else f"{name} predictions skeleton"
        if role == "predictions" and labels_layer is not None and len(labels_layer.data):
            kwargs["size"] = float(labels_layer.size.mean())  # match what the user chose
        layer = Layer.create(data, kwargs, kind)
        shown.layers.append(_replace_or_insert(viewer, layer, siblings, role, labels_layer))
    return shown


def _replace_or_insert(viewer: Any, layer: Layer, siblings: list[Layer], role: str, labels_layer: Layer | None) -> Layer:
    """Put ``layer`` where the old layer of the same role was, else below the labels."""
    old = next((la for la in siblings if la.metadata.get(ROLE_KEY) == role and la in viewer.layers), None)
    if old is None:
        old = next((la for la in viewer.layers if la.name == layer.name), None)
    if old is not None:
        index = viewer.layers.index(old)
        layer.visible = old.visible
        layer.opacity = old.opacity
        viewer.layers.remove(old)
        viewer.layers.insert(index, layer)
    elif labels_layer is not None and labels_layer in viewer.layers:
        viewer.layers.insert(viewer.layers.index(labels_layer), layer)
    else:
        viewer.layers.append(layer)
    return layer
