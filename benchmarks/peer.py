"""Benchmark: side by side with sleap-nn (SLEAP's PyTorch engine) on the same frames, in one run.

Run from the repository root::

    python -m benchmarks.peer [--quick] [--reference] [--json OUT] [--repeats N]

sleap-nn is never a dependency of the plugin: it is installed from the
package index into its own git-ignored environment, ``.peer-venv/`` at the
repository root (made with ``python3.11 -m venv`` and ``pip install
sleap-nn==PEER_VERSION`` on first use, reused afterwards; ``--peer-python``
points at another one). Plain ``pip install sleap-nn`` pulls torch and
torchvision from PyPI, whose Linux wheels are the CUDA builds (about 4.5 GB
with the NVIDIA libraries; they run on a CPU too). The CPU-only torch wheels
live on download.pytorch.org, and a CPU torch under PyPI's torchvision fails
to import (``torchvision::nms does not exist``), so the CUDA build it is.

Each step runs in its own subprocess -- ours with this Python
(:mod:`benchmarks._peer_ours`), sleap-nn's with the peer environment's
(:mod:`benchmarks._peer_sleapnn`) -- and the two systems alternate step by
step (ours first in even repeats, sleap-nn first in odd ones), so load from
other work on the machine falls on both alike; the load average is sampled
around every step and reported. Figures:

* ``train_centroid``, ``train_centered_instance``: training samples/s after
  warm-up at equal sizes (centroid: input scale 0.25, filters 16;
  centered instance: 208-px crops at full scale, filters 24; both filters
  rate 2, max stride 16, output stride 2), batch 4, rotation +-180 deg only,
  decoded frames cached in memory, on the same labeled frames of
  ``fly/clip.slp`` (1024x1024);
* ``infer_topdown``: top-down frames/s on the same frames of ``clip.mp4``
  with those models (each trained briefly by its own system: the timed
  batches), batch 4, model load timed apart, peak RSS of the process. Both
  use a centroid threshold of 0 and at most 2 instances, so both always run
  the centered-instance model on the 2 best centroid peaks per frame (a
  briefly trained centroid model does not reach the usual 0.2): equal work;
* ``cpu_default_train``, ``cpu_default_infer``: the same for what each system
  gives a CPU user by default -- our ``cpu.*`` profiles against sleap-nn's
  own recommendation for the project (``ConfigGenerator.auto()``).
  ``cpu_default_train`` is top-down samples/s: one centroid and one
  centered-instance sample, ``1 / (1/centroid + 1/centered)``.

Writes a table (ours, sleap-nn, ratio) and JSON
``{"machine": ..., "rows": {NAME: {"ours", "peer", "ratio", "unit"}}, ...}``
to ``benchmarks/results/peer-<time>.json`` (or ``--json``); ``--reference``
also writes ``benchmarks/reference/peer.json`` (the README's figures).
``--quick`` (fewer frames and batches, one repeat) takes under 10 minutes
once the environment exists.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import describe_machine, format_table, machine_description, timestamp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_LABELS = ROOT.parent / "shared" / "data" / "fly" / "clip.slp"
PEER_ENV = ROOT / ".peer-venv"
PEER_VERSION = "0.3.5"
REFERENCE = HERE / "reference" / "peer.json"
ROW_NAMES = ("train_centroid", "train_centered_instance", "infer_topdown", "cpu_default_train", "cpu_default_infer")
TRAIN_UNIT = "samples/s"
INFER_UNIT = "frames/s"


@dataclass(frozen=True)
class Settings:
    """Sizes of one run (``--quick`` or full)."""

    train_frames: int
    infer_frames: int
    warmup: int
    batches: int
    default_batches: int  # timed batches at sleap-nn's default sizes (much slower on a CPU)
    repeats: int


QUICK = Settings(train_frames=16, infer_frames=12, warmup=1, batches=2, default_batches=1, repeats=1)
FULL = Settings(train_frames=60, infer_frames=200, warmup=2, batches=10, default_batches=3, repeats=1)


# -- figures, table and JSON (no subprocesses: tested directly) ----------------------------
def make_row(ours: float, peer: float, unit: str) -> dict[str, Any]:
    """One row of the report: our figure, sleap-nn's, and ours / peer."""
    ratio = ours / peer if peer and peer > 0 else None
    return {"ours": ours, "peer": peer, "ratio": ratio, "unit": unit}


def topdown_rate(centroid: float, centered: float) -> float:
    """Samples/s of one centroid plus one centered-instance training sample."""
    return 1.0 / (1.0 / centroid + 1.0 / centered)


