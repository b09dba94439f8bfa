"""Helpers shared by the benchmark modules and ``python -m benchmarks``.

Nothing here imports TensorFlow, Qt or napari: the machine description reads
package metadata and system files instead, so the runner process stays light
and every benchmark's memory figures belong to its own subprocess.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

#: Where ``python -m benchmarks`` writes its JSON results (gitignored).
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory in MB of this process (or of waited-for children)."""
    peak = resource.getrusage(who).ru_maxrss
    return maxrss_to_mb(peak)


def maxrss_to_mb(ru_maxrss: int) -> float:
    """Convert ``ru_maxrss`` to MB (KiB on Linux, bytes on macOS)."""
    return ru_maxrss / 1024**2 if sys.platform == "darwin" else ru_maxrss / 1024


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5
            )
            if out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def _ram_gb() -> float | None:
    try:
        import psutil

        return psutil.virtual_memory().total / 1024**3
    except ImportError:
        pass
    try:
        text = Path("/proc/meminfo").read_text()
        kb = int(re.search(r"MemTotal:\s+(\d+)", text).group(1))
        return kb / 1024**2
    except (OSError, AttributeError):
        return None


def _physical_cores() -> int | None:
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except ImportError:
        return None


def _usable_cores() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count()


def _version(*dists: str) -> str | None:
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def _gpus() -> list[str]:
    """GPU names from ``nvidia-smi`` (TensorFlow is not imported to ask)."""
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run(
                [smi, "--query-gpu=name,memory.total", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            return [line.strip() for line in out.stdout.splitlines() if line.strip()]
        except (OSError, subprocess.SubprocessError):
            return []
    if sys.platform == "darwin" and platform.machine() == "arm64" and _version("tensorflow-metal"):
        return ["Apple GPU (tensorflow-metal)"]
    return []


def machine_description() -> dict[str, Any]:
    """What the figures were measured on: CPU, cores, RAM, OS, Python, TensorFlow, GPU."""
    ram = _ram_gb()
    gpus = _gpus()
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": _usable_cores(),
        "physical_cores": _physical_cores(),
        "ram_gb": round(ram, 1) if ram is not None else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow", "tensorflow-cpu", "tensorflow-macos"),
        "keras": _version("keras"),
        "napari_sleap_train": _version("napari-sleap-train"),
        "gpu": gpus or None,
    }


def describe_machine(machine: dict[str, Any]) -> str:
    """One readable paragraph of :func:`machine_description`."""
    cores = f"{machine['logical_cores']} logical cores"
    if machine.get("physical_cores"):
        cores += f" ({machine['physical_cores']} physical)"
    if machine.get("usable_cores") and machine["usable_cores"] != machine["logical_cores"]:
        cores += f", {machine['usable_cores']} usable"
    ram = f"{machine['ram_gb']:.1f} GB RAM" if machine.get("ram_gb") is not None else "RAM unknown"
    gpu = ", ".join(machine["gpu"]) if machine.get("gpu") else "none"
    return (
        f"CPU: {machine['cpu']}, {cores}, {ram}\n"
        f"OS: {machine['os']}; Python {machine['python']}; "
        f"TensorFlow {machine.get('tensorflow') or 'not installed'}, Keras {machine.get('keras') or '-'}\n"
        f"GPU: {gpu}"
    )


def timestamp() -> str:
    """Local time as ``YYYYmmdd-HHMMSS`` (file-name safe, sorts by time)."""
    return time.strftime("%Y%m%d-%H%M%S")


def write_results(data: dict[str, Any], path: str | os.PathLike | None = None) -> Path:
    """Write results as indented JSON (default: ``benchmarks/results/<timestamp>.json``)."""
    target = Path(path) if path is not None else RESULTS_DIR / f"{timestamp()}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return target


def format_table(rows: list[list[Any]], headers: list[str]) -> str:
    """A plain-text table with a header rule; columns sized to their widest cell."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


_NUMBER = re.compile(r"\d")
_COLON = re.compile(r"^\s*(?P<label>[^\s].{0,59}?):\s+(?P<value>.+)$")
_ALIGNED = re.compile(r"^\s*(?P<label>\S.{0,59}?\S)\s{2,}(?P<value>[-+]?\.?\d.*)$")


def _balanced(text: str) -> bool:
    return text.count("(") == text.count(")") and text.count("[") == text.count("]")


def parse_figures(output: str) -> dict[str, str]:
    """Figures in a benchmark's printed output, as a dict of strings.

    Two line forms count: ``label: value`` and column-aligned ``label   value``
    (two or more spaces, value starting with a number). Values must hold a
    digit; repeated labels get a ``#2``, ``#3`` suffix. Used for benchmark
    modules that print their results instead of returning them.
    """
    figures: dict[str, str] = {}
    for line in output.splitlines():
        match = _COLON.match(line)
        if match is None or not _balanced(match["label"]):
            match = _ALIGNED.match(line)
        if match is None:
            continue
        label = " ".join(match["label"].split())
        value = match["value"].strip()
        if not _balanced(label) or not _NUMBER.search(value):
            continue
        key, n = label, 1
        while key in figures:
            n += 1
            key = f"{label} #{n}"
        figures[key] = value
    return figures
