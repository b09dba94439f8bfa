"""The *Training Pipeline* tab: pipeline kind, anchor part, sigmas, output and predict-on.

Short fields share rows and the rarely changed ones (run name, device, precision, XLA) sit in
a folded *Advanced* section, so the tab fits a 1366x768 screen without scrolling.
"""

from __future__ import annotations

from pathlib import Path

from magicgui.widgets import (
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    LineEdit,
    PushButton,
    SpinBox,
)

from napari_sleap_train.config.model import (
    ModelKind,
    PipelineKind,
    Precision,
    PredictOn,
    Switch,
)
from napari_sleap_train.runner.devices import device_choices
from napari_sleap_train.session.settings import TrainingSession

from . import tooltips as tips
from .binding import Binder
from .paf_section import edge_sigma_box
from .sections import add_qt, add_stretch, collapsible, compact_combo, inline_label, pair_row, wrap
from .tracking_section import TrackingSection

#: label shown for "no anchor part"
BBOX_CENTER = "(bounding box center)"

PIPELINE_CHOICES = [
    ("Top-down (multiple animals)", PipelineKind.TOP_DOWN),
    ("Bottom-up (multiple animals)", PipelineKind.BOTTOM_UP),
    ("Single instance (one animal)", PipelineKind.SINGLE_INSTANCE),
    ("Top-down with identity (top-down-id)", PipelineKind.TOP_DOWN_ID),
    ("Bottom-up with identity (bottom-up-id)", PipelineKind.BOTTOM_UP_ID),
]
#: the Tracking section's title, and its tooltip, while an identity pipeline is chosen (no extra row: it fits 1366x768)
IDENTITY_TRACKING_TITLE = "Tracking: none, the identity classes are the tracks"
IDENTITY_TRACKING_NOTE = (
    "No tracker for identity models: their classes are the tracks (each prediction lands on its class's track)."
)

PRECISION_CHOICES = [
    ("Automatic (tensor cores)", Precision.AUTO),
    ("On (float16)", Precision.MIXED),
    ("Off (float32)", Precision.FLOAT32),
]
VIEWS_CHOICES = [
    ("8: quarter turns and mirrors", 8),
    ("4: quarter turns", 4),
    ("2: the crop and its half turn", 2),
    ("1: each crop once (as SLEAP)", 1),
]
XLA_CHOICES = [("Automatic (NVIDIA GPUs)", Switch.AUTO), ("On", Switch.ON), ("Off", Switch.OFF)]
PREDICT_ON_CHOICES = [
    ("Nothing", PredictOn.NOTHING),
    ("Current frame", PredictOn.CURRENT_FRAME),
    ("Random frames (all videos)", PredictOn.RANDOM_FRAMES),
    ("Random frames (current video)", PredictOn.RANDOM_FRAMES_CURRENT_VIDEO),
    ("Suggested frames", PredictOn.SUGGESTED_FRAMES),
    ("User-labeled frames", PredictOn.USER_LABELED_FRAMES),
    ("Entire current video", PredictOn.CURRENT_VIDEO),
    ("All videos", PredictOn.ALL_VIDEOS),
]

_RANDOM = (PredictOn.RANDOM_FRAMES, PredictOn.RANDOM_FRAMES_CURRENT_VIDEO)


def node_names(project) -> list[str]:
    """Skeleton node names of a project (empty without one)."""
    if project is None:
        return []
    return list(project.node_names)


def _sigma_box(label: str, tooltip: str) -> FloatSpinBox:
    """Spin box for a confidence-map sigma (pixels)."""
    return FloatSpinBox(min=0.5, max=50, step=0.25, label=label, tooltip=tooltip)


