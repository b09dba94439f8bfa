"""Export a training job package: a zip that trains and predicts without napari or videos.

Like SLEAP's *Export Training Job Package*, the zip holds the project as a
``.pkg.slp`` with the frame images it needs embedded, the training settings, and
scripts to run. Unzip it on a GPU workstation or a cluster and run ``./train.sh``.

Package layout (flat, as SLEAP's)::

    <name>.pkg.slp                       project; user-labeled + suggested frames embedded
    job.json                             the TrainJob, made by session.job.make_train_job as in
                                         the dock (paths relative to the package)
    <kind>.training_config.json          each model in SLEAP 1.4's training_config.json layout
    train.sh, predict.sh                 bash scripts calling the napari-sleap-train CLI
                                         (train.sh: ``napari-sleap-train train --job job.json``)
    train.slurm                          optional SLURM batch script
    README.txt

No TensorFlow here: sleap-io writes the project, the rest is text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import sleap_io as sio

from napari_sleap_train import __version__
from napari_sleap_train.config.model import PipelineConfig
from napari_sleap_train.config.sleap_json import write_sleap_config
from napari_sleap_train.export.archive import zip_folder
from napari_sleap_train.export.errors import (
    ExportJobError,
    ExportWriteError,
    PackageExistsError,
)
from napari_sleap_train.export.frames import add_suggestions, embed_plan, has_unlabeled_suggestions
from napari_sleap_train.export.runs import CarriedRun, copy_runs, plan_runs, relative_reuse
from napari_sleap_train.export.scripts import (
    JOB_FILE,
    PREDICT_SCRIPT,
    README_NAME,
    SLURM_SCRIPT,
    TRAIN_SCRIPT,
    PackageContents,
    predict_script,
    readme,
    sleap_config_name,
    train_script,
)
from napari_sleap_train.export.slurm import SlurmOptions, slurm_script
from napari_sleap_train.project.errors import SleapFileError
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.protocol.job import TrainJob, save_job
from napari_sleap_train.session.job import JobError, make_train_job

#: Runs folder written into the package's config: relative, so runs land next to the scripts.
PACKAGE_RUNS_FOLDER = "models"

#: ``progress(current, total, phase)``; phase is ``"embed"`` or ``"write"``. Return False to cancel.
ProgressCallback = Callable[[int, int, str], "bool | None"]

ProjectLike = SleapProject | sio.Labels | str | os.PathLike


class ExportCancelledError(ExportJobError):
    """The progress callback asked to stop; nothing was written."""


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_job_package` wrote.

    Attributes
    ----------
    path
        The zip file.
    project_file
        Name of the ``.pkg.slp`` inside the zip.
    files
        Every file name in the zip, in order.
    n_embedded
        Frame images embedded in the project.
    contents
        Summary used for the scripts and README.
    """

    path: Path
    project_file: str
    files: tuple[str, ...]
    n_embedded: int
    contents: PackageContents


def export_job(
    project: ProjectLike,
    pipeline: PipelineConfig,
    out_zip: str | os.PathLike,
    *,
    name: str | None = None,
    extra_frames: Iterable[tuple[int, int]] = (),
    slurm: bool | SlurmOptions = False,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    reuse: dict[str, list[str]] | None = None,
) -> Path:
    """Write a training job package and return the zip's path.

    See :func:`export_job_package` for the parameters; this returns only the path.
    """
    return export_job_package(
        project,
        pipeline,
        out_zip,
        name=name,
        extra_frames=extra_frames,
        slurm=slurm,
        overwrite=overwrite,
        progress=progress,
        reuse=reuse,
    ).path


