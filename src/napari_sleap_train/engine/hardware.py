"""Choose and describe the device TensorFlow trains on.

:func:`prepare_environment` runs before TensorFlow is imported (it sets
environment variables TensorFlow reads once); :func:`setup_device` imports
TensorFlow, applies the user's device choice (``"auto"``, ``"cpu"``,
``"gpu:N"``), turns on GPU memory growth, limits CPU threads to the cores
present and returns a :class:`HardwareInfo` for the ``Started`` event.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field

from napari_sleap_train.engine.errors import HardwareError


@dataclass
class HardwareInfo:
    """What training runs on, in words the user understands."""

    hardware: str  # "cpu", "gpu", "metal"
    device_names: list[str] = field(default_factory=list)
    description: str = ""
    tensorflow_version: str = ""
    cores: int = 1


def cpu_cores() -> int:
    """Cores this process may use (respects affinity masks / containers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def parse_device(device: str) -> tuple[str, int | None]:
    """Split ``"auto"``, ``"cpu"`` or ``"gpu:N"`` into (kind, index)."""
    text = (device or "auto").strip().lower()
    if text in ("auto", "cpu"):
        return text, None
    if text == "gpu":
        return "gpu", 0
    match = re.fullmatch(r"gpu:(\d+)", text)
    if match:
        return "gpu", int(match.group(1))
    raise HardwareError(
        f"Unknown device {device!r}: use 'auto', 'cpu' or 'gpu:N' (for example 'gpu:0')."
    )


def prepare_environment(device: str = "auto") -> None:
    """Set TensorFlow environment variables; call before importing TensorFlow."""
    kind, _ = parse_device(device)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if kind == "cpu":
        # Hide GPUs from CUDA entirely so no GPU memory is touched.
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"


def _gpu_name(tf, gpu) -> str:
    try:
        details = tf.config.experimental.get_device_details(gpu)
    except (ValueError, RuntimeError):
        details = {}
    return str(details.get("device_name") or gpu.name.replace("/physical_device:", ""))


def setup_device(device: str = "auto") -> HardwareInfo:
    """Import TensorFlow and configure the device before it initialises.

    Parameters
    ----------
    device
        ``"auto"`` (a GPU when there is one), ``"cpu"`` or ``"gpu:N"``.

    Returns
    -------
    HardwareInfo
        Device kind, names and a plain description such as
        ``"CPU: 2 cores (no GPU found)"``.

    Raises
    ------
    HardwareError
        TensorFlow cannot be imported or the requested GPU does not exist.
    """
    kind, index = parse_device(device)
    prepare_environment(device)
    try:
        import tensorflow as tf
    except Exception as exc:  # broken installs raise all kinds of errors
        raise HardwareError(
            f"TensorFlow could not be loaded ({type(exc).__name__}: {exc}). "
            "Training needs a working TensorFlow installation.",
            hint="reinstall the plugin's TensorFlow dependency (see the README)",
        ) from exc

    cores = cpu_cores()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(cores)
        tf.config.threading.set_inter_op_parallelism_threads(min(cores, 2))
    except RuntimeError:
        pass  # already initialised (tests import TF first); keep its settings

    gpus = tf.config.list_physical_devices("GPU")
    metal = sys.platform == "darwin"
    cpu_words = f"{cores} core{'s' if cores != 1 else ''}"
    if kind == "gpu" and index is not None and index >= len(gpus):
        found = f"{len(gpus)} GPU(s) found" if gpus else "no GPU found"
        raise HardwareError(
            f"GPU {index} was requested but this machine has {found} "
            f"(CPU: {cpu_words}).",
            hint="choose device 'auto' or 'cpu'"
            + (f", or a GPU between 0 and {len(gpus) - 1}" if gpus else ""),
        )
    info = HardwareInfo("cpu", ["CPU"], "", tf.__version__, cores)
    if kind == "cpu" or not gpus:
        if gpus:
            try:
                tf.config.set_visible_devices([], "GPU")
            except RuntimeError:
                pass
            info.description = f"CPU: {cpu_words} (GPU present but not used: device 'cpu' chosen)"
        else:
            info.description = f"CPU: {cpu_words} (no GPU found)"
        return info

    chosen = gpus[index or 0]
    try:
        tf.config.set_visible_devices([chosen], "GPU")
        tf.config.experimental.set_memory_growth(chosen, True)
    except RuntimeError:
        pass  # devices already initialised; TF keeps its earlier settings
    name = _gpu_name(tf, chosen)
    info.hardware = "metal" if metal else "gpu"
    info.device_names = [name]
    label = "Apple GPU (Metal)" if metal else "GPU"
    info.description = f"{label} {index or 0}: {name} (CPU: {cpu_words})"
    return info