class PipelineTab(Container):
    """Pipeline-level settings and the configuration buttons.

    The buttons are exposed as attributes (``view_inputs``, ``save_config``,
    ``load_config``); the dock connects them.
    """

    def __init__(self, session: TrainingSession) -> None:
        super().__init__(labels=False, name="pipeline")
        self.session = session
        self.binder = binder = Binder()
        self._closed = False
        self.margins = (6, 6, 6, 6)
        p = session.pipeline.events

        self.kind = binder.bind(
            ComboBox(choices=PIPELINE_CHOICES, label="Pipeline", tooltip=tips.PIPELINE),
            p.kind,
        )
        self.anchor = binder.bind(
            ComboBox(
                choices=lambda _w: [(BBOX_CENTER, "")] + [(n, n) for n in node_names(session.project)],
                label="Anchor part",
                tooltip=tips.ANCHOR,
            ),
            p.anchor_part,
            to_widget=lambda v: v or "",
            from_widget=lambda v: v or None,
        )
        self.sigma_centroid = binder.bind(
            _sigma_box("Sigma (centroids)", tips.SIGMA_CENTROID),
            session.model(ModelKind.CENTROID).head.events.sigma,
        )
        self.sigma_nodes = binder.bind(
            _sigma_box("Sigma (nodes)", tips.SIGMA_NODES),
            session.model(ModelKind.CENTERED_INSTANCE).head.events.sigma,
        )
        self.sigma_single = binder.bind(
            _sigma_box("Sigma (nodes)", tips.SIGMA_NODES),
            session.model(ModelKind.SINGLE_INSTANCE).head.events.sigma,
        )
        # identity pipelines: the sigmas of their own models
        self.sigma_nodes_id = binder.bind(
            _sigma_box("Sigma (nodes)", tips.SIGMA_NODES),
            session.model(ModelKind.MULTI_CLASS_TOPDOWN).head.events.sigma,
        )
        self.sigma_multi_id = binder.bind(
            _sigma_box("Sigma (nodes)", tips.SIGMA_NODES),
            session.model(ModelKind.MULTI_CLASS_BOTTOMUP).head.events.sigma,
        )
        # bottom-up: SLEAP's "sigma for nodes" and "sigma for edges" (the model tab has them too)
        multi = session.model(ModelKind.MULTI_INSTANCE)
        self.sigma_multi = binder.bind(_sigma_box("Sigma (nodes)", tips.SIGMA_NODES), multi.head.events.sigma)
        self.sigma_edges = binder.bind(edge_sigma_box("Sigma (edges)"), multi.pafs.events.sigma)
        # a float box with no decimals: superqt's integer box never shows a special text for 0
        self.max_instances = FloatSpinBox(min=0, max=1000, step=1, label="Max instances", tooltip=tips.MAX_INSTANCES)
        self.max_instances.native.setDecimals(0)
        self.max_instances.native.setSpecialValueText("no limit")  # shown for 0
        binder.bind(
            self.max_instances,
            p.max_instances,
            to_widget=lambda v: float(v or 0),
            from_widget=lambda v: int(round(v)) or None,
        )
        # the pipeline's budget, as the command line's --time-limit (per-model limits are in the model tabs)
        self.time_budget = FloatSpinBox(
            min=0, max=100000, step=1, label="Time budget", tooltip=tips.PIPELINE_TIME_LIMIT
        )
        self.time_budget.native.setSuffix(" min")
        self.time_budget.native.setSpecialValueText("no budget")  # shown for 0
        binder.bind(
            self.time_budget,
            p.time_limit_minutes,
            to_widget=lambda v: 0.0 if v is None else float(v),
            from_widget=lambda v: float(v) if v > 0 else None,
        )
        self.runs_folder = binder.bind(
            FileEdit(mode="d", label="Runs folder", tooltip=tips.RUNS_FOLDER),
            p.runs_folder,
            to_widget=Path,
            from_widget=str,
        )
        self.run_prefix = binder.bind(
            LineEdit(label="Run name prefix", tooltip=tips.RUN_PREFIX),
            p.run_name_prefix,
        )
        # GPUs are listed with nvidia-smi: TensorFlow never loads in napari
        self.device = binder.bind(
            ComboBox(
                choices=[(c.label, c.value) for c in device_choices()],
                label="Device",
                tooltip=tips.DEVICE,
            ),
            p.device,
        )
        self.precision = binder.bind(
            ComboBox(choices=PRECISION_CHOICES, label="Mixed precision", tooltip=tips.PRECISION),
            p.precision,
        )
        self.xla = binder.bind(
            ComboBox(choices=XLA_CHOICES, label="XLA compile", tooltip=tips.XLA),
            p.xla,
        )
        self.views = binder.bind(
            ComboBox(choices=VIEWS_CHOICES, label="Test-time views", tooltip=tips.TEST_TIME_VIEWS),
            p.test_time_views,
        )
        self.predict_on = binder.bind(
            ComboBox(choices=PREDICT_ON_CHOICES, label="Predict on", tooltip=tips.PREDICT_ON),
            p.predict_on,
        )
        self.predict_n = binder.bind(
            SpinBox(min=1, max=100000, label="Random frames", tooltip=tips.PREDICT_N),
            p.predict_n_frames,
        )
        # what the choice selects, in plain words (filled in by the dock, which knows the frame)
        self.predict_info = Label(value="", label="", tooltip=tips.PREDICT_ON)
        wrap(self.predict_info)
        self.runs_folder.choose_btn.text = "Browse"
        for combo in (self.kind, self.anchor, self.predict_on, self.device, self.precision, self.xla, self.views):
            compact_combo(combo)
        self.view_inputs = PushButton(text="View Training Image Inputs", tooltip=tips.VIEW_INPUTS)
        self.save_config = PushButton(text="Save config...", tooltip=tips.SAVE_CONFIG)
        self.load_config = PushButton(text="Load config...", tooltip=tips.LOAD_CONFIG)
        # what export-job writes, from these settings (the dock connects them: widgets/export_actions.py)
        self.export_job = PushButton(text="Export job...", tooltip=tips.EXPORT_JOB)
        self.save_sleap_configs = PushButton(text="SLEAP configs...", tooltip=tips.SAVE_SLEAP_CONFIGS)
        # two rows of buttons, short names: the dock must fit a 1366x768 screen
        inputs_row = Container(widgets=[self.view_inputs, self.export_job], layout="horizontal", labels=False)
        config_row = Container(
            widgets=[self.save_config, self.load_config, self.save_sleap_configs], layout="horizontal", labels=False
        )
        for row in (inputs_row, config_row):
            row.margins = (0, 0, 0, 0)

        # Short fields share a row (two columns) so that everything needed before Run
        # fits a 1366x768 screen; the labels inside a row name the second field.
        self._centroid_label = inline_label("centroids", tips.SIGMA_CENTROID)
        self._nodes_label = inline_label("nodes", tips.SIGMA_NODES)
        self._single_label = inline_label("nodes", tips.SIGMA_NODES)
        self._multi_label = inline_label("nodes", tips.SIGMA_NODES)
        self._edges_label = inline_label("edges", tips.SIGMA_EDGES)
        self._nodes_id_label = inline_label("nodes", tips.SIGMA_NODES)
        self._multi_id_label = inline_label("nodes", tips.SIGMA_NODES)
        self._max_label = inline_label("Max instances", tips.MAX_INSTANCES)
        sigma_row = pair_row(
            "Sigma",
            [
                self._centroid_label,
                self.sigma_centroid,
                self._nodes_label,
                self.sigma_nodes,
                self._single_label,
                self.sigma_single,
                self._multi_label,
                self.sigma_multi,
                self._edges_label,
                self.sigma_edges,
                self._nodes_id_label,
                self.sigma_nodes_id,
                self._multi_id_label,
                self.sigma_multi_id,
            ],
        )
        budget_row = pair_row("Time budget", [self.time_budget, self._max_label, self.max_instances])
        self.form = Container(
            widgets=[
                self.kind,
                self.anchor,
                sigma_row,
                budget_row,
                self.runs_folder,
                self.predict_on,
                self.predict_n,
                self.predict_info,
            ],
            labels=True,
        )
        self.form.margins = (0, 0, 0, 0)
        for container in (self, self.form):  # tighter rows: more of them in sight beside the loss plot
            container.native.layout().setSpacing(3)
        # rarely changed: folded away
        self.advanced = Container(
            widgets=[self.run_prefix, self.device, self.precision, self.xla, self.views], labels=True
        )
        self.advanced.margins = (0, 0, 0, 0)
        self.extend([self.form])
        self.tracking = TrackingSection(session)  # the tracker of the predictions
        self.tracking_section = collapsible("Tracking", self.tracking)
        self.advanced_section = collapsible("Advanced (run name, device, precision, views)", self.advanced)
        add_qt(self, self.tracking_section)
        add_qt(self, self.advanced_section)
        self.extend([inputs_row, config_row])
        add_stretch(self)
        p.kind.connect(self._refresh_visible)
        p.predict_on.connect(self._refresh_visible)
        session.project_changed.connect(self._on_project)
        self._refresh_visible()

    def _on_project(self, *_: object) -> None:
        if not self._closed:
            self.binder.refresh(self.anchor)  # the anchor choices are the project's nodes

    def _refresh_visible(self, *_: object) -> None:
        if self._closed:
            return
        kind = self.session.pipeline.kind
        top_down_id, bottom_up_id = kind is PipelineKind.TOP_DOWN_ID, kind is PipelineKind.BOTTOM_UP_ID
        top_down = kind is PipelineKind.TOP_DOWN
        bottom_up = kind is PipelineKind.BOTTOM_UP
        crops = top_down or top_down_id  # a centroid model and crops around its anchors
        many = kind is not PipelineKind.SINGLE_INSTANCE
        self.anchor.visible = crops
        self.sigma_centroid.visible = crops
        self.sigma_nodes.visible = top_down
        self.max_instances.visible = many
        self.views.visible = top_down  # the centered-instance crops (identity crops predict once)
        self.sigma_single.visible = kind is PipelineKind.SINGLE_INSTANCE
        self.sigma_multi.visible = self.sigma_edges.visible = bottom_up
        self.sigma_nodes_id.visible = top_down_id
        self.sigma_multi_id.visible = bottom_up_id
        for label, shown in (
            (self._centroid_label, crops),
            (self._nodes_label, top_down),
            (self._max_label, many),
            (self._single_label, kind is PipelineKind.SINGLE_INSTANCE),
            (self._multi_label, bottom_up),
            (self._edges_label, bottom_up),
            (self._nodes_id_label, top_down_id),
            (self._multi_id_label, bottom_up_id),
        ):
            label.visible = shown
        # identity models put predictions on their classes' tracks: a tracker has nothing to do
        identity = top_down_id or bottom_up_id
        self.tracking_section.setEnabled(not identity)
        if identity:
            self.tracking_section.collapse(animate=False)
        self.tracking_section.setText(IDENTITY_TRACKING_TITLE if identity else "Tracking")
        self.tracking_section.setToolTip(IDENTITY_TRACKING_NOTE if identity else "")
        self.predict_n.visible = self.session.pipeline.predict_on in _RANDOM

    def close(self) -> None:
        """Disconnect from the state before the widgets go away (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.binder.disconnect()
        self.tracking.close()
        p = self.session.pipeline.events
        p.kind.disconnect(self._refresh_visible)
        p.predict_on.disconnect(self._refresh_visible)
        self.session.project_changed.disconnect(self._on_project)
