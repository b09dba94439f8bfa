"""Exceptions of the training engine, each with a plain-words message.

``kind`` matches :class:`napari_sleap_train.runner.events.Error.kind` so the
pipeline can turn any of them into an event without guessing. This module does
not import TensorFlow.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class: something the user can understand and fix."""

    kind: str = "crash"
    hint: str = ""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class EngineConfigError(EngineError):
    """A training setting is invalid or unsupported."""

    kind = "config"
    hint = "check the training settings"


class EngineDataError(EngineError):
    """The labels or videos cannot be used for training."""

    kind = "data"
    hint = "check the project: labeled frames, videos and skeleton"


class HardwareError(EngineError):
    """The requested device is missing or TensorFlow cannot start."""

    kind = "hardware"
    hint = "choose device 'auto' or 'cpu', or check the TensorFlow installation"


class OutOfMemoryError(EngineError):
    """Training ran out of memory."""

    kind = "oom"
    hint = "lower the batch size or input scaling"


class Cancelled(Exception):
    """The user cancelled the run (not an error)."""
