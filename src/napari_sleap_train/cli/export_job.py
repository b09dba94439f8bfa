"""``napari-sleap-train export-job PROJECT.slp -o JOB.zip``: write a training job package.

The zip trains and predicts on another machine (GPU workstation, cluster)
without napari and without the videos: the project goes in as a ``.pkg.slp``
with its labeled and suggested frames embedded, next to the model configs and
``train.sh`` / ``predict.sh`` (and ``train.slurm`` with ``--slurm``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class ExportCliError(ValueError):
    """Bad command-line input (printed without a traceback)."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``export-job`` subcommand."""
    p = subparsers.add_parser(
        "export-job",
        help="write a training job package (zip) to train on another machine",
        description=(
            "Write a zip with PROJECT as a .pkg.slp (labeled and suggested frames embedded, so no "
            "video is needed), one config per model, train.sh and predict.sh (and train.slurm with "
            "--slurm). Unzip it where napari-sleap-train is installed and run ./train.sh."
        ),
    )
    p.add_argument("project", metavar="PROJECT.slp", help="the SLEAP project (.slp or .pkg.slp)")
    p.add_argument("-o", "--output", default=None, metavar="JOB.zip",
                   help="zip to write (default: <project>.job.zip next to the project)")
    p.add_argument("--pipeline", choices=["top-down", "single-instance"], default="top-down")
    p.add_argument("--profile", action="append", default=[], metavar="NAME",
                   help="built-in profile for the model of its kind (repeatable, e.g. baseline.centroid)")
    p.add_argument("--config", action="append", default=[], metavar="CFG.json",
                   help="training config (ours or SLEAP's training_config.json) for the model of its kind "
                        "(repeatable)")
    p.add_argument("--hardware", choices=["gpu", "cpu"], default="gpu",
                   help="hardware the default profiles are chosen for (default: gpu)")
    p.add_argument("--anchor-part", default=None, help="node the crops centre on (default: bounding-box middle)")
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

    Raises
    ------
    ExportCliError
        Unknown profile, unreadable config, or a config of the wrong model kind.
    """
    from napari_sleap_train.config.model import PipelineKind
    from napari_sleap_train.config.profiles import default_pipeline, get_profile, load_training_config
    from napari_sleap_train.config.serialize import ConfigError

    kind = PipelineKind(args.pipeline)
    try:
        pipeline = default_pipeline(kind, args.hardware)
        chosen = [get_profile(name) for name in args.profile]
        chosen += [load_training_config(path) for path in args.config]
    except ConfigError as exc:
        raise ExportCliError(str(exc)) from exc
    for cfg in chosen:
        if cfg.kind not in kind.model_kinds:
            wanted = ", ".join(k.value for k in kind.model_kinds)
            raise ExportCliError(
                f"a {cfg.kind.value} config does not fit the {kind.value} pipeline (needs {wanted})"
            )
        pipeline.models[cfg.kind] = cfg
    if args.anchor_part is not None:
        pipeline.anchor_part = args.anchor_part
    elif kind is PipelineKind.TOP_DOWN:
        # keep an anchor that came in with a config file
        anchors = {c.head.anchor_part for c in pipeline.models.values()} - {None}
        if len(anchors) == 1:
            pipeline.anchor_part = anchors.pop()
    pipeline.sync_shared()
    return pipeline


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
            project, pipeline, output, name=args.name, slurm=slurm, overwrite=args.force
        )
    except (PackageExistsError, MissingVideoError) as exc:
        return fail(str(exc))
    except ExportCancelledError as exc:
        return fail(str(exc), code=1)
    except ExportJobError as exc:
        return fail(str(exc))
    size_mb = result.path.stat().st_size / 1024**2
    c = result.contents
    print(f"wrote {result.path} ({size_mb:.1f} MB)")
    print(f"  {c.project_file}: {c.n_labeled} labeled, {c.n_suggested} suggested frames; "
          f"{result.n_embedded} frame images embedded")
    print(f"  {', '.join(n for n in result.files if n != c.project_file)}")
    print("Unzip it where napari-sleap-train is installed and run ./train.sh (see README.txt).")
    return 0
