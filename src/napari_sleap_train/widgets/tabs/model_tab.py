"""One tab per model of the pipeline: profile picker and Data / Optimization /
Augmentation / Model sections, bound to the model's settings in a
:class:`~napari_sleap_train.session.settings.TrainingSession`."""

from __future__ import annotations

from collections.abc import Callable

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    Label,
    SpinBox,
)
from napari.utils.notifications import show_error

from napari_sleap_train.config.model import ModelKind, TrainingConfig
from napari_sleap_train.config.serialize import ConfigError
from napari_sleap_train.data.errors import DataError
from napari_sleap_train.session.identity import classes_of
from napari_sleap_train.session.profiles import NO_PROFILE, load_model_choice, profile_choices
from napari_sleap_train.session.settings import TrainingSession

from . import tooltips as tips
from .augmentation_section import AugmentationSection
from .binding import Binder
from .identity_section import IdentitySection
from .paf_section import PafSection
from .reuse_controls import ReuseControls
from .rows import row, section
from .sections import (
    add_qt,
    add_stretch,
    collapsible,
    compact_combo,
    set_decimals,
    wrap,
)
from .texts import receptive_field_text

#: tab titles, as SLEAP names them
TITLES = {
    ModelKind.CENTROID: "Centroid",
    ModelKind.CENTERED_INSTANCE: "Centered Instance",
    ModelKind.SINGLE_INSTANCE: "Single Instance",
    ModelKind.MULTI_INSTANCE: "Multi-Instance",
    ModelKind.MULTI_CLASS_TOPDOWN: "Centered Instance ID",
    ModelKind.MULTI_CLASS_BOTTOMUP: "Multi-Instance ID",
}

#: computes the auto crop size (original pixels) for a config, None without labels
AutoCrop = Callable[[TrainingConfig], "int | None"]


