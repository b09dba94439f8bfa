"""``napari-sleap-train demo``: napari with a project and the widget, screenshot mode.

The screenshot tests start the real command in a subprocess under the current
X display (run the suite with ``xvfb-run -a``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from napari_sleap_train.cli import main
from napari_sleap_train.sample.project import CACHE_ENV, write_sample_project

TIMEOUT = 240  # seconds; generous for a loaded 2-core machine


def _run_demo(args: list[str], cache, cwd) -> subprocess.CompletedProcess:
    assert os.environ.get("DISPLAY"), "the demo needs a display: run the tests with xvfb-run -a"
    env = dict(os.environ, **{CACHE_ENV: str(cache)})
    return subprocess.run(
        [sys.executable, "-m", "napari_sleap_train.cli", "demo", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def _assert_shows_video(png) -> None:
    """The screenshot is a real window whose canvas shows the grey, textured video."""
    image = iio.imread(png)[..., :3].astype(np.float64)
    height, width = image.shape[:2]
    assert height >= 400 and width >= 600
    assert image.std() > 10  # not a blank window
    # napari's UI colours are bluish greys; the video is pure grey (R = G = B) and mid-bright.
    value = image.mean(axis=-1)
    video_like = (np.ptp(image, axis=-1) < 3) & (value > 15) & (value < 240)
    assert video_like.mean() > 0.1, "no video visible in the screenshot"
    rows, cols = np.nonzero(video_like)
    cy, cx = int(np.median(rows)), int(np.median(cols))
    window = video_like[cy - 50 : cy + 50, cx - 50 : cx + 50]
    assert window.mean() > 0.7  # one compact frame (with overlays), not scattered text pixels
    assert value[video_like].std() > 8  # textured floor and mice, not a flat fill


def test_demo_screenshot_of_a_project(tmp_path):
    project = write_sample_project(tmp_path / "proj", seed=2, n_frames=30, n_labeled=5, n_suggested=3)
    png = tmp_path / "shots" / "demo.png"
    result = _run_demo([str(project.labels_path), "--screenshot", str(png)], tmp_path / "cache", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert png.is_file()
    _assert_shows_video(png)
    assert not (tmp_path / "cache").exists()  # a given project never touches the sample cache


def test_demo_without_a_project_opens_the_sample(tmp_path):
    png = tmp_path / "sample.png"
    result = _run_demo(["--screenshot", str(png)], tmp_path / "cache", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    (folder,) = [p for p in (tmp_path / "cache").iterdir() if p.name.startswith("sample-")]
    assert (folder / "sample.slp").is_file() and (folder / "sample.truth.slp").is_file()
    _assert_shows_video(png)


@pytest.mark.parametrize("name", ["missing.slp", "folder.slp", "notes.txt", "corrupt.slp", "empty.slp"])
def test_demo_refuses_bad_projects_with_exit_code_2(tmp_path, capsys, name):
    path = tmp_path / name
    if name == "folder.slp":
        path.mkdir()
    elif name == "notes.txt":
        path.write_text("not a project")
    elif name == "corrupt.slp":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif name == "empty.slp":
        path.write_bytes(b"")
    assert main(["demo", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("napari-sleap-train demo: error:")
    assert name in err
    assert "Traceback" not in err


def test_demo_bad_project_as_a_command(tmp_path):
    """The console command itself exits 2 with one plain line, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "napari_sleap_train.cli", "demo", str(tmp_path / "nope.slp")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 2
    assert "nope.slp does not exist" in result.stderr
    assert "Traceback" not in result.stderr
