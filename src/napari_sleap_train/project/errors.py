"""Exceptions and warnings raised while reading, editing and saving SLEAP projects.

Every message is written for the person who picked the file: it names the file
and says what is wrong in plain words, so napari can show it as is.
"""

from __future__ import annotations


class SleapFileError(ValueError):
    """A file could not be opened as a SLEAP project (or saved as one)."""


class LayerDataError(ValueError):
    """Layer data handed to the writer cannot be turned into SLEAP labels."""


class PredictionsError(ValueError):
    """Predictions cannot be added to, or promoted in, a project."""


class VideoAccessError(RuntimeError):
    """A request on a lazy video would decode too much at once, or the video is unreadable."""


class SleapEditWarning(UserWarning):
    """Some edits in a points layer could not be applied (e.g. unknown node name)."""

