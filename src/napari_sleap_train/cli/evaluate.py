"""``napari-sleap-train evaluate GT.slp PRED.slp``: accuracy of predictions as JSON (no TensorFlow)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="compare predictions with user labels (OKS mAP, pixel error, PCK)",
        description=(
            "Compare the predicted instances of PRED.slp with the user instances of GT.slp "
            "and print the metrics as JSON: OKS mAP/mAR (COCO style, Hungarian matching), "
            "pixel error per node (mean, median, p90, p95), detected fraction and PCK at "
            "2/5/10 px. PRED.slp may be the same file as GT.slp. Files with different skeletons, "
            "or predictions on videos GT.slp does not have, are refused."
        ),
    )
    parser.add_argument("gt", metavar="GT.slp", help="labels with the user instances (ground truth)")
    parser.add_argument("pred", metavar="PRED.slp", help="labels with the predicted instances")
    parser.add_argument(
        "--frames",
        choices=("labeled", "predicted"),
        default="labeled",
        help="labeled: every user-labeled frame of GT (default); "
        "predicted: only the labeled frames that PRED has predictions on",
    )
    parser.add_argument("--sigma", type=float, default=0.025, help="OKS sigma of every node (default: 0.025)")
    parser.add_argument(
        "--tracks",
        action="store_true",
        help="also score the tracks against GT's user tracks (ID switches, MOTA, IDF1 per video)",
    )
    parser.add_argument(
        "--output",
        "-o",
        default=None,
        metavar="metrics.json",
        help="also write the pose metrics JSON here (a new file unless --overwrite)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace the --output file if it exists")
    parser.add_argument("--summary", action="store_true", help="print a short text summary instead of JSON")
    parser.set_defaults(func=run)
    return parser


def _load(path: str):
    import sleap_io as sio

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        return sio.load_slp(str(p), open_videos=False)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable SLEAP file ({type(exc).__name__}: {exc})") from exc


def _error(message: object) -> None:
    print(f"napari-sleap-train evaluate: error: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Print the metrics; 0 on success, 1 when the output cannot be written, 2 on bad input."""
    from napari_sleap_train.evaluate import EvaluationError, evaluate, write_metrics
    from napari_sleap_train.evaluate.compatibility import IncomparableLabelsError, check_comparable
    from napari_sleap_train.outputs import OutputError, check_output_file

    if args.output:  # before reading anything: a bad output path fails at once
        if Path(args.output).is_file() and not args.overwrite:
            _error(f"{args.output} exists already; choose a new file name or pass --overwrite")
            return 2
        try:
            check_output_file(args.output, overwrite=args.overwrite)
        except OutputError as exc:
            _error(exc)
            return 2
    try:
        gt = _load(args.gt)
        pr = gt if Path(args.pred).resolve() == Path(args.gt).resolve() else _load(args.pred)
        warnings = check_comparable(gt, pr, Path(args.gt).name, Path(args.pred).name)
    except (FileNotFoundError, ValueError) as exc:  # IncomparableLabelsError is a ValueError
        _error(exc)
        return 2
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    from napari_sleap_train.evaluate.metrics import predicted_frames
    from napari_sleap_train.predictions.frame_selection import user_labeled_frames

    labeled = user_labeled_frames(gt)
    covered = sorted(set(predicted_frames(gt, pr)) & labeled)
    frames = covered if args.frames == "predicted" else None
    if args.frames == "labeled" and labeled and len(covered) < 0.5 * len(labeled):
        print(
            f"warning: {Path(args.pred).name} has predictions on only {len(covered)} of the {len(labeled)} "
            "labeled frames; nodes on the others count as not found (--frames predicted scores only those)",
            file=sys.stderr,
        )
    try:
        result = evaluate(gt, pr, frames=frames, oks_sigma=args.sigma)
    except (EvaluationError, IncomparableLabelsError) as exc:
        _error(exc)
        return 2
    if result.n_gt_instances == 0:
        print("warning: no user-labeled instances on the evaluated frames", file=sys.stderr)
    tracking = None
    if args.tracks:
        from napari_sleap_train.evaluate.tracking import evaluate_tracks

        try:
            tracking = evaluate_tracks(gt, pr, frames=frames)
        except EvaluationError as exc:
            print(f"napari-sleap-train evaluate: error: {exc}", file=sys.stderr)
            return 2
    if args.output:
        try:  # pose metrics only; tracking figures go to stdout
            write_metrics(result, args.output, overwrite=args.overwrite)
        except OutputError as exc:
            _error(exc)
            return 1
    if args.summary:
        print(result.summary() + (f"\n{tracking.summary()}" if tracking else ""))
    else:
        print(json.dumps({**result.to_dict(), **({"tracking": tracking.to_dict()} if tracking else {})}, indent=2))
    return 0
