"""Accuracy metrics of predictions against user labels (numpy only): OKS mAP, pixel error, PCK, left/right swaps."""

from .matching import match_greedy, match_hungarian, oks, oks_matrix
from .metrics import (
    ErrorStats,
    EvaluationError,
    EvaluationResult,
    evaluate,
    write_metrics,
)
from .swaps import SwapAnalysis, label_swaps, swap_analysis, symmetric_partners

__all__ = [
    "ErrorStats",
    "SwapAnalysis",
    "EvaluationError",
    "EvaluationResult",
    "evaluate",
    "label_swaps",
    "match_greedy",
    "match_hungarian",
    "oks",
    "oks_matrix",
    "swap_analysis",
    "symmetric_partners",
    "write_metrics",
]
