"""The *Augmentation* section of a model tab: SLEAP's random transforms and this plugin's own.

Rotation, scale, flips, noise, contrast and brightness are SLEAP's; the crop
models add *Center jitter* (``anchor_jitter``) and the centered-instance model
*Bend limbs* (``limb_angle`` / ``limb_stretch``, :mod:`napari_sleap_train.data.limb_warp`).
"""

from __future__ import annotations

from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, Label, SpinBox

from napari_sleap_train.config.model import AugmentationConfig, ModelKind

from . import tooltips as tips
from .binding import Binder
from .rows import row
from .sections import inline_label


class AugmentationSection:
    """The augmentation widgets of one model, bound to its config's events.

    Parameters
    ----------
    binder
        The tab's binder.
    aug
        The model's ``cfg.augmentation.events``.
    kind
        The model's kind: which of this plugin's rows it gets.

    Attributes
    ----------
    rows
        The section's rows, top to bottom.
    """

    def __init__(self, binder: Binder, aug, kind: ModelKind):
        self.rotate = binder.bind(CheckBox(text="", tooltip=tips.ROTATE), aug.rotate)
        self.rotation_max = binder.bind(
            FloatSpinBox(min=0, max=180, step=5, tooltip=tips.ROTATE),
            aug.rotation_max_angle,
        )
        self.scale = binder.bind(CheckBox(text="", tooltip=tips.SCALE), aug.scale)
        self.scale_min = binder.bind(
            FloatSpinBox(min=0.1, max=5, step=0.05, tooltip=tips.SCALE),
            aug.scale_min,
        )
        self.scale_max = binder.bind(
            FloatSpinBox(min=0.1, max=5, step=0.05, tooltip=tips.SCALE),
            aug.scale_max,
        )
        self.flip = binder.bind(CheckBox(text="", tooltip=tips.FLIP), aug.flip)
        self.flip_direction = binder.bind(
            ComboBox(choices=[("left/right", True), ("up/down", False)], tooltip=tips.FLIP),
            aug.flip_horizontal,
        )
        self.noise = binder.bind(CheckBox(text="", tooltip=tips.NOISE), aug.gaussian_noise)
        self.noise_std = binder.bind(
            FloatSpinBox(min=0, max=99, step=1, tooltip=tips.NOISE),
            aug.gaussian_noise_stddev,
        )
        self.contrast = binder.bind(CheckBox(text="", tooltip=tips.CONTRAST), aug.contrast)
        self.contrast_min = binder.bind(
            FloatSpinBox(min=0.05, max=5, step=0.1, tooltip=tips.CONTRAST),
            aug.contrast_min_gamma,
        )
        self.contrast_max = binder.bind(
            FloatSpinBox(min=0.05, max=5, step=0.1, tooltip=tips.CONTRAST),
            aug.contrast_max_gamma,
        )
        self.brightness = binder.bind(CheckBox(text="", tooltip=tips.BRIGHTNESS), aug.brightness)
        # whole grey levels are enough here: integer boxes stay narrow
        self.brightness_min = binder.bind(
            SpinBox(min=-255, max=255, tooltip=tips.BRIGHTNESS),
            aug.brightness_min,
            to_widget=lambda v: round(v),
            from_widget=float,
        )
        self.brightness_max = binder.bind(
            SpinBox(min=-255, max=255, tooltip=tips.BRIGHTNESS),
            aug.brightness_max,
            to_widget=lambda v: round(v),
            from_widget=float,
        )
        self.rows = [
            row(
                self.rotate,
                Label(value="max °"),
                self.rotation_max,
                label="Rotation",
                tooltip=tips.ROTATE,
            ),
            row(
                self.scale,
                self.scale_min,
                Label(value="–"),
                self.scale_max,
                label="Scale",
                tooltip=tips.SCALE,
            ),
            row(self.flip, self.flip_direction, label="Flip", tooltip=tips.FLIP),
            row(
                self.noise,
                Label(value="std"),
                self.noise_std,
                label="Noise",
                tooltip=tips.NOISE,
            ),
            row(
                self.contrast,
                self.contrast_min,
                Label(value="–"),
                self.contrast_max,
                label="Contrast",
                tooltip=tips.CONTRAST,
            ),
            row(
                self.brightness,
                self.brightness_min,
                Label(value="–"),
                self.brightness_max,
                label="Brightness",
                tooltip=tips.BRIGHTNESS,
            ),
        ]
        self.center_jitter = None
        if ModelKind(kind).is_cropped:
            self.center_jitter = binder.bind(
                FloatSpinBox(min=0, max=25, step=1, tooltip=tips.CENTER_JITTER),
                aug.anchor_jitter,
                to_widget=lambda v: round(100.0 * v, 1),
                from_widget=lambda v: v / 100.0,
            )
            self.rows.append(
                row(self.center_jitter, inline_label("% of crop"), label="Center jitter", tooltip=tips.CENTER_JITTER)
            )
        self.limb_angle = self.limb_stretch = None
        if kind == ModelKind.CENTERED_INSTANCE:  # data/limb_warp.py
            # whole degrees and percents: integer boxes stay narrow
            self.limb_angle = binder.bind(
                SpinBox(min=0, max=60, step=5, tooltip=tips.BEND_LIMBS),
                aug.limb_angle,
                to_widget=lambda v: round(v),
                from_widget=float,
            )
            self.limb_stretch = binder.bind(
                SpinBox(min=0, max=50, step=5, tooltip=tips.BEND_LIMBS),
                aug.limb_stretch,
                to_widget=lambda v: round(100.0 * v),
                from_widget=lambda v: v / 100.0,
            )
            self.rows.append(
                row(
                    self.limb_angle,
                    inline_label("°"),
                    self.limb_stretch,
                    inline_label("% length"),
                    label="Bend limbs",
                    tooltip=tips.BEND_LIMBS,
                )
            )

    def refresh(self, aug: AugmentationConfig) -> None:
        """Enable each option's values only while the option is on."""
        self.rotation_max.enabled = aug.rotate
        self.scale_min.enabled = self.scale_max.enabled = aug.scale
        self.flip_direction.enabled = aug.flip
        self.noise_std.enabled = aug.gaussian_noise
        self.contrast_min.enabled = self.contrast_max.enabled = aug.contrast
        self.brightness_min.enabled = self.brightness_max.enabled = aug.brightness
