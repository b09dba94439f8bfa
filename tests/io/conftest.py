"""Helpers for io tests: copies of shared projects in isolated temp folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def isolated_copy(tmp_path):
    """Copy files into tmp_path/isolated/proj/ (no videos nearby unless copied too)."""

    def copy(*files: Path) -> list[Path]:
        dest = tmp_path / "isolated" / "proj"
        dest.mkdir(parents=True, exist_ok=True)
        return [Path(shutil.copy(f, dest / Path(f).name)) for f in files]

    return copy
