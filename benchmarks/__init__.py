"""Benchmarks of napari-sleap-train: ``python -m benchmarks [--quick]`` from the repository root.

Each ``benchmarks/<name>.py`` is one benchmark with ``main(argv)`` (and
optionally ``run(quick) -> dict``); :mod:`benchmarks.common` holds the
shared helpers (machine description, peak RSS, JSON results, tables).
"""
