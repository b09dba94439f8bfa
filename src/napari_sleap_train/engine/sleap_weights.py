"""Load trained model folders: SLEAP 1.4 (``best_model.h5``) and our own (``best_model.keras``).

Keras 3 cannot deserialize the TF 2.4 / Keras 2 ``.h5`` files SLEAP writes, so
a SLEAP folder is loaded in two steps:

1. the architecture is rebuilt from ``training_config.json`` with our U-Net
   builder (:func:`napari_sleap_train.engine.unet.build_model`, which uses
   SLEAP's layer names);
2. the weights are copied from the h5's ``model_weights`` group layer by
   layer, matched by name (h5py, no Keras 2 needed).

Input channels and the number of confidence-map channels are read from the
weights themselves (first conv kernel, head kernel), so a grayscale/RGB or
part-name mismatch cannot slip through.

Our run folders hold ``best_model.keras`` (loaded by Keras) and
``training_config.json`` (SLEAP layout), optionally ``config.json`` in our own
format, which wins when present.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import keras
import numpy as np

from napari_sleap_train.config.model import ModelKind, TrainingConfig
from napari_sleap_train.engine.acceleration import float32_copy, is_mixed
from napari_sleap_train.engine.errors import EngineConfigError
from napari_sleap_train.engine.unet import (
    CONFMAP_HEAD_NAMES,
    OFFSET_HEAD_NAME,
    PAF_HEAD_NAME,
    build_model,
)

#: Point conventions of input scaling (see :mod:`napari_sleap_train.data.scaling`).
POINTS_PIXEL_CENTRE = "pixel_centre"  # ours: (p + 0.5) * s - 0.5
POINTS_MULTIPLY = "multiply"  # SLEAP 1.4: p * s


class ModelLoadError(EngineConfigError):
    """A model folder cannot be loaded; the message says why in plain words."""


@dataclass
class LoadedModel:
    """A trained network with what inference needs to know about it.

    Attributes
    ----------
    kind
        Centroid, centered instance or single instance.
    config
        Its training configuration.
    keras_model
        The network; outputs confidence maps (and offsets when
        ``has_offsets``).
    path
        The model folder.
    source
        ``"sleap"`` (SLEAP 1.4 ``.h5``) or ``"keras"`` (our ``.keras``).
    channels
        Input channels the network expects (1 or 3).
    n_outputs
        Confidence-map channels (1 for centroids, else one per part).
    part_names
        Node names of the confidence-map channels (``None``: the skeleton's
        nodes in order).
    has_offsets
        The network has an offset-refinement head.
    point_convention
        How input scaling maps points (:data:`POINTS_PIXEL_CENTRE` or
        :data:`POINTS_MULTIPLY`).
    paf_edges
        Bottom-up models: ``(m, 2)`` ``[source, destination]`` confidence-map
        channels of each part affinity field, in the fields' order.
    classes
        Identity models: the class (track) names of the class head's outputs.
    """

    kind: ModelKind
    config: TrainingConfig
    keras_model: keras.Model
    path: Path
    source: str
    channels: int
    n_outputs: int
    part_names: list[str] | None = None
    has_offsets: bool = False
    point_convention: str = POINTS_PIXEL_CENTRE
    loaded_layers: list[str] = field(default_factory=list)
    paf_edges: np.ndarray | None = None
    classes: list[str] | None = None
    _predict_fn: object = field(default=None, init=False, repr=False)

    @property
    def predict_fn(self):
        """The network as a traced ``tf.function`` (about 10% faster than eager calls on CPU).

        Traced once per input shape; ``reduce_retracing`` keeps frames of
        different sizes from piling up traces.
        """
        if self._predict_fn is None:
            import tensorflow as tf

            net = self.keras_model
            self._predict_fn = tf.function(lambda x: net(x, training=False), reduce_retracing=True)
        return self._predict_fn

    @property
    def input_scaling(self) -> float:
        return float(self.config.data.input_scaling)

    @property
    def max_stride(self) -> int:
        return int(self.config.model.max_stride)

    @property
    def output_stride(self) -> int:
        return int(self.config.model.output_stride)

    @property
    def crop_size(self) -> int | None:
        return self.config.data.crop_size

    @property
    def pafs_stride(self) -> int:
        return int(self.config.pafs.output_stride)


# ----------------------------------------------------------------------- config


def _read_training_config(folder: Path) -> TrainingConfig:
    """Our ``config.json`` when present, else SLEAP's ``training_config.json``."""
    ours = folder / "config.json"
    if ours.is_file():
        from napari_sleap_train.config.serialize import ConfigError, from_dict

        try:
            data = json.loads(ours.read_text())
        except json.JSONDecodeError as exc:
            raise ModelLoadError(f"{ours} is not valid JSON: {exc}") from None
        # accept a bare TrainingConfig or one wrapped as {"config": {...}}
        if isinstance(data, dict) and "kind" not in data and isinstance(data.get("config"), dict):
            data = data["config"]
        try:
            return from_dict(TrainingConfig, data)
        except ConfigError:
            pass  # not a TrainingConfig (e.g. a whole job); use the SLEAP file below
    sleap_json = folder / "training_config.json"
    if not sleap_json.is_file():
        raise ModelLoadError(f"{folder} is not a model folder: training_config.json is missing.")
    try:
        from napari_sleap_train.config.sleap_json import read_sleap_config
    except ImportError as exc:  # pragma: no cover - only while the config module is missing
        raise ModelLoadError(f"cannot read SLEAP configs: {exc}") from exc
    return read_sleap_config(sleap_json)


