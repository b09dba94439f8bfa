"""``napari-sleap-train sample OUT_DIR``: write the procedural sample project."""

from __future__ import annotations

import argparse
import sys
import time


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``sample`` subcommand."""
    parser = subparsers.add_parser(
        "sample",
        help="write a procedural multi-mouse SLEAP project with hidden ground truth",
        description=(
            "Generate a small video of walking mice with exact keypoints and write "
            "OUT_DIR/sample.slp (labeled frames with tracks + suggested frames), "
            "OUT_DIR/sample.mp4 and OUT_DIR/sample.truth.slp (every frame, every animal). "
            "The same seed always gives the same pixels and points."
        ),
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder to write into (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--frames", type=int, default=300, help="number of video frames (default: 300)")
    parser.add_argument("--animals", type=int, default=2, help="number of mice, 1-6 (default: 2)")
    parser.add_argument("--labeled", type=int, default=40, help="frames labeled in sample.slp (default: 40)")
    parser.add_argument("--suggested", type=int, default=20, help="suggested unlabeled frames (default: 20)")
    parser.add_argument("--size", type=int, default=384, help="frame width and height in pixels (default: 384)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing sample files in OUT_DIR")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Write the sample project; 0 on success, 2 on bad parameters or an occupied folder."""
    from napari_sleap_train.sample.generate import SampleParameterError
    from napari_sleap_train.sample.project import write_sample_project

    start = time.perf_counter()
    try:
        project = write_sample_project(
            args.out_dir,
            seed=args.seed,
            n_frames=args.frames,
            n_animals=args.animals,
            height=args.size,
            width=args.size,
            n_labeled=args.labeled,
            n_suggested=args.suggested,
            overwrite=args.overwrite,
        )
    except (SampleParameterError, FileExistsError, NotADirectoryError, PermissionError) as exc:
        print(f"napari-sleap-train sample: error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    print(f"wrote {project.labels_path} (labeled frames + suggestions)")
    print(f"      {project.video_path}")
    print(f"      {project.truth_path} (ground truth, every frame)")
    print(f"{args.animals} animals, {args.frames} frames, seed {args.seed}, {elapsed:.1f} s")
    return 0
