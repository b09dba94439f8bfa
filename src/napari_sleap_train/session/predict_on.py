"""The default *Predict on* choice, one rule for the dock and the command line (no Qt).

SLEAP's dialog defaults to the suggested frames; a project without unlabeled
suggestions (the fly clip has none) would then predict nothing. The rule:
suggested frames when some are still unlabeled, else :data:`DEFAULT_RANDOM_N`
random unlabeled frames, with the reason in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass

from napari_sleap_train.config.model import PredictOn
from napari_sleap_train.predictions.frame_selection import (
    suggested_frames,
    user_labeled_frames,
)

#: random frames predicted on when the project has no unlabeled suggestions
DEFAULT_RANDOM_N = 20


@dataclass(frozen=True)
class PredictDefault:
    """The default choice for a project and why."""

    predict_on: PredictOn
    n: int
    reason: str


def default_predict_choice(labels) -> PredictDefault:
    """Suggested frames when some are unlabeled, else 20 random unlabeled frames."""
    labeled = user_labeled_frames(labels)
    suggested = suggested_frames(labels)
    open_ = [f for f in suggested if f not in labeled]
    if open_:
        return PredictDefault(
            PredictOn.SUGGESTED_FRAMES,
            DEFAULT_RANDOM_N,
            f"{len(open_)} suggested frame{'s are' if len(open_) != 1 else ' is'} not labeled yet",
        )
    why = "the project has no suggested frames" if not suggested else "every suggested frame is labeled"
    return PredictDefault(PredictOn.RANDOM_FRAMES, DEFAULT_RANDOM_N, why)


def predict_note(session, selection) -> str:
    """One line for beside the Run button: what a run predicts on, and why when the default chose it.

    Parameters
    ----------
    session
        The :class:`~.settings.TrainingSession` (its choice and the project's default).
    selection
        The :class:`~napari_sleap_train.predictions.frame_selection.FrameSelection` of its choice.
    """
    if session.pipeline.predict_on is PredictOn.NOTHING:
        return "After training: no prediction (Predict on: nothing)."
    if not selection.frames:
        return f"⚠ After training: nothing to predict on: {selection.explanation}."
    default = session.predict_default
    why = ""
    if default is not None and session.pipeline.predict_on is default.predict_on:
        why = f", as {default.reason}" if default.predict_on is PredictOn.RANDOM_FRAMES else ""
    return f"After training: predict on {selection.explanation}{why}."