def export_job_package(
    project: ProjectLike,
    pipeline: PipelineConfig,
    out_zip: str | os.PathLike,
    *,
    name: str | None = None,
    extra_frames: Iterable[tuple[int, int]] = (),
    slurm: bool | SlurmOptions = False,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    reuse: dict[str, list[str]] | None = None,
) -> ExportResult:
    """Write a training job package (zip) for ``project`` and ``pipeline``.

    Parameters
    ----------
    project
        A :class:`~napari_sleap_train.project.model.SleapProject` (edits in its bound
        Points layer are included), ``sleap_io.Labels`` with open videos, or the
        path of a ``.slp`` / ``.pkg.slp`` file.
    pipeline
        The settings. The package's ``job.json`` is made from them with
        :func:`~napari_sleap_train.session.job.make_train_job` (as the dock makes
        its job), on the embedded project and the runs folder ``models``, both
        relative to the package, so runs land next to the scripts.
    out_zip
        The ``.zip`` file to write.
    name
        Base name of the ``.pkg.slp`` (default: the project file's name).
    extra_frames
        ``(video index, frame index)`` pairs to embed as well (e.g. the frames
        chosen to predict on). They are added to the package's suggestions, so
        ``predict.sh`` (``--frames suggested``) predicts on them; the project
        itself is not changed.
    slurm
        ``True`` or :class:`SlurmOptions` to add ``train.slurm``.
    overwrite
        Replace an existing zip.
    progress
        Called while frames are embedded and written; return ``False`` to cancel.
    reuse
        Trained run folders the job reuses (``{"use": [...], "init_from": [...],
        "resume": [...]}``, as :func:`~napari_sleap_train.session.reuse.reuse_lists`
        gives them). They are checked as a job checks them and copied into the
        package (:mod:`~napari_sleap_train.export.runs`), so ``train.sh`` reuses them too.

    Returns
    -------
    ExportResult

    Raises
    ------
    PackageExistsError
        ``out_zip`` exists and ``overwrite`` is False.
    MissingVideoError
        A video with frames to embed cannot be read (the message names it).
    ExportCancelledError
        ``progress`` returned False.
    ExportJobError
        Any other reason the package cannot be written (bad project, pipeline
        without a model config, unknown anchor part, unwritable folder).
    """
    out = _check_output(out_zip, overwrite)
    labels, source, loaded = _load(project)
    project_name = _project_name(name, source, labels)
    project_file = f"{project_name}.pkg.slp"
    carried = plan_runs(reuse or {}, PACKAGE_RUNS_FOLDER)
    job = _package_job(pipeline, labels, project_file, carried)
    pipeline = job.pipeline
    slurm_options = _slurm_options(slurm)

    added = add_suggestions(labels, extra_frames)
    try:
        plan = embed_plan(labels, loaded, source)
        n_labeled = sum(1 for lf in labels.labeled_frames if lf.has_user_instances)
        n_suggested = len(labels.suggestions)
        predict_frames = "suggested" if has_unlabeled_suggestions(labels) else "labeled"
        with _work_folder(out) as folder:
            _write_project(labels, folder / project_file, plan, progress)
            contents = PackageContents(
                project_file=project_file,
                pipeline=pipeline.kind,
                runs_folder=pipeline.runs_folder,
                max_instances=pipeline.max_instances,
                n_labeled=n_labeled,
                n_suggested=n_suggested,
                n_embedded=len(plan),
                predict_frames=predict_frames,
                slurm=slurm_options is not None,
                version=__version__,
            )
            files = _write_text_files(folder, job, labels, contents, slurm_options, project_name)
            files += copy_runs(carried, folder)
            zip_folder(folder, [project_file, *files], out)
    finally:
        for sf in added:
            labels.suggestions.remove(sf)
    return ExportResult(
        path=out, project_file=project_file, files=(project_file, *files), n_embedded=len(plan), contents=contents
    )


# -- inputs ------------------------------------------------------------------------------
def _check_output(out_zip: str | os.PathLike, overwrite: bool) -> Path:
    """The zip's path, once it is known that the zip can be written there (before any work)."""
    out = Path(out_zip).expanduser().resolve()
    if out.suffix.lower() != ".zip":
        raise ExportJobError(f"A training job package is a .zip file; got {out.name}.")
    if out.is_dir():
        raise ExportJobError(f"{out} is a folder; give the name of the .zip file to write.")
    if out.exists() and not overwrite:
        raise PackageExistsError(f"{out} already exists; choose another name or allow overwriting (--force).")
    for parent in (out.parent, *out.parent.parents):
        if parent.exists():
            if not parent.is_dir():
                raise ExportJobError(f"{out.parent} cannot be a folder: {parent} is a file.")
            break
    if not out.parent.is_dir():
        raise ExportJobError(f"The folder {out.parent} does not exist.")
    try:  # the only sure test of "can write here" (permissions, read-only mounts, root)
        probe, probe_path = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=out.parent)
        os.close(probe)
        os.unlink(probe_path)
    except OSError as exc:
        raise ExportJobError(f"Cannot write in {out.parent}: {exc.strerror or exc}.") from None
    return out


@contextlib.contextmanager
def _work_folder(out: Path):
    """A temporary folder next to ``out`` for the package's files, removed whatever happens.

    Write failures (a full disk, a file-size limit) become one plain
    :class:`ExportJobError`; nothing is left behind.
    """
    try:
        with tempfile.TemporaryDirectory(prefix=".export-job-", dir=out.parent) as tmp:
            yield Path(tmp)
    except OSError as exc:
        raise ExportWriteError(f"Writing {out} failed: {exc.strerror or exc}; nothing was written.") from exc


