"""Every install of this package resolves to one TensorFlow and one OpenCV distribution.

``tensorflow``, ``tensorflow-cpu``, ``tensorflow-macos``, ... all write the same
``tensorflow`` package (and the ``opencv-python*`` wheels the same ``cv2``): two of them
in one environment overwrite each other's files, and uninstalling either breaks both.

The fast tests read pyproject.toml's requirements with each platform's markers; the
slow ones ask pip itself (``pip install --dry-run --report``, needs the package index)
for the base install, ``[gpu]`` and what ``scripts/setup.sh`` installs on this machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]

#: distributions that install the top-level ``tensorflow`` package
TENSORFLOW_DISTS = {
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-gpu",
    "tensorflow-macos",
    "tensorflow-cpu-aws",
    "intel-tensorflow",
    "tf-nightly",
    "tf-nightly-cpu",
}
#: Windows' ``tensorflow`` 2.16/2.17 is a shell around this one (files written once)
TENSORFLOW_SHELLS = {"tensorflow-intel"}
#: distributions that install ``cv2``
OPENCV_DISTS = {"opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"}

PLATFORMS = {
    "linux": {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"},
    "windows": {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64"},
    "macos-arm": {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"},
    "macos-intel": {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "x86_64"},
}


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _project() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _direct(extras: tuple[str, ...], platform: str) -> list[Requirement]:
    """This package's requirements that apply on ``platform`` with ``extras``."""
    project = _project()
    env = dict(PLATFORMS[platform], python_version="3.11", python_full_version="3.11.0")
    out = [(Requirement(r), "") for r in project["dependencies"]]
    out += [(Requirement(r), e) for e in extras for r in project["optional-dependencies"][e]]
    return [r for r, extra in out if r.marker is None or r.marker.evaluate({**env, "extra": extra})]


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
@pytest.mark.parametrize("extras", [(), ("gpu",), ("apple",), ("all", "testing", "gpu"), ("all", "testing", "apple")])
def test_every_extra_names_one_tensorflow_distribution(platform, extras):
    reqs = _direct(extras, platform)
    names = {_norm(r.name) for r in reqs}
    assert names & TENSORFLOW_DISTS == {"tensorflow"}, sorted(names & TENSORFLOW_DISTS)
    assert names & OPENCV_DISTS == {"opencv-python-headless"}
    if "gpu" in extras and platform == "linux":
        assert any(_norm(r.name) == "tensorflow" and "and-cuda" in r.extras for r in reqs)
    if "apple" in extras:
        assert ("tensorflow-metal" in names) == (platform == "macos-arm")


def _resolve(spec: str) -> dict[str, str]:
    """``{distribution: version}`` pip would install for ``spec`` into an empty environment."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-", spec],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    return {_norm(item["metadata"]["name"]): item["metadata"]["version"] for item in report["install"]}


def _setup_spec() -> str:
    out = subprocess.run(
        ["bash", "scripts/setup.sh", "--print-spec"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize("spec", [".", ".[gpu]", "setup.sh"])
def test_pip_resolves_one_tensorflow_and_one_opencv(spec):
    spec = _setup_spec() if spec == "setup.sh" else spec
    installed = _resolve(spec)
    tensorflow = sorted(set(installed) & TENSORFLOW_DISTS)
    print(spec, {d: installed[d] for d in tensorflow + sorted(set(installed) & (OPENCV_DISTS | TENSORFLOW_SHELLS))})
    assert tensorflow == ["tensorflow"], spec
    assert sorted(set(installed) & OPENCV_DISTS) == ["opencv-python-headless"], spec
    if spec == ".":
        assert "av" not in installed  # videos: OpenCV reads, imageio-ffmpeg (sleap-io's) writes
    if "gpu" in spec and sys.platform.startswith("linux"):
        assert "nvidia-cudnn-cu12" in installed
