"""Benchmark: the labeling loop on the procedural sample (label, train, correct, fine-tune).

Run from the repository root::

    python -m benchmarks.active_loop [--first-minutes 3] [--second-minutes 2] [--quick]

What it does, the way a user would (every step through the command line and
its child process, as the dock runs them):

1. writes the procedural sample (two walking mice; ``--labeled`` labeled frames,
   ``--suggested`` suggested frames, every frame in the hidden ``sample.truth.slp``);
2. round 1: ``napari-sleap-train train sample.slp --time-limit FIRST``;
3. predicts the suggested frames with those runs (``predict --frames suggested``);
4. a simulated user corrects them with the hidden truth: each predicted animal
   is matched to a true one; every node more than ``--correct-px`` off (or
   missing) is moved to the truth, nodes that are not there are removed, missed
   animals are labeled from scratch and extra ones deleted; the corrected
   instances become user labels (the share of nodes corrected is reported);
5. round 2 on the labeled + corrected frames, ``--time-limit SECOND``: once
   fine-tuning from the round-1 runs (``--init-from`` each), once from scratch;
6. scores every model on held-out test frames (neither labeled nor suggested)
   against the truth: detected fraction of visible nodes, median / p90 pixel
   error, OKS mAP.

The loop works when round 2 (fine-tuned) beats round 1 and fine-tuning beats
training from scratch for the same minutes on the same frames. ``--quick`` is
a smoke test (1 + 0.5 minutes, 10 test frames).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make "benchmarks" importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
QUICK = {"first": 1.0, "second": 0.5, "test_frames": 10}
ORDER = ("centroid", "centered_instance", "single_instance")


# ------------------------------------------------------------------ the user
@dataclass
class Corrections:
    """What the simulated user did on the predicted frames."""

    frames: int = 0
    nodes: int = 0  # visible nodes of the true animals on those frames
    moved: int = 0  # nodes moved to the truth (more than the threshold off, or missing)
    removed: int = 0  # predicted nodes that are not visible in the truth
    animals_added: int = 0  # true animals no prediction found (labeled from scratch)
    animals_deleted: int = 0  # predictions of no animal

    @property
    def share(self) -> float:
        """Share of the true nodes the user had to place."""
        return self.moved / self.nodes if self.nodes else 0.0


def correct(predictions, truth, frames: list[int], px: float):
    """User instances for ``frames``: the predictions corrected with the truth (see the module docstring).

    Returns ``(labeled frames of user instances, Corrections)``; the frames are
    on the truth's video and skeleton.
    """
    import numpy as np
    import sleap_io as sio
    from scipy.optimize import linear_sum_assignment

    pred_of = {int(lf.frame_idx): lf for lf in predictions.labeled_frames}
    true_of = {int(lf.frame_idx): lf for lf in truth.labeled_frames}
    nodes = truth.skeleton.node_names
    out, c = [], Corrections()
    for f in frames:
        true = [i.numpy() for i in true_of[f].user_instances] if f in true_of else []
        pred = [_in_order(i, nodes) for i in pred_of[f].predicted_instances] if f in pred_of else []
        c.frames += 1
        cost = np.full((len(true), len(pred)), 1e6)
        for a, t in enumerate(true):
            for b, p in enumerate(pred):
                d = np.linalg.norm(t - p, axis=1)
                d = d[np.isfinite(d)]
                cost[a, b] = d.mean() if len(d) else 1e6
        rows, cols = linear_sum_assignment(cost) if cost.size else ([], [])
        match = {int(a): int(b) for a, b in zip(rows, cols) if cost[a, b] < 1e6}
        instances = []
        for a, t in enumerate(true):
            visible = np.isfinite(t).all(axis=1)
            c.nodes += int(visible.sum())
            if a not in match:
                c.animals_added += 1
                c.moved += int(visible.sum())
                xy = t
            else:
                p = pred[match[a]]
                have = np.isfinite(p).all(axis=1)
                off = ~have | (np.linalg.norm(np.nan_to_num(t - p), axis=1) > px)
                fix = visible & off
                c.moved += int(fix.sum())
                c.removed += int((have & ~visible).sum())
                xy = np.where(fix[:, None], t, p)
                xy[~visible] = np.nan
            instances.append(sio.Instance.from_numpy(xy, skeleton=truth.skeleton))
        c.animals_deleted += len(pred) - len(match)
        out.append(sio.LabeledFrame(video=truth.videos[0], frame_idx=f, instances=instances))
    return out, c


def _in_order(inst, nodes: list[str]):
    """A predicted instance's (x, y) in the truth's node order (NaN for nodes it lacks)."""
    import numpy as np

    xy = np.asarray(inst.numpy(), float)[:, :2]
    names = inst.skeleton.node_names
    return np.array([xy[names.index(n)] if n in names else (np.nan, np.nan) for n in nodes])


# ------------------------------------------------------------------ the CLI
def _cli() -> list[str]:
    return [sys.executable, "-m", "napari_sleap_train.cli"]


def train_round(project: Path, runs: Path, minutes: float, init_from: list[str], log: Path) -> dict[str, Any]:
    """``napari-sleap-train train`` (optionally ``--init-from`` each run); the runs it wrote."""
    from benchmarks.time_to_accuracy import train
    from napari_sleap_train.protocol.events import ModelFinished, ModelStarted

    extra = [arg for run in init_from for arg in ("--init-from", run)]
    load_before = os.getloadavg()[0]
    run = train(project, runs, minutes, [], extra, log)
    load_after = os.getloadavg()[0]
    events = run["events"]
    started = {e.model: e for _, e in events if isinstance(e, ModelStarted)}
    finished = {e.model: e for _, e in events if isinstance(e, ModelFinished)}
    if run["returncode"] != 0 or not started or len(finished) < len(started):
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise SystemExit(f"training failed (exit {run['returncode']}):\n" + "\n".join(tail))
    return {
        "runs": [started[m].run_dir for m in ORDER if m in started],
        "epochs": {m: finished[m].epochs_trained for m in finished},
        "wall_s": round(run["wall_seconds"], 1),
        # the machine is shared: epochs-by-time depend on its load, so each arm says what it had
        "load": (round(load_before, 1), round(load_after, 1)),
    }


def predict(project: Path, runs: list[str], frames: str, output: Path) -> Path:
    """``napari-sleap-train predict PROJECT --frames F --model ...`` (2 animals at most)."""
    cmd = [*_cli(), "predict", str(project), "--frames", frames, "-o", str(output), "--max-instances", "2"]
    for run in runs:
        cmd += ["--model", run]
    print("$ " + " ".join(cmd[2:]), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0 or not output.exists():
        raise SystemExit(f"prediction failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return output


# ------------------------------------------------------------------ the loop
def write_labels(base, frames: list, path: Path) -> Path:
    """``base``'s project with ``frames`` (user instances) added; the video by absolute path."""
    import sleap_io as sio

    out = sio.Labels(
        labeled_frames=[*base.labeled_frames, *frames],
        videos=list(base.videos),
        skeletons=list(base.skeletons),
        suggestions=list(base.suggestions),
    )
    sio.save_slp(out, str(path), verbose=False)
    return path


