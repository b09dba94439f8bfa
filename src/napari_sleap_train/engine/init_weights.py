"""Start a new network from the weights of a trained run (fine-tuning).

The new network is built from the job's settings (which
:func:`~napari_sleap_train.config.runs.check_reuse` has compared with the
run's network); the weights are then copied layer by layer, matched by name
(our U-Net uses SLEAP's layer names, so a SLEAP 1.4 ``best_model.h5`` fits as
well as our ``best_model.keras``). Every layer of the new network must get
weights of its own shape: a different skeleton (head channels), input
channels (grayscale/RGB) or network is refused before the first batch. A
SLEAP offset-refinement head, which this plugin does not train, is left out.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from napari_sleap_train.engine.sleap_weights import ModelLoadError, assign_layer_weights, h5_layer_weights
from napari_sleap_train.engine.unet import OFFSET_HEAD_NAME


def run_weights(folder: str | Path) -> dict[str, list[np.ndarray]]:
    """Weights of a run folder's best model by layer name (``.keras`` wins over ``.h5``)."""
    folder = Path(folder)
    ours = folder / "best_model.keras"
    if ours.is_file():
        try:
            model = keras.saving.load_model(str(ours), compile=False)
        except Exception as exc:  # noqa: BLE001 - Keras raises many kinds
            raise ModelLoadError(f"{ours} could not be loaded ({type(exc).__name__}: {exc}).") from exc
        return {layer.name: [np.asarray(w) for w in layer.get_weights()] for layer in model.layers if layer.weights}
    h5 = folder / "best_model.h5"
    if h5.is_file():
        return h5_layer_weights(h5)
    raise ModelLoadError(f"{folder} holds no trained model (best_model.keras or best_model.h5).")


def copy_run_weights(model: keras.Model, folder: str | Path) -> list[str]:
    """Copy the weights of the run in ``folder`` into ``model``, by layer name.

    Returns
    -------
    list of str
        Names of the layers that received weights.

    Raises
    ------
    ModelLoadError
        A layer of ``model`` has no weights in the run, or of another shape.
    """
    name = Path(folder).name
    stored = run_weights(folder)
    loaded, missing, shapes = assign_layer_weights(model, stored)
    mismatched = [f"{layer}: {got} in the run, {expected} needed" for layer, expected, got in shapes]
    if missing or mismatched:
        parts = []
        if mismatched:
            parts.append("layers of another shape (" + "; ".join(mismatched) + ")")
        if missing:
            parts.append("layers the run does not have (" + ", ".join(missing) + ")")
        raise ModelLoadError(
            f"Cannot start from {name}: its network does not fit these settings: {' and '.join(parts)}. "
            "A different skeleton changes the head, grayscale/RGB video the first layer."
        )
    extra = sorted(set(stored) - set(loaded) - {OFFSET_HEAD_NAME})
    if extra:
        raise ModelLoadError(
            f"Cannot start from {name}: it has layers these settings do not build: {', '.join(extra)}."
        )
    return loaded
