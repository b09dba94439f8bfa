"""Training job packages: a zip that trains and predicts on another machine.

Public API::

    from napari_sleap_train.export import export_job, extract_job, SlurmOptions

No TensorFlow, no Qt: safe to call from the napari process.
"""

from napari_sleap_train.export.archive import extract_job
from napari_sleap_train.export.errors import (
    ExportJobError,
    ExportWriteError,
    MissingVideoError,
    PackageExistsError,
)
from napari_sleap_train.export.package import (
    ExportCancelledError,
    ExportResult,
    export_job,
    export_job_package,
)
from napari_sleap_train.export.slurm import SlurmOptions, slurm_script

__all__ = [
    "ExportCancelledError",
    "ExportJobError",
    "ExportResult",
    "ExportWriteError",
    "MissingVideoError",
    "PackageExistsError",
    "SlurmOptions",
    "export_job",
    "export_job_package",
    "extract_job",
    "slurm_script",
]
