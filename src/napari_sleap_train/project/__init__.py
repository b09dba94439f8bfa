"""The SLEAP project model: no napari, no Qt.

Load a project (videos looked for as SLEAP does), read its instances as tables,
fold edits back in, merge predictions, and save atomically::

    from napari_sleap_train.project import SleapProject, load_labels

    project = SleapProject.load("labels.slp")   # labels + videos, for a viewer
    opened = load_labels("labels.slp")          # the same loading, for the engine

The napari side (reader, writer, layers, binding a project to layers) is
``napari_sleap_train.io``; it imports this package, never the reverse.
"""

from napari_sleap_train.project.edits import EditSummary
from napari_sleap_train.project.errors import (
    LayerDataError,
    PredictionsError,
    SleapEditWarning,
    SleapFileError,
    SleapProjectError,
    VideoAccessError,
)
from napari_sleap_train.project.files import MissingVideo, OpenedLabels, load_labels
from napari_sleap_train.project.merge import PredictionsUpdate, load_predictions
from napari_sleap_train.project.model import LayerLink, SleapProject
from napari_sleap_train.project.video import VideoArray, resolve_video_path

__all__ = [
    "EditSummary",
    "LayerDataError",
    "LayerLink",
    "MissingVideo",
    "OpenedLabels",
    "PredictionsError",
    "PredictionsUpdate",
    "SleapEditWarning",
    "SleapFileError",
    "SleapProject",
    "SleapProjectError",
    "VideoAccessError",
    "VideoArray",
    "load_labels",
    "load_predictions",
    "resolve_video_path",
]