def median_of(records: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in records))


def rows_from_steps(steps: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, dict[str, Any]]:
    """The report's rows from the raw step results (``steps[step][system] = [record per repeat]``)."""
    rows: dict[str, dict[str, Any]] = {}

    def both(step: str, key: str) -> tuple[float, float] | None:
        if step not in steps or not all(steps[step].get(s) for s in ("ours", "peer")):
            return None
        return median_of(steps[step]["ours"], key), median_of(steps[step]["peer"], key)

    for name, model in (("train_centroid", "centroid"), ("train_centered_instance", "centered_instance")):
        step = f"train.equal.{model}"
        pair = both(step, "samples_per_s")
        if pair:
            rows[name] = make_row(*pair, TRAIN_UNIT)
    c = both("train.default.centroid", "samples_per_s")
    ci = both("train.default.centered_instance", "samples_per_s")
    if c and ci:
        rows["cpu_default_train"] = make_row(topdown_rate(c[0], ci[0]), topdown_rate(c[1], ci[1]), TRAIN_UNIT)
    for name, step in (("infer_topdown", "infer.equal"), ("cpu_default_infer", "infer.default")):
        pair = both(step, "frames_per_s")
        if pair:
            rows[name] = make_row(*pair, INFER_UNIT)
    return {n: rows[n] for n in ROW_NAMES if n in rows}


def format_report(report: dict[str, Any]) -> str:
    """The peer table: one line per row with ours, sleap-nn's figure and the ratio."""
    table = []
    for name, row in report["rows"].items():
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        table.append([name, f"{row['ours']:.3g}", f"{row['peer']:.3g}", ratio, row["unit"]])
    text = format_table(table, ["figure", "ours", "sleap-nn", "ours/sleap-nn", "unit"])
    load = report.get("load_average")
    if load:
        text += "\nload average (1 min) around the steps: "
        text += f"mean {load['mean']:.2f}, min {load['min']:.2f}, max {load['max']:.2f}"
    return text


