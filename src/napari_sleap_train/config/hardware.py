"""Which hardware a job would train on, guessed without importing TensorFlow."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from .serialize import ConfigError

HARDWARE = ("cpu", "gpu")

#: Environment variable that overrides :func:`detect_hardware` ("cpu" or "gpu").
HARDWARE_ENV = "NAPARI_SLEAP_TRAIN_HARDWARE"


def _has_nvidia_gpu() -> bool:
    gpus = Path("/proc/driver/nvidia/gpus")
    try:
        if gpus.is_dir() and any(gpus.iterdir()):
            return True
    except OSError:
        pass
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def _has_metal() -> bool:
    if sys.platform != "darwin" or platform.machine() != "arm64":
        return False
    try:
        metadata.version("tensorflow-metal")
        return True
    except metadata.PackageNotFoundError:
        return False


def detect_hardware() -> str:
    """``"gpu"`` when training would find a GPU, else ``"cpu"`` (no TensorFlow import).

    Looks for an NVIDIA driver (``/proc/driver/nvidia`` or ``nvidia-smi -L``)
    or Apple Silicon with ``tensorflow-metal``. The environment variable
    ``NAPARI_SLEAP_TRAIN_HARDWARE`` (``cpu``/``gpu``) overrides the guess.
    """
    forced = os.environ.get(HARDWARE_ENV, "").strip().lower()
    if forced in HARDWARE:
        return forced
    return "gpu" if _has_nvidia_gpu() or _has_metal() else "cpu"


def resolve_hardware(hardware: str) -> str:
    """``hardware`` ("auto", "cpu" or "gpu") as "cpu" or "gpu"."""
    if hardware == "auto":
        return detect_hardware()
    if hardware not in HARDWARE:
        raise ConfigError(f"hardware must be one of auto, {', '.join(HARDWARE)}, got {hardware!r}")
    return hardware
