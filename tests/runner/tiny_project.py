"""A tiny, learnable SLEAP project for fast training tests (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap_train.config.model import (
    ModelKind,
    OptimizationConfig,
    PipelineConfig,
    PipelineKind,
    TrainingConfig,
    UNetConfig,
)
from napari_sleap_train.protocol.job import TrainJob


def _blob(xx, yy, xy, amp):
    return amp * np.exp(-((xx - xy[0]) ** 2 + (yy - xy[1]) ** 2) / 8.0)


def make_tiny_project(
    folder: Path,
    n_frames: int = 10,
    size: int = 64,
    n_animals: int = 2,
    seed: int = 0,
    edge: tuple[str, str] | None = None,
    tracks: tuple[str, ...] | None = None,
    untracked: int = 0,
) -> Path:
    """Write ``tiny.mp4`` + ``tiny.slp``: bright head and dimmer tail blobs per animal.

    Every frame is labeled (2-node skeleton ``head``/``tail``, with ``edge``,
    e.g. ``("head", "tail")``, as bottom-up models need); returns the .slp path.
    With ``tracks`` (one name per animal, e.g. ``("female", "male")``) each
    animal's instances are on its track and the animals look different (the
    second one is dimmer), as identity models need;
    the first ``untracked`` instances (frame order) are then left without one.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    frames = np.zeros((n_frames, size, size, 1), np.uint8)
    skeleton = sio.Skeleton(["head", "tail"], [edge]) if edge else sio.Skeleton(["head", "tail"])
    video = None
    all_points = []
    for i in range(n_frames):
        img = np.full((size, size), 30.0, np.float32)
        points = []
        for a in range(n_animals):
            cx = rng.uniform(14, size - 14)
            cy = (a + 0.5) * size / n_animals + rng.uniform(-4, 4)
            angle = rng.uniform(0, 2 * np.pi)
            d = np.array([np.cos(angle), np.sin(angle)]) * 6.0
            head, tail = np.array([cx, cy]) + d, np.array([cx, cy]) - d
            dim = 0.6 if tracks and a % 2 else 1.0  # a tracked project's second animal is dimmer
            img += dim * (_blob(xx, yy, head, 200.0) + _blob(xx, yy, tail, 90.0))
            points.append(np.stack([head, tail]))
        frames[i, ..., 0] = np.clip(img, 0, 255).astype(np.uint8)
        all_points.append(points)
    video_path = folder / "tiny.mp4"
    sio.save_video(frames, str(video_path), fps=10, crf=1)
    video = sio.Video.from_filename(str(video_path))
    lfs = []
    track_objs = [sio.Track(name=n) for n in tracks] if tracks else []
    left = untracked
    for i, points in enumerate(all_points):
        insts = [sio.Instance.from_numpy(p, skeleton=skeleton) for p in points]
        for a, inst in enumerate(insts):
            if track_objs and left > 0:
                left -= 1
            elif track_objs:
                inst.track = track_objs[a % len(track_objs)]
        lfs.append(sio.LabeledFrame(video=video, frame_idx=i, instances=insts))
    labels = sio.Labels(labeled_frames=lfs, videos=[video], skeletons=[skeleton], tracks=track_objs)
    path = folder / "tiny.slp"
    sio.save_slp(labels, str(path), verbose=False)
    return path


def tiny_config(kind: ModelKind, epochs: int = 2, batches: int = 3, **opt) -> TrainingConfig:
    """A U-Net small enough to train in a second on CPU."""
    cfg = TrainingConfig(
        kind=kind,
        model=UNetConfig(max_stride=8, output_stride=2, filters=4, filters_rate=1.5),
        optimization=OptimizationConfig(
            batch_size=4, epochs=epochs, batches_per_epoch=batches, learning_rate=1e-3, **opt
        ),
    )
    cfg.data.validation_fraction = 0.2
    cfg.head.sigma = 2.0
    if kind == ModelKind.CENTROID:
        cfg.data.input_scaling = 0.5
    if kind == ModelKind.MULTI_INSTANCE:
        cfg.pafs.output_stride = 4
        cfg.pafs.sigma = 10.0  # fields about 3.4 px either side of the 12 px edge
    if kind == ModelKind.MULTI_CLASS_TOPDOWN:
        cfg.identity.output_stride, cfg.identity.num_fc_layers, cfg.identity.num_fc_units = 8, 1, 16
        cfg.identity.loss_weight = 0.01  # as the topdown_id profiles (weight 1 kept the maps flat here)
    if kind == ModelKind.MULTI_CLASS_BOTTOMUP:
        cfg.identity.output_stride, cfg.identity.sigma = 2, 2.0
    return cfg


def tiny_job(labels_path: Path, runs: Path, kind: PipelineKind = PipelineKind.TOP_DOWN, **kw) -> TrainJob:
    """A TrainJob with tiny models for every model of the pipeline."""
    models = {k: tiny_config(k, **kw) for k in kind.model_kinds}
    pipeline = PipelineConfig(kind=kind, models=models, anchor_part="head", device="cpu")
    return TrainJob(labels_path=str(labels_path), pipeline=pipeline, runs_folder=str(runs))


def write_run_folder(folder: Path, cfg: TrainingConfig, node_names=("head", "tail"), resumable: bool = False) -> Path:
    """A run folder as the engine lays it out, for job-building tests that train nothing.

    ``config.json`` and ``training_config.json`` (with the skeleton) are real;
    the model files are empty placeholders: enough to list the run and build
    a job that reuses it, never loaded (tests that load models train one).
    """
    from napari_sleap_train.config.serialize import save_json
    from napari_sleap_train.config.sleap_json import write_sleap_config

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_json(cfg, folder / "config.json")
    write_sleap_config(cfg, folder / "training_config.json", skeleton=sio.Skeleton(list(node_names)))
    (folder / "best_model.keras").write_bytes(b"")
    if resumable:
        (folder / "latest_model.keras").write_bytes(b"")
        (folder / "training_log.csv").write_text(
            "epoch,loss,val_loss,lr,time\n0,1.0,1.0,0.001,1.0\n1,0.9,0.9,0.001,2.0\n"
        )
    return folder