# ----------------------------------------------------------------------- h5 weights


def h5_layer_weights(h5_path: str | Path) -> dict[str, list[np.ndarray]]:
    """Weights of every layer in a Keras 2 ``.h5`` model file, by layer name.

    Reads the ``model_weights`` group (or the root of a weights-only file):
    each layer group lists its arrays in ``weight_names`` order.
    """
    out: dict[str, list[np.ndarray]] = {}
    try:
        f = h5py.File(str(h5_path), "r")
    except OSError as exc:
        raise ModelLoadError(f"{h5_path} cannot be read as an HDF5 model file ({exc}).") from None
    with f:
        root = f.get("model_weights", f)
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in root.attrs.get("layer_names", list(root))]
        for name in names:
            if name not in root:
                continue
            group = root[name]
            weight_names = group.attrs.get("weight_names")
            if weight_names is None:
                continue
            arrays = []
            for wn in weight_names:
                wn = wn.decode() if isinstance(wn, bytes) else str(wn)
                arrays.append(np.asarray(group[wn]))
            if arrays:
                out[name] = arrays
    return out


def assign_layer_weights(
    model, stored: dict[str, list[np.ndarray]]
) -> tuple[list[str], list[str], list[tuple[str, list, list]]]:
    """Copy ``stored`` arrays into the same-named layers of ``model`` where every shape fits.

    Returns
    -------
    loaded, missing, mismatched
        Layers that received weights; layers with weights that ``stored`` lacks;
        ``(layer, expected shapes, stored shapes)`` for layers whose shapes differ.
    """
    loaded, missing, mismatched = [], [], []
    for layer in model.layers:
        if not layer.weights:
            continue
        arrays = stored.get(layer.name)
        if arrays is None:
            missing.append(layer.name)
            continue
        expected = [tuple(w.shape) for w in layer.weights]
        got = [tuple(a.shape) for a in arrays]
        if expected != got:
            mismatched.append((layer.name, expected, got))
            continue
        layer.set_weights([np.asarray(a).astype(np.dtype(w.dtype)) for a, w in zip(arrays, layer.weights)])
        loaded.append(layer.name)
    return loaded, missing, mismatched


