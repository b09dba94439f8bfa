"""Save each model's settings as a SLEAP 1.4 ``training_config.json`` (the dock's "Save SLEAP configs...").

The same files a job package carries (``<kind>.training_config.json``), made
from the same job (:func:`~napari_sleap_train.session.job.make_train_job`: the
pipeline's anchor part in each head), written atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import sleap_io as sio

from napari_sleap_train.config.model import PipelineConfig
from napari_sleap_train.config.sleap_json import write_sleap_config
from napari_sleap_train.export.errors import ExportJobError
from napari_sleap_train.export.scripts import sleap_config_name
from napari_sleap_train.session.job import JobError, make_train_job


def sleap_config_names(pipeline: PipelineConfig) -> list[str]:
    """The file names :func:`save_sleap_configs` writes, in training order."""
    return [sleap_config_name(k) for k in pipeline.kind.model_kinds if k in pipeline.models]


def save_sleap_configs(pipeline: PipelineConfig, folder: str | Path, skeleton: sio.Skeleton | None) -> list[Path]:
    """Write one ``<kind>.training_config.json`` per model of the pipeline into ``folder``.

    Raises
    ------
    ExportJobError
        The folder does not exist, the pipeline lacks a model's settings, or a file cannot be written.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ExportJobError(f"The folder {folder} does not exist.")
    try:
        job = make_train_job(pipeline, "labels.slp")  # the job's models: kind and anchor part set
    except JobError as exc:
        raise ExportJobError(str(exc)) from exc
    written = []
    for cfg in job.pipeline.ordered_models():
        target = folder / sleap_config_name(cfg.kind)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        os.close(fd)
        try:
            write_sleap_config(cfg, Path(tmp), skeleton=skeleton)
            os.replace(tmp, target)
        except OSError as exc:
            raise ExportJobError(f"Could not write {target}: {exc.strerror or exc}") from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        written.append(target)
    return written
