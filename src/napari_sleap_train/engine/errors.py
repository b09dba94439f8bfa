"""Exceptions of the training engine, each with a plain-words message.

``kind`` matches :class:`napari_sleap_train.protocol.events.Error.kind` so the
pipeline can turn any of them into an event without guessing. This module does
not import TensorFlow.
"""

from __future__ import annotations

import sys


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


class PredictionError(EngineError):
    """Prediction failed (alone or after training); the message says "Prediction ..."."""

    def __init__(self, message: str, kind: str = "crash", hint: str | None = None):
        super().__init__(message, hint)
        self.kind = kind


class Cancelled(Exception):
    """The user cancelled the run (not an error)."""


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, (MemoryError, OutOfMemoryError)):
        return True
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(exc, tf.errors.ResourceExhaustedError):
        return True
    text = str(exc)
    return "OOM when allocating" in text or "out of memory" in text.lower()


def describe_exception(exc: BaseException, task: str = "Training") -> tuple[str, str, str]:
    """Turn any exception into (plain message, kind, hint) for an Error event.

    Parameters
    ----------
    exc
        What the training raised.
    task
        What was running, for the message ("Training failed: ...",
        "Prediction ran out of memory.").

    Returns
    -------
    tuple of str
        ``message`` in plain words, ``kind`` ("oom", "config", "data",
        "hardware", "crash") and a ``hint`` on what to try.
    """
    if isinstance(exc, PredictionError):  # worded already, out of memory included
        return str(exc), exc.kind, exc.hint
    if _is_out_of_memory(exc):
        return (
            f"{task} ran out of memory.",
            OutOfMemoryError.kind,
            OutOfMemoryError.hint if task == "Training" else "lower the batch size",
        )
    if isinstance(exc, EngineError):
        return str(exc), exc.kind, exc.hint
    if isinstance(exc, ImportError) and "tensorflow" in str(exc).lower():
        return (
            f"TensorFlow could not be loaded on this machine: {exc}",
            HardwareError.kind,
            HardwareError.hint,
        )
    return f"{task} failed: {type(exc).__name__}: {exc}", "crash", "see the details below"