class ModelTab(Container):
    """Settings of one model (``kind``) of the pipeline.

    Parameters
    ----------
    kind
        Which model of the pipeline this tab edits.
    session
        Shared settings (this tab edits ``session.model(kind)``).
    auto_crop
        Function giving the auto crop size for a config (``None`` without a project).
    """

    def __init__(
        self,
        kind: ModelKind,
        session: TrainingSession,
        auto_crop: AutoCrop,
    ) -> None:
        super().__init__(labels=False, name=kind.value)
        self.kind = kind
        self.session = session
        self.binder = binder = Binder()  # this tab's widgets only
        self._closed = False
        self._auto_crop = auto_crop
        self.margins = (4, 4, 4, 4)
        cfg = session.model(kind)  # live and never replaced: bind to its fields' signals
        data, opt, aug, net = (cfg.data.events, cfg.optimization.events, cfg.augmentation.events, cfg.model.events)

        # -- profile --------------------------------------------------------
        self._refreshing = False
        self.profile = ComboBox(
            choices=profile_choices(session.pipeline.runs_folder, kind),
            value=NO_PROFILE,
            tooltip=tips.PROFILE,
            name="profile",
        )
        compact_combo(self.profile)
        self.profile.changed.connect(self._on_profile)
        self.append(row(Label(value="Settings from:"), self.profile, tooltip=tips.PROFILE))
        # weights are a separate choice: scratch, start from, resume or use a trained run
        self.reuse = ReuseControls(kind, session)
        self.append(self.reuse)
        self.reuse.how.changed.connect(self._refresh_trained)
        self.reuse.run.changed.connect(self._refresh_trained)

        # -- data -----------------------------------------------------------
        self.input_scaling = binder.bind(
            FloatSpinBox(
                min=0.05,
                max=1.0,
                step=0.05,
                label="Input scaling",
                tooltip=tips.INPUT_SCALING,
            ),
            data.input_scaling,
        )
        data_widgets = [self.input_scaling]
        self.crop_auto = self.crop_size = self.crop_info = None
        if kind.is_cropped:  # centered instance, with or without identity
            self.crop_auto = binder.bind(
                CheckBox(text="Auto", tooltip=tips.CROP_AUTO),
                data.crop_size,
                to_widget=lambda v: v is None,
                from_widget=lambda auto: None if auto else int(self.crop_size.value),
            )
            self.crop_size = SpinBox(min=16, max=2048, step=16, value=128, tooltip=tips.CROP_SIZE)
            binder.bind(
                self.crop_size,
                data.crop_size,
                to_widget=lambda v: self.crop_size.value if v is None else int(v),
                from_widget=lambda v: None if self.crop_auto.value else int(v),
            )
            self.crop_info = Label(value="", label="", tooltip=tips.CROP_SIZE)
            wrap(self.crop_info)
            data_widgets += [
                row(
                    self.crop_auto,
                    self.crop_size,
                    label="Crop size",
                    tooltip=tips.CROP_SIZE,
                ),
                self.crop_info,
            ]
        self.validation = binder.bind(
            FloatSpinBox(
                min=0.0,
                max=0.9,
                step=0.05,
                label="Validation fraction",
                tooltip=tips.VALIDATION,
            ),
            data.validation_fraction,
        )
        data_widgets.append(self.validation)

        # -- optimization ---------------------------------------------------
        self.batch_size = binder.bind(
            SpinBox(min=1, max=512, label="Batch size", tooltip=tips.BATCH_SIZE),
            opt.batch_size,
        )
        self.epochs = binder.bind(
            SpinBox(min=1, max=100000, label="Epochs", tooltip=tips.EPOCHS),
            opt.epochs,
        )
        self.learning_rate = FloatSpinBox(
            min=1e-6,
            max=1.0,
            step=1e-5,
            label="Learning rate",
            tooltip=tips.LEARNING_RATE,
        )
        set_decimals(self.learning_rate, 6)
        binder.bind(self.learning_rate, opt.learning_rate)
        self.patience = binder.bind(
            SpinBox(min=1, max=10000, label="Early-stop patience", tooltip=tips.PATIENCE),
            cfg.optimization.early_stopping.events.patience,
        )
        self.plateau_patience = binder.bind(
            SpinBox(
                min=1,
                max=10000,
                label="Plateau patience",
                tooltip=tips.PLATEAU_PATIENCE,
            ),
            cfg.optimization.plateau.events.patience,
        )
        self.plateau_factor = binder.bind(
            FloatSpinBox(
                min=0.01,
                max=0.99,
                step=0.05,
                label="Plateau LR factor",
                tooltip=tips.PLATEAU_FACTOR,
            ),
            cfg.optimization.plateau.events.factor,
        )
        # a float box with no decimals: superqt's integer box never shows a special text for 0
        self.time_limit = FloatSpinBox(
            min=0,
            max=100000,
            step=10,
            label="Model time limit (min)",
            tooltip=tips.TIME_LIMIT,
        )
        self.time_limit.native.setDecimals(0)
        self.time_limit.native.setSpecialValueText("no limit")  # shown for 0
        binder.bind(
            self.time_limit,
            opt.time_limit_minutes,
            to_widget=lambda v: 0.0 if v is None else float(round(v)),
            from_widget=lambda v: None if v == 0 else float(round(v)),
        )
        self.balance_poses = binder.bind(CheckBox(text="Balance poses", tooltip=tips.BALANCE_POSES), opt.balance_poses)
        opt_widgets = [
            self.batch_size,
            self.epochs,
            self.learning_rate,
            self.patience,
            self.plateau_patience,
            self.plateau_factor,
            self.time_limit,
            self.balance_poses,
        ]

        # -- augmentation ---------------------------------------------------
        self.augmentation = AugmentationSection(binder, aug, kind)

        # -- model ----------------------------------------------------------
        self.max_stride = binder.bind(
            ComboBox(choices=[8, 16, 32, 64], label="Max stride", tooltip=tips.MAX_STRIDE),
            net.max_stride,
        )
        self.output_stride = binder.bind(
            ComboBox(
                choices=[1, 2, 4, 8, 16],
                label="Output stride",
                tooltip=tips.OUTPUT_STRIDE,
            ),
            net.output_stride,
        )
        self.filters = binder.bind(
            SpinBox(min=4, max=512, label="Filters", tooltip=tips.FILTERS),
            net.filters,
        )
        self.filters_rate = binder.bind(
            FloatSpinBox(
                min=1.0,
                max=4.0,
                step=0.5,
                label="Filters rate",
                tooltip=tips.FILTERS_RATE,
            ),
            net.filters_rate,
        )
        self.up_interpolate = binder.bind(
            CheckBox(text="Up-interpolate", tooltip=tips.UP_INTERPOLATE),
            net.up_interpolate,
        )
        self.rf_info = Label(value="", label="Receptive field", tooltip=tips.RECEPTIVE_FIELD)
        wrap(self.rf_info)
        model_widgets = [
            self.max_stride, self.output_stride, self.filters, self.filters_rate,
            self.up_interpolate, self.rf_info,
        ]  # fmt: skip

        self.sections = {"Data": collapsible("Data", section(*data_widgets), expanded=True)}
        self.heads: PafSection | IdentitySection | None = None
        if kind is ModelKind.MULTI_INSTANCE:  # bottom-up: confidence maps + part affinity fields
            self.heads = PafSection(binder, cfg)
            self.sections["Heads"] = collapsible("Heads (body parts, edges)", self.heads, expanded=True)
        elif kind.is_identity:  # confidence maps + a class head; the classes are the tracks
            self.heads = IdentitySection(binder, cfg)
            self.sections["Heads"] = collapsible("Heads (classes)", self.heads, expanded=True)
        self.sections["Optimization"] = collapsible("Optimization", section(*opt_widgets))
        self.sections["Augmentation"] = collapsible("Augmentation", section(*self.augmentation.rows))
        self.sections["Model"] = collapsible("Model", section(*model_widgets), expanded=True)
        for part in self.sections.values():
            add_qt(self, part)
        add_stretch(self)

        cfg.events.connect(self._on_settings_changed)
        session.pipeline.events.anchor_part.connect(self._on_settings_changed)
        self._refresh_info()
        self._refresh_enabled()
        self._refresh_trained()

    def _refresh_trained(self, *_: object) -> None:
        """A model used as it is is not trained: its training settings do not apply."""
        trains = self.reuse.trains
        for part in self.sections.values():
            part.setEnabled(trains)
        self.profile.enabled = trains

    # -- reactions -----------------------------------------------------------
    @property
    def config(self) -> TrainingConfig | None:
        """This model's live config, ``None`` when it left the pipeline."""
        if self.kind not in self.session.model_kinds:
            return None
        return self.session.model(self.kind)

    def _on_settings_changed(self, *_: object) -> None:
        if self._closed or self.kind not in self.session.model_kinds:
            return
        self._refresh_info()
        self._refresh_enabled()
        self.reuse.refresh()  # a changed network may no longer fit the run started from

    def _refresh_enabled(self) -> None:
        cfg = self.config
        if cfg is None:
            return
        self.augmentation.refresh(cfg.augmentation)
        if self.crop_size is not None:
            self.crop_size.enabled = cfg.data.crop_size is not None

    def _refresh_info(self) -> None:
        cfg = self.config
        if cfg is None:
            return
        self.rf_info.value = receptive_field_text(cfg)
        if isinstance(self.heads, IdentitySection):
            self.heads.refresh(cfg, classes_of(self.session.project))
        elif self.heads is not None:
            project = self.session.project
            self.heads.refresh(cfg, None if project is None else list(project.edges))
        if self.crop_info is not None:
            try:
                auto = self._auto_crop(self.session.trained_model(self.kind))
            except DataError as exc:
                self.crop_info.value = str(exc)
            else:
                self.crop_info.value = "Auto: open a project to compute it" if auto is None else f"Auto size: {auto} px"

    def _on_profile(self, choice: str) -> None:
        if self._refreshing or choice in (NO_PROFILE, None):
            return
        try:
            cfg = load_model_choice(choice, self.kind)
        except ConfigError as exc:
            show_error(f"Could not use {choice.partition(':')[2]}: {exc}")
            return
        self.session.load_model(self.kind, cfg)

    def refresh_profiles(self) -> None:
        """Re-list trained runs (after a run finished or the runs folder changed)."""
        choices = profile_choices(self.session.pipeline.runs_folder, self.kind)
        current = self.profile.value
        self._refreshing = True  # re-selecting the shown entry must not reload it
        try:
            self.profile.choices = ()  # magicgui appends new items: rebuild to keep the order
            self.profile.choices = choices
            values = [value for _, value in choices]
            self.profile.value = current if current in values else NO_PROFILE
        finally:
            self._refreshing = False
        self.reuse.refresh_runs()

    def close(self) -> None:
        """Disconnect from the state before the widgets go away (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.binder.disconnect()
        self.session.model(self.kind).events.disconnect(self._on_settings_changed)
        self.session.pipeline.events.anchor_part.disconnect(self._on_settings_changed)
