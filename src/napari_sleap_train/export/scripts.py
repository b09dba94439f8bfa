"""Text of the scripts and README inside a training job package.

The scripts are plain bash: they need nothing but the ``napari-sleap-train``
command on ``PATH`` (``pip install napari-sleap-train``; no napari, no display).
Both change to their own folder first, so they can be started from anywhere.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from napari_sleap_train.config.model import ModelKind, PipelineKind

#: File names inside the package.
JOB_FILE = "job.json"
TRAIN_SCRIPT = "train.sh"
PREDICT_SCRIPT = "predict.sh"
SLURM_SCRIPT = "train.slurm"
README_NAME = "README.txt"


def sleap_config_name(kind: ModelKind) -> str:
    """File name of the SLEAP 1.4 ``training_config.json`` of one model in the package."""
    return f"{ModelKind(kind).value}.training_config.json"


@dataclass(frozen=True)
class PackageContents:
    """What a package holds, as needed to write its scripts and README.

    Attributes
    ----------
    project_file
        Name of the embedded project (``<name>.pkg.slp``).
    pipeline
        Pipeline kind (decides which models ``predict.sh`` looks for).
    runs_folder
        Folder (relative to the package) the run folders are written to.
    max_instances
        Most animals per frame ``predict.sh`` keeps (``None``: no limit).
    n_labeled, n_suggested, n_embedded
        Frames with user labels, suggested frames, frame images embedded.
    predict_frames
        ``--frames`` value ``predict.sh`` uses by default.
    slurm
        Whether ``train.slurm`` is included.
    version
        napari-sleap-train version that wrote the package.
    """

    project_file: str
    pipeline: PipelineKind
    runs_folder: str
    max_instances: int | None
    n_labeled: int
    n_suggested: int
    n_embedded: int
    predict_frames: str
    slurm: bool
    version: str


_HEADER = """#!/usr/bin/env bash
# {title}
# Requires napari-sleap-train to be installed in the active Python environment
# (pip install napari-sleap-train), so that the `napari-sleap-train` command is on PATH.
# Extra arguments are passed on: {example}
set -euo pipefail
cd "$(dirname "${{BASH_SOURCE[0]}}")"

if ! command -v napari-sleap-train >/dev/null 2>&1; then
    echo "napari-sleap-train is not installed in this environment (pip install napari-sleap-train)." >&2
    exit 127
fi
"""


def train_script(contents: PackageContents) -> str:
    """``train.sh``: run the package's job (every setting the dock or export-job chose)."""
    header = _HEADER.format(
        title=f"Train the {contents.pipeline.value} models of this package on {contents.project_file}.",
        example="./train.sh --epochs 50",
    )
    # the job file holds every setting; options in "$@" change them (e.g. --epochs, --device)
    args = ["napari-sleap-train", "train", "--job", JOB_FILE]
    return header + "\n" + " ".join(shlex.quote(a) for a in args) + ' "$@"\n'


def predict_script(contents: PackageContents) -> str:
    """``predict.sh``: predict with the newest trained run folder of each model kind."""
    kinds = [k.value for k in contents.pipeline.model_kinds]
    header = _HEADER.format(
        title=f"Predict on {contents.project_file} with the newest models trained by train.sh.",
        example="./predict.sh --frames labeled",
    )
    project = shlex.quote(contents.project_file)
    limit = f" --max-instances {int(contents.max_instances)}" if contents.max_instances else ""
    body = f"""
# Run folders are <runs folder>/<YYMMDD_HHMMSS>.<model kind>; set RUNS_DIR if train.sh wrote elsewhere.
RUNS_DIR="${{RUNS_DIR:-{contents.runs_folder}}}"

newest_run() {{  # newest run folder of one model kind that holds a trained model
    local kind="$1" best="" best_model="" run model
    for run in "$RUNS_DIR"/*."$kind"; do
        for model in "$run/best_model.keras" "$run/best_model.h5"; do
            [[ -f "$model" ]] || continue
            if [[ -z "$best" || "$model" -nt "$best_model" ]]; then best="$run"; best_model="$model"; fi
            break
        done
    done
    if [[ -z "$best" ]]; then
        echo "No trained $kind model in $RUNS_DIR/; run ./train.sh first." >&2
        exit 1
    fi
    printf '%s' "$best"
}}

models=()
for kind in {" ".join(kinds)}; do
    run="$(newest_run "$kind")"
    echo "using $run" >&2
    models+=(--model "$run")
done

napari-sleap-train predict {project} "${{models[@]}}" --frames {contents.predict_frames}{limit} "$@"
"""
    return header + body


def readme(contents: PackageContents) -> str:
    """``README.txt``: what is in the package and how to run it."""
    models = ", ".join(k.value.replace("_", " ") for k in contents.pipeline.model_kinds)
    config_files = f"  {JOB_FILE:<40}the training job: every setting of every model (read by train.sh)"
    sleap_files = "\n".join(
        f"  {sleap_config_name(k):<40}the {k.value.replace('_', ' ')} model for SLEAP 1.4"
        for k in contents.pipeline.model_kinds
    )
    slurm = (
        f"  {SLURM_SCRIPT:<40}SLURM batch script (GPU request; edit the module/venv lines)\n" if contents.slurm else ""
    )
    slurm_usage = (
        "\nOn a SLURM cluster, edit the environment lines of train.slurm, then from this folder:\n"
        "    sbatch train.slurm\n"
        if contents.slurm
        else ""
    )
    return f"""napari-sleap-train training job package
=======================================

Pipeline: {contents.pipeline.value} ({models})
Project:  {contents.project_file}: {contents.n_labeled} labeled frames, {contents.n_suggested} suggested frames,
          {contents.n_embedded} frame images embedded (no video file is needed).
Written by napari-sleap-train {contents.version}.

Contents
  {contents.project_file:<40}the project with its frame images embedded
{config_files}
{sleap_files}
  {TRAIN_SCRIPT:<40}trains the models
  {PREDICT_SCRIPT:<40}predicts with the newest trained models
{slurm}  {README_NAME:<40}this file

Requirements
  Python with napari-sleap-train installed (napari itself is not needed):
      pip install napari-sleap-train          (add tensorflow[and-cuda] on NVIDIA GPUs)
  The scripts need bash and the `napari-sleap-train` command on PATH.

Usage (from any folder; the scripts change to their own folder)
    ./train.sh                  train; run folders appear in {contents.runs_folder}/
    ./train.sh --epochs 50      extra arguments go to `napari-sleap-train train`
                                (see `napari-sleap-train train --help`; edit
                                {JOB_FILE} for every other setting)
    ./predict.sh                predict ({contents.predict_frames} frames) with the newest runs;
                                writes predictions/<project>.<time>.predictions.slp
{slurm_usage}
Bring the results back: copy the {contents.runs_folder}/ folder and the predictions .slp to
your computer and open the .slp in napari (or SLEAP).
"""
