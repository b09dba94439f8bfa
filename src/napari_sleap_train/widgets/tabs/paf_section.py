"""The *Heads* section of the bottom-up (multi-instance) model tab.

A bottom-up model has two heads: confidence maps of every body part (sigma,
loss weight; their output stride is the Model section's) and part affinity
fields, one 2-channel field per skeleton edge (SLEAP's "sigma for edges",
their own output stride, loss weight). A note under the boxes says in frame
pixels how far the fields reach and warns when the field grid cannot work.
"""

from __future__ import annotations

from magicgui.widgets import ComboBox, Container, FloatSpinBox, Label

from napari_sleap_train.config.model import TrainingConfig
from napari_sleap_train.data.pafs import half_width

from . import tooltips as tips
from .binding import Binder
from .sections import wrap

#: output strides the field grid may take
PAF_STRIDES = [1, 2, 4, 8, 16, 32]


def edge_sigma_box(label: str = "Sigma for edges") -> FloatSpinBox:
    """Spin box for SLEAP's edge sigma (its meaning: see :mod:`napari_sleap_train.data.pafs`)."""
    return FloatSpinBox(min=1.0, max=1000.0, step=5.0, label=label, tooltip=tips.SIGMA_EDGES)


def _weight_box(label: str, tooltip: str) -> FloatSpinBox:
    return FloatSpinBox(min=0.0, max=100.0, step=0.1, label=label, tooltip=tooltip)


def paf_note(cfg: TrainingConfig, skeleton_edges: list | None = None) -> str:
    """What the field settings mean, in frame pixels, and what would make them fail.

    ``skeleton_edges`` are the open project's (``None`` without one).
    """
    p, m = cfg.pafs, cfg.model
    scaling = cfg.data.input_scaling
    reach = half_width(p.sigma) / scaling
    grid = p.output_stride / scaling
    note = f"Fields reach {reach:.1f} px each side of an edge; one arrow every {grid:g} px."
    if skeleton_edges is not None and not skeleton_edges and p.edges is None:
        return "The skeleton has no edges: a bottom-up model needs them (each edge gets a field); add edges to it."
    if p.output_stride % m.output_stride or p.output_stride > m.max_stride:
        return (
            f"{note} The fields' output stride must be a multiple of the confidence maps' "
            f"({m.output_stride}) and at most the max stride ({m.max_stride})."
        )
    if 2 * half_width(p.sigma) < p.output_stride:
        return f"{note} The fields are narrower than their grid: raise the sigma for edges or lower the output stride."
    return note


class PafSection(Container):
    """Confidence-map and part affinity field settings of one multi-instance model.

    Parameters
    ----------
    binder
        The tab's binder (the widgets disconnect with the tab's).
    cfg
        The live multi-instance config.
    """

    def __init__(self, binder: Binder, cfg: TrainingConfig) -> None:
        super().__init__(labels=True, name="heads")
        self.margins = (4, 0, 0, 0)
        head, pafs = cfg.head.events, cfg.pafs.events
        self.sigma = binder.bind(
            FloatSpinBox(min=0.5, max=50, step=0.25, label="Sigma for nodes", tooltip=tips.SIGMA_NODES), head.sigma
        )
        self.confmap_weight = binder.bind(
            _weight_box("Confidence-map weight", tips.CONFMAP_LOSS_WEIGHT), head.loss_weight
        )
        self.edge_sigma = binder.bind(edge_sigma_box(), pafs.sigma)
        self.paf_stride = binder.bind(
            ComboBox(choices=PAF_STRIDES, label="Field output stride", tooltip=tips.PAF_OUTPUT_STRIDE),
            pafs.output_stride,
        )
        self.paf_weight = binder.bind(_weight_box("Field weight", tips.PAF_LOSS_WEIGHT), pafs.loss_weight)
        self.info = Label(value="", label="", tooltip=tips.SIGMA_EDGES)
        wrap(self.info)
        self.extend([self.sigma, self.edge_sigma, self.paf_stride, self.confmap_weight, self.paf_weight, self.info])
        self.refresh(cfg)

    def refresh(self, cfg: TrainingConfig, skeleton_edges: list | None = None) -> None:
        """Rewrite the note after a change of ``cfg`` or of the project (its ``skeleton_edges``)."""
        self.info.value = paf_note(cfg, skeleton_edges)
