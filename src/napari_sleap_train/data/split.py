"""Deterministic train/validation split of labeled frames."""

from __future__ import annotations

import numpy as np

from .errors import DataError


def split_frames(n: int, validation_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split ``n`` labeled frames into training and validation indices.

    Parameters
    ----------
    n
        Number of labeled frames.
    validation_fraction
        Fraction of frames held out, in ``[0, 1)``.
    seed
        Seed of the shuffle; the same seed gives the same split.

    Returns
    -------
    train_idx, val_idx : numpy.ndarray
        Sorted int arrays. With ``n >= 2`` there is at least one validation
        and one training frame. With a single frame both hold frame 0 (as
        SLEAP does, so validation loss still exists); with none both are empty.
    """
    if n < 0:
        raise DataError(f"number of frames must be >= 0, got {n}")
    if not 0.0 <= validation_fraction < 1.0:
        raise DataError(f"validation fraction must be in [0, 1), got {validation_fraction!r}")
    if n == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    if n == 1:
        return np.zeros(1, dtype=int), np.zeros(1, dtype=int)
    n_val = int(min(max(round(n * validation_fraction), 1), n - 1))
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])
