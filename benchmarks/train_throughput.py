"""Benchmark: training throughput (samples/s) at SLEAP's baseline sizes and with the CPU profiles.

Run from the repository root::

    python -m benchmarks.train_throughput [path/to/project.slp] [--frames 40] [--batches 10]

Defaults to ``../shared/data/fly/clip.slp`` (1024x1024 gray, 2 flies). For each
model of the top-down pipeline with the built-in baseline profiles
(``baseline.centroid``: input scaling 0.5 -> 512x512 frames;
``baseline_medium_rf.topdown``: full-resolution crops, auto crop size) and
for the CPU profiles (``cpu.centroid``, ``cpu.centered_instance``) it
prints the time to build the examples and trace the graph, training samples/s
over ``--batches`` batches after warm-up, the example pipeline's own rate
(samples/s without the model), and peak RSS of the process.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fly" / "clip.slp"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", default=str(DEFAULT))
    parser.add_argument("--frames", type=int, default=40, help="labeled frames to use (default 40)")
    parser.add_argument("--batches", type=int, default=10, help="timed batches per model (default 10)")
    parser.add_argument(
        "--profiles",
        choices=["gpu", "cpu", "both"],
        default="both",
        help="SLEAP's baseline (GPU) profiles, the CPU profiles, or both (default)",
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import sleap_io as sio

    from napari_sleap_train.config.model import ModelKind, PipelineKind
    from napari_sleap_train.config.profiles import default_pipeline
    from napari_sleap_train.engine.hardware import setup_device

    info = setup_device("auto")
    import keras

    from napari_sleap_train.engine.dataset import ExampleMaker, make_datasets
    from napari_sleap_train.engine.labeled_data import FrameStore, LabeledData
    from napari_sleap_train.engine.train import _compile
    from napari_sleap_train.engine.unet import build_model

    print(f"hardware: {info.description}; TensorFlow {info.tensorflow_version}, Keras {keras.__version__}")
    labels = sio.load_slp(args.project)
    labels = sio.Labels(
        labeled_frames=list(labels.labeled_frames[: args.frames]),
        videos=list(labels.videos),
        skeletons=list(labels.skeletons),
        tracks=list(labels.tracks),
    )
    t = time.perf_counter()
    data = LabeledData.from_labels(labels, 0.1)
    frames = FrameStore(labels, [s.key for s in data.samples])
    print(
        f"decoded {len(frames.keys)} frames once in {time.perf_counter() - t:.1f}s (peak RSS {_peak_rss_mb():.0f} MB)"
    )

    hardware = ["gpu", "cpu"] if args.profiles == "both" else [args.profiles]
    for which in hardware:
        pipeline = default_pipeline(PipelineKind.TOP_DOWN, which)
        results = []
        for kind in (ModelKind.CENTROID, ModelKind.CENTERED_INSTANCE):
            cfg = pipeline.models[kind]
            bs = cfg.optimization.batch_size
            t = time.perf_counter()
            maker = ExampleMaker(cfg, data, frames)
            sets = make_datasets(maker, bs, args.batches, 1, None)
            it = iter(sets.train)
            next(it)
            n_probe = 10
            t_pipe = time.perf_counter()
            for _ in range(n_probe):
                next(it)
            pipe_rate = n_probe * bs / (time.perf_counter() - t_pipe)
            model = build_model(cfg, maker.n_outputs, maker.channels, maker.input_hw)
            _compile(model, cfg)
            model.fit(sets.train, steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)  # trace
            setup = time.perf_counter() - t
            t = time.perf_counter()
            model.fit(sets.train, steps_per_epoch=args.batches, epochs=1, verbose=0, shuffle=False)
            dt = time.perf_counter() - t
            rate = args.batches * bs / dt
            shape = "x".join(map(str, (*maker.input_hw, maker.channels)))
            crop = f", crop {maker.crop_size}px" if maker.crop_size else ""
            print(
                f"{kind.value:18s} profile {cfg.profile}: input {shape}{crop}, {model.count_params():,} params, "
                f"batch {bs}: {rate:.1f} samples/s ({dt / args.batches:.2f} s/batch); "
                f"example pipeline alone {pipe_rate:.0f} samples/s; setup+trace {setup:.1f}s; "
                f"peak RSS {_peak_rss_mb():.0f} MB"
            )
            results.append(rate)
        n_train_frames = len(data.train_idx)
        print(
            f"one epoch of SLEAP's minimum 200 batches: centroid {200 * 4 / results[0]:.0f}s, "
            f"centered instance {200 * 4 / results[1]:.0f}s ({n_train_frames} training frames here)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
