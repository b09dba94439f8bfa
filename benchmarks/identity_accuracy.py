"""Benchmark: who is who on the fly clip, top-down-id against top-down + the flow tracker.

Run from the repository root::

    python -m benchmarks.identity_accuracy [--budget-minutes 20] [--quick]
    python -m benchmarks.identity_accuracy --id-run DIR --td-run DIR   # score finished runs

Both pipelines train as :mod:`benchmarks.time_to_accuracy` trains them, on
its split of ``fly/clip.slp`` (13 nodes, 2 flies on the tracks ``female`` and
``male``, every frame labeled) and with its budget: ``--pipeline top-down-id``
(centroid + ``multi_class_topdown``, the classes are the track names) and the
plain top-down pipeline, whose predictions of the test frames are then tracked
by the flow tracker (max tracks 2). ``--id-run`` / ``--td-run`` take the work
folders of such runs (``time_to_accuracy --workdir``) instead of training.

For the final model and every snapshot, on the test frames:

* **identity accuracy**: the share of the ground-truth instances matched (one
  to one, mean node distance at most half the median body size) by a
  prediction on their own track. The identity model's tracks are its classes;
  the tracker's two tracks get the names that make the most instances right
  (one naming for the whole run, as a user names tracks once). A fly nothing
  matches counts as wrong;
* **ID switches**: over the test frames sorted by frame index (about every
  5th frame of the clip, not consecutive frames), a ground-truth fly matched by
  another predicted track than the last time
  (:func:`napari_sleap_train.evaluate.tracking.evaluate_tracks`), and IDF1;
* **pose accuracy** as in ``time_to_accuracy``: visible nodes detected, median
  error, OKS mAP.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make "benchmarks" importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import time_to_accuracy as tta
from benchmarks.common import RESULTS_DIR, describe_machine, format_table, machine_description, timestamp

#: Flow tracker settings of the top-down rows (the tracking issue's defaults, two flies).
MAX_TRACKS = 2


def body_size(gt) -> float:
    """Median bounding-box diagonal of the ground-truth instances (pixels)."""
    import numpy as np

    pts = np.stack([i.numpy() for lf in gt.labeled_frames for i in lf.user_instances])
    diag = np.hypot(*(np.nanmax(pts, axis=1) - np.nanmin(pts, axis=1)).T)
    return float(np.median(diag[np.isfinite(diag)]))


def matched_tracks(gt, pr, max_distance: float) -> list[tuple[str, str | None]]:
    """``(ground-truth track name, matched prediction's track name or None)`` per ground-truth instance.

    Per frame, Hungarian matching on the mean node distance (nodes by name);
    a pair farther than ``max_distance`` is no match.
    """
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    from napari_sleap_train.evaluate.tracking import mean_node_distance

    names = [n for n in gt.skeletons[0].node_names if n in set(pr.skeletons[0].node_names)]
    gi = [gt.skeletons[0].node_names.index(n) for n in names]
    pi = [pr.skeletons[0].node_names.index(n) for n in names]
    preds = {int(lf.frame_idx): lf.predicted_instances for lf in pr.labeled_frames}
    out: list[tuple[str, str | None]] = []
    for lf in sorted(gt.labeled_frames, key=lambda f: int(f.frame_idx)):
        users = [u for u in lf.user_instances if u.track is not None]
        ps = preds.get(int(lf.frame_idx), [])
        got: dict[int, str | None] = {}
        if users and ps:
            d = mean_node_distance(np.stack([u.numpy()[gi] for u in users]), np.stack([p.numpy()[pi] for p in ps]))
            d = np.where(np.isfinite(d), d, np.inf)
            for a, b in zip(*linear_sum_assignment(np.where(np.isfinite(d), d, 1e12))):
                if d[a, b] <= max_distance:
                    got[a] = getattr(ps[b].track, "name", None)
        out.extend((u.track.name, got.get(a)) for a, u in enumerate(users))
    return out


def best_naming(pairs: list[tuple[str, str | None]]) -> dict[str, str]:
    """Predicted track name -> ground-truth name, one to one, making the most instances right."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    truth = sorted({t for t, _ in pairs})
    tracks = sorted({p for _, p in pairs if p is not None})
    if not tracks:
        return {}
    counts = np.array([[sum(1 for t, p in pairs if t == a and p == b) for a in truth] for b in tracks])
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return {tracks[r]: truth[c] for r, c in zip(rows, cols)}


def identity_figures(gt, pr, max_distance: float, rename: bool) -> dict[str, Any]:
    """Identity accuracy per instance (overall and per ground-truth track), ID switches and IDF1."""
    from napari_sleap_train.evaluate.tracking import evaluate_tracks

    pairs = matched_tracks(gt, pr, max_distance)
    naming = best_naming(pairs) if rename else {}
    right = [(t, naming.get(p, p) == t if p is not None else False) for t, p in pairs]
    out: dict[str, Any] = {
        "instances": len(pairs),
        "matched": sum(p is not None for _, p in pairs),
        "identity_accuracy": sum(ok for _, ok in right) / len(right) if right else None,
        "per_track": {
            name: sum(ok for t, ok in right if t == name) / max(1, sum(t == name for t, _ in right))
            for name in sorted({t for t, _ in right})
        },
    }
    if rename:
        out["naming"] = naming
    total = evaluate_tracks(gt, pr, max_distance=max_distance).total
    out.update(id_switches=total.id_switches, idf1=total.idf1, mota=total.mota)
    return out


def track_with_flow(predictions: Path, out: Path) -> Path:
    """The predictions retracked by the flow tracker over their frames in time order; written to ``out``."""
    import sleap_io as sio

    from napari_sleap_train.project.model import SleapProject
    from napari_sleap_train.tracking import TrackerSettings, remove_predicted_tracks, track_labels

    labels = sio.load_slp(str(predictions), open_videos=False)
    for lf in labels.labeled_frames:  # the predictions only
        lf.instances = list(lf.predicted_instances)
    remove_predicted_tracks(labels)
    project = SleapProject.load(predictions)  # finds the video the way the plugin does
    track_labels(labels, TrackerSettings(tracker="flow", max_tracks=MAX_TRACKS), frame=project.frame)
    sio.save_slp(labels, str(out), verbose=False)
    return out


def score_run(run_dir: Path, tracker: bool) -> list[dict[str, Any]]:
    """Rows for each checkpoint of a ``time_to_accuracy`` work folder."""
    import sleap_io as sio

    test_slp = run_dir / "test.slp"
    gt = sio.load_slp(str(test_slp), open_videos=False)
    half_body = 0.5 * body_size(gt)
    rows = []
    for pred in sorted(run_dir.glob("predictions.*min.slp"), key=lambda p: float(p.name.split(".")[1][:-3])):
        if ".flow." in pred.name:
            continue
        minutes = float(pred.name.split(".")[1][:-3])
        scored = track_with_flow(pred, pred.with_name(pred.name.replace(".slp", ".flow.slp"))) if tracker else pred
        pr = sio.load_slp(str(scored), open_videos=False)
        row: dict[str, Any] = {"minutes": minutes, "predictions": str(scored)}
        row.update(identity_figures(gt, pr, half_body, rename=tracker))
        pose = tta.score(test_slp, pred)
        row.update({k: pose[k] for k in ("detected", "median_px", "p90_px", "oks_map")})
        rows.append(row)
    return rows


def _f(v, fmt="{:.3f}") -> str:
    return "-" if v is None else fmt.format(v)


def report(result: dict[str, Any], machine: dict[str, Any]) -> str:
    lines = [describe_machine(machine), ""]
    rows = []
    for name, entries in result["pipelines"].items():
        for r in entries:
            per = ", ".join(f"{k} {100 * v:.1f}" for k, v in r["per_track"].items())
            rows.append(
                [
                    name,
                    f"{r['minutes']:g}",
                    f"{100 * r['identity_accuracy']:.1f} % ({per})",
                    r["id_switches"],
                    _f(r["idf1"]),
                    _f(r["detected"]),
                    _f(r["median_px"], "{:.2f}"),
                    _f(r["oks_map"]),
                ]
            )
    lines.append(
        format_table(
            rows,
            ["pipeline", "minutes", "identity accuracy", "ID switches", "IDF1", "detected", "median px", "OKS mAP"],
        )
    )
    lines.append(
        "identity accuracy: ground-truth instances matched by a prediction on their own track; ID switches over "
        "the test frames sorted by frame index"
    )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--id-run", default=None, help="time_to_accuracy work folder of a top-down-id run (else trained)")
    p.add_argument("--td-run", default=None, help="time_to_accuracy work folder of a top-down run (else trained)")
    p.add_argument("--budget-minutes", type=float, default=20.0, help="training budget of each pipeline")
    p.add_argument("--quick", action="store_true", help="smoke test: time_to_accuracy's --quick settings")
    p.add_argument("--json", default=None, metavar="OUT", help="results file")
    return p


def _train(pipeline: str, args: argparse.Namespace, workdir: Path) -> Path:
    """One ``time_to_accuracy`` run of ``pipeline`` into ``workdir``."""
    tta_args = tta.build_parser().parse_args(
        ["--pipeline", pipeline, "--budget-minutes", f"{args.budget_minutes:g}"] + (["--quick"] if args.quick else [])
    )
    result = tta._benchmark_with(tta_args, tta._settings(args.quick, tta_args), workdir)
    if result.get("error"):
        raise SystemExit(f"{pipeline}: {result['error']}")
    return workdir


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stamp = timestamp()
    base = RESULTS_DIR / f"identity_accuracy-{stamp}"
    machine = machine_description()
    machine["load_average_at_start"] = os.getloadavg()
    id_run = Path(args.id_run) if args.id_run else _train("top-down-id", args, base / "top-down-id")
    td_run = Path(args.td_run) if args.td_run else _train("top-down", args, base / "top-down")
    result = {
        "id_run": str(id_run),
        "td_run": str(td_run),
        "pipelines": {
            "top-down-id": score_run(id_run, tracker=False),
            "top-down + flow tracker": score_run(td_run, tracker=True),
        },
    }
    machine["load_average_at_end"] = os.getloadavg()
    result["machine"] = machine
    print(report(result, machine))
    for name, entries in result["pipelines"].items():
        for r in entries:
            print(f"{name} {r['minutes']:g} min identity accuracy: {r['identity_accuracy']:.4f}")
            print(f"{name} {r['minutes']:g} min ID switches: {r['id_switches']}")
    out = Path(args.json) if args.json else base.with_suffix(".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str))
    tmp.replace(out)
    print(f"results: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