def _load(project: ProjectLike) -> tuple[sio.Labels, Path | None, SleapProject | None]:
    """Labels, the file they came from, and the project (which knows its missing videos)."""
    if isinstance(project, SleapProject):
        project.sync()  # fold in edits of the bound Points layer
        return project.labels, project.path, project
    if isinstance(project, sio.Labels):
        filename = project.provenance.get("filename")
        return project, Path(filename) if filename else None, None
    try:
        loaded = SleapProject.load(project)
    except SleapFileError as exc:
        raise ExportJobError(str(exc)) from exc
    return loaded.labels, loaded.path, loaded


def _package_job(
    pipeline: PipelineConfig, labels: sio.Labels, project_file: str, carried: list[CarriedRun]
) -> TrainJob:
    """The package's job: made as the dock makes its job, checked against the project.

    Its paths (the embedded project, the runs folder, the reused runs' copies)
    are relative to the package; the reused runs are checked where they are now.
    """
    if not labels.skeletons:
        raise ExportJobError("The project has no skeleton; there is nothing to train.")
    nodes = labels.skeletons[0].node_names
    here: dict[str, list[str]] = {"use": [], "init_from": [], "resume": []}
    for run in carried:
        here[run.field].append(str(run.source))
    try:
        job = make_train_job(pipeline, project_file, runs_folder=PACKAGE_RUNS_FOLDER, node_names=nodes, **here)
    except JobError as exc:
        raise ExportJobError(str(exc)) from exc
    job = dataclasses.replace(job, **relative_reuse(carried))
    wanted = [job.pipeline.anchor_part] if job.pipeline.anchor_part else []
    for cfg in job.pipeline.models.values():
        wanted += cfg.head.part_names or []
    unknown = sorted({n for n in wanted if n not in nodes})
    if unknown:
        raise ExportJobError(f"Body part(s) {', '.join(unknown)} are not in the skeleton ({', '.join(nodes)}).")
    return job


def _project_name(name: str | None, source: Path | None, labels: sio.Labels) -> str:
    if name is None:
        if source is None:
            name = "labels"
        else:
            name = source.name
            for suffix in (".pkg.slp", ".slp"):
                if name.lower().endswith(suffix):
                    name = name[: -len(suffix)]
                    break
    name = name.strip()
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ExportJobError(f"{name!r} cannot be used as a file name for the project.")
    return name


def _slurm_options(slurm: bool | SlurmOptions) -> SlurmOptions | None:
    if slurm is False or slurm is None:
        return None
    options = SlurmOptions() if slurm is True else slurm
    try:
        options.validate()
    except ValueError as exc:
        raise ExportJobError(str(exc)) from exc
    return options


# -- frames ------------------------------------------------------------------------------
# -- writing -----------------------------------------------------------------------------
def _write_project(
    labels: sio.Labels, path: Path, plan: list[tuple[sio.Video, int]], progress: ProgressCallback | None
) -> None:
    from sleap_io.io.slp import ExportCancelled

    callback = None
    if progress is not None:

        def callback(current: int, total: int, phase: str) -> bool:
            return progress(current, total, phase) is not False

    try:
        # An empty plan would mean "keep the video references"; the package must stand alone.
        labels.save(path.as_posix(), embed=plan or "all", verbose=False, progress_callback=callback)
    except ExportCancelled:
        raise ExportCancelledError("Export cancelled; nothing was written.") from None
    except OSError as exc:
        raise ExportWriteError(f"Writing the project {path.name} failed: {exc.strerror or exc}") from exc
    except Exception as exc:
        # HDF5 reports a failed write (full disk, file-size limit) inside a long message
        reason = re.search(r"error message = '([^']+)'", str(exc))
        if reason:
            raise ExportWriteError(f"Writing the project {path.name} failed: {reason.group(1)}") from exc
        raise ExportJobError(f"Embedding the frames failed: {type(exc).__name__}: {exc}") from exc


def _write_text_files(
    folder: Path,
    job: TrainJob,
    labels: sio.Labels,
    contents: PackageContents,
    slurm: SlurmOptions | None,
    project_name: str,
) -> list[str]:
    """Write the job, configs, scripts and README into ``folder``; return their names in zip order."""
    skeleton = labels.skeletons[0]
    # train.sh runs the job file itself (every setting, lossless);
    # the SLEAP layout is for people who also use SLEAP.
    save_job(job, folder / JOB_FILE)
    files = [JOB_FILE]
    for cfg in job.pipeline.ordered_models():
        write_sleap_config(cfg, folder / sleap_config_name(cfg.kind), skeleton=skeleton)
        files.append(sleap_config_name(cfg.kind))
    scripts = {TRAIN_SCRIPT: train_script(contents), PREDICT_SCRIPT: predict_script(contents)}
    if slurm is not None:
        scripts[SLURM_SCRIPT] = slurm_script(project_name, slurm)
    for name, text in scripts.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
        files.append(name)
    (folder / README_NAME).write_text(readme(contents))
    files.append(README_NAME)
    return files
