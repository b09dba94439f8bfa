"""Benchmark: which frames of a new recording to label, when the model fails on poses it never saw.

Run from the repository root after ``benchmarks.generalization`` (far-in-time split)::

    python -m benchmarks.new_poses --from results/generalization-forward-... [--labels 20] [--minutes 5]

A model trained on frames 0-749 of ``fly/clip.slp`` (two standing poses) meets
frames 800-1499 as a new recording. A user then labels a few of the new
frames and fine-tunes. This benchmark plays that user, once per way of
choosing the frames, each with the same number of frames and minutes:

* ``none``: no new labels, the same minutes of fine-tuning (the control);
* ``random``: frames drawn at random;
* ``lowest score``: the frames whose predictions score lowest (the dock's
  review order);
* ``new poses``: the frames whose predicted poses lie farthest from every
  labeled pose and from each other
  (:func:`napari_sleap_train.evaluate.novelty.pick_new_poses`).

The candidates are the frames 800-1149; the test frames are the earlier run's
test frames from 1200 on (50+ frames from every candidate). A chosen frame
gets its ground truth (the user's corrections), the project is the earlier
training frames plus the chosen ones, and ``train --init-from`` fine-tunes
the earlier run's models for ``--minutes``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make "benchmarks" importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import time_to_accuracy as tta
from benchmarks.common import format_table, machine_description
from benchmarks.generalization import score

#: Candidate frames to label and the first test frame (50 frames after the last candidate).
CANDIDATES, TEST_FROM = (800, 1149), 1200
ARMS = ("none", "random", "lowest score", "new poses")


def frame_poses(labels, predicted: bool) -> dict[int, Any]:
    """``{frame: (n, k, 2)}`` of a one-video project's user (or predicted) instances, skeleton order."""
    import numpy as np

    out = {}
    for lf in labels.labeled_frames:
        insts = lf.predicted_instances if predicted else lf.user_instances
        if insts:
            out[int(lf.frame_idx)] = np.stack([i.numpy() for i in insts])
    return out


def choose(arm: str, known, predicted: dict[int, Any], scores: dict[int, float], n: int, seed: int) -> list[int]:
    """The ``n`` candidate frames an arm labels (``predicted``: the candidates' predicted poses)."""
    import numpy as np

    from napari_sleap_train.evaluate.novelty import pick_new_poses

    frames = sorted(predicted)
    if arm == "none":
        return []
    if arm == "random":
        return sorted(int(f) for f in np.random.default_rng(seed).permutation(frames)[:n])
    if arm == "lowest score":
        return sorted(sorted(frames, key=lambda f: (scores[f], f))[:n])
    if arm == "new poses":
        return sorted(frames[i] for i, _ in pick_new_poses(known, [predicted[f] for f in frames], n))
    raise ValueError(f"unknown arm {arm!r}")


def fine_tune(project: Path, runs: Path, minutes: float, init_from: list[str], anchor: str | None, log: Path):
    """``train PROJECT --init-from RUN ...`` for ``minutes`` (the earlier run's anchor part); the runs it wrote."""
    from napari_sleap_train.protocol.events import ModelFinished, ModelStarted

    extra = [arg for run in init_from for arg in ("--init-from", run)]
    extra += ["--anchor-part", anchor] if anchor else []
    run = tta.train(project, runs, minutes, [], extra, log)
    started = {e.model: e for _, e in run["events"] if isinstance(e, ModelStarted)}
    finished = {e.model: e for _, e in run["events"] if isinstance(e, ModelFinished)}
    if run["returncode"] != 0 or not started or len(finished) < len(started):
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise SystemExit(f"fine-tuning failed (exit {run['returncode']}):\n" + "\n".join(tail))
    return {
        "runs": [started[m].run_dir for m in tta.model_order(started)],
        "epochs": {m: finished[m].epochs_trained for m in finished},
        "wall_s": round(run["wall_seconds"], 1),
    }


