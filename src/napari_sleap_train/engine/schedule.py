"""Early stopping, learning-rate plateau and cosine schedule (pure Python).

Kept free of Keras so the rules can be tested directly and restored when a run
is resumed. Improvement means ``val_loss < best - min_delta``; a NaN validation
loss never counts as an improvement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def _improves(value: float, best: float, min_delta: float) -> bool:
    return not math.isnan(value) and value < best - min_delta


@dataclass
class EarlyStopping:
    """Stop when validation loss has not improved for ``patience`` epochs.

    ``enabled=False`` still tracks the best epoch (for checkpoints and events)
    but never asks to stop.
    """

    patience: int = 15
    min_delta: float = 1e-8
    enabled: bool = True
    best: float = math.inf
    best_epoch: int = -1
    wait: int = 0

    def update(self, epoch: int, val_loss: float) -> bool:
        """Record an epoch's validation loss; return True if it is the new best."""
        if _improves(val_loss, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = float(val_loss), epoch, 0
            return True
        self.wait += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.enabled and self.wait >= self.patience


@dataclass
class Plateau:
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement.

    After a reduction, ``cooldown`` epochs pass before the wait counts again;
    the rate never drops below ``min_lr``.
    """

    factor: float = 0.5
    patience: int = 5
    cooldown: int = 3
    min_delta: float = 1e-6
    min_lr: float = 1e-8
    enabled: bool = True
    best: float = math.inf
    wait: int = 0
    cooldown_left: int = 0

    def update(self, val_loss: float, lr: float) -> float:
        """Record an epoch's validation loss; return the learning rate to use next."""
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if _improves(val_loss, self.best, self.min_delta):
            self.best, self.wait = float(val_loss), 0
            return lr
        if self.cooldown_left > 0 or not self.enabled:
            return lr
        self.wait += 1
        if self.wait >= self.patience and lr > self.min_lr:
            self.wait, self.cooldown_left = 0, self.cooldown
            return max(lr * self.factor, self.min_lr)
        return lr


def cosine_lr(
    epoch: float,
    epochs: int,
    base_lr: float,
    warmup_epochs: int = 0,
    min_lr: float = 1e-8,
    time_fraction: float = 0.0,
) -> float:
    """Linear warm-up for ``warmup_epochs``, then cosine decay to ``min_lr``.

    Parameters
    ----------
    epoch
        Epochs done; may be fractional (``epoch + batch / batches_per_epoch``)
        so the rate moves every batch.
    epochs
        Epochs of the run (the configured maximum): the rate reaches ``min_lr``
        as the last epoch ends (``epoch == epochs``), so that epoch still learns.
    base_lr, min_lr
        Peak and final learning rate.
    warmup_epochs
        Epochs of linear warm-up from ``base_lr / warmup_epochs``.
    time_fraction
        Fraction of a wall-time budget already used after the warm-up (0..1).
        With a time limit the decay follows whichever runs out first, epochs
        or time, so a budgeted run still ends at a low rate.
    """
    if warmup_epochs > 0 and epoch < warmup_epochs:
        return min(base_lr, base_lr * (epoch + 1) / warmup_epochs)
    span = max(1, epochs - warmup_epochs)
    t = max((epoch - warmup_epochs) / span, time_fraction)
    t = min(1.0, max(0.0, t))
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * t))


#: Peak learning rate of a run started from trained weights, as a share of the scratch rate.
#: A tenth, as in common fine-tuning practice (PyTorch Lightning's backbone ratio); for the
#: CPU recipe's 1e-3 it gives SLEAP's usual 1e-4.
FINE_TUNE_LR_FRACTION = 0.1


@dataclass
class FineTuneSchedule:
    """The optimisation settings a started-from run uses, and why (for the log)."""

    learning_rate: float
    warmup_epochs: int
    reason: str


def fine_tune_schedule(
    learning_rate: float, warmup_epochs: int, fine_tune_learning_rate: float | None, source: str
) -> FineTuneSchedule:
    """The schedule of a run whose weights come from the trained run ``source``.

    The scratch schedule (a warm-up to the full rate) would push trained
    weights far from where they were, and the first epochs would undo part of
    what they knew. A started-from run instead begins at a lower peak rate with
    no warm-up and then follows the configured schedule (cosine decay over the
    epochs or time budget, or the plateau rule). An explicit
    ``fine_tune_learning_rate`` (the command line's ``--learning-rate``, or a
    config file's) is used as it is; otherwise the peak is
    :data:`FINE_TUNE_LR_FRACTION` of ``learning_rate``.
    """
    if fine_tune_learning_rate is not None:
        peak, why = float(fine_tune_learning_rate), "the fine-tuning learning rate set for this model"
    else:
        peak = learning_rate * FINE_TUNE_LR_FRACTION
        why = f"{FINE_TUNE_LR_FRACTION:g} of the scratch rate {learning_rate:.2g}"
    warm = f" (instead of {warmup_epochs} warm-up epochs)" if warmup_epochs else ""
    reason = (
        f"Fine-tuning schedule: starting from {source}, so learning rate {peak:.2g} ({why}) "
        f"with no warm-up{warm}, so the trained weights are refined rather than relearned."
    )
    return FineTuneSchedule(learning_rate=peak, warmup_epochs=0, reason=reason)
