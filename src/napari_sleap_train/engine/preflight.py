"""Checks of a training job against its data, before TensorFlow loads (no TensorFlow here).

:func:`check_job` makes sure the run folder (and the predictions' folder) can be
written, then :func:`check_sizes` runs :mod:`napari_sleap_train.data.size_checks`
for every model of the pipeline. Errors stop the run with a plain-words
:class:`~napari_sleap_train.engine.errors.EngineError` seconds after the start
(before TensorFlow loads or any run folder exists); warnings go out as
``Message`` events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sleap_io as sio

from napari_sleap_train.config.hardware import detect_hardware
from napari_sleap_train.config.model import TrainingConfig
from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.labels import symmetry_permutation
from napari_sleap_train.data.size_checks import LabelSizes, check_training_sizes
from napari_sleap_train.data.training_inputs import limbs_of
from napari_sleap_train.engine.errors import EngineConfigError, EngineDataError
from napari_sleap_train.engine.labeled_data import LabeledData
from napari_sleap_train.outputs import OutputError, check_output_folder
from napari_sleap_train.protocol.events import Message
from napari_sleap_train.protocol.job import TrainJob


def hardware_of(device: str) -> str:
    """``"cpu"`` or ``"gpu"`` for a device setting (``auto``: guessed without TensorFlow)."""
    device = (device or "auto").strip().lower()
    if device.startswith("cpu"):
        return "cpu"
    if device.startswith("gpu"):
        return "gpu"
    return detect_hardware()


def _free_memory() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def label_sizes(labels: sio.Labels, data: LabeledData) -> LabelSizes:
    """Instances, split and largest frame of the labeled videos."""
    hw, channels = None, 1
    for v in sorted({s.video_index for s in data.samples}):
        try:
            shape = labels.videos[v].shape
        except Exception:  # noqa: BLE001 - an unreadable video is reported when frames load
            shape = None
        if not shape:
            continue
        h, w = int(shape[1]), int(shape[2])
        hw = (h, w) if hw is None else (max(hw[0], h), max(hw[1], w))
        channels = max(channels, int(shape[3]) if len(shape) > 3 else 1)
    return LabelSizes(
        instances=[s.instances for s in data.samples],
        train_frames=list(data.train_idx),
        node_names=list(data.node_names),
        frame_hw=hw,
        channels=channels,
    )


def check_sizes(
    models: Sequence[TrainingConfig], labels: sio.Labels, device: str, emit: Callable[[object], None]
) -> None:
    """Refuse sizes that cannot work and warn about slow ones, for every model.

    Raises
    ------
    EngineConfigError
        The first size that cannot work (batch, crop, memory), with what to use instead.
    """
    hardware = hardware_of(device)
    memory = _free_memory() if hardware == "cpu" else None
    for cfg in models:
        data = LabeledData.from_labels(labels, cfg.data.validation_fraction, cfg.optimization.seed)
        for finding in check_training_sizes(cfg, label_sizes(labels, data), hardware, memory):
            if finding.level == "error":
                raise EngineConfigError(finding.message, hint=finding.hint)
            emit(Message(level="warning", text=f"{finding.message} {finding.hint[:1].upper()}{finding.hint[1:]}."))


def check_flips(models: Sequence[TrainingConfig], labels: sio.Labels, emit: Callable[[object], None]) -> None:
    """Say so when mirrored samples cannot swap left and right nodes (the skeleton names no pairs).

    Flipping still runs, as in SLEAP: right for a skeleton without left and
    right parts, wrong for one whose pairs are neither declared nor named L/R.
    """
    if not any(cfg.augmentation.flip for cfg in models) or symmetry_permutation(labels) is not None:
        return
    emit(
        Message(
            level="warning",
            text="Mirrored training samples (flips) keep every node's name: the skeleton declares no "
            "symmetries and no node names pair up as left/right (wingL/wingR, left_ear/right_ear). If the "
            "animal has left and right parts, declare them as symmetries in SLEAP or turn off flips in "
            "the model's augmentation.",
        )
    )


def check_limbs(models: Sequence[TrainingConfig], labels: sio.Labels, emit: Callable[[object], None]) -> None:
    """Say so when *Bend limbs* is on but the skeleton has no limb tip to bend (no edges, or no leaf)."""
    if not labels.skeletons:
        return
    skeleton = labels.skeleton
    try:
        bent = [limbs_of(c, skeleton.node_names, skeleton.edge_names) for c in models]
    except DataError:  # an unknown anchor part: refused with its own message when training starts
        return
    if not any(pairs is not None and len(pairs) == 0 for pairs in bent):
        return
    emit(
        Message(
            level="warning",
            text="Bend limbs has nothing to bend: it turns the skeleton's tips (nodes with one edge) about "
            "the node they hang from, and this skeleton has no such tip. Add the skeleton's edges in SLEAP, "
            "or set Bend limbs to 0.",
        )
    )


def check_output_folders(job: TrainJob) -> None:
    """The run folder, and the predictions' folder when frames are to be predicted, must be writable.

    Raises
    ------
    EngineDataError
        Naming the folder and why (a file, read-only, ...).
    """
    from napari_sleap_train.predictions.merge import train_job_output_folders

    for what, folder in train_job_output_folders(job):
        try:
            check_output_folder(folder)
        except OutputError as exc:
            raise EngineDataError(f"The {what} cannot be used: {exc}", hint="choose another folder") from exc


def check_job(
    job: TrainJob, models: Sequence[TrainingConfig], labels: sio.Labels, emit: Callable[[object], None]
) -> None:
    """Everything a train job can be refused for before TensorFlow loads: output folders, then sizes."""
    check_output_folders(job)
    check_sizes(models, labels, job.pipeline.device, emit)
    check_flips(models, labels, emit)
    check_limbs(models, labels, emit)


def resolve_identity_classes(cfg: TrainingConfig, data: LabeledData, emit: Callable[[object], None]) -> None:
    """Set an identity model's classes (the project's track names when not given) or refuse.

    Classes are the names of the tracks the user instances are on. A project
    with fewer than two is refused in plain words, before TensorFlow loads;
    user instances without a track are counted in a message (they are left
    out of the class loss).

    Raises
    ------
    EngineDataError
        Fewer than two classes.
    """
    from napari_sleap_train.data.class_targets import NO_CLASS, class_indices, project_classes, too_few_classes

    names = [t.name for t in data.labels.tracks]
    track_ids = [t for s in data.samples for t in s.track_ids]
    classes = list(cfg.identity.classes) if cfg.identity.classes else project_classes(names, track_ids)
    what = "top-down-id" if cfg.kind.value == "multi_class_topdown" else "bottom-up-id"
    if len(classes) < 2:
        message, hint = too_few_classes(what, classes)
        raise EngineDataError(message, hint=hint)
    cfg.identity.classes = classes
    unclassed = sum(int((class_indices(s.track_ids, names, classes) == NO_CLASS).sum()) for s in data.samples)
    total = sum(len(s.track_ids) for s in data.samples)
    emit(
        Message(
            text=(
                f"The {what} model learns {len(classes)} classes ({', '.join(classes)}) from "
                f"{total - unclassed} of the {total} labeled instances"
                + (
                    f"; {unclassed} without a track {'is' if unclassed == 1 else 'are'} left out of the class loss."
                    if unclassed
                    else "."
                )
            ),
            level="warning" if unclassed else "info",
        )
    )
