"""``napari-sleap-train export-job PROJECT.slp -o JOB.zip``: write a training job package.

The zip trains and predicts on another machine (GPU workstation, cluster)
without napari and without the videos: the project goes in as a ``.pkg.slp``
with its labeled and suggested frames embedded, next to the job file
(``job.json``, made as ``train`` and the dock make theirs) and ``train.sh`` /
``predict.sh`` (and ``train.slurm`` with ``--slurm``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from napari_sleap_train.cli.job_options import (
    JobOptionsError,
    add_reuse_options,
    add_settings_options,
    pipeline_from_args,
    reuse_args,
)


class ExportCliError(ValueError):
    """Bad command-line input (printed without a traceback)."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``export-job`` subcommand."""
    p = subparsers.add_parser(
        "export-job",
        help="write a training job package (zip) to train on another machine",
        description=(
            "Write a zip with PROJECT as a .pkg.slp (labeled and suggested frames embedded, so no "
            "video is needed), the training job (job.json: the settings these options give, as "
            "`train` takes them), train.sh and predict.sh (and train.slurm with --slurm). Unzip it "
            "where napari-sleap-train is installed and run ./train.sh."
        ),
    )
    p.add_argument("project", metavar="PROJECT.slp", help="the SLEAP project (.slp or .pkg.slp)")
    p.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="JOB.zip",
        help="zip to write (default: <project>.job.zip next to the project)",
    )
    p.add_argument(
        "--hardware",
        choices=["gpu", "cpu"],
        default=None,
        help="hardware the default profiles are chosen for (default: gpu, or cpu with --device cpu)",
    )
    add_settings_options(p)
    add_reuse_options(p)  # the runs are copied into the package: train.sh reuses them there
    p.add_argument("--name", default=None, help="name of the .pkg.slp inside the zip (default: the project's)")
    p.add_argument("--slurm", action="store_true", help="also write train.slurm (SLURM batch script template)")
    p.add_argument("--slurm-partition", default=None, metavar="NAME", help="SLURM partition (default: left commented)")
    p.add_argument("--slurm-time", default="12:00:00", metavar="TIME", help="SLURM time limit (default: 12:00:00)")
    p.add_argument("--slurm-gpus", type=int, default=1, metavar="N", help="GPUs to request (default: 1; 0: CPU job)")
    p.add_argument("--force", action="store_true", help="overwrite an existing zip")
    p.set_defaults(func=run)
    return p


def build_pipeline(args: argparse.Namespace):
    """The :class:`~napari_sleap_train.config.model.PipelineConfig` the arguments describe.

    The same options as ``train`` and the same function, so equal options give
    equal jobs; only the default hardware differs (a package usually goes to a GPU).

    Raises
    ------
    ExportCliError
        Unknown profile, unreadable config, or a config of the wrong model kind.
    """
    if args.hardware is None and not (args.device or "").strip().lower().startswith("cpu"):
        args.hardware = "gpu"
    try:
        return pipeline_from_args(args)
    except JobOptionsError as exc:
        raise ExportCliError(str(exc)) from exc


def _default_output(project: Path) -> Path:
    name = project.name
    for suffix in (".pkg.slp", ".slp"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return project.parent / f"{name}.job.zip"


def run(args: argparse.Namespace) -> int:
    """Write the package; exit 0 written, 1 cancelled or write failure, 2 bad input."""
    from napari_sleap_train.export import (
        ExportCancelledError,
        ExportJobError,
        ExportWriteError,
        MissingVideoError,
        PackageExistsError,
        SlurmOptions,
        export_job_package,
    )

    def fail(message: str, code: int = 2) -> int:
        print(f"napari-sleap-train export-job: error: {message}", file=sys.stderr)
        return code

    project = Path(args.project)
    if not project.is_file():
        return fail(f"project file not found: {project}")
    try:
        pipeline = build_pipeline(args)
    except ExportCliError as exc:
        return fail(str(exc))
    slurm = (
        SlurmOptions(partition=args.slurm_partition, time=args.slurm_time, gpus=args.slurm_gpus)
        if args.slurm
        else False
    )
    output = Path(args.output) if args.output else _default_output(project)
    try:
        result = export_job_package(
            project, pipeline, output, name=args.name, slurm=slurm, overwrite=args.force, reuse=reuse_args(args)
        )
    except (PackageExistsError, MissingVideoError) as exc:
        return fail(str(exc))
    except (ExportCancelledError, ExportWriteError) as exc:
        return fail(str(exc), code=1)
    except ExportJobError as exc:
        return fail(str(exc))
    size_mb = result.path.stat().st_size / 1024**2
    c = result.contents
    print(f"wrote {result.path} ({size_mb:.1f} MB)")
    print(
        f"  {c.project_file}: {c.n_labeled} labeled, {c.n_suggested} suggested frames; "
        f"{result.n_embedded} frame images embedded"
    )
    print(f"  {', '.join(n for n in result.files if n != c.project_file and '/' not in n)}")
    carried = sorted({"/".join(n.split("/")[:2]) for n in result.files if "/" in n})
    if carried:
        print(f"  reused runs carried along: {', '.join(carried)}")
    print("Unzip it where napari-sleap-train is installed and run ./train.sh (see README.txt).")
    return 0
