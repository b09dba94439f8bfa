"""Shared fixtures: paths to the real SLEAP data (default ``../shared/data``).

``NAPARI_SLEAP_TRAIN_DATA`` points elsewhere. Where the folder is missing, the tests
that need it skip with one reason, except under CI (``CI`` set), where a missing data
folder is a broken set-up and fails them, so CI never passes by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA_ENV = "NAPARI_SLEAP_TRAIN_DATA"


def shared_data_folder() -> Path:
    """Where the real SLEAP projects are looked for."""
    return Path(os.environ.get(DATA_ENV) or ROOT.parent / "shared" / "data").resolve()


SHARED_DATA = shared_data_folder()


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of real SLEAP projects (see its SOURCES.md)."""
    folder = shared_data_folder()
    if not folder.is_dir():
        reason = f"real SLEAP test data not found at {folder} (set {DATA_ENV} to its folder)"
        if _in_ci():
            pytest.fail(reason + "; CI needs it")
        pytest.skip(reason)
    return folder
