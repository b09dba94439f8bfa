"""Benchmark: accuracy on frames far in time from every training frame (fly clip, default CPU profiles).

Run from the repository root (20-minute budget; hold the benchmark slot)::

    flock /tmp/bench.lock python -m benchmarks.generalization [--reverse] [--set KIND.FIELD=VALUE ...]

The time-to-accuracy benchmark tests on frames between the training frames;
a user's next video is a new recording. This one trains on one part of
``fly/clip.slp`` and tests on another part, far from it in time:

* default split: ``--train-frames`` random frames of 0-749 plus 10% for
  validation (drawn as :func:`benchmarks.time_to_accuracy.split_clip` draws
  them), ``--test-frames`` random frames of 800-1499 (50+ frames from every
  training frame);
* ``--reverse``: train on 750-1499, test on 0-699;
* ``--split late``: train on 0-1149, test on 1200-1499 (see :data:`SPLITS`:
  the flies stand still until frame ~900).

Training, the 5- and 10-minute best-model snapshots and the final model, and
prediction go through the real command line, as in
:mod:`benchmarks.time_to_accuracy` (whose functions this reuses). Each
checkpoint is scored with :mod:`napari_sleap_train.evaluate`: found, median,
p90, p95, OKS mAP, per-node figures, and the share of large errors (> 8 px)
that are left/right swaps (:mod:`napari_sleap_train.evaluate.swaps`).

``--set centered_instance.augmentation.contrast=true`` (repeatable) trains
with a changed default profile (written as a config file next to the runs);
``--rescore WORKDIR`` scores the predictions of an earlier run again.

Targets on the far-in-time split at 20 minutes: >= 98% of nodes found,
median <= 1.5 px, p90 <= 4 px, p95 <= 8 px, OKS mAP >= 0.75.
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
from benchmarks.common import RESULTS_DIR, format_table, machine_description, timestamp

TARGET = {"detected": 0.98, "median_px": 1.5, "p90_px": 4.0, "p95_px": 8.0, "oks_map": 0.75}
#: ``(train range, test range)`` of frame indices, both ends included.
#: The flies of the clip stand still until frame ~900, so "forward" trains on two poses and
#: "reverse" tests on them; "late" trains on 0-1149 (the first walking included) and tests
#: on 1200-1499, where the flies stand in new places, turn and spread a wing.
SPLITS = {"forward": ((0, 749), (800, 1499)), "reverse": ((750, 1499), (0, 699)), "late": ((0, 1149), (1200, 1499))}


def split_ranges(
    labels,
    train_range: tuple[int, int],
    test_range: tuple[int, int],
    n_train: int,
    n_test: int,
    seed: int,
    validation_fraction: float = 0.1,
) -> tuple[list[int], list[int]]:
    """``(fit_frames, test_frames)``: random labeled frames of each range.

    ``n_train`` frames train and ``validation_fraction`` more validate (the
    engine splits them off itself), drawn in the order
    :func:`~benchmarks.time_to_accuracy.split_clip` uses.
    """
    import numpy as np

    labeled = sorted({int(lf.frame_idx) for lf in labels.labeled_frames if lf.user_instances})
    in_train = [f for f in labeled if train_range[0] <= f <= train_range[1]]
    in_test = [f for f in labeled if test_range[0] <= f <= test_range[1]]
    n_fit = int(round(n_train / (1.0 - validation_fraction)))
    if n_fit > len(in_train) or n_test > len(in_test):
        raise SystemExit(
            f"{len(in_train)} labeled frames in {train_range} and {len(in_test)} in {test_range}; "
            f"{n_fit} and {n_test} asked for"
        )
    rng = np.random.default_rng(seed)
    fit = sorted(int(f) for f in rng.permutation(in_train)[:n_fit])
    test = sorted(int(f) for f in rng.permutation(in_test)[:n_test])
    return fit, test


def score(test_project: Path, predictions: Path) -> dict[str, Any]:
    """:func:`benchmarks.time_to_accuracy.score` plus the left/right swaps among the large errors."""
    import sleap_io as sio

    from napari_sleap_train.evaluate.novelty import novelty_breakdown
    from napari_sleap_train.evaluate.swaps import label_swaps

    out = tta.score(test_project, predictions)
    gt = sio.load_slp(str(test_project), open_videos=False)
    pr = sio.load_slp(str(predictions), open_videos=False)
    swaps = label_swaps(gt, pr)
    out["large_error_px"] = swaps.large_px
    out["large_errors"] = swaps.large
    out["large_share"] = swaps.large_share
    out["swaps"] = swaps.swaps
    out["swap_share"] = swaps.swap_share
    out["node_large"] = {k: v.large for k, v in swaps.nodes.items()}
    out["node_swaps"] = {k: v.swaps for k, v in swaps.nodes.items()}
    train = test_project.with_name("train.slp")  # written by train_and_score beside test.slp
    if train.exists():
        out["novelty"] = [b.to_dict() for b in novelty_breakdown(sio.load_slp(str(train), open_videos=False), gt, pr)]
    return out


# ------------------------------------------------------------------ levers
def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def lever_configs(settings: list[str], into: Path) -> list[str]:
    """``train --config`` arguments for ``KIND.FIELD[.FIELD]=VALUE`` changes of the default CPU profiles.

    Each changed model kind gets its default profile (``cpu.*``) with the
    changes, written to ``into/<kind>.config.json``.
    """
    from napari_sleap_train.config.model import ModelKind, PipelineKind
    from napari_sleap_train.config.profiles import default_pipeline
    from napari_sleap_train.config.serialize import save_json

    defaults = {}  # each model kind as the default CPU pipelines have it (patience included)
    for pipeline_kind in PipelineKind:
        for model_kind, cfg in default_pipeline(pipeline_kind, "cpu").models.items():
            defaults.setdefault(model_kind, cfg)

    configs: dict[str, Any] = {}
    for item in settings:
        key, sep, text = item.partition("=")
        kind, _, path = key.partition(".")
        if not sep or not path:
            raise SystemExit(f"--set wants KIND.FIELD=VALUE, got {item!r}")
        if kind not in configs:
            configs[kind] = defaults[ModelKind(kind)]
        obj = configs[kind]
        *parents, name = path.split(".")
        for p in parents:
            obj = getattr(obj, p)
        if not hasattr(obj, name):
            raise SystemExit(f"--set: {type(obj).__name__} has no field {name!r}")
        setattr(obj, name, _value(text))
    into.mkdir(parents=True, exist_ok=True)
    args = []
    for kind, cfg in configs.items():
        args += ["--config", str(save_json(cfg, into / f"{kind}.config.json"))]
    return args


# ------------------------------------------------------------------ report
def _f(v, fmt="{:.2f}") -> str:
    return "-" if v is None else fmt.format(v)


def report(result: dict[str, Any]) -> str:
    """Machine and speed (as time_to_accuracy prints them), then figures per checkpoint and per node."""
    lines = [tta.report(result, result["machine"], checkpoints=False), ""]
    rows = []
    for c in result["checkpoints"]:
        if "error" in c:
            continue
        rows.append(
            [
                f"{c['minutes']:g}",
                _f(c["detected"], "{:.3f}"),
                _f(c["median_px"]),
                _f(c["p90_px"]),
                _f(c["p95_px"]),
                _f(c["oks_map"], "{:.3f}"),
                f"{c['large_errors']} ({_f(c['large_share'], '{:.1%}')})",
                _f(c["swap_share"], "{:.0%}"),
                "yes" if tta.meets_target(c, TARGET) else "no",
            ]
        )
    lines.append(
        format_table(
            rows,
            ["minutes", "found", "median", "p90", "p95", "OKS mAP", "errors > 8 px", "swaps", "target met"],
        )
    )
    lines.append("target: " + ", ".join(f"{k} {'<=' if k.endswith('_px') else '>='} {v:g}" for k, v in TARGET.items()))
    lines += novelty_report(result["checkpoints"])
    for c in result["checkpoints"]:
        if "error" in c:
            continue
        rows = [
            [
                n,
                _f(c["node_detected"].get(n), "{:.3f}"),
                _f(c["node_median_px"].get(n)),
                _f(c["node_p90_px"].get(n)),
                _f(c["node_p95_px"].get(n)),
                c["node_large"].get(n),
                c["node_swaps"].get(n),
            ]
            for n in c["node_detected"]
        ]
        lines += ["", f"per node at {c['minutes']:g} min:"]
        lines.append(format_table(rows, ["node", "found", "median", "p90", "p95", "> 8 px", "swaps"]))
    return "\n".join(lines)


def novelty_report(checkpoints: list[dict[str, Any]]) -> list[str]:
    """Lines of a table: per checkpoint and novelty bin, the share of test instances and their errors."""
    rows = []
    for c in checkpoints:
        for b in c.get("novelty", []):
            high = "" if b["high_px"] == float("inf") else f"{b['high_px']:g}"
            rows.append(
                [
                    f"{c['minutes']:g}",
                    f"{b['low_px']:g}-{high}",
                    f"{b['instances']} ({b['share']:.0%})",
                    _f(b["median_px"]),
                    _f(b["p90_px"]),
                    _f(b["p95_px"]),
                ]
            )
    if not rows:
        return []
    head = ["minutes", "novelty px", "test instances", "median", "p90", "p95"]
    title = "by pose novelty (RMS px to the nearest training pose, moved and turned onto it):"
    return ["", title, format_table(rows, head)]


# -------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tta.add_run_arguments(p)
    p.add_argument(
        "--split",
        choices=list(SPLITS),
        default="forward",
        help="forward: train on 0-749, test on 800-1499 (default); reverse: 750-1499 / 0-699; late: 0-1149 / 1200-1499",
    )
    p.add_argument("--reverse", action="store_true", help="the same as --split reverse")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--anchor-part", default="thorax", help="anchor node of the top-down pipeline ('none': bbox)")
    p.add_argument("--set", action="append", default=[], metavar="KIND.FIELD=VALUE", help="change a default profile")
    p.add_argument("--train-arg", action="append", default=[], help="extra argument for `train` (repeatable)")
    p.add_argument("--workdir", default=None, help="where data, runs and predictions go (default: results/)")
    p.add_argument("--json", default=None, metavar="OUT", help="results file")
    p.add_argument("--rescore", default=None, metavar="WORKDIR", help="score an earlier run's predictions again")
    p.add_argument(
        "--predict-arg",
        action="append",
        default=[],
        help="with --rescore: predict the earlier run's checkpoints again with this `predict` argument "
        "(repeatable, e.g. --predict-arg=--peak-threshold=0.1); no training",
    )
    return p


def rescore(workdir: Path, result: dict[str, Any], predict_args: list[str] | None = None) -> dict[str, Any]:
    """Score the predictions of an earlier run (its results dict) again with :func:`score`.

    With ``predict_args``, each checkpoint's models (``checkpoints/<M>min/``)
    predict the test frames again with those ``predict`` arguments first.
    """
    result["predict_args"] = list(predict_args or [])
    tag = "".join(c if c.isalnum() or c in ".-" else "_" for c in "".join(predict_args or []))
    for c in result["checkpoints"]:
        pred = workdir / f"predictions.{c['minutes']:g}min.slp"
        if predict_args:
            folder = workdir / "checkpoints" / f"{c['minutes']:g}min"
            dirs = [folder / m for m in tta.model_order({p.name for p in folder.iterdir()})]
            pred = workdir / f"predictions.{c['minutes']:g}min.{tag}.slp"
            pred.unlink(missing_ok=True)
            done = tta.predict(workdir / "test.slp", dirs, pred, 2, predict_args)
            c["predict_seconds"] = done.get("seconds")
        if pred.exists():
            c.update(score(workdir / "test.slp", pred))
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.rescore:
        workdir = Path(args.rescore)
        name = "results.json" if not args.predict_arg else f"results.{timestamp()}.json"
        path = Path(args.json) if args.json else workdir / name
        result = rescore(workdir, json.loads((workdir / "results.json").read_text()), args.predict_arg)
    else:
        name = "reverse" if args.reverse else args.split
        stamp = timestamp()
        workdir = Path(args.workdir) if args.workdir else RESULTS_DIR / f"generalization-{name}-{stamp}"
        machine = machine_description()
        machine["load_average_at_start"] = os.getloadavg()
        labels = tta.load_project(Path(args.project))
        train_range, test_range = SPLITS[name]
        fit, test = split_ranges(labels, train_range, test_range, args.train_frames, args.test_frames, args.seed)
        extra = ["--anchor-part", args.anchor_part] if args.anchor_part.lower() != "none" else []
        extra += lever_configs(args.set, workdir / "configs") + list(args.train_arg)
        info = {
            "project": args.project,
            "split": name,
            "train_range": train_range,
            "test_range": test_range,
            "seed": args.seed,
            "levers": args.set,
        }
        result = tta.train_and_score(
            labels, fit, test, workdir, args.budget_minutes, args.snapshot_minutes, extra, info, 2, TARGET, score
        )
        machine["load_average_at_end"] = os.getloadavg()
        result["machine"] = machine
        path = Path(args.json) if args.json else workdir / "results.json"
    for c in result["checkpoints"]:
        if "error" not in c:
            c["meets_target"] = tta.meets_target(c, TARGET)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(report(result))
    print(f"results: {path}")
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    raise SystemExit(main())