def _on_skeleton(frames: list, skeleton, video) -> list:
    """The same frames on the project's own skeleton and video objects."""
    import sleap_io as sio

    return [
        sio.LabeledFrame(
            video=video,
            frame_idx=lf.frame_idx,
            instances=[sio.Instance.from_numpy(i.numpy(), skeleton=skeleton) for i in lf.user_instances],
        )
        for lf in frames
    ]


def benchmark(
    first: float, second: float, n_labeled: int, n_suggested: int, n_test: int, px: float, seed: int, workdir: Path
) -> dict[str, Any]:
    """Run the loop (module docstring) in ``workdir``; return the results."""
    import numpy as np
    import sleap_io as sio

    from benchmarks.time_to_accuracy import score, subset_project
    from napari_sleap_train.sample import write_sample_project

    sample = write_sample_project(workdir / "sample", seed=seed, n_labeled=n_labeled, n_suggested=n_suggested)
    project = sio.load_slp(str(sample.labels_path), open_videos=False)
    video = project.videos[0]
    video.replace_filename(str(Path(sample.labels_path).parent.resolve() / Path(str(video.filename)).name), open=False)
    truth = sio.load_slp(str(sample.truth_path), open_videos=False)
    truth.videos[0].replace_filename(video.filename, open=False)
    labeled = sorted(int(lf.frame_idx) for lf in project.labeled_frames if lf.user_instances)
    suggested = sorted({int(s.frame_idx) for s in project.suggestions} - set(labeled))
    free = [f for f in range(sample.n_frames) if f not in set(labeled) | set(suggested)]
    test = [free[int(i)] for i in np.linspace(0, len(free) - 1, min(n_test, len(free))).round()]
    test_slp = subset_project(truth, test, workdir / "test.slp")
    start = write_labels(project, [], workdir / "round1.slp")

    def accuracy(runs: list[str], name: str) -> dict[str, Any]:
        return score(test_slp, predict(test_slp, runs, "labeled", workdir / f"{name}.test.slp"))

    t0 = time.monotonic()
    r1 = train_round(start, workdir / "runs1", first, [], workdir / "round1.log")
    result: dict[str, Any] = {
        "seed": seed,
        "labeled": len(labeled),
        "suggested": len(suggested),
        "test_frames": len(test),
        "correct_px": px,
        "rounds": {"round 1": {**r1, "minutes": first, "frames": len(labeled), "start": "scratch"}},
    }
    result["rounds"]["round 1"]["accuracy"] = accuracy(r1["runs"], "round1")
    predicted = sio.load_slp(
        str(predict(start, r1["runs"], "suggested", workdir / "round1.suggested.slp")), open_videos=False
    )
    fixed, corrections = correct(predicted, truth, suggested, px)
    result["corrections"] = {**corrections.__dict__, "share": corrections.share}
    second_slp = write_labels(project, _on_skeleton(fixed, project.skeleton, video), workdir / "round2.slp")
    n2 = len(labeled) + len(fixed)
    for name, init in (("round 2, fine-tuned", r1["runs"]), ("round 2, from scratch", [])):
        folder = "runs2_finetune" if init else "runs2_scratch"
        r = train_round(second_slp, workdir / folder, second, init, workdir / f"{folder}.log")
        start_from = "round-1 runs" if init else "scratch"
        result["rounds"][name] = {**r, "minutes": second, "frames": n2, "start": start_from}
        result["rounds"][name]["accuracy"] = accuracy(r["runs"], folder)
    result["wall_s"] = round(time.monotonic() - t0, 1)
    a1 = result["rounds"]["round 1"]["accuracy"]
    ft = result["rounds"]["round 2, fine-tuned"]["accuracy"]
    sc = result["rounds"]["round 2, from scratch"]["accuracy"]
    result["second_round_beats_first"] = _better(ft, a1)
    result["fine_tuning_beats_scratch"] = _better(ft, sc)
    return result


