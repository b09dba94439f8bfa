"""Run the benchmarks: ``python -m benchmarks [--quick] [--only NAME] [--json OUT] [--list]``.

From the repository root. Every module ``benchmarks/<name>.py`` (other than
this runner and ``common``) is a benchmark. Each runs in its own subprocess,
so TensorFlow state and memory figures do not leak from one into the next:

* a module with ``run(quick: bool) -> dict`` is called through
  ``python -m benchmarks --child NAME`` and its dict is the figures;
* a module with only ``main(argv)`` runs as ``python -m benchmarks.<name>
  [args]`` and the ``label: value`` lines it prints are the figures.

Afterwards one table of figures (plus wall time and peak RSS of each
subprocess) is printed under a description of the machine, and everything is
written as JSON to ``benchmarks/results/<timestamp>.json`` (or ``--json OUT``).
``--quick`` uses small settings and a total time budget of 9.5 minutes.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make "benchmarks" importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    describe_machine,
    format_table,
    machine_description,
    maxrss_to_mb,
    parse_figures,
    peak_rss_mb,
    write_results,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Modules in benchmarks/ that are not benchmarks.
NOT_BENCHMARKS = {"__init__", "__main__", "common"}
#: Marker of the JSON line a ``--child`` run prints.
RESULT_MARK = "@@benchmark-result@@ "
#: Wall-time budget of a whole ``--quick`` run (the promise is: under 10 minutes).
QUICK_BUDGET_S = 570.0


@dataclass(frozen=True)
class Settings:
    """How the runner calls one benchmark that only has ``main(argv)``.

    Attributes
    ----------
    quick_args, full_args
        Command-line arguments for ``--quick`` and for a full run.
    in_quick
        Whether ``--quick`` runs it at all (long benchmarks whose short form
        measures nothing useful run only when asked for or in a full run).
    quick_timeout, full_timeout
        Seconds before the subprocess is stopped.
    """

    quick_args: tuple[str, ...] = ()
    full_args: tuple[str, ...] = ()
    in_quick: bool = True
    quick_timeout: float = 180.0
    full_timeout: float = 3600.0


#: Per-benchmark settings; modules not listed run with no arguments.
SETTINGS: dict[str, Settings] = {
    "io_open": Settings(quick_args=("--steps", "50"), quick_timeout=150.0),
    # quick: the CPU profiles only (SLEAP's baseline sizes take minutes per model here)
    "train_throughput": Settings(
        quick_args=("--frames", "12", "--batches", "3", "--profiles", "cpu"), quick_timeout=240.0
    ),
    "inference_fps": Settings(quick_args=("--frames", "8"), quick_timeout=180.0),
    # quick: 30 s training window, 4 s idle baseline (~80 s with napari and TensorFlow start-up)
    "gui_latency": Settings(quick_args=("--quick",), quick_timeout=150.0),
    # quick: 1.5 min budget, 60 test frames (~2.5 min with the sample, start-up and predicting)
    "sample_accuracy": Settings(quick_args=("--quick",), quick_timeout=210.0),
    # 20-minute budget: only in a full run or with --only time_to_accuracy
    "time_to_accuracy": Settings(quick_timeout=240.0, in_quick=False),
    # 20-minute budget, far-in-time test frames: only in a full run or with --only generalization
    "generalization": Settings(quick_timeout=240.0, in_quick=False),
    # two 20-minute trainings (top-down-id, top-down): only in a full run or with --only identity_accuracy
    "identity_accuracy": Settings(quick_timeout=600.0, in_quick=False),
    # 3 + 2 + 2 minutes of training and five predictions: only in a full run or with --only active_loop
    "active_loop": Settings(quick_timeout=600.0, in_quick=False),
    # installs sleap-nn (a few GB) on first use: only in a full run or with --only peer
    "peer": Settings(quick_args=("--quick",), quick_timeout=600.0, in_quick=False, full_timeout=7200.0),
}


# -- discovery -----------------------------------------------------------------------------
def discover() -> dict[str, Path]:
    """Benchmark modules in this folder, by name (sorted)."""
    return {p.stem: p for p in sorted(HERE.glob("*.py")) if p.stem not in NOT_BENCHMARKS and not p.stem.startswith("_")}


def _module_info(path: Path) -> tuple[str, bool]:
    """First docstring line and whether the module defines ``run`` (read without importing it)."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError) as exc:
        return f"(cannot be read: {exc})", False
    doc = (ast.get_docstring(tree) or "").strip().splitlines()
    has_run = any(isinstance(n, ast.FunctionDef) and n.name == "run" for n in tree.body)
    return (doc[0] if doc else ""), has_run


