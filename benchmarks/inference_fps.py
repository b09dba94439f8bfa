"""Benchmark: top-down inference speed on 1024x1024 fly frames (CPU).

Run from the repository root::

    python -m benchmarks.inference_fps [--frames 24] [--batch-size 4]

Builds fresh (untrained) models at SLEAP's baseline sizes -- centroid
``baseline.centroid`` (input scaling 0.5, max stride 16, 16 filters) and
centered instance ``baseline_medium_rf.topdown`` (max stride 16, 24 filters,
crop size chosen from the labels as a real run would) -- saves them as run
folders, and reports:

* TensorFlow import time and model load time (``load_predictor`` on the two
  run folders), separately;
* frames per second of the full top-down path on ``fly/clip.mp4`` (decode in
  a background thread, centroid network + peak finding, crops, centered-
  instance network, mapping back), with two crops per frame: untrained
  centroid maps do not find the flies, so the centered-instance stage is fed
  the two labeled anchors of each frame (the work a trained model does);
* frames per second of each network stage alone;
* peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fly" / "clip.slp"


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 1024 if sys.platform != "darwin" else peak / 1024**2


def _anchors(labels, frames, anchor_index):
    """Labeled anchors per frame (bounding-box midpoints when no anchor node)."""
    from napari_sleap_train.data.anchors import anchor_points

    by_key = {(labels.videos.index(lf.video), lf.frame_idx): lf for lf in labels.labeled_frames}
    out = []
    for key in frames:
        lf = by_key.get(key)
        pts = (
            np.stack([i.numpy() for i in lf.user_instances])
            if lf is not None and lf.user_instances
            else np.zeros((0, 1, 2))
        )
        a = anchor_points(pts, anchor_index) if len(pts) else np.zeros((0, 2))
        out.append(a[np.isfinite(a).all(axis=1)])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT), help="a .slp project (default: fly/clip.slp)")
    parser.add_argument("--frames", type=int, default=24, help="frames to time (default: 24)")
    parser.add_argument("--batch-size", type=int, default=4, help="frames per batch (default: 4)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from napari_sleap_train.config.model import ModelKind
    from napari_sleap_train.config.profiles import get_profile
    from napari_sleap_train.config.serialize import save_json
    from napari_sleap_train.data.crops import auto_crop_size
    from napari_sleap_train.project.model import SleapProject

    project = SleapProject.load(args.path)
    labels = project.labels
    skeleton = labels.skeletons[0]
    n_nodes = len(skeleton.nodes)
    frame_shape = labels.videos[0].shape
    print(f"project: {Path(args.path).name}, frames {frame_shape}, {n_nodes} nodes")

    centroid_cfg = get_profile("baseline.centroid")
    centered_cfg = get_profile("baseline_medium_rf.topdown")
    instances = [np.stack([i.numpy() for i in lf.user_instances]) for lf in labels.labeled_frames if lf.user_instances]
    centered_cfg.data.crop_size = auto_crop_size(
        instances,
        input_scaling=centered_cfg.data.input_scaling,
        max_stride=centered_cfg.model.max_stride,
        padding=centered_cfg.data.crop_padding,
        max_rotation_deg=centered_cfg.augmentation.max_rotation,
    )
    centroid_cfg.kind = ModelKind.CENTROID
    centered_cfg.kind = ModelKind.CENTERED_INSTANCE

    t0 = time.perf_counter()
    import keras  # noqa: F401 - timed on purpose

    from napari_sleap_train.engine.inference import Predictor, load_predictor
    from napari_sleap_train.engine.unet import build_model

    t_import = time.perf_counter() - t0
    channels = frame_shape[-1]
    with tempfile.TemporaryDirectory() as tmp:
        run_dirs = []
        for cfg, n_out in ((centroid_cfg, 1), (centered_cfg, n_nodes)):
            run = Path(tmp) / f"bench.{cfg.kind.value}"
            run.mkdir()
            model = build_model(cfg, n_out, channels)
            model.save(run / "best_model.keras")
            save_json(cfg, run / "config.json")
            run_dirs.append(run)
            params = model.count_params()
            print(
                f"{cfg.kind.value}: {params:,} parameters, input scaling {cfg.data.input_scaling}, "
                f"max stride {cfg.model.max_stride}, output stride {cfg.model.output_stride}"
                + (f", crop {cfg.data.crop_size} px" if cfg.data.crop_size else "")
            )
        t0 = time.perf_counter()
        predictor = load_predictor(run_dirs, batch_size=args.batch_size, max_instances=2)
        t_load = time.perf_counter() - t0

    n = min(args.frames, frame_shape[0])
    frames = [(0, i) for i in range(n)]
    anchors = _anchors(labels, frames, None)
    # warm-up: the first call traces the graphs
    warm = next(iter(predictor.iter_batches(labels, frames[: args.batch_size])))[1]
    predictor.predict_instances(warm, centroids=anchors[: len(warm)])

    t_centroid = t_centered = 0.0
    n_crops = 0
    t0 = time.perf_counter()
    done = 0
    for chunk, images in predictor.iter_batches(labels, frames):
        a = anchors[done : done + len(chunk)]
        s = time.perf_counter()
        predictor.find_centroids(images)
        t_centroid += time.perf_counter() - s
        s = time.perf_counter()
        predictor.predict_instances(images, centroids=a)
        t_centered += time.perf_counter() - s
        n_crops += sum(len(x) for x in a)
        done += len(chunk)
    total = time.perf_counter() - t0

    # the plain predict() path as users run it (untrained centroids: instances found vary)
    t0 = time.perf_counter()
    plain = Predictor(predictor.models, batch_size=args.batch_size, max_instances=2).predict(labels, frames)
    t_plain = time.perf_counter() - t0
    n_found = sum(len(lf.predicted_instances) for lf in plain.labeled_frames)

    print()
    print(f"TensorFlow/Keras import      {t_import:6.2f} s")
    print(f"model load (2 run folders)   {t_load:6.2f} s")
    print(
        f"top-down, 2 crops/frame      {n / total:6.2f} frames/s  ({n} frames, batch {args.batch_size}, "
        f"{n_crops} crops, decode overlapped)"
    )
    print(f"  centroid stage alone       {n / t_centroid:6.2f} frames/s")
    print(f"  centered-instance stage    {n_crops / t_centered:6.2f} crops/s")
    print(f"predict() as shipped         {n / t_plain:6.2f} frames/s  (untrained centroids: {n_found} instances)")
    print(f"peak RSS                     {_peak_rss_mb():6.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