def benchmark(source: Path, workdir: Path, n_labels: int, minutes: float, seed: int, arms=ARMS) -> dict[str, Any]:
    """Fine-tune ``source``'s final models once per arm; scores on its late test frames."""
    import numpy as np
    import sleap_io as sio

    earlier = json.loads((source / "results.json").read_text())
    extra = earlier.get("extra_args") or []
    anchor = extra[extra.index("--anchor-part") + 1] if "--anchor-part" in extra else None
    clip = tta.load_project(Path(earlier["project"]))
    train_poses = frame_poses(sio.load_slp(str(source / "train.slp"), open_videos=False), False)
    train_frames = sorted(train_poses)
    test_poses = frame_poses(sio.load_slp(str(source / "test.slp"), open_videos=False), False)
    test_frames = sorted(f for f in test_poses if f >= TEST_FROM)
    labeled = sorted(frame_poses(clip, False))
    pool = [f for f in labeled if CANDIDATES[0] <= f <= CANDIDATES[1]]
    workdir.mkdir(parents=True, exist_ok=True)
    by_kind = {p.name.rsplit(".", 1)[-1]: p for p in (source / "runs").iterdir() if p.is_dir()}
    dirs = [by_kind[k] for k in tta.model_order(by_kind)]  # the earlier run's final models
    runs = [str(d) for d in dirs]

    pool_slp = tta.subset_project(clip, pool, workdir / "candidates.slp")
    pool_pred = workdir / "candidates.predictions.slp"
    if not pool_pred.exists():
        done = tta.predict(pool_slp, dirs, pool_pred, 2)
        if not pool_pred.exists():
            raise SystemExit(f"predicting the candidates failed: {done}")
    pred = sio.load_slp(str(pool_pred), open_videos=False)
    predicted = frame_poses(pred, True)
    scores = {
        int(lf.frame_idx): float(min(i.score for i in lf.predicted_instances))
        for lf in pred.labeled_frames
        if lf.predicted_instances
    }
    known = np.concatenate(list(train_poses.values()))

    result: dict[str, Any] = {
        "source": str(source),
        "labels": n_labels,
        "minutes": minutes,
        "candidates": CANDIDATES,
        "test_frames": len(test_frames),
        "machine": machine_description(),
        "arms": {},
    }
    base = workdir / "base"
    base.mkdir(exist_ok=True)
    tta.subset_project(clip, train_frames, base / "train.slp")
    base_test = tta.subset_project(clip, test_frames, base / "test.slp")
    tta.predict(base_test, dirs, base / "predictions.slp", 2)
    result["base"] = score(base_test, base / "predictions.slp")
    for arm in arms:
        chosen = choose(arm, known, predicted, scores, n_labels, seed)
        folder = workdir / arm.replace(" ", "_")
        folder.mkdir(exist_ok=True)
        project = tta.subset_project(clip, sorted(set(train_frames) | set(chosen)), folder / "train.slp")
        test = tta.subset_project(clip, test_frames, folder / "test.slp")
        trained = fine_tune(project, folder / "runs", minutes, runs, anchor, folder / "train.log")
        out = folder / "predictions.slp"
        tta.predict(test, [Path(r) for r in trained["runs"]], out, 2)
        result["arms"][arm] = {**score(test, out), **trained, "labeled_frames": chosen}
        (workdir / "results.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


def report(result: dict[str, Any]) -> str:
    """One row per arm: found, median, p90, p95, OKS mAP; and the novelty of the test poses after it."""

    def row(name: str, m: dict[str, Any]) -> list[str]:
        new = next((b for b in reversed(m.get("novelty", [])) if b["instances"]), None)
        return [
            name,
            f"{m['detected']:.3f}",
            f"{m['median_px']:.2f}",
            f"{m['p90_px']:.2f}",
            f"{m['p95_px']:.2f}",
            f"{m['oks_map']:.3f}",
            "-" if new is None else f"{new['share']:.0%}",
        ]

    rows = [row("before (no fine-tuning)", result["base"])]
    rows += [row(arm, m) for arm, m in result["arms"].items()]
    head = ["labels chosen by", "found", "median", "p90", "p95", "OKS mAP", "test poses 8+ px from the labels"]
    lines = [
        f"{result['labels']} frames of {result['candidates'][0]}-{result['candidates'][1]} labeled, "
        f"{result['minutes']:g} minutes of fine-tuning each; {result['test_frames']} test frames from {TEST_FROM}",
        format_table(rows, head),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="source", required=True, help="workdir of a benchmarks.generalization run")
    p.add_argument("--labels", type=int, default=20, help="frames to label (default 20)")
    p.add_argument("--minutes", type=float, default=5.0, help="fine-tuning budget per arm (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--arm", action="append", choices=ARMS, default=None, help="only these arms (repeatable)")
    p.add_argument("--workdir", default=None, help="default: SOURCE/new_poses")
    args = p.parse_args(argv)
    source = Path(args.source)
    workdir = Path(args.workdir) if args.workdir else source / "new_poses"
    result = benchmark(source, workdir, args.labels, args.minutes, args.seed, tuple(args.arm or ARMS))
    print(report(result))
    print(f"results: {workdir / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
