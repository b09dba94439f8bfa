"""The run panel's words: the status line, the progress bar's text and range, the metrics lines (no Qt)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from napari_sleap_train.session.run_state import RunStatus, TrainingState
from napari_sleap_train.widgets.loss_plot import format_duration, model_title

MAX_METRICS_SHOWN = 4


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _fmt(value: Any, spec: str = ".3g") -> str:
    number = _number(value)
    return "n/a" if number is None else format(number, spec)


def format_metrics(metrics: dict[str, dict[str, Any]]) -> str:
    """One compact line per evaluated model.

    Understands the layout of :meth:`~napari_sleap_train.evaluate.metrics.EvaluationResult.to_dict`
    (``oks_map``, ``pixel_error: {mean, p90}``, ``pck: {"5": ...}``,
    ``detected_fraction``, ``n_frames``); any other dict shows its first few
    numbers.
    """
    lines = []
    for model, values in metrics.items():
        parts = []
        if "oks_map" in values:
            parts.append(f"OKS mAP {_fmt(values['oks_map'], '.3f')}")
        error = values.get("pixel_error")
        if isinstance(error, dict) and _number(error.get("mean")) is not None:
            parts.append(f"error mean {_fmt(error.get('mean'), '.2f')} px, p90 {_fmt(error.get('p90'), '.2f')} px")
        pck = values.get("pck")
        if isinstance(pck, dict) and _number(pck.get("5")) is not None:
            parts.append(f"PCK@5px {_fmt(pck['5'], '.0%')}")
        if _number(values.get("detected_fraction")) is not None:
            parts.append(f"detected {_fmt(values['detected_fraction'], '.0%')}")
        if not parts:
            numbers = [(k, v) for k, v in values.items() if _number(v) is not None]
            parts = [f"{k.replace('_', ' ')} {_fmt(v)}" for k, v in numbers[:MAX_METRICS_SHOWN]]
        if not parts:
            continue
        line = f"{model_title(model) if model else 'Pipeline'}: " + " · ".join(parts)
        n_frames = _number(values.get("n_frames"))
        if n_frames is not None and "oks_map" in values:
            line += f" ({int(n_frames)} validation frames)"
        lines.append(line)
    return "\n".join(lines)


def headline(state: TrainingState, stop_requested: bool = False) -> str:
    """The one-line status next to the buttons."""
    status = state.status
    if status is RunStatus.IDLE:
        return "Ready: press Run to train."
    if status.is_running and stop_requested:
        return "Stopping: finishing this batch, keeping the best model…"
    if status is RunStatus.STARTING:
        stage = state.stage if state.stage and state.stage != "starting" else "starting the training process"
        return stage[:1].upper() + stage[1:] + "…"
    if status.is_running and state.stage and state.stage not in ("training", "predicting"):
        return state.stage[:1].upper() + state.stage[1:] + "…"  # the status line names the model
    if status is RunStatus.TRAINING:
        index, total = state.model_position
        where = f" ({index}/{total})" if total > 1 else ""
        return f"Training {model_title(state.model).lower()} model{where}…"
    if status is RunStatus.PREDICTING:
        return "Predicting…"
    took = format_duration(state.elapsed())
    if status is RunStatus.FINISHED:
        return f"Finished in {took}."
    if status is RunStatus.STOPPED:
        return f"Stopped early after {took}: best model kept."
    if status is RunStatus.CANCELLED:
        kept = len(state.run_dirs)
        if kept:
            return (
                f"Cancelled: the model in training was discarded; {kept} finished model{'s' if kept > 1 else ''} kept."
            )
        return "Cancelled: this run was discarded."
    error = state.last_error.message.splitlines()[0] if state.last_error and state.last_error.message else ""
    return f"Failed: {error}" if error else "Failed."


@dataclass(frozen=True)
class ProgressView:
    """What the progress bar shows: ``maximum == 0`` is Qt's busy (indeterminate) bar."""

    visible: bool
    maximum: int = 0
    value: int = 0
    text: str = ""


def progress_view(state: TrainingState) -> ProgressView:
    """The progress bar for ``state``: batches of the run's epochs, predicted frames, or busy."""
    if state.status is RunStatus.IDLE:
        return ProgressView(False)
    if state.status is RunStatus.STARTING:
        # loading labels, building the pipeline, compiling
        return ProgressView(True, text=state.stage or "starting")
    if state.status is RunStatus.TRAINING:
        if state.stage != "training":
            return ProgressView(True, text=state.stage)  # between models, evaluating
        if state.batch is None and state.epoch is None:
            return ProgressView(True, text="first batch")  # being traced: can take a while
        if state.epochs and state.batches_per_epoch:
            total = state.epochs * state.batches_per_epoch
            done = state.current_epoch * state.batches_per_epoch + (0 if state.batch is None else state.batch + 1)
            epoch = min(state.current_epoch + 1, state.epochs)
            return ProgressView(True, total, min(done, total), f"epoch {epoch}/{state.epochs}")
        return ProgressView(True, text="training")
    if state.status is RunStatus.PREDICTING:
        if state.predict_total:
            done = state.predict_done
            return ProgressView(True, state.predict_total, done, f"predicting {done}/{state.predict_total} frames")
        return ProgressView(True, text="predicting")
    return ProgressView(False)
