"""Accuracy metrics of predictions against user labels (numpy only): OKS mAP, pixel error, PCK."""

from .matching import match_greedy, match_hungarian, oks, oks_matrix
from .metrics import (
    ErrorStats,
    EvaluationError,
    EvaluationResult,
    evaluate,
    write_metrics,
)

__all__ = [
    "ErrorStats",
    "EvaluationError",
    "EvaluationResult",
    "evaluate",
    "match_greedy",
    "match_hungarian",
    "oks",
    "oks_matrix",
    "write_metrics",
]