# -- one benchmark in a subprocess ---------------------------------------------------------
def _command(name: str, path: Path, quick: bool) -> list[str]:
    _, has_run = _module_info(path)
    if has_run:
        return [sys.executable, "-m", "benchmarks", "--child", name] + (["--quick"] if quick else [])
    settings = SETTINGS.get(name, Settings())
    return [sys.executable, "-m", f"benchmarks.{name}", *(settings.quick_args if quick else settings.full_args)]


def _reader(stream, sink: list[str], echo) -> None:
    for line in stream:
        sink.append(line)
        if echo is not None:
            echo.write(line)
            echo.flush()


def _flatten(values: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts of figures as one level with ``outer.inner`` keys."""
    if isinstance(values, dict):
        out: dict[str, Any] = {}
        for k, v in values.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): values}


def run_benchmark(name: str, path: Path, quick: bool, timeout: float, verbose: bool = False) -> dict[str, Any]:
    """Run one benchmark in its own subprocess; return its result record.

    The record holds ``status`` (``ok``, ``failed`` or ``timeout``), the
    command, return code, wall seconds, the subprocess's peak RSS in MB (from
    ``wait4``), its figures and its output.
    """
    cmd = _command(name, path, quick)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"), "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    out: list[str] = []
    err: list[str] = []
    threads = [
        threading.Thread(target=_reader, args=(proc.stdout, out, sys.stderr if verbose else None), daemon=True),
        threading.Thread(target=_reader, args=(proc.stderr, err, sys.stderr if verbose else None), daemon=True),
    ]
    for t in threads:
        t.start()
    status, rss_mb, timed_out = None, None, False
    if hasattr(os, "wait4"):
        # wait4 gives the child's own peak RSS, which Popen.wait would throw away
        while True:
            pid, wstatus, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status = os.waitstatus_to_exitcode(wstatus)
                proc.returncode = status
                rss_mb = maxrss_to_mb(usage.ru_maxrss)
                break
            if time.perf_counter() - start > timeout:
                timed_out = True
                _kill(proc)
                _, wstatus, usage = os.wait4(proc.pid, 0)
                status = os.waitstatus_to_exitcode(wstatus)
                proc.returncode = status
                break
            time.sleep(0.1)
    else:  # pragma: no cover - platforms without wait4
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
            status = proc.wait()
    for t in threads:
        t.join(timeout=10)
    seconds = time.perf_counter() - start
    stdout, stderr = "".join(out), "".join(err)

    figures: dict[str, Any] = {}
    result_lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARK)]
    if result_lines:
        figures = _flatten(json.loads(result_lines[-1][len(RESULT_MARK) :]))
        stdout = "\n".join(line for line in stdout.splitlines() if not line.startswith(RESULT_MARK))
    else:
        figures = parse_figures(stdout)
    state = "timeout" if timed_out else ("ok" if status == 0 else "failed")
    return {
        "name": name,
        "status": state,
        "command": cmd[1:],
        "returncode": status,
        "seconds": round(seconds, 2),
        "timeout": timeout,
        "peak_rss_mb": round(rss_mb, 1) if rss_mb is not None else None,
        "figures": figures,
        "output": stdout,
        "stderr_tail": stderr[-4000:],
    }


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole session: benchmarks may start children
    except (ProcessLookupError, PermissionError):
        pass


def _child(name: str, quick: bool) -> int:
    """Body of ``--child``: call ``benchmarks.<name>.run(quick)`` and print its dict as one marked line."""
    module = importlib.import_module(f"benchmarks.{name}")
    figures = module.run(quick=quick)
    figures = dict(figures or {})
    figures.setdefault("peak RSS of the process (MB)", round(peak_rss_mb(), 1))
    print(RESULT_MARK + json.dumps(figures, default=str), flush=True)
    return 0


# -- report --------------------------------------------------------------------------------
def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def results_table(results: list[dict[str, Any]], width: int = 90) -> str:
    """One table: every figure of every benchmark, then its wall time and peak RSS.

    Long values are wrapped at ``width`` characters onto continuation rows.
    """
    rows = []
    for r in results:
        name = r["name"]
        if r["status"] != "ok":
            rows.append([name, "status", f"{r['status']} (exit {r['returncode']})"])
            name = ""
        for key, value in r["figures"].items():
            lines = textwrap.wrap(_format_value(value), width) or [""]
            rows.append([name, key, lines[0]])
            rows += [["", "", more] for more in lines[1:]]
            name = ""
        rows.append([name, "wall time (subprocess)", f"{r['seconds']:.1f} s"])
        if r["peak_rss_mb"] is not None:
            rows.append(["", "peak RSS (subprocess)", f"{r['peak_rss_mb']:.0f} MB"])
    return format_table(rows, ["benchmark", "figure", "value"])


# -- entry point ---------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run the napari-sleap-train benchmarks, each in its own subprocess, and print one table.",
    )
    parser.add_argument("--quick", action="store_true", help="small settings; whole run under 10 minutes")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only these benchmarks (repeatable or comma-separated)",
    )
    parser.add_argument(
        "--json", default=None, metavar="OUT", help="write results here (default: benchmarks/results/<timestamp>.json)"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--verbose", "-v", action="store_true", help="show each benchmark's output as it runs")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.child:
        return _child(args.child, args.quick)
    available = discover()
    if args.list:
        width = max((len(n) for n in available), default=0)
        for name, path in available.items():
            print(f"{name:<{width}}  {_module_info(path)[0]}")
        return 0
    wanted = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    names = wanted or [n for n in available if not args.quick or SETTINGS.get(n, Settings()).in_quick]
    if not names:
        print("no benchmark modules found in benchmarks/", file=sys.stderr)
        return 2

    machine = machine_description()
    print(describe_machine(machine), flush=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    t0 = time.perf_counter()
    results = []
    for i, name in enumerate(names, 1):
        settings = SETTINGS.get(name, Settings())
        timeout = settings.quick_timeout if args.quick else settings.full_timeout
        if args.quick:
            # share what is left of the budget fairly among the benchmarks still to run
            left = QUICK_BUDGET_S - (time.perf_counter() - t0)
            timeout = min(timeout, max(left - 5 * (len(names) - i), 10.0))
        print(f"[{i}/{len(names)}] {name} ...", file=sys.stderr, flush=True)
        result = run_benchmark(name, available[name], args.quick, timeout, verbose=args.verbose)
        print(
            f"[{i}/{len(names)}] {name}: {result['status']} in {result['seconds']:.1f} s", file=sys.stderr, flush=True
        )
        if result["status"] != "ok" and not args.verbose:
            tail = (result["stderr_tail"] or result["output"])[-1500:]
            print(tail, file=sys.stderr)
        results.append(result)

    print()
    print(results_table(results))
    data = {
        "started": started,
        "quick": args.quick,
        "total_seconds": round(time.perf_counter() - t0, 1),
        "machine": machine,
        "results": results,
    }
    path = write_results(data, args.json)
    print(f"\nresults: {path}")
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
