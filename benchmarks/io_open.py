"""Benchmark: opening a SLEAP project and stepping through its video lazily.

Run from the repository root::

    python -m benchmarks.io_open [path/to/project.slp]

Defaults to ``../shared/data/fly/clip.slp`` (1500 frames, 1024x1024 gray).
Prints:

* time to read the project into layer data, and to build the napari layer
  objects (no canvas), and to get frame 0;
* time to step through 100 consecutive frames (as the dims slider does);
* time for a few random jumps (seeking in the compressed video);
* resident memory before and at peak while stepping through every frame,
  next to the size the whole decoded video would take.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

import numpy as np
import psutil

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fly" / "clip.slp"


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1024**2:,.0f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT), help="a .slp project")
    parser.add_argument("--steps", type=int, default=100, help="consecutive frames to time")
    args = parser.parse_args(argv)

    proc = psutil.Process()
    # Imports are timed separately: they are paid once per napari session.
    t0 = time.perf_counter()
    from napari.layers import Layer

    from napari_sleap_train.io.reader import read_slp

    t_import = time.perf_counter() - t0

    t0 = time.perf_counter()
    layer_data = read_slp(args.path)
    t_read = time.perf_counter() - t0
    videos = [d for d, m, k in layer_data if m["metadata"].get("sleap_role") == "video"]
    if not videos:
        print(f"{args.path}: no readable video; nothing to step through.")
        return 1
    video = videos[0]
    t0 = time.perf_counter()
    np.asarray(video[0])
    t_frame0 = time.perf_counter() - t0
    t0 = time.perf_counter()
    [Layer.create(d, m, k) for d, m, k in layer_data]
    t_layers = time.perf_counter() - t0
    gc.collect()
    rss_start = peak = proc.memory_info().rss

    n = video.shape[0]
    steps = min(args.steps, n - 1)
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        np.asarray(video[i])
        peak = max(peak, proc.memory_info().rss)
    t_steps = time.perf_counter() - t0

    rng = np.random.default_rng(0)
    jumps = rng.integers(0, n, size=5)
    t0 = time.perf_counter()
    for i in jumps:
        np.asarray(video[int(i)])
    t_jumps = time.perf_counter() - t0

    t0 = time.perf_counter()
    for i in range(n):
        np.asarray(video[i])
        if i % 10 == 0:
            peak = max(peak, proc.memory_info().rss)
    t_all = time.perf_counter() - t0
    peak = max(peak, proc.memory_info().rss)
    whole = video.size  # uint8: one byte per element

    print(f"project: {args.path}")
    print(f"video: {video.shape} uint8, decoded size of whole video {_mb(whole)}")
    print(f"imports (napari + plugin, once per session): {t_import:6.2f} s")
    print(f"read project -> layer data:                 {t_read:6.2f} s")
    print(f"get frame 0:                                {t_frame0 * 1000:6.1f} ms")
    print(f"build napari layers (no canvas):            {t_layers:6.2f} s")
    print(f"open total (read + frame 0 + layers):       {t_read + t_layers + t_frame0:6.2f} s")
    print(
        f"step {steps} consecutive frames:                {t_steps:6.2f} s "
        f"({t_steps / steps * 1000:.1f} ms/frame, {steps / t_steps:.0f} frames/s)"
    )
    print(f"5 random jumps (seeks):                     {t_jumps:6.2f} s ({t_jumps / 5 * 1000:.0f} ms/jump)")
    print(f"step through all {n} frames:              {t_all:6.2f} s ({n / t_all:.0f} frames/s)")
    print(
        f"RSS after open {_mb(rss_start)}, peak while stepping {_mb(peak)} "
        f"(growth {_mb(peak - rss_start)}; cache holds {video.cache_capacity} frames)"
    )
    print(f"peak growth / whole decoded video: {(peak - rss_start) / whole:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
