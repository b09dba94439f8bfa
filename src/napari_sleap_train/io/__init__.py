"""SLEAP projects <-> napari layers: project model, lazy video, reader and writer.

Public API for the widget and trainer::

    from napari_sleap_train.io import SleapProject, find_project

After training, merge predictions and refresh the viewer's layers with::

    project.add_predictions(path)          # -> PredictionsUpdate (counts, summary)
    project.refresh_layers(viewer.layers)  # updates / inserts the predictions layers

The reader (``io.reader:get_reader``) and writer (``io.writer:write_slp``) are
npe2 contributions and import napari; this package itself does not.
"""

from napari_sleap_train.io.errors import (
    LayerDataError,
    PredictionsError,
    SleapEditWarning,
    SleapFileError,
    VideoAccessError,
)
from napari_sleap_train.io.project import (
    EditSummary,
    MissingVideo,
    PredictionsUpdate,
    SleapProject,
    bind_layers,
    find_project,
)
from napari_sleap_train.io.video import VideoArray, resolve_video_path

__all__ = [
    "EditSummary",
    "LayerDataError",
    "MissingVideo",
    "PredictionsError",
    "PredictionsUpdate",
    "SleapEditWarning",
    "SleapFileError",
    "SleapProject",
    "VideoAccessError",
    "VideoArray",
    "bind_layers",
    "find_project",
    "resolve_video_path",
]
