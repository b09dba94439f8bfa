"""A wall-time budget for a whole pipeline, split between its models (pure Python).

With ``PipelineConfig.time_limit_minutes`` set, the clock starts when the
child process starts the job, so loading labels, TensorFlow and decoding
frames count too. Each model, when its turn comes, gets the time still left
times its share among the models not trained yet (``optimization.time_share``,
e.g. 0.4 centroid / 0.6 centered instance): a model that stops early (early
stopping, Stop) leaves its unused time to the next one.

Snapshots: ``PipelineConfig.snapshot_minutes`` are minutes of the pipeline
budget; a model that gets a fraction ``f`` of the budget copies its best
model after ``f * minutes`` of its own training, so the models' snapshots at
"5 minutes" together form the pipeline as it stood after a quarter of a
20-minute budget. Without a budget they are minutes of each model's training.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from napari_sleap_train.engine.errors import EngineConfigError


@dataclass
class Snapshot:
    """Copy ``best_model.keras`` to ``name`` once the model has trained ``seconds``.

    ``label`` says what the time stands for (e.g. "5 min of a 20 min budget").
    """

    seconds: float
    name: str
    label: str = ""


def snapshot_name(minutes: float) -> str:
    """File name of the best-model snapshot taken at ``minutes`` (``best_model.at5min.keras``)."""
    return f"best_model.at{minutes:g}min.keras"


def check_shares(shares: Sequence[float]) -> None:
    """Reject negative or all-zero time shares with a plain message."""
    if any(not (s >= 0) or not math.isfinite(s) for s in shares) or not any(s > 0 for s in shares):
        raise EngineConfigError(
            f"Time shares of the models must be zero or positive and not all zero, got {list(shares)}."
        )


class PipelineBudget:
    """Hands out the time of a pipeline budget to its models in training order.

    Parameters
    ----------
    minutes
        The whole budget (``None``: no budget; every method then returns ``None``).
    shares
        Relative share of each model still to train, in training order.
    start
        ``time.monotonic()`` when the budget began (default: now).
    """

    def __init__(self, minutes: float | None, shares: Sequence[float], start: float | None = None):
        if minutes is not None and not minutes > 0:
            raise EngineConfigError(f"The pipeline time limit must be positive, got {minutes} minutes.")
        check_shares(shares)
        self.minutes = minutes
        self.shares = list(shares)
        self.start = time.monotonic() if start is None else start
        self._next = 0

    @property
    def seconds_left(self) -> float | None:
        if self.minutes is None:
            return None
        return max(0.0, self.minutes * 60.0 - (time.monotonic() - self.start))

    def next_model(self) -> tuple[float | None, float | None]:
        """``(deadline, seconds)`` of the next model (``(None, None)`` without a budget)."""
        i = self._next
        self._next += 1
        if self.minutes is None:
            return None, None
        rest = sum(self.shares[i:])
        fraction = self.shares[i] / rest if rest > 0 else 1.0
        seconds = self.seconds_left * fraction
        return time.monotonic() + seconds, seconds

    def snapshots(self, snapshot_minutes: Sequence[float], model_seconds: float | None) -> list[Snapshot]:
        """Snapshots of the next model for pipeline minutes ``snapshot_minutes``.

        With a budget, minute ``m`` maps to ``m / budget`` of the model's time;
        snapshots at or beyond the budget are left out (the final model is
        ``best_model.keras``). Without one, ``m`` minutes of the model's training.
        """
        out = []
        for m in sorted(set(float(m) for m in snapshot_minutes)):
            if not m > 0:
                raise EngineConfigError(f"Snapshot times must be positive minutes, got {m}.")
            if self.minutes is None or model_seconds is None:
                out.append(Snapshot(m * 60.0, snapshot_name(m), f"{m:g} min of training"))
            elif m < self.minutes:
                out.append(
                    Snapshot(
                        model_seconds * m / self.minutes,
                        snapshot_name(m),
                        f"{m:g} min of a {self.minutes:g} min pipeline budget",
                    )
                )
        return out