def _better(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """``a`` beats ``b``: higher OKS mAP, else more nodes detected, else a lower median error."""
    inf = float("inf")

    def key(m: dict[str, Any]) -> tuple[float, float, float]:
        median = m.get("median_px")
        return (m.get("oks_map") or 0.0, m.get("detected") or 0.0, -(inf if median is None else median))

    return key(a) > key(b)


def _f(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def report(result: dict[str, Any]) -> str:
    """The README table and the two verdicts."""
    c = result["corrections"]
    lines = [
        f"Procedural sample (seed {result['seed']}): {result['labeled']} labeled frames, "
        f"{result['suggested']} suggested frames predicted and corrected, {result['test_frames']} held-out "
        "test frames scored against the hidden truth.",
        "",
        "| round | training frames | minutes | starts from | epochs (centroid / instance) | load (start, end) "
        "| detected | median px | p90 px | OKS mAP |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in result["rounds"].items():
        a = r["accuracy"]
        epochs = " / ".join(str(r["epochs"].get(m, "-")) for m in ORDER[:2])
        lines.append(
            f"| {name} | {r['frames']} | {r['minutes']:g} | {r['start']} | {epochs} "
            f"| {r['load'][0]:g}, {r['load'][1]:g} | {_f(a['detected'], '.3f')} "
            f"| {_f(a['median_px'], '.2f')} | {_f(a['p90_px'], '.2f')} | {_f(a['oks_map'], '.3f')} |"
        )
    lines += [
        "",
        f"Corrections on the {c['frames']} suggested frames: {c['moved']} of {c['nodes']} true nodes placed "
        f"by the user ({100 * c['share']:.1f}%: more than {result['correct_px']:g} px off or missing), "
        f"{c['removed']} predicted nodes removed, {c['animals_added']} animals labeled from scratch, "
        f"{c['animals_deleted']} extra predictions deleted.",
        f"Second round beats the first: {_yes(result['second_round_beats_first'])}; fine-tuning beats "
        f"scratch (same minutes, same frames): {_yes(result['fine_tuning_beats_scratch'])}.",
        f"Wall time {result['wall_s'] / 60:.1f} min.",
    ]
    return "\n".join(lines)


def run(quick: bool = False) -> dict[str, Any]:
    """``python -m benchmarks``'s entry: the loop with the default (or ``--quick``) settings."""
    first, second, n_test = (QUICK["first"], QUICK["second"], QUICK["test_frames"]) if quick else (3.0, 2.0, 60)
    with tempfile.TemporaryDirectory(prefix="active_loop.") as tmp:
        result = benchmark(first, second, 20, 20, n_test, 3.0, 0, Path(tmp))
    figures: dict[str, Any] = {
        name: {k: r["accuracy"][k] for k in ("detected", "median_px", "p90_px", "oks_map")}
        for name, r in result["rounds"].items()
    }
    figures["nodes corrected (share)"] = result["corrections"]["share"]
    figures["second round beats first"] = result["second_round_beats_first"]
    figures["fine-tuning beats scratch"] = result["fine_tuning_beats_scratch"]
    return figures


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.active_loop", description=__doc__.splitlines()[0])
    p.add_argument("--first-minutes", type=float, default=3.0, help="round 1 training budget (default 3)")
    p.add_argument("--second-minutes", type=float, default=2.0, help="round 2 training budget (default 2)")
    p.add_argument("--labeled", type=int, default=20, help="frames labeled before round 1 (default 20)")
    p.add_argument("--suggested", type=int, default=20, help="suggested frames predicted and corrected (default 20)")
    p.add_argument("--test-frames", type=int, default=60, help="held-out frames scored (default 60)")
    p.add_argument("--correct-px", type=float, default=3.0, help="the user moves nodes this far off (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the procedural sample (default 0)")
    p.add_argument("--workdir", default=None, help="keep everything here (default: a temp folder)")
    p.add_argument("--json", default=None, metavar="OUT", help="also write the results as JSON")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 + 0.5 minutes, 10 test frames")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    first, second, n_test = args.first_minutes, args.second_minutes, args.test_frames
    if args.quick:
        first, second, n_test = QUICK["first"], QUICK["second"], QUICK["test_frames"]
    with tempfile.TemporaryDirectory(prefix="active_loop.") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = benchmark(first, second, args.labeled, args.suggested, n_test, args.correct_px, args.seed, workdir)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(report(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
