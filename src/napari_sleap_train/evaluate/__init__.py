"""Accuracy of predictions against user labels (numpy only): OKS mAP, pixel error, PCK, swaps, pose novelty."""

from .matching import match_greedy, match_hungarian, oks, oks_matrix
from .metrics import (
    ErrorStats,
    EvaluationError,
    EvaluationResult,
    evaluate,
    write_metrics,
)
from .novelty import NoveltyBin, novelty_breakdown, pose_novelty
from .swaps import SwapAnalysis, label_swaps, swap_analysis, symmetric_partners

__all__ = [
    "ErrorStats",
    "NoveltyBin",
    "SwapAnalysis",
    "EvaluationError",
    "EvaluationResult",
    "evaluate",
    "label_swaps",
    "novelty_breakdown",
    "match_greedy",
    "match_hungarian",
    "oks",
    "oks_matrix",
    "pose_novelty",
    "swap_analysis",
    "symmetric_partners",
    "write_metrics",
]
