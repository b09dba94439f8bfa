"""Mixed precision and XLA: decide from the hardware, apply to Keras.

Both make a training step faster on NVIDIA GPUs and slower (or unsupported)
elsewhere:

* mixed precision (Keras ``mixed_float16``: float16 compute, float32 weights,
  loss scaling) pays off on GPUs with tensor cores, CUDA compute capability
  7.0 and up (Volta, Turing, Ampere and later). CPUs have no fast float16
  convolutions, and Apple's Metal plugin gains little.
* XLA (``jit_compile``) fuses the U-Net's convolutions and activations on
  NVIDIA GPUs (Keras turns it on there by itself). On CPU it made each step of
  this project's benchmark 2.7x slower, and ``tensorflow-metal`` does not
  support it.

``"auto"`` follows these rules; ``"mixed"``/``"float32"`` and ``"on"``/``"off"``
force a choice. Weights are kept in float32 either way, so a model trained
with mixed precision predicts in float32 on any machine
(:func:`float32_copy`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

from napari_sleap_train.config.model import Precision, Switch
from napari_sleap_train.engine.hardware import HardwareInfo

#: First CUDA compute capability with tensor cores (Volta).
TENSOR_CORES = (7, 0)

MIXED_POLICY = "mixed_float16"


@dataclass(frozen=True)
class Acceleration:
    """What one training run uses, and why, in words for the log."""

    mixed_precision: bool
    xla: bool
    reason: str

    @property
    def summary(self) -> str:
        """E.g. ``"mixed precision (float16) on, XLA on"``."""
        mp = "mixed precision (float16)" if self.mixed_precision else "float32"
        return f"{mp}, XLA {'on' if self.xla else 'off'}"


def _has_tensor_cores(info: HardwareInfo) -> bool:
    caps = info.compute_capabilities
    return info.hardware == "gpu" and bool(caps) and all(cc is not None and cc >= TENSOR_CORES for cc in caps)


def choose_acceleration(info: HardwareInfo, precision: Precision | str, xla: Switch | str) -> Acceleration:
    """Resolve the pipeline's ``precision`` and ``xla`` settings for the hardware found.

    Parameters
    ----------
    info
        The device training runs on (:func:`~.hardware.setup_device`).
    precision
        ``"auto"``, ``"mixed"`` or ``"float32"``.
    xla
        ``"auto"``, ``"on"`` or ``"off"``.
    """
    precision, xla = Precision(precision), Switch(xla)
    reasons: list[str] = []
    mixed = _decide(
        reasons,
        auto=precision is Precision.AUTO,
        forced_on=precision is Precision.MIXED,
        auto_on=_has_tensor_cores(info),
        why_auto="mixed precision: the GPU has tensor cores",
        forced=f"precision {precision.value} chosen",
        poor_fit="mixed precision on a CPU is usually slower than float32" if info.hardware == "cpu" else None,
    )
    use_xla = _decide(
        reasons,
        auto=xla is Switch.AUTO,
        forced_on=xla is Switch.ON,
        auto_on=info.hardware == "gpu",
        why_auto="XLA: NVIDIA GPU",
        forced=f"XLA {xla.value} chosen",
        poor_fit="tensorflow-metal may not support XLA" if info.hardware == "metal" else None,
    )
    return Acceleration(mixed, use_xla, "; ".join(reasons))


def _decide(
    reasons: list[str],
    *,
    auto: bool,
    forced_on: bool,
    auto_on: bool,
    why_auto: str,
    forced: str,
    poor_fit: str | None,
) -> bool:
    """One on/off choice: the hardware's answer when ``auto``, else the user's; adds the why to ``reasons``."""
    if auto:
        if auto_on:
            reasons.append(why_auto)
        return auto_on
    reasons.append(forced)
    if forced_on and poor_fit:
        reasons.append(poor_fit)
    return forced_on


@contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Keras' global dtype policy set to ``name`` inside the block, restored after it."""
    import keras

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def precision_policy(acc: Acceleration) -> AbstractContextManager[None]:
    """Build and train models inside this block with the chosen Keras dtype policy.

    The global policy is put back afterwards, so prediction in the same process
    runs in float32.
    """
    return dtype_policy(MIXED_POLICY) if acc.mixed_precision else nullcontext()


def is_mixed(model) -> bool:
    """True when any layer of ``model`` computes in float16."""
    return any(getattr(layer, "compute_dtype", "float32") == "float16" for layer in model.layers)


def float32_copy(model, build):
    """``model`` rebuilt in float32 with the same (float32) weights.

    ``build`` makes the float32 network (same layers and names) under the
    float32 policy.
    """
    with dtype_policy("float32"):
        fresh = build()
    fresh.set_weights(model.get_weights())
    return fresh
