"""The *Heads* section of the identity model tabs (top-down-id, bottom-up-id).

Beside its confidence maps an identity model has a class head (SLEAP's
``class_vectors`` of a top-down-id model: fully connected layers on pooled
features, one probability per class for each crop; ``class_maps`` of a
bottom-up-id model: one map per class, read at the parts' peaks). The classes
are the project's track names, shown read-only: the tracks decide them.
"""

from __future__ import annotations

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, Label, SpinBox

from napari_sleap_train.config.model import ModelKind, TrainingConfig

from . import tooltips as tips
from .binding import Binder
from .sections import set_decimals, wrap

#: strides a class head may take
CLASS_STRIDES = [1, 2, 4, 8, 16, 32, 64]

CLASSES_TIP = (
    "The identities the model learns: the names of the tracks the labeled animals are on. "
    "Put each animal's instances on its own track (Tracks panel) to change them."
)
FC_LAYERS_TIP = "Fully connected layers between the pooled features and the class probabilities (num_fc_layers)."
FC_UNITS_TIP = "Units of each fully connected layer (SLEAP's num_fc_units)."
GLOBAL_POOL_TIP = (
    "Global max pooling of the features before the fully connected layers; off: the features are "
    "flattened, which fixes the crop size the model accepts."
)
VECTOR_STRIDE_TIP = "Stride of the features the class vectors are pooled from (SLEAP's class_vectors output_stride)."
MAP_STRIDE_TIP = "Class maps: one cell every this many input pixels (SLEAP's class_maps output_stride)."
MAP_SIGMA_TIP = (
    "Class maps: an animal covers the cells where Gaussians of this many grid cells on its parts exceed 0.2 "
    "(SLEAP's class_maps sigma)."
)
CLASS_WEIGHT_TIP = "Weight of the class loss next to the confidence-map loss."


def classes_text(classes: list[str], given: list[str] | None = None) -> str:
    """The classes line: the model's own when set, else the project's track names."""
    if given:
        return ", ".join(given) + " (from the loaded config)"
    if not classes:
        return "none: the labeled animals are on no track"
    return ", ".join(classes) + f" ({len(classes)} tracks)"


class IdentitySection(Container):
    """Confidence-map and class-head settings of one identity model.

    Parameters
    ----------
    binder
        The tab's binder (the widgets disconnect with the tab's).
    cfg
        The live identity config (``multi_class_topdown`` or ``multi_class_bottomup``).
    """

    def __init__(self, binder: Binder, cfg: TrainingConfig) -> None:
        super().__init__(labels=True, name="heads")
        self.margins = (4, 0, 0, 0)
        head, ident = cfg.head.events, cfg.identity.events
        self.kind = cfg.kind
        self.classes = Label(value="", label="Classes", tooltip=CLASSES_TIP)
        wrap(self.classes)
        self.confmap_weight = binder.bind(
            _weight_box("Confidence-map weight", tips.CONFMAP_LOSS_WEIGHT), head.loss_weight
        )
        self.class_weight = binder.bind(_weight_box("Class weight", CLASS_WEIGHT_TIP), ident.loss_weight)
        widgets: list = [self.classes]
        self.fc_layers = self.fc_units = self.global_pool = self.map_sigma = self.sigma = None
        if cfg.kind is ModelKind.MULTI_CLASS_TOPDOWN:
            self.fc_layers = binder.bind(
                SpinBox(min=0, max=16, label="FC layers", tooltip=FC_LAYERS_TIP), ident.num_fc_layers
            )
            self.fc_units = binder.bind(
                SpinBox(min=1, max=4096, label="FC units", tooltip=FC_UNITS_TIP), ident.num_fc_units
            )
            self.global_pool = binder.bind(CheckBox(text="Global pooling", tooltip=GLOBAL_POOL_TIP), ident.global_pool)
            self.class_stride = binder.bind(
                ComboBox(choices=CLASS_STRIDES, label="Class output stride", tooltip=VECTOR_STRIDE_TIP),
                ident.output_stride,
            )
            widgets += [self.fc_layers, self.fc_units, self.global_pool, self.class_stride]
        else:  # the crops' sigma is on the pipeline tab; a bottom-up-id model's is here too, as bottom-up's
            self.sigma = binder.bind(
                FloatSpinBox(min=0.5, max=50, step=0.25, label="Sigma for nodes", tooltip=tips.SIGMA_NODES),
                head.sigma,
            )
            self.map_sigma = binder.bind(
                FloatSpinBox(min=0.5, max=50, step=0.25, label="Class-map sigma", tooltip=MAP_SIGMA_TIP),
                ident.sigma,
            )
            self.class_stride = binder.bind(
                ComboBox(choices=CLASS_STRIDES, label="Class-map stride", tooltip=MAP_STRIDE_TIP),
                ident.output_stride,
            )
            widgets += [self.sigma, self.map_sigma, self.class_stride]
        widgets += [self.confmap_weight, self.class_weight]
        self.extend(widgets)
        self.refresh(cfg, [])

    def refresh(self, cfg: TrainingConfig, classes: list[str]) -> None:
        """Show the classes the model would learn (``classes``: the project's track names)."""
        self.classes.value = classes_text(classes, cfg.identity.classes)


def _weight_box(label: str, tooltip: str) -> FloatSpinBox:
    box = FloatSpinBox(min=0.0, max=100.0, step=0.01, label=label, tooltip=tooltip)
    set_decimals(box, 3)  # the class vectors' profile weight is 0.01
    return box