def load_h5_weights(model: keras.Model, h5_path: str | Path) -> list[str]:
    """Copy weights from a SLEAP ``.h5`` into ``model`` by layer name.

    Returns
    -------
    list of str
        Names of the layers that received weights.

    Raises
    ------
    ModelLoadError
        A layer of ``model`` has no weights in the file, or their shapes differ.
    """
    stored = h5_layer_weights(h5_path)
    loaded, missing, shapes = assign_layer_weights(model, stored)
    mismatched = [f"{name} (model {expected}, file {got})" for name, expected, got in shapes]
    if missing or mismatched:
        parts = []
        if missing:
            parts.append(f"layers missing from the file: {', '.join(missing)}")
        if mismatched:
            parts.append(f"layers of another shape: {'; '.join(mismatched)}")
        raise ModelLoadError(
            f"The weights in {h5_path} do not fit the network described by its "
            f"training_config.json ({'; '.join(parts)})."
        )
    unused = sorted(set(stored) - set(loaded))
    if unused:
        raise ModelLoadError(
            f"{h5_path} holds layers the rebuilt network does not have: {', '.join(unused)}. "
            "The architecture is not a SLEAP U-Net this plugin can rebuild."
        )
    return loaded


def _paf_edges(cfg: TrainingConfig, folder: Path, n_parts: int, n_edges: int) -> np.ndarray:
    """Channel pairs of a bottom-up model's fields, from its config.

    The part names must be in the config (SLEAP and our training record them):
    the skeleton embedded in ``training_config.json`` lists its nodes in the
    order of its edges, not of the channels. Edges may come from it.
    """
    from napari_sleap_train.config.serialize import ConfigError
    from napari_sleap_train.config.sleap_json import read_sleap_skeletons

    names, edges = cfg.head.part_names, cfg.pafs.edges
    if edges is None:
        try:
            skeletons = read_sleap_skeletons(folder / "training_config.json")
        except ConfigError:
            skeletons = []
        if skeletons:
            edges = [list(e) for e in skeletons[0].edge_names]
    if names is None or edges is None:
        raise ModelLoadError(
            f"{folder}: the bottom-up model's config does not name its body parts and part affinity field edges."
        )
    if len(names) != n_parts or len(edges) != n_edges:
        raise ModelLoadError(
            f"{folder}: the config names {len(names)} body parts and {len(edges)} edges, but the network "
            f"predicts {n_parts} confidence maps and {n_edges} part affinity fields."
        )
    try:
        return np.array([[names.index(a), names.index(b)] for a, b in edges], dtype=int).reshape(-1, 2)
    except ValueError:
        raise ModelLoadError(f"{folder}: an edge of the config names a body part the model does not predict.") from None


def _classes(cfg: TrainingConfig, folder: Path, head: list[np.ndarray] | None) -> list[str]:
    """Class names of an identity model's class head (the weights give their number)."""
    if head is None:
        raise ModelLoadError(f"{folder}: the identity model has no class head in its weights.")
    n = int(head[0].shape[-1])
    classes = cfg.identity.classes
    if classes is None:
        classes = cfg.identity.classes = [f"class_{i}" for i in range(n)]
    if len(classes) != n:
        raise ModelLoadError(
            f"{folder}: the config names {len(classes)} classes ({', '.join(classes)}) but the network predicts {n}."
        )
    return list(classes)


def _head_shapes(stored: dict[str, list[np.ndarray]], kind: ModelKind) -> tuple[int, int, bool]:
    """Input channels, confidence-map channels and offset head presence from the weights."""
    first = stored.get("stack0_enc0_conv0")
    head = stored.get(CONFMAP_HEAD_NAMES[kind])
    if first is None or head is None:
        present = ", ".join(sorted(stored)) or "nothing"
        raise ModelLoadError(
            f"The file does not hold a SLEAP U-Net {kind.value} model "
            f"(expected layers stack0_enc0_conv0 and {CONFMAP_HEAD_NAMES[kind]}; found {present})."
        )
    return int(first[0].shape[2]), int(head[0].shape[-1]), OFFSET_HEAD_NAME in stored


# ----------------------------------------------------------------------- folders


