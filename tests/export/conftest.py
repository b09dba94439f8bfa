"""Fixtures for job-package tests: a small procedural sample project (no TensorFlow)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from napari_sleap_train.sample.project import write_sample_project


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> Path:
    """A 60-frame, 128x128 sample project folder (sample.slp + sample.mp4); do not modify."""
    folder = tmp_path_factory.mktemp("small_sample")
    write_sample_project(folder, seed=3, n_frames=60, n_animals=2, height=128, width=128, n_labeled=8, n_suggested=5)
    return folder


@pytest.fixture
def sample_copy(small_sample, tmp_path) -> Path:
    """A private copy of the sample project (slp + mp4); returns the .slp path."""
    folder = tmp_path / "project"
    folder.mkdir()
    for name in ("sample.slp", "sample.mp4"):
        shutil.copy2(small_sample / name, folder / name)
    return folder / "sample.slp"
