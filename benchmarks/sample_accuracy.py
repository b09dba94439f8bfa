"""Benchmark: accuracy on the procedural sample after a fixed training budget (hidden ground truth).

Run from the repository root::

    python -m benchmarks.sample_accuracy [--budget-minutes 10] [--test-frames 0] [--quick]

What it does, the way a user would:

1. writes the procedural sample (``write_sample_project``: 300 frames of two
   walking mice, 384x384; 40 labeled frames in ``sample.slp``, every frame in
   the hidden ``sample.truth.slp``) into a work folder;
2. trains with ``napari-sleap-train train sample.slp --time-limit B`` (the
   default profiles for this machine: ``cpu.*`` without a GPU; the budget
   covers data preparation and both models of the top-down pipeline);
3. predicts, through the same child process the widget and
   ``napari-sleap-train predict`` use, on frames that were neither labeled nor
   used for training: every unlabeled frame, or ``--test-frames N`` of them
   evenly spread; at most ``--max-instances`` animals per frame (the sample has 2);
4. evaluates the predictions against ``sample.truth.slp`` on those frames
   (:func:`napari_sleap_train.evaluate.evaluate`).

Prints the training time, detected fraction of visible nodes, median and p90
pixel error, OKS mAP, PCK@5px, and inference frames/s (steady rate between
progress reports, and end to end including TensorFlow start and model load).
``--quick``: 1.5-minute budget, 60 test frames.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make "benchmarks" importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUICK = {"budget": 1.5, "test_frames": 60}


def unlabeled_frames(labels_path: Path, n_frames: int, n: int) -> list[int]:
    """Frames of the sample video without labels (``n`` of them evenly spread; 0: all)."""
    import numpy as np
    import sleap_io as sio

    labeled = {int(lf.frame_idx) for lf in sio.load_slp(str(labels_path), open_videos=False).labeled_frames}
    free = [f for f in range(n_frames) if f not in labeled]
    if n and n < len(free):
        free = [free[int(i)] for i in np.linspace(0, len(free) - 1, n).round()]
    return free


def predict(
    labels_path: Path, model_dirs: list[str], frames: list[int], output: Path, max_instances: int | None
) -> dict[str, Any]:
    """Predict ``frames`` of video 0 in the engine child; timings from its events."""
    from napari_sleap_train.protocol.events import (
        Done,
        Error,
        Predictions,
        PredictProgress,
    )
    from napari_sleap_train.protocol.job import PredictJob
    from napari_sleap_train.runner.process import EngineProcess

    job = PredictJob(
        labels_path=str(labels_path),
        model_dirs=model_dirs,
        frames=[(0, f) for f in frames],
        output_path=str(output),
        max_instances=max_instances,
    )
    proc = EngineProcess()
    t0 = time.perf_counter()
    proc.start(job)
    progress: list[tuple[float, int]] = []
    out: dict[str, Any] = {"status": "failed", "errors": []}
    for event in proc.events():
        now = time.perf_counter() - t0
        if isinstance(event, PredictProgress):
            progress.append((now, event.done))
        elif isinstance(event, Predictions):
            out.update(n_frames=event.n_frames, n_instances=event.n_instances, written_s=now)
        elif isinstance(event, Error):
            out["errors"].append(event.message)
        elif isinstance(event, Done):
            out["status"] = event.status
    out["wall_s"] = time.perf_counter() - t0
    if progress:
        out["first_progress_s"] = progress[0][0]
        out["end_to_end_fps"] = progress[-1][1] / progress[-1][0]
        (ta, da), (tb, db) = progress[0], progress[-1]
        if tb > ta and db > da:  # the first report comes after the first batch (tracing excluded)
            out["steady_fps"] = (db - da) / (tb - ta)
    return out


def score(truth_path: Path, predictions: Path, frames: list[int]) -> dict[str, Any]:
    """Accuracy of the predictions on ``frames`` against the hidden ground truth."""
    import sleap_io as sio

    from napari_sleap_train.evaluate import evaluate

    gt = sio.load_slp(str(truth_path), open_videos=False)
    pr = sio.load_slp(str(predictions), open_videos=False)
    r = evaluate(gt, pr, frames=[(0, f) for f in frames])
    return {
        "frames": r.n_frames,
        "detected": r.detected_fraction,
        "median_px": r.pixel_error.median,
        "p90_px": r.pixel_error.p90,
        "oks_map": r.oks_map,
        "pck_5px": r.pck.get("5"),
        "false_positives": r.n_false_positives,
        "false_negatives": r.n_false_negatives,
    }


def benchmark(
    budget: float, n_test: int, seed: int, max_instances: int | None, workdir: Path, extra: list[str]
) -> dict[str, Any]:
    """Write the sample, train for ``budget`` minutes, predict unlabeled frames, score them."""
    from benchmarks.time_to_accuracy import model_speed, train
    from napari_sleap_train.protocol.events import ModelFinished, ModelStarted, Started
    from napari_sleap_train.sample import write_sample_project

    t = time.perf_counter()
    sample = write_sample_project(workdir / "sample", seed=seed)
    result: dict[str, Any] = {
        "budget_minutes": budget,
        "seed": seed,
        "sample_s": time.perf_counter() - t,
        "extra_args": extra,
        "models": {},
    }
    frames = unlabeled_frames(sample.labels_path, sample.n_frames, n_test)
    result["test_frames"] = len(frames)

    run = train(sample.labels_path, workdir / "runs", budget, [], extra, workdir / "train.log")
    events = run["events"]
    started = next((e for _, e in events if isinstance(e, Started)), None)
    models = {e.model: e for _, e in events if isinstance(e, ModelStarted)}
    finished = {e.model: e for _, e in events if isinstance(e, ModelFinished)}
    result["hardware"] = started.description if started else None
    result["training_wall_s"] = max((t for t, e in events if isinstance(e, ModelFinished)), default=run["wall_seconds"])
    result["train_command_wall_s"] = run["wall_seconds"]
    for name, ms in models.items():
        cfg_path = Path(ms.run_dir) / "config.json"
        cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
        fin = finished.get(name)
        result["models"][name] = {
            "profile": cfg.get("profile"),
            "epochs": fin.epochs_trained if fin else None,
            "reason": fin.reason if fin else None,
            **model_speed(events, name, cfg.get("optimization", {}).get("batch_size", 4)),
        }
    if run["returncode"] != 0 or not models or len(finished) < len(models):
        log = (workdir / "train.log").read_text(errors="replace").splitlines()[-15:]
        result["error"] = f"training failed (exit {run['returncode']}):\n" + "\n".join(log)
        return result

    order = [m for m in ("centroid", "centered_instance", "single_instance", "multi_instance") if m in models]
    output = workdir / "sample.predictions.slp"
    pred = predict(sample.labels_path, [models[m].run_dir for m in order], frames, output, max_instances)
    result["predict"] = pred
    if pred["status"] != "finished" or not output.exists():
        result["error"] = "prediction failed: " + ("; ".join(pred["errors"]) or pred["status"])
        return result
    result["accuracy"] = score(sample.truth_path, output, frames)
    return result


def _f(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def report(result: dict[str, Any]) -> str:
    """``label: value`` lines (read by ``python -m benchmarks``)."""
    lines = [
        f"hardware: {result.get('hardware')}",
        f"training budget: {result['budget_minutes']:g} min",
        f"training wall time: {result.get('training_wall_s', 0) / 60:.2f} min",
    ]
    for name, m in result["models"].items():
        lines.append(
            f"{name} training: {_f(m.get('samples_per_s'), '.1f')} samples/s, "
            f"{m.get('epochs')} epochs ({m.get('profile')}, ended by {m.get('reason')})"
        )
    lines.append(f"test frames: {result['test_frames']} unlabeled frames")
    acc = result.get("accuracy")
    if acc:
        lines += [
            f"detected fraction of visible nodes: {_f(acc['detected'], '.3f')}",
            f"median pixel error: {_f(acc['median_px'], '.2f')} px",
            f"p90 pixel error: {_f(acc['p90_px'], '.2f')} px",
            f"OKS mAP: {_f(acc['oks_map'], '.3f')}",
            f"PCK at 5 px: {_f(acc['pck_5px'], '.3f')}",
            f"false positives / negatives: {acc['false_positives']} / {acc['false_negatives']}",
        ]
    pred = result.get("predict") or {}
    if pred.get("steady_fps") is not None:
        lines.append(f"inference speed: {pred['steady_fps']:.1f} frames/s")
    if pred.get("end_to_end_fps") is not None:
        lines.append(
            f"inference end to end (TensorFlow start + model load): {pred['end_to_end_fps']:.1f} frames/s "
            f"({pred['wall_s']:.1f} s for {result['test_frames']} frames)"
        )
    if result.get("error"):
        lines.append(f"error: {result['error']}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget-minutes", type=float, default=10.0, help="pipeline training budget (default 10)")
    p.add_argument("--test-frames", type=int, default=0, help="unlabeled frames to test on (default 0: all 260)")
    p.add_argument("--seed", type=int, default=0, help="seed of the procedural sample (default 0)")
    p.add_argument("--max-instances", type=int, default=2, help="animals per frame at most (default 2; 0: no limit)")
    p.add_argument("--train-arg", action="append", default=[], help="extra argument for `train` (repeatable)")
    p.add_argument("--workdir", default=None, help="keep sample, runs and predictions here (default: a temp folder)")
    p.add_argument("--json", default=None, metavar="OUT", help="also write the results as JSON")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: {QUICK['budget']:g} min budget, {QUICK['test_frames']} test frames",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.budget_minutes, args.test_frames = QUICK["budget"], QUICK["test_frames"]
    if not args.budget_minutes > 0:
        print("--budget-minutes must be positive", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    keep = args.workdir is not None
    workdir = Path(args.workdir) if keep else Path(tempfile.mkdtemp(prefix="sample_accuracy."))
    try:
        result = benchmark(
            args.budget_minutes, args.test_frames, args.seed, args.max_instances or None, workdir, list(args.train_arg)
        )
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(result), flush=True)
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"results: {out}")
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    raise SystemExit(main())
