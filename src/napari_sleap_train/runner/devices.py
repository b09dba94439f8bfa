"""Devices a run can train on, found without importing TensorFlow.

The napari process must not import TensorFlow, so the widget's *Device* choice
is filled from ``nvidia-smi -L`` (NVIDIA GPUs) and the platform (Apple Silicon
GPUs through Metal). The child process checks the choice again with TensorFlow
and reports plainly when a device does not exist.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceChoice:
    """One entry of the device picker: ``value`` goes to ``PipelineConfig.device``."""

    label: str
    value: str


_GPU_LINE = re.compile(r"^GPU (\d+): (.+?)(?: \(UUID: .*\))?$")


def parse_nvidia_smi(text: str) -> list[tuple[int, str]]:
    """``[(index, name), ...]`` from the output of ``nvidia-smi -L``."""
    found = []
    for line in text.splitlines():
        match = _GPU_LINE.match(line.strip())
        if match:
            found.append((int(match.group(1)), match.group(2).strip()))
    return found


def nvidia_gpus(timeout: float = 5.0) -> list[tuple[int, str]]:
    """NVIDIA GPUs on this machine (empty without a driver or ``nvidia-smi``)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(out.stdout) if out.returncode == 0 else []


def device_choices(gpus: list[tuple[int, str]] | None = None, apple_silicon: bool | None = None) -> list[DeviceChoice]:
    """Choices for the picker, best first after *Automatic*.

    Parameters
    ----------
    gpus
        ``[(index, name)]``; ``None`` asks ``nvidia-smi``.
    apple_silicon
        ``None`` detects it (macOS on arm64).
    """
    if gpus is None:
        gpus = nvidia_gpus()
    if apple_silicon is None:
        apple_silicon = sys.platform == "darwin" and platform.machine() == "arm64"
    choices = [DeviceChoice("Automatic (a GPU if there is one)", "auto")]
    if apple_silicon:
        choices.append(DeviceChoice("Apple GPU (Metal)", "gpu:0"))
    for index, name in gpus:
        choices.append(DeviceChoice(f"GPU {index}: {name}", f"gpu:{index}"))
    if len(gpus) > 1:
        choices.append(DeviceChoice(f"All {len(gpus)} GPUs (mirrored)", "gpu:all"))
    choices.append(DeviceChoice("CPU only", "cpu"))
    return choices
