"""Plot ranges that change seldom while a training run adds points.

A pyqtgraph axis re-lays out and re-renders its tick text whenever its range
changes; with automatic ranging that is every redraw of a live loss plot, and
under software OpenGL it was the largest cost of a redraw in napari's event
loop. :class:`StableRange` grows the epoch axis in steps and moves the loss axis
only when the data leave it or fill too little of it, so most redraws only
repaint the points and lines. Plain arithmetic: no Qt here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Mantissas of the epoch-axis steps: the axis is at most 1/3 wider than the data.
NICE_STEPS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)

#: The loss axis is re-fitted when the data fill less than this share of it.
MIN_FILL = 0.5

#: Room left around the data when the loss axis is re-fitted (share of the data span).
MARGIN = 0.1

#: Room right of the last point on the epoch axis (share of its x).
X_MARGIN = 0.05


def nice_ceiling(value: float) -> float:
    """Smallest ``m * 10**k`` (``m`` in :data:`NICE_STEPS`) that is >= ``value`` (>= 1)."""
    value = max(float(value), 1.0)
    power = 10.0 ** math.floor(math.log10(value))
    for mantissa in NICE_STEPS:
        if mantissa * power >= value * (1 - 1e-12):
            return mantissa * power
    return 10.0 * power


Span = tuple[float, float]


@dataclass
class StableRange:
    """The x (epoch) and y (loss) view range of a live loss plot.

    Call :meth:`update` with the current data bounds (view coordinates, so
    log10 values on a log axis); it returns the new ``(x, y)`` ranges, or
    ``None`` when the shown range still fits.
    """

    x: Span | None = None
    y: Span | None = None

    def reset(self) -> None:
        self.x = self.y = None

    def update(self, x_max: float | None, y_bounds: Span | None) -> tuple[Span, Span] | None:
        new_x = (0.0, nice_ceiling(x_max * (1 + X_MARGIN)) if x_max is not None else 1.0)
        new_y = self.y if self.y is not None else (0.0, 1.0)
        if y_bounds is not None:
            new_y = self._fit_y(*y_bounds)
        if new_x == self.x and new_y == self.y:
            return None
        self.x, self.y = new_x, new_y
        return new_x, new_y

    def _fit_y(self, lo: float, hi: float) -> Span:
        if self.y is not None:
            a, b = self.y
            inside = a <= lo and hi <= b
            if inside and (hi - lo) >= MIN_FILL * (b - a):
                return self.y
        span = hi - lo
        if span <= 0:
            span = abs(hi) * 0.1 or 1.0
        bottom = lo - MARGIN * span
        if lo >= 0 and bottom < 0:
            bottom = 0.0  # a loss axis need not show negative values
        return bottom, hi + MARGIN * span