def load_sleap_model(folder: str | Path) -> LoadedModel:
    """Load a SLEAP 1.4 model folder (``training_config.json`` + ``best_model.h5``)."""
    folder = Path(folder)
    h5 = folder / "best_model.h5"
    if not h5.is_file():
        raise ModelLoadError(f"{folder} has no best_model.h5.")
    cfg = _read_training_config(folder)
    stored = h5_layer_weights(h5)
    channels, n_out, has_offsets = _head_shapes(stored, cfg.kind)
    if has_offsets != bool(cfg.head.offset_refinement):
        cfg.head.offset_refinement = has_offsets  # the weights decide
    if cfg.kind != ModelKind.CENTROID and cfg.head.part_names is not None and len(cfg.head.part_names) != n_out:
        raise ModelLoadError(
            f"{folder}: the config names {len(cfg.head.part_names)} body parts but the network predicts {n_out}."
        )
    n_edges, paf_edges = 0, None
    if cfg.kind == ModelKind.MULTI_INSTANCE:
        if PAF_HEAD_NAME not in stored:
            raise ModelLoadError(f"{h5} is a bottom-up model without its {PAF_HEAD_NAME} layer.")
        n_edges = int(stored[PAF_HEAD_NAME][0].shape[-1]) // 2
        paf_edges = _paf_edges(cfg, folder, n_out, n_edges)
    classes = None
    if cfg.kind.is_identity:
        from napari_sleap_train.engine.identity_net import CLASS_HEAD_NAMES

        classes = _classes(cfg, folder, stored.get(CLASS_HEAD_NAMES[cfg.kind]))
    model = build_model(cfg, n_out, channels, n_edges=n_edges)
    loaded = load_h5_weights(model, h5)
    return LoadedModel(
        kind=cfg.kind,
        config=cfg,
        keras_model=model,
        path=folder,
        source="sleap",
        channels=channels,
        n_outputs=n_out,
        part_names=list(cfg.head.part_names) if cfg.head.part_names else None,
        has_offsets=has_offsets,
        point_convention=POINTS_MULTIPLY,
        loaded_layers=loaded,
        paf_edges=paf_edges,
        classes=classes,
    )


def load_keras_model(folder: str | Path) -> LoadedModel:
    """Load one of our run folders (``best_model.keras`` + config)."""
    folder = Path(folder)
    path = folder / "best_model.keras"
    cfg = _read_training_config(folder)
    try:
        model = keras.saving.load_model(str(path), compile=False)
    except Exception as exc:
        raise ModelLoadError(f"{path} could not be loaded ({type(exc).__name__}: {exc}).") from exc
    outputs = model.outputs
    head = outputs[0]
    multi = cfg.kind == ModelKind.MULTI_INSTANCE
    identity = cfg.kind.is_identity
    n_edges = int(outputs[1].shape[-1]) // 2 if multi and len(outputs) > 1 else 0
    if multi and not n_edges:
        raise ModelLoadError(f"{path} is a bottom-up model without part affinity fields.")
    if is_mixed(model):
        # Trained with mixed precision (e.g. on a GPU): predict in float32, which
        # every device runs, with the same float32 weights.
        n_parts, channels, hw = int(head.shape[-1]), int(model.inputs[0].shape[-1]), model.inputs[0].shape[1:3]
        model = float32_copy(model, lambda: build_model(cfg, n_parts, channels, tuple(hw), n_edges=n_edges))
        outputs = model.outputs
    return LoadedModel(
        kind=cfg.kind,
        config=cfg,
        keras_model=model,
        path=folder,
        source="keras",
        channels=int(model.inputs[0].shape[-1]),
        n_outputs=int(head.shape[-1]),
        part_names=list(cfg.head.part_names) if cfg.head.part_names else None,
        has_offsets=len(outputs) > (2 if multi or identity else 1),
        point_convention=POINTS_PIXEL_CENTRE,
        paf_edges=_paf_edges(cfg, folder, int(head.shape[-1]), n_edges) if multi else None,
        classes=list(cfg.identity.classes) if identity else None,
    )


def load_model_folder(folder: str | Path) -> LoadedModel:
    """Load a model folder of either kind (our ``.keras`` wins over a SLEAP ``.h5``).

    Raises
    ------
    ModelLoadError
        The folder does not exist or holds no model.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelLoadError(f"Model folder not found: {folder}")
    if (folder / "best_model.keras").is_file():
        return load_keras_model(folder)
    if (folder / "best_model.h5").is_file():
        return load_sleap_model(folder)
    raise ModelLoadError(f"{folder} holds no trained model (expected best_model.keras or best_model.h5).")
