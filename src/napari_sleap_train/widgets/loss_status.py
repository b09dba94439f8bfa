"""The text under the loss plot: what runs, the losses, early stopping, the hardware.

Plain functions of a :class:`~napari_sleap_train.session.run_state.TrainingState`, kept
apart from the plot's drawing code. :func:`status_lines` speaks of the model the plot
shows: the one in training, or (picked in *Model:*) an earlier model of the pipeline.
"""

from __future__ import annotations

import math

from napari_sleap_train.session.run_state import LossHistory, RunStatus, TrainingState

MODEL_TITLES = {
    "centroid": "Centroid",
    "centered_instance": "Centered instance",
    "single_instance": "Single instance",
    "bottomup": "Bottom-up",
    "multi_instance": "Bottom-up",
    "multi_class_topdown": "Centered instance (identity)",
    "multi_class_bottomup": "Bottom-up (identity)",
}


def model_title(model: str) -> str:
    """Plain name of a model kind for labels."""
    return MODEL_TITLES.get(model, model.replace("_", " ").capitalize())


def format_duration(seconds: float | None) -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``; ``None`` -> ``"?"``."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_loss(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.4g}"


def stage_text(state: TrainingState) -> str:
    """``"Building pipeline (preparing training examples)…"``; predicting shows frames done."""
    stage = state.stage
    if stage == "predicting" and state.predict_total:
        stage += f" {state.predict_done}/{state.predict_total} frames"
    elif state.stage_detail:
        stage += f" ({state.stage_detail})"
    return stage[:1].upper() + stage[1:] + "…"


def status_lines(state: TrainingState, model: str | None = None) -> list[str]:
    """The text under the plot, one string per line (empty list when idle).

    Line 1: what runs now (model, epoch, batch or stage) with elapsed / ETA.
    Then: losses and best epoch; the early-stopping count; the hardware.
    ``model``: the model the plot shows; another than the current one is
    described from its own history (see :func:`history_lines`).
    """
    if state.status is RunStatus.IDLE:
        return []
    history = state.histories.get(model or "")
    if history is not None and model != state.model:
        return history_lines(state, history)
    lines: list[str] = []
    parts: list[str] = []
    if state.model:
        index, total = state.model_position
        prefix = f"{model_title(state.model)}"
        if total > 1:
            prefix += f" ({index}/{total})"
        parts.append(prefix)
    if state.status.is_running and state.stage and state.stage != "training":
        parts.append(stage_text(state))
    elif state.status is RunStatus.TRAINING and state.epochs:
        shown_epoch = min(state.current_epoch + 1, state.epochs)
        epoch_text = f"epoch {shown_epoch}/{state.epochs}"
        if state.batch is not None and state.batches_per_epoch:
            epoch_text += f", batch {state.batch + 1}/{state.batches_per_epoch}"
        elif state.stage_detail:
            epoch_text += f", {state.stage_detail}…"  # e.g. the first batch is being traced
        parts.append(epoch_text)
    parts.append(f"elapsed {format_duration(state.elapsed())}")
    eta = state.eta_now()
    if eta is not None:
        parts.append(f"ETA {format_duration(eta)}")
    lines.append(" · ".join(parts))

    losses: list[str] = []
    if state.last_batch_loss is not None and state.status is RunStatus.TRAINING:
        losses.append(f"batch {format_loss(state.last_batch_loss)}")
    if state.last_val_loss is not None:
        losses.append(f"val {format_loss(state.last_val_loss)}")
    if state.best_epoch is not None and state.best_val_loss is not None:
        losses.append(f"best {format_loss(state.best_val_loss)} at epoch {state.best_epoch + 1}")
    if losses:
        lines.append("Loss: " + " · ".join(losses))
    if state.patience and state.epoch is not None:
        lines.append(f"Early stopping: no improvement for {state.epochs_without_improvement}/{state.patience} epochs")
    if state.hardware:
        lines.append(f"Training on {state.hardware}")
    return lines


#: plain words for ModelFinished.reason
FINISH_WORDS = {
    "completed": "finished",
    "early_stopping": "stopped early (no improvement)",
    "stopped": "stopped",
    "time_limit": "stopped at the time limit",
}


def history_lines(state: TrainingState, history: LossHistory) -> list[str]:
    """Status lines of a model that is not the one in training (picked in *Model:*)."""
    model = history.model
    head = model_title(model)
    if model in state.models and len(state.models) > 1:
        head += f" ({state.models.index(model) + 1}/{len(state.models)})"
    parts = [head]
    reason = state.finish_reasons.get(model)
    if reason is not None:
        parts.append(FINISH_WORDS.get(reason, reason or "finished"))
    parts.append(f"{history.n_epochs} epoch{'s' if history.n_epochs != 1 else ''} trained")
    lines = [" · ".join(parts)]
    losses: list[str] = []
    if history.n_epochs:
        losses.append(f"train {format_loss(float(history.train_loss.data[-1]))}")
        losses.append(f"val {format_loss(float(history.val_loss.data[-1]))}")
    if history.best_epoch is not None and math.isfinite(history.best_val_loss):
        losses.append(f"best {format_loss(history.best_val_loss)} at epoch {history.best_epoch + 1}")
    if losses:
        lines.append("Loss: " + " · ".join(losses))
    if history.patience and history.best_epoch is not None and history.n_epochs:
        waited = int(history.epoch_index.data[-1]) - history.best_epoch
        lines.append(f"Early stopping: no improvement for {waited}/{history.patience} epochs")
    if state.hardware:
        lines.append(f"Trained on {state.hardware}")
    return lines
