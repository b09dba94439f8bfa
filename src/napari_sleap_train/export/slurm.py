"""SLURM batch script template for a training job package.

Cluster users submit the unzipped package with ``sbatch train.slurm``. The
template asks for one GPU and leaves the environment set-up (``module load``,
virtualenv or conda activation) as commented lines, because every cluster names
its modules differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: ``--time`` forms SLURM accepts that we write (minutes, [D-]HH:MM[:SS]).
_TIME = re.compile(r"^(\d+|(\d+-)?\d{1,2}:\d{2}(:\d{2})?)$")


@dataclass
class SlurmOptions:
    """Resources requested by ``train.slurm``.

    Attributes
    ----------
    job_name
        ``--job-name`` (default: ``<project>-train``).
    partition
        ``--partition``; ``None`` leaves the line commented (cluster default).
    time
        Wall-time limit, e.g. ``"12:00:00"`` or ``"1-00:00:00"``.
    gpus
        GPUs to request (``--gres=gpu:N``); 0 writes a CPU-only script.
    cpus
        ``--cpus-per-task`` (data loading and augmentation run on the CPU).
    mem_gb
        ``--mem`` in GB.
    """

    job_name: str | None = None
    partition: str | None = None
    time: str = "12:00:00"
    gpus: int = 1
    cpus: int = 4
    mem_gb: int = 16

    def validate(self) -> None:
        """Raise ``ValueError`` with a plain message for values SLURM would reject."""
        if not _TIME.match(self.time):
            raise ValueError(f"SLURM time limit {self.time!r} is not MINUTES, HH:MM:SS or D-HH:MM:SS")
        for name in ("gpus", "cpus", "mem_gb"):
            value = getattr(self, name)
            if value < (0 if name == "gpus" else 1):
                raise ValueError(f"SLURM {name} must be {'>= 0' if name == 'gpus' else '>= 1'}, got {value}")
        for name in ("job_name", "partition"):
            value = getattr(self, name)
            if value is not None and not re.fullmatch(r"[A-Za-z0-9_.,+-]+", value):
                raise ValueError(f"SLURM {name} {value!r} may only hold letters, digits and _ . , + -")


def slurm_script(project_name: str, options: SlurmOptions | None = None) -> str:
    """Text of ``train.slurm`` for a package whose project is ``<project_name>.pkg.slp``.

    The script changes to the submission folder (``sbatch`` runs a spooled
    copy, so the script's own location is not the package folder) and runs
    ``train.sh`` there, passing any extra arguments on.
    """
    options = options or SlurmOptions()
    options.validate()
    default_name = re.sub(r"[^A-Za-z0-9_.+-]+", "_", project_name)[:40] + "-train"
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={options.job_name or default_name}",
        f"#SBATCH --partition={options.partition}" if options.partition else "##SBATCH --partition=gpu",
        f"#SBATCH --time={options.time}",
        f"#SBATCH --cpus-per-task={options.cpus}",
        f"#SBATCH --mem={options.mem_gb}G",
    ]
    if options.gpus:
        lines.append(f"#SBATCH --gres=gpu:{options.gpus}")
    lines += [
        "#SBATCH --output=slurm-%j.out",
        "#",
        "# Training job for SLURM clusters. Submit it from the unzipped package folder:",
        "#     sbatch train.slurm            (extra arguments go to train.sh, e.g. --epochs 50)",
        "# Progress is written to slurm-<jobid>.out; trained models appear in models/.",
        "",
        "set -euo pipefail",
        "",
        "# Make napari-sleap-train available. Uncomment and adapt what your cluster needs:",
        "# module load cuda/12.3 cudnn/9",
        '# source "$HOME/venvs/napari-sleap-train/bin/activate"',
        "# conda activate napari-sleap-train",
        "",
        "# sbatch runs a copy of this script from a spool folder: work where it was submitted.",
        'cd "${SLURM_SUBMIT_DIR:-$(pwd)}"',
        'echo "job ${SLURM_JOB_ID:-local} on $(hostname), started $(date)"',
    ]
    if options.gpus:
        lines.append("command -v nvidia-smi >/dev/null && nvidia-smi -L || echo 'nvidia-smi not found'")
    lines += ["", 'bash ./train.sh "$@"', ""]
    return "\n".join(lines)