def write_json(data: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write indented JSON atomically (a temporary name in the same folder, then rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(data, indent=2, default=str) + "\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# -- the peer environment ------------------------------------------------------------------
def _base_python() -> str:
    """A Python >= 3.11 to make the peer environment with (sleap-nn needs 3.11-3.13)."""
    if sys.version_info >= (3, 11):
        return sys.executable
    for name in ("python3.11", "python3.12", "python3.13"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("sleap-nn needs Python 3.11-3.13; none was found to make its environment with.")


def ensure_peer_env(env: Path = PEER_ENV) -> Path:
    """The Python of the peer environment, made (and sleap-nn installed) when missing."""
    python = env / "bin" / "python"
    probe = [str(python), "-c", "import sleap_nn, torchvision; print(sleap_nn.__version__)"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"making the sleap-nn environment in {env} (a few GB: torch from PyPI is the CUDA build)", flush=True)
    if not python.exists():
        subprocess.run([_base_python(), "-m", "venv", str(env)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"sleap-nn=={PEER_VERSION}"], check=True)
    subprocess.run(probe, check=True, capture_output=True)
    return python


# -- steps ---------------------------------------------------------------------------------
def _load1() -> float:
    return os.getloadavg()[0]


def run_step(cmd: list[str], out: Path, loads: list[float], timeout: float, env: dict[str, str]) -> dict[str, Any]:
    """Run one step's subprocess; return the JSON it wrote (with its wall time)."""
    loads.append(_load1())
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    loads.append(_load1())
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr or proc.stdout)[-3000:]
        raise RuntimeError(f"step failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    record = json.loads(out.read_text())
    record["step_wall_s"] = round(seconds, 1)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", nargs="?", default=str(DEFAULT_LABELS), help="a .slp project (default: fly/clip.slp)")
    parser.add_argument("--quick", action="store_true", help="fewer frames and batches, one repeat (< 10 minutes)")
    parser.add_argument("--repeats", type=int, help="passes over every step (alternating who goes first)")
    parser.add_argument("--peer-python", help="Python of an existing sleap-nn environment (default: .peer-venv)")
    parser.add_argument("--only", choices=["equal", "default"], help="only the equal-size or the default rows")
    parser.add_argument("--json", help="where to write the JSON (default: benchmarks/results/peer-<time>.json)")
    parser.add_argument("--reference", action="store_true", help=f"also write {REFERENCE.relative_to(ROOT)}")
    for field in ("train_frames", "infer_frames", "warmup", "batches", "default_batches"):
        parser.add_argument("--" + field.replace("_", "-"), type=int, help="override the preset")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    overrides = {k: getattr(args, k) for k in settings.__dict__ if getattr(args, k, None) is not None}
    settings = replace(settings, **overrides)
    repeats = args.repeats or settings.repeats

    peer_python = Path(args.peer_python) if args.peer_python else ensure_peer_env()
    ours_python = sys.executable
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    labels_path = Path(args.labels).resolve()
    import sleap_io as sio

    labels = sio.load_slp(str(labels_path))
    video = str(labels.videos[0].filename)
    loads: list[float] = []
    steps: dict[str, dict[str, list[dict[str, Any]]]] = {}
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="peer-") as tmp_name:
        tmp = Path(tmp_name)
        subset = tmp / "train.slp"
        sio.Labels(
            labeled_frames=list(labels.labeled_frames[: settings.train_frames]),
            videos=list(labels.videos),
            skeletons=list(labels.skeletons),
        ).save(str(subset))
        size_sets = [args.only] if args.only else ["equal", "default"]
        n = 0
        for repeat in range(repeats):
            order = ("ours", "peer") if repeat % 2 == 0 else ("peer", "ours")
            for sizes in size_sets:
                batches = settings.batches if sizes == "equal" else settings.default_batches
                runs: dict[str, list[str]] = {"ours": [], "peer": []}
                for model in ("centroid", "centered_instance"):
                    step = f"train.{sizes}.{model}"
                    for system in order:
                        n += 1
                        out = tmp / f"{n}.json"
                        run_dir = tmp / f"run{n}.{system}.{sizes}.{model}"
                        cmd = _train_cmd(system, ours_python, peer_python, sizes, model, subset, settings, batches)
                        cmd += ["--run-dir", str(run_dir), "--out", str(out)]
                        print(f"[{time.perf_counter() - t_start:5.0f}s] {step} {system}", flush=True)
                        record = run_step(cmd, out, loads, 1800, env)
                        steps.setdefault(step, {}).setdefault(system, []).append(record)
                        runs[system].append(str(run_dir))
                step = f"infer.{sizes}"
                for system in order:
                    n += 1
                    out = tmp / f"{n}.json"
                    cmd = _infer_cmd(system, ours_python, peer_python, runs[system], labels_path, video, settings)
                    cmd += ["--out", str(out)]
                    print(f"[{time.perf_counter() - t_start:5.0f}s] {step} {system}", flush=True)
                    steps.setdefault(step, {}).setdefault(system, []).append(run_step(cmd, out, loads, 1800, env))

    report = {
        "machine": machine_description(),
        "rows": rows_from_steps(steps),
        "load_average": {"mean": statistics.fmean(loads), "min": min(loads), "max": max(loads)},
        "peer": {"package": "sleap-nn", "version": _peer_version(steps)},
        "settings": {**settings.__dict__, "repeats": repeats, "labels": str(labels_path)},
        "wall_s": round(time.perf_counter() - t_start, 1),
        "steps": steps,
    }
    print()
    print(describe_machine(report["machine"]))
    print(f"sleap-nn {report['peer']['version']}; {repeats} repeat(s); {report['wall_s']:.0f} s in all")
    print(format_report(report))
    target = write_json(report, args.json or HERE / "results" / f"peer-{timestamp()}.json")
    print(f"written: {target}")
    if args.reference:
        print(f"written: {write_json(report, REFERENCE)}")
    return 0


def _train_cmd(system, ours_python, peer_python, sizes, model, subset, settings, batches) -> list[str]:
    common = ["train", "--sizes", sizes, "--model", model, "--labels", str(subset)]
    common += ["--warmup", str(settings.warmup), "--batches", str(batches)]
    if system == "ours":
        return [ours_python, "-m", "benchmarks._peer_ours", *common]
    return [str(peer_python), str(HERE / "_peer_sleapnn.py"), *common]


def _infer_cmd(system, ours_python, peer_python, runs, labels_path, video, settings) -> list[str]:
    common = ["infer", "--models", *runs, "--frames", str(settings.infer_frames), "--batch-size", "4"]
    if system == "ours":
        return [ours_python, "-m", "benchmarks._peer_ours", *common, "--labels", str(labels_path)]
    return [str(peer_python), str(HERE / "_peer_sleapnn.py"), *common, "--video", video]


def _peer_version(steps) -> str | None:
    for per_system in steps.values():
        for record in per_system.get("peer", []):
            if record.get("sleap_nn_version"):
                return record["sleap_nn_version"]
    return None


if __name__ == "__main__":
    sys.exit(main())
