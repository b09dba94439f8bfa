"""``napari-sleap-train predict PROJECT.slp --model RUN_DIR ...``: predict with trained models.

Frames are chosen here (no TensorFlow: numpy and sleap-io only); the models
run in a child process started through the runner, exactly as from the
widget. The merged project is written to a new file (``-o``, default
``predictions/<project>.<timestamp>.predictions.slp`` next to the project).

``--frames`` takes ``suggested``, ``labeled``, ``random:N``, ``video:I``
(every frame of video I), ``frame:I:F`` (one frame) or ``all``; the default
is the suggested frames when some are unlabeled, otherwise 20 random frames.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from napari_sleap_train.config.model import DEFAULT_TEST_TIME_VIEWS, TEST_TIME_VIEWS


class FramesSpecError(ValueError):
    """The --frames value cannot be understood."""


@dataclass
class FramesSpec:
    """A parsed ``--frames`` value."""

    predict_on: object  # PredictOn
    n: int = 20
    video: int = 0
    frame: int = 0


def parse_frames(text: str | None) -> FramesSpec | None:
    """Parse ``--frames`` (``None``: use the default choice).

    Raises
    ------
    FramesSpecError
        With the accepted forms in the message.
    """
    from napari_sleap_train.config.model import PredictOn

    if text is None:
        return None
    forms = "suggested, labeled, random:N, video:I, frame:I:F or all"
    head, _, rest = text.strip().lower().partition(":")
    try:
        if head == "suggested" and not rest:
            return FramesSpec(PredictOn.SUGGESTED_FRAMES)
        if head == "labeled" and not rest:
            return FramesSpec(PredictOn.USER_LABELED_FRAMES)
        if head == "all" and not rest:
            return FramesSpec(PredictOn.ALL_VIDEOS)
        if head == "nothing" and not rest:
            return FramesSpec(PredictOn.NOTHING)
        if head == "random":
            n = int(rest) if rest else 20
            if n < 1:
                raise FramesSpecError(f"random:N needs N >= 1, got {n}")
            return FramesSpec(PredictOn.RANDOM_FRAMES, n=n)
        if head == "video" and rest:
            return FramesSpec(PredictOn.CURRENT_VIDEO, video=int(rest))
        if head == "frame" and rest:
            vi, _, fi = rest.partition(":")
            return FramesSpec(PredictOn.CURRENT_FRAME, video=int(vi), frame=int(fi))
    except ValueError as exc:
        if isinstance(exc, FramesSpecError):
            raise
        raise FramesSpecError(f"--frames {text!r}: numbers expected ({forms})") from None
    raise FramesSpecError(f"--frames {text!r} is not understood; use {forms}")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``predict`` subcommand."""
    parser = subparsers.add_parser(
        "predict",
        help="predict poses on frames of a project with trained models",
        description=(
            "Run trained models (run folders of this plugin or SLEAP 1.4 model folders) on "
            "frames of PROJECT and write the project with the predictions merged in to a "
            "new .slp file. The project file itself is never changed."
        ),
    )
    parser.add_argument("project", metavar="PROJECT.slp", help="the SLEAP project (.slp or .pkg.slp)")
    parser.add_argument(
        "--model",
        "-m",
        action="append",
        required=True,
        metavar="RUN_DIR",
        help="model folder; give the centroid and the centered-instance folder (top-down), "
        "the centroid and the top-down-id folder (or the top-down-id folder alone: it runs on the "
        "user instances' anchors), or one bottom-up, bottom-up-id or single-instance folder",
    )
    parser.add_argument(
        "--frames",
        "-f",
        default=None,
        help="suggested | labeled | random:N | video:I | frame:I:F | all "
        "(default: suggested frames if any are unlabeled, else random:20)",
    )
    parser.add_argument("--output", "-o", default=None, metavar="OUT.slp", help="file to write (must not exist)")
    parser.add_argument("--batch-size", type=int, default=4, help="frames per batch (default: 4)")
    parser.add_argument("--peak-threshold", type=float, default=0.2, help="minimum peak confidence (default: 0.2)")
    parser.add_argument("--max-instances", type=int, default=None, help="keep at most N animals per frame")
    parser.add_argument(
        "--views",
        type=int,
        choices=TEST_TIME_VIEWS,
        default=DEFAULT_TEST_TIME_VIEWS,
        help="top-down: predict each crop from this many views (quarter turns and mirrors) and keep "
        f"the points most views agree on; 1 runs each crop once, as SLEAP does (default: {DEFAULT_TEST_TIME_VIEWS})",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or gpu:N (default: auto)")
    parser.add_argument("--seed", type=int, default=0, help="seed of random:N (default: 0)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    from .tracking_options import add_tracking_options

    add_tracking_options(parser)
    parser.set_defaults(func=run)
    return parser


def _fail(message: str, as_json: bool, code: int = 2) -> int:
    if as_json:
        print(json.dumps({"status": "failed", "error": message}))
    print(f"napari-sleap-train predict: error: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    """Choose frames, predict in a child process, print where the result went.

    Exit codes: 0 written, 1 nothing to predict or prediction failed, 2 bad input.
    """
    from napari_sleap_train.cli.progress import Progress
    from napari_sleap_train.config.model import PredictOn
    from napari_sleap_train.outputs import OutputError, check_output_file
    from napari_sleap_train.predictions.frame_selection import select_frames
    from napari_sleap_train.predictions.merge import predictions_path
    from napari_sleap_train.project.errors import SleapFileError
    from napari_sleap_train.project.model import SleapProject
    from napari_sleap_train.protocol.events import (
        Done,
        Error,
        Message,
        Metrics,
        Predictions,
        PredictProgress,
    )
    from napari_sleap_train.protocol.job import PredictJob
    from napari_sleap_train.runner.process import EngineProcess, EngineProcessError
    from napari_sleap_train.session.predict_on import default_predict_choice

    from .tracking_options import TrackingOptionsError, tracking_from_args

    try:
        spec = parse_frames(args.frames)
        tracking = tracking_from_args(args)
    except (FramesSpecError, TrackingOptionsError) as exc:
        return _fail(str(exc), args.json)
    if args.batch_size < 1:
        return _fail(f"--batch-size must be at least 1, got {args.batch_size}", args.json)
    missing = [m for m in args.model if not Path(m).is_dir()]
    if missing:
        return _fail(f"model folder not found: {', '.join(missing)}", args.json)
    from napari_sleap_train.config.runs import RunError, check_prediction_models, read_run

    try:  # before anything is read or loaded: a wrong set of models fails in a second
        check_prediction_models([read_run(m) for m in args.model])
    except RunError as exc:
        return _fail(str(exc), args.json)
    try:
        project = SleapProject.load(args.project)
    except SleapFileError as exc:
        return _fail(str(exc), args.json)
    labels = project.labels
    if spec is None:
        default = default_predict_choice(labels)  # the dock's rule
        spec = FramesSpec(default.predict_on, n=default.n)
        shown = "suggested" if default.predict_on is PredictOn.SUGGESTED_FRAMES else f"random:{default.n}"
        print(f"Default frames: {shown} ({default.reason}).", file=sys.stderr)
    selection = select_frames(
        labels,
        spec.predict_on,
        n=spec.n,
        current_video=spec.video,
        current_frame=spec.frame,
        seed=args.seed,
        labels_path=project.path,
    )
    if not selection:
        if args.json:
            print(json.dumps({"status": "nothing", "n_frames": 0, "explanation": selection.explanation}))
        print(f"Nothing to predict: {selection.explanation}.", file=sys.stderr)
        return 1
    output = Path(args.output) if args.output else predictions_path(project.path)
    if output.resolve() == project.path:
        return _fail("the output would overwrite the project; choose another file name", args.json)
    try:  # before the models load: a read-only or misspelled folder fails in a second
        check_output_file(output)
    except OutputError as exc:
        return _fail(str(exc), args.json)
    print(f"Predicting on {selection.explanation}.", file=sys.stderr)

    job = PredictJob(
        labels_path=str(project.path),
        model_dirs=[str(Path(m).resolve()) for m in args.model],
        frames=selection.frames,
        output_path=str(output.resolve()),
        device=args.device,
        peak_threshold=args.peak_threshold,
        batch_size=args.batch_size,
        max_instances=args.max_instances,
        views=args.views,
        tracking=tracking,
    )
    proc = EngineProcess()
    try:
        proc.start(job)
    except EngineProcessError as exc:
        return _fail(str(exc), args.json, code=1)
    result: dict = {"status": "failed", "frames_explanation": selection.explanation}
    errors: list[str] = []
    bar = Progress("predicting", unit="frame", bar=False if args.json else None)
    try:
        for event in proc.events():
            if isinstance(event, PredictProgress) and not args.json:
                bar.update_to(event.done, event.total)
            elif isinstance(event, Predictions):
                result.update(
                    path=event.path,
                    n_frames=event.n_frames,
                    n_instances=event.n_instances,
                    explanation=event.explanation,
                    n_tracks=event.n_tracks,
                    tracking=event.tracking,
                )
            elif isinstance(event, Metrics):
                result["metrics"] = event.values
                result["metrics_path"] = event.path
            elif isinstance(event, Error):
                errors.append(event.message + (f" ({event.hint})" if event.hint else ""))
            elif isinstance(event, Message) and event.level == "warning":
                bar.write(f"warning: {event.text}")
            elif isinstance(event, Done):
                result["status"] = event.status
    except KeyboardInterrupt:
        bar.close()
        proc.cancel(grace=5)
        for _ in proc.events():
            pass
        return _fail("interrupted", args.json, code=1)
    bar.close()
    if result["status"] != "finished" or errors:
        message = "; ".join(errors) or f"prediction {result['status']}"
        if proc.log_path is not None:
            message += f" (log: {proc.log_path})"
        return _fail(message, args.json, code=1)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"wrote {result.get('path')}")
        print(f"{result.get('n_instances', 0)} instances on {result.get('n_frames', 0)} frames")
        if result.get("explanation"):
            print(result["explanation"])
        if result.get("tracking"):
            print(f"tracks assigned ({result['n_tracks']} tracks): {result['tracking']}")
        if "metrics" in result:
            m = result["metrics"]
            median = (m.get("pixel_error") or {}).get("median")
            print(
                f"on the {m['n_frames']} labeled frames among them: OKS mAP "
                f"{_fmt(m.get('oks_map'))}, median error {_fmt(median)} px"
            )
    return 0


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"
