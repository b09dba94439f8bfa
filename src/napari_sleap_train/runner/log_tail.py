"""The lines of an engine log that explain a crash, without TensorFlow's start-up noise.

TensorFlow writes a banner on every start (oneDNN, CPU instructions, CUDA
factories, absl) that says nothing about why a run died. A crash message shows
the last Python traceback when there is one, else the last lines that are not
such noise.
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path

_NOISE_PATTERNS = (
    r"oneDNN custom operations are on",
    r"This TensorFlow binary is optimized",
    r"To enable the following instructions",
    r"rebuild TensorFlow with the appropriate compiler flags",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"Attempting to register factory for plugin",
    r"All log messages before absl::InitializeLog\(\) is called",
    r"computation placer already registered",
    r"Could not find cuda drivers",
    r"TF-TRT Warning",
    r"failed call to cuInit",
    r"cuda_(executor|diagnostics|driver)\.cc",
    r"CUDA_ERROR_NO_DEVICE",
    r"tensorflow/core/util/port\.cc",
    r"tensorflow/core/platform/cpu_feature_guard\.cc",
)
_NOISE = re.compile("|".join(_NOISE_PATTERNS))
#: a TensorFlow/absl C++ log line at info or warning level: "2026-12-01 08:00:00.123: I tensorflow/..."
_CPP_INFO = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] |[IW]\d{4} \d\d:\d\d:\d\d\.\d+ )")
#: lines read from the end of the log
_WINDOW = 400


def is_startup_noise(line: str) -> bool:
    """True for TensorFlow's start-up banner and C++ info/warning lines."""
    return bool(_NOISE.search(line) or _CPP_INFO.match(line))


def explaining_lines(path: str | Path, n: int = 15) -> list[str]:
    """The last traceback of the log (its last ``n`` lines), else its last ``n`` lines that are not noise."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = [line.rstrip("\n") for line in deque(fh, maxlen=_WINDOW)]
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if starts:
        lines = lines[starts[-1] :]
    kept = [line for line in lines if line.strip() and not is_startup_noise(line)]
    return kept[-n:]
