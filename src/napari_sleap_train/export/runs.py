"""Trained runs a job reuses, carried into its package.

A job may use a trained run as it is, start new runs from a run's weights, or
resume a stopped run (``use`` / ``init_from`` / ``resume``). Those folders live
on the machine the package was made on, so the package carries copies and its
``job.json`` names them relative to the package: ``train.sh`` elsewhere then
does what the dock or ``train`` would do here.

* ``use`` and ``resume`` runs go into the package's runs folder (``models/``):
  a used run is that model kind's newest trained run there (``predict.sh``
  finds it), and a resumed run goes on training in place, as at home.
* ``init_from`` runs go into ``reused/``: only their weights are read.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from napari_sleap_train.export.errors import ExportJobError

#: package folder for runs whose weights only start new runs
REUSED_FOLDER = "reused"


@dataclass(frozen=True)
class CarriedRun:
    """A reused run folder and where its copy sits in the package (a relative POSIX path)."""

    field: str  # "use", "init_from" or "resume"
    source: Path
    target: str


def plan_runs(reuse: dict[str, list[str]], runs_folder: str) -> list[CarriedRun]:
    """Where each reused run goes in the package (names made unique; no file touched).

    Raises
    ------
    ExportJobError
        A run folder does not exist.
    """
    taken: set[str] = set()
    out = []
    for name in ("use", "init_from", "resume"):
        for folder in reuse.get(name, []):
            source = Path(folder).expanduser().resolve()
            if not source.is_dir():
                raise ExportJobError(f"The run folder {source} to {name.replace('_', ' ')} does not exist.")
            parent = REUSED_FOLDER if name == "init_from" else runs_folder
            target, k = f"{parent}/{source.name}", 1
            while target in taken:
                k += 1
                target = f"{parent}/{source.name}-{k}"
            taken.add(target)
            out.append(CarriedRun(name, source, target))
    return out


def copy_runs(runs: list[CarriedRun], folder: Path) -> list[str]:
    """Copy the runs into the package folder; return the files written (relative POSIX paths)."""
    files: list[str] = []
    for run in runs:
        dest = folder / run.target
        shutil.copytree(run.source, dest, symlinks=False)  # copy2: model files keep their times
        for root, _dirs, names in os.walk(dest):
            for name in sorted(names):
                files.append((Path(root) / name).relative_to(folder).as_posix())
    return files


def relative_reuse(runs: list[CarriedRun]) -> dict[str, list[str]]:
    """The job's ``use`` / ``init_from`` / ``resume`` lists, relative to the package."""
    out: dict[str, list[str]] = {"use": [], "init_from": [], "resume": []}
    for run in runs:
        out[run.field].append(run.target)
    return out
