"""Exceptions raised by the training-data helpers."""

from __future__ import annotations


class DataError(ValueError):
    """Labels, images or settings cannot be turned into training data."""
