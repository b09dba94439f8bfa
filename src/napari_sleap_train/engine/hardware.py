"""Choose and describe the device TensorFlow trains on.

:func:`prepare_environment` runs before TensorFlow is imported (it sets
environment variables TensorFlow reads once); :func:`setup_device` imports
TensorFlow, applies the user's device choice (``"auto"``, ``"cpu"``,
``"gpu:N"``), turns on GPU memory growth, limits CPU threads to the cores
present and returns a :class:`HardwareInfo` for the ``Started`` event.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
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
    #: TensorFlow device names to mirror training over (empty: one device)
    replica_devices: list[str] = field(default_factory=list)
    #: CUDA compute capability of each GPU used, e.g. (8, 6); None where unknown (Metal)
    compute_capabilities: list[tuple[int, int] | None] = field(default_factory=list)


def cpu_cores() -> int:
    """Cores this process may use (respects affinity masks / containers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass
class DeviceRequest:
    """A parsed device string.

    ``kind`` is ``"auto"``, ``"cpu"`` or ``"gpu"``; ``gpus`` the requested GPU
    indices (``None``: the first / all, see ``all_gpus``); ``cpu_replicas`` the
    number of logical CPU devices to mirror over (``"cpu:K"``, used to exercise
    the multi-device path without GPUs).
    """

    kind: str
    gpus: list[int] | None = None
    all_gpus: bool = False
    cpu_replicas: int = 1


def parse_devices(device: str) -> DeviceRequest:
    """Parse ``auto``, ``cpu``, ``cpu:K``, ``gpu``, ``gpu:N``, ``gpu:N,M`` or ``gpu:all``."""
    text = (device or "auto").strip().lower().replace(" ", "")
    if text in ("auto", "cpu"):
        return DeviceRequest(text)
    if text == "gpu":
        return DeviceRequest("gpu", [0])
    if text == "gpu:all":
        return DeviceRequest("gpu", None, all_gpus=True)
    match = re.fullmatch(r"gpu:(\d+(?:,\d+)*)", text)
    if match:
        indices = [int(i) for i in match.group(1).split(",")]
        if len(set(indices)) != len(indices):
            raise HardwareError(f"GPU listed twice in {device!r}.")
        return DeviceRequest("gpu", indices)
    match = re.fullmatch(r"cpu:(\d+)", text)
    if match and int(match.group(1)) >= 1:
        return DeviceRequest("cpu", cpu_replicas=int(match.group(1)))
    raise HardwareError(
        f"Unknown device {device!r}: use 'auto', 'cpu', 'gpu:N' (for example 'gpu:0'), "
        "'gpu:0,1' or 'gpu:all' (train on several GPUs at once)."
    )


def parse_device(device: str) -> tuple[str, int | None]:
    """Split ``"auto"``, ``"cpu"`` or ``"gpu:N"`` into (kind, first GPU index)."""
    req = parse_devices(device)
    return req.kind, (req.gpus[0] if req.gpus else None)


def prepare_environment(device: str = "auto") -> None:
    """Set TensorFlow environment variables; call before importing TensorFlow."""
    kind = parse_devices(device).kind
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if kind == "cpu":
        # Hide GPUs from CUDA entirely so no GPU memory is touched.
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"


#: the TensorFlow requirement of pyproject.toml (tests/test_install.py keeps them equal)
TENSORFLOW_REQUIREMENT = "tensorflow>=2.18.0"


def tensorflow_install_command(reinstall: bool = False) -> str:
    """The pip command that installs TensorFlow for this machine into this very Python.

    One ``tensorflow`` distribution everywhere (see the README's Hardware table): with
    its CUDA libraries on Linux machines with an NVIDIA driver, plus the Metal plugin on
    Apple Silicon.
    """
    packages = f'"{TENSORFLOW_REQUIREMENT}"'
    if sys.platform.startswith("linux") and shutil.which("nvidia-smi"):
        packages = f'"{TENSORFLOW_REQUIREMENT.replace("tensorflow", "tensorflow[and-cuda]", 1)}"'
    elif sys.platform == "darwin" and platform.machine() == "arm64":
        packages += " tensorflow-metal"
    python = f'"{sys.executable}"' if " " in sys.executable else sys.executable
    force = " --force-reinstall" if reinstall else ""
    return f"{python} -m pip install{force} {packages}"


def _gpu_details(tf, gpu) -> tuple[str, tuple[int, int] | None]:
    """Name and CUDA compute capability (None when TensorFlow does not say) of a GPU."""
    try:
        details = tf.config.experimental.get_device_details(gpu)
    except (ValueError, RuntimeError):
        details = {}
    name = str(details.get("device_name") or gpu.name.replace("/physical_device:", ""))
    cc = details.get("compute_capability")
    try:
        capability = (int(cc[0]), int(cc[1])) if cc else None
    except (TypeError, ValueError, IndexError):
        capability = None
    return name, capability


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
    req = parse_devices(device)
    kind = req.kind
    prepare_environment(device)
    try:
        import tensorflow as tf
    except ModuleNotFoundError as exc:
        if exc.name != "tensorflow":  # TensorFlow is there but one of its parts is not
            raise HardwareError(
                f"TensorFlow could not be loaded ({type(exc).__name__}: {exc}).",
                hint=f"reinstall it: {tensorflow_install_command(reinstall=True)}",
            ) from exc
        raise HardwareError(
            f"TensorFlow is not installed in the Python that runs training ({sys.executable}).",
            hint=f"install it with: {tensorflow_install_command()}",
        ) from exc
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
    wanted = list(range(len(gpus))) if req.all_gpus else (req.gpus or [])
    missing = [i for i in wanted if i >= len(gpus)]
    if kind == "gpu" and (missing or (req.all_gpus and not gpus)):
        found = f"{len(gpus)} GPU(s) found" if gpus else "no GPU found"
        what = f"GPU {missing[0]}" if missing else "Every GPU"
        raise HardwareError(
            f"{what} was requested but this machine has {found} (CPU: {cpu_words}).",
            hint="choose device 'auto' or 'cpu'" + (f", or a GPU between 0 and {len(gpus) - 1}" if gpus else ""),
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
        if req.cpu_replicas > 1:
            _split_cpu(tf, req.cpu_replicas)
            info.replica_devices = [f"/cpu:{i}" for i in range(req.cpu_replicas)]
            info.description += f", mirrored over {req.cpu_replicas} logical CPU devices"
        return info

    chosen = [gpus[i] for i in (wanted or [0])]
    try:
        tf.config.set_visible_devices(chosen, "GPU")
        for gpu in chosen:
            tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError:
        pass  # devices already initialised; TF keeps its earlier settings
    details = [_gpu_details(tf, gpu) for gpu in chosen]
    names = [name for name, _ in details]
    info.compute_capabilities = [cc for _, cc in details]
    info.hardware = "metal" if metal else "gpu"
    info.device_names = names
    label = "Apple GPU (Metal)" if metal else "GPU"
    indices = wanted or [0]
    if len(chosen) == 1:
        info.description = f"{label} {indices[0]}: {names[0]} (CPU: {cpu_words})"
    else:
        info.replica_devices = [f"/gpu:{i}" for i in range(len(chosen))]  # indices after hiding the rest
        listed = ", ".join(f"{i}: {n}" for i, n in zip(indices, names))
        info.description = f"{len(chosen)} GPUs, mirrored ({listed}) (CPU: {cpu_words})"
    return info


def _split_cpu(tf, n: int) -> None:
    """Expose ``n`` logical CPU devices (before TensorFlow initialises them)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    except RuntimeError as exc:
        raise HardwareError(
            f"Could not split the CPU into {n} logical devices: TensorFlow was already initialised."
        ) from exc
