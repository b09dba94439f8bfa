"""StableRange: the loss plot's view moves in steps, not on every redraw."""

from __future__ import annotations

import pytest

from napari_sleap_train.widgets.axis_range import StableRange, nice_ceiling


@pytest.mark.parametrize(
    "value, nice",
    [(0.2, 1.0), (1.0, 1.0), (1.01, 1.5), (2.5, 3.0), (7.0, 8.0), (8.5, 10.0), (11, 15.0), (150, 150.0), (151, 200.0)],
)
def test_nice_ceiling(value, nice):
    assert nice_ceiling(value) == pytest.approx(nice)


def test_epoch_axis_grows_in_steps_and_loss_axis_only_when_needed():
    r = StableRange()
    first = r.update(0.1, (0.5, 1.0))
    assert first is not None and first[0] == (0.0, 1.0)
    lo, hi = first[1]
    assert lo <= 0.5 and hi >= 1.0
    # more batches inside the range: nothing to do (no axis re-render)
    assert r.update(0.5, (0.55, 0.95)) is None
    assert r.update(0.9, (0.52, 1.0)) is None
    # near the end of the epoch axis: it grows one step
    x, _ = r.update(0.97, (0.52, 1.0))
    assert x == (0.0, 1.5)
    # the loss fell: the axis is re-fitted once the data fill under half of it
    assert r.update(1.3, (0.46, 1.0)) is None
    _, y = r.update(1.3, (0.46, 0.6))
    assert y[0] <= 0.46 and 0.6 <= y[1] < 0.7
    # a value above the range re-fits at once
    _, y = r.update(1.3, (0.1, 2.0))
    assert y[1] >= 2.0


def test_log_values_below_zero_and_flat_data():
    r = StableRange()
    _, y = r.update(3, (-4.0, -2.0))  # log10 of losses 1e-4..1e-2
    assert y[0] < -4.0 and y[1] > -2.0
    _, y = StableRange().update(3, (0.25, 0.25))  # one value
    assert y[0] < 0.25 < y[1]
    assert StableRange().update(None, None) == ((0.0, 1.0), (0.0, 1.0))
    r.reset()
    assert r.x is None and r.y is None
