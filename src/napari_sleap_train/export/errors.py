"""Exceptions raised while exporting a training job package.

Messages are written for the person who asked for the export: they name the
file or video and say what to do, so the CLI and the widget show them as is.
"""

from __future__ import annotations


class ExportJobError(ValueError):
    """A training job package cannot be written."""


class MissingVideoError(ExportJobError):
    """A video whose frames must be embedded cannot be read."""


class PackageExistsError(ExportJobError, FileExistsError):
    """The output zip exists and overwriting was not asked for."""


class ExportWriteError(ExportJobError):
    """Writing the package failed part way (full disk, file-size limit); nothing was left behind."""
