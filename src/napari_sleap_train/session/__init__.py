"""What the dock edits and shows, without Qt: the session's state and the one job builder.

- :mod:`.settings`: :class:`TrainingSession`, the live, evented pipeline and model
  settings (the anchor part stored once, in the pipeline), the open project and
  the selected model.
- :mod:`.profiles`: profile choices and reading configuration files.
- :mod:`.job`: :func:`make_train_job`, the one function that turns settings into a
  :class:`~napari_sleap_train.protocol.job.TrainJob`; the dock, ``train`` and
  ``export-job`` all use it.
- :mod:`.run_state`: :class:`TrainingState`, the run as the child reports it.

The widgets bind to these objects; nothing here imports Qt, napari or TensorFlow.
"""

from .job import JobError, dock_train_job, make_train_job, predict_selection
from .settings import TrainingSession, assign

__all__ = [
    "JobError",
    "TrainingSession",
    "assign",
    "dock_train_job",
    "make_train_job",
    "predict_selection",
]
