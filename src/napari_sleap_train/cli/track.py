"""``napari-sleap-train track PRED.slp -o OUT.slp``: (re)track existing predictions.

Predicted instances lose their old tracks and are tracked again with SLEAP's
trackers (``tracking/``); user instances keep theirs and anchor them. The
result is written to a new file (temp name in the same folder, then renamed);
an existing file is replaced only with ``--overwrite``, and never the input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

PROG = "napari-sleap-train track"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``track`` subcommand."""
    from napari_sleap_train.tracking.settings import MATCHES, SIMILARITIES, TRACKERS

    p = subparsers.add_parser(
        "track",
        help="(re)track the predicted instances of a .slp file",
        description=(
            "Assign the predicted instances of PRED.slp to tracks across frames (SLEAP's simple "
            "and flow trackers) and write the result to OUT.slp. The flow tracker follows the "
            "animals with optical flow and needs the video; --tracker simple does not."
        ),
    )
    p.add_argument("pred", metavar="PRED.slp", help="labels with predicted instances")
    p.add_argument("-o", "--output", required=True, metavar="OUT.slp", help="where to write the tracked labels")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.slp if it exists")
    p.add_argument(
        "--tracker",
        choices=[t for t in TRACKERS if t != "none"],
        default="flow",
        help="flow (default: candidates shifted by optical flow) or simple",
    )
    p.add_argument("--similarity", choices=SIMILARITIES, default="instance", help="default: instance")
    p.add_argument("--match", choices=MATCHES, default="greedy", help="default: greedy")
    p.add_argument("--track-window", type=int, default=5, metavar="N", help="frames of candidates (default: 5)")
    p.add_argument(
        "--max-tracks",
        type=int,
        default=0,
        metavar="N",
        help="never more than N tracks per video (default: 0, no limit)",
    )
    p.add_argument(
        "--robust",
        type=float,
        default=1.0,
        metavar="Q",
        help="track similarity: this quantile of its candidates (default: 1, the best)",
    )
    p.add_argument(
        "--max-instances",
        type=int,
        default=0,
        metavar="N",
        help="cull to the N best-scoring predictions per frame before tracking (default: keep all)",
    )
    p.add_argument(
        "--cull-iou",
        type=float,
        default=None,
        metavar="T",
        help="when culling, first drop predictions overlapping a better one by IoU > T",
    )
    p.add_argument(
        "--connect-breaks",
        action="store_true",
        help="join a track that ends with one that starts on the same frame (needs --max-instances or --max-tracks)",
    )
    p.add_argument(
        "--min-new-track-points",
        type=int,
        default=0,
        metavar="N",
        help="a new track needs N visible nodes (default: 0)",
    )
    p.add_argument(
        "--oks-errors",
        type=float,
        default=1.0,
        metavar="PX",
        help="keypoint error in pixels of the oks similarity (default: 1)",
    )
    p.add_argument("--of-window-size", type=int, default=21, metavar="PX", help="flow window (default: 21)")
    p.add_argument("--of-max-levels", type=int, default=3, metavar="N", help="flow pyramid levels (default: 3)")
    p.add_argument(
        "--of-fb-error",
        type=float,
        default=None,
        metavar="PX",
        help="forward-backward check: drop flow points that do not come back within PX pixels "
        "(default: within 0.1 of the instance's size, keeping the plain flow of an instance "
        "whose every point fails)",
    )
    p.add_argument("--sleap-flow", action="store_true", help="SLEAP's flow tracker exactly: no forward-backward check")
    p.add_argument("--img-scale", type=float, default=1.0, help="scale frames for the flow (default: 1)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)
    return p


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def settings_from_args(args: argparse.Namespace):
    """The :class:`~napari_sleap_train.tracking.TrackerSettings` the arguments ask for."""
    from napari_sleap_train.tracking import CullSettings, FlowSettings, TrackerSettings

    flow = FlowSettings(
        window_size=args.of_window_size,
        max_levels=args.of_max_levels,
        img_scale=args.img_scale,
        max_fb_error=args.of_fb_error,
    )
    if getattr(args, "sleap_flow", False):
        flow.max_fb_error, flow.max_fb_error_fraction = None, None
    return TrackerSettings(
        tracker=args.tracker,
        similarity=args.similarity,
        match=args.match,
        track_window=args.track_window,
        max_tracks=args.max_tracks,
        robust=args.robust,
        oks_errors=args.oks_errors,
        min_new_track_points=args.min_new_track_points,
        connect_single_breaks=args.connect_breaks,
        flow=flow,
        cull=CullSettings(max_instances=args.max_instances, iou_threshold=args.cull_iou),
    ).validate()


def _save(labels, target: Path, overwrite: bool) -> None:
    """Write the tracked file atomically (a full disk leaves nothing behind)."""
    import sleap_io as sio

    from napari_sleap_train.outputs import atomic_output

    with atomic_output(target, overwrite=overwrite) as tmp:
        sio.save_slp(labels, tmp.as_posix(), verbose=False)


def run(args: argparse.Namespace) -> int:
    """Track and write; 0 on success, 2 on bad input."""
    from napari_sleap_train.cli.progress import Progress
    from napari_sleap_train.project.errors import SleapFileError
    from napari_sleap_train.project.model import SleapProject
    from napari_sleap_train.tracking import TrackingInputError, TrackingSettingsError, track_labels

    src = Path(args.pred)
    out = Path(args.output)
    if not src.is_file():
        return _fail(f"{src} does not exist")
    if not src.name.endswith(".slp"):
        return _fail(f"{src.name} is not a SLEAP .slp file")
    if not out.name.endswith(".slp"):
        return _fail(f"the output must be a .slp file, not {out.name}")
    if out.resolve() == src.resolve():
        return _fail("the output is the input file; write the tracks to a new file")
    if out.exists() and not args.overwrite:
        return _fail(f"{out} exists; pass --overwrite to replace it")
    if not out.parent.is_dir():
        return _fail(f"the folder {out.parent} does not exist")
    try:
        settings = settings_from_args(args)
    except TrackingSettingsError as exc:
        return _fail(str(exc))
    try:
        project = SleapProject.load(src)
    except SleapFileError as exc:
        return _fail(str(exc))
    labels = project.labels
    if not any(lf.predicted_instances for lf in labels.labeled_frames):
        return _fail(f"{src.name} has no predicted instances to track")
    frame = None
    if settings.uses_frames:
        used = sorted({labels.videos.index(lf.video) for lf in labels.labeled_frames if lf.predicted_instances})
        missing = [i for i in used if not project.video_available(i)]
        if missing:
            names = ", ".join(Path(str(labels.videos[i].filename).replace("\\", "/")).name for i in missing)
            return _fail(
                f"the flow tracker needs the video, and {names} was not found next to "
                f"{src.name} or where it was recorded; use --tracker simple to track without it"
            )
        frame = project.frame
    t0 = time.perf_counter()
    try:
        with Progress("tracking", unit="frame", bar=False if args.json else None) as bar:
            report = track_labels(labels, settings, frame=frame, progress=None if args.json else bar.update_to)
    except TrackingInputError as exc:
        return _fail(str(exc))
    seconds = time.perf_counter() - t0
    from napari_sleap_train.outputs import OutputError

    try:
        _save(labels, out, args.overwrite)
    except OutputError as exc:
        return _fail(str(exc))
    fps = report.n_frames / seconds if seconds > 0 else float("nan")
    if args.json:
        print(
            json.dumps(
                {
                    "output": str(out),
                    "frames": report.n_frames,
                    "tracks": report.n_tracks,
                    "tracked": report.n_tracked,
                    "untracked": report.n_untracked,
                    "culled": report.n_culled,
                    "breaks_connected": report.n_breaks_connected,
                    "frames_per_second": round(fps, 1),
                    "settings": settings.to_dict(),
                },
                indent=2,
            )
        )
    else:
        print(f"{report.summary()} ({fps:.0f} frames/s); wrote {out}")
    return 0
