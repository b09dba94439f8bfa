"""Exceptions and warnings raised while reading, editing and saving SLEAP projects.

Every message is written for the person who picked the file: it names the file
and says what is wrong in plain words, so napari can show it as is.

The errors derive from :class:`SleapProjectError`, not from ``ValueError``:
napari's writer lookup catches ``ValueError`` and replaces it with "Given plugin
... is not a valid writer", which would hide the reason (a full disk, a
read-only folder) from the user.
"""

from __future__ import annotations


class SleapProjectError(Exception):
    """Base of the errors of this package (never a ``ValueError``, see module docstring)."""


class SleapFileError(SleapProjectError):
    """A file could not be opened as a SLEAP project (or saved as one)."""


class LayerDataError(SleapProjectError):
    """Layer data handed to the writer cannot be turned into SLEAP labels."""


class PredictionsError(SleapProjectError):
    """Predictions cannot be added to, or promoted in, a project."""


class VideoAccessError(RuntimeError):
    """A request on a lazy video would decode too much at once, or the video is unreadable."""


class SleapEditWarning(UserWarning):
    """Some edits in a points layer could not be applied (e.g. unknown node name)."""
