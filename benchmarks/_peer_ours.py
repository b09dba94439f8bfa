"""Our side of :mod:`benchmarks.peer`: train and predict the way :mod:`benchmarks._peer_sleapnn` does.

Run by :mod:`benchmarks.peer` in the plugin's environment, one subprocess per
step (so TensorFlow state and peak memory belong to that step)::

    python -m benchmarks._peer_ours train --sizes equal --model centroid --labels SUB.slp \
        --warmup 3 --batches 20 --run-dir DIR --out OUT.json
    python -m benchmarks._peer_ours infer --models CENTROID_DIR CI_DIR --labels clip.slp \
        --frames 200 --batch-size 4 --out OUT.json

``--sizes equal`` uses the sizes of the peer issue (the numbers in
:data:`EQUAL`, the same as sleap-nn's side), batch 4, rotation +-180 deg only;
``--sizes default`` the CPU profiles a user without a GPU gets
(``cpu.centroid``, ``cpu.centered_instance``). Training samples/s: Keras
``fit`` for the warm-up batches (tracing included), then ``fit`` for the timed
batches; the model is then saved as a run folder for the ``infer`` step.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import peak_rss_mb

#: Sizes of the equal-size rows (as in ``benchmarks/_peer_sleapnn.py``).
EQUAL = {
    "centroid": {"scale": 0.25, "filters": 16, "crop": None},
    "centered_instance": {"scale": 1.0, "filters": 24, "crop": 208},
}
FILTERS_RATE, MAX_STRIDE, OUTPUT_STRIDE, BATCH = 2.0, 16, 2, 4


def make_config(sizes: str, model: str):
    """Our training config of one model for the given sizes."""
    from napari_sleap_train.config.model import ModelKind, PipelineKind
    from napari_sleap_train.config.profiles import default_pipeline, get_profile

    kind = ModelKind(model)
    if sizes == "default":
        return default_pipeline(PipelineKind.TOP_DOWN, "cpu").models[kind]
    cfg = get_profile("baseline.centroid" if kind == ModelKind.CENTROID else "baseline_medium_rf.topdown")
    cfg.kind = kind
    eq = EQUAL[model]
    cfg.data.input_scaling = eq["scale"]
    cfg.data.crop_size = eq["crop"]
    cfg.model.filters = eq["filters"]
    cfg.model.filters_rate = FILTERS_RATE
    cfg.model.max_stride = MAX_STRIDE
    cfg.model.output_stride = OUTPUT_STRIDE
    cfg.optimization.batch_size = BATCH
    aug = cfg.augmentation
    aug.rotate, aug.rotation_max_angle, aug.scale = True, 180.0, False
    return cfg


def train(args) -> dict:
    import sleap_io as sio

    from napari_sleap_train.config.serialize import save_json
    from napari_sleap_train.engine.hardware import setup_device

    info = setup_device("cpu")
    import tensorflow as tf

    from napari_sleap_train.engine.dataset import ExampleMaker, make_datasets
    from napari_sleap_train.engine.labeled_data import FrameStore, LabeledData
    from napari_sleap_train.engine.run_files import save_model
    from napari_sleap_train.engine.train import _compile
    from napari_sleap_train.engine.unet import build_model

    cfg = make_config(args.sizes, args.model)
    bs = cfg.optimization.batch_size
    t0 = time.perf_counter()
    labels = sio.load_slp(args.labels)
    data = LabeledData.from_labels(labels, cfg.data.validation_fraction)
    frames = FrameStore(labels, [s.key for s in data.samples])
    maker = ExampleMaker(cfg, data, frames, seed=cfg.optimization.seed)
    sets = make_datasets(maker, bs, args.batches, 1, None)
    model = build_model(cfg, maker.n_outputs, maker.channels, maker.input_hw)
    _compile(model, cfg)
    model.fit(sets.train, steps_per_epoch=args.warmup, epochs=1, verbose=0, shuffle=False)
    t1 = time.perf_counter()
    model.fit(sets.train, steps_per_epoch=args.batches, epochs=1, verbose=0, shuffle=False)
    dt = time.perf_counter() - t1
    run = Path(args.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    resolved = cfg
    if maker.crop_size:
        resolved.data.crop_size = int(maker.crop_size)
    save_model(model, run / "best_model.keras")
    save_json(resolved, run / "config.json")
    return {
        "samples_per_s": args.batches * bs / dt,
        "batch_size": bs,
        "parameters": int(model.count_params()),
        "scale": float(cfg.data.input_scaling),
        "crop_size": maker.crop_size,
        "input_shape": [*maker.input_hw, maker.channels],
        "max_stride": cfg.model.max_stride,
        "filters": cfg.model.filters,
        "wall_s": time.perf_counter() - t0,
        "device": info.description,
        "tf_threads": [
            tf.config.threading.get_intra_op_parallelism_threads(),
            tf.config.threading.get_inter_op_parallelism_threads(),
        ],
        "peak_rss_mb": peak_rss_mb(),
    }


def infer(args) -> dict:
    import sleap_io as sio

    from napari_sleap_train.engine.hardware import setup_device

    setup_device("cpu")
    from napari_sleap_train.engine import crop_views, inference
    from napari_sleap_train.engine.inference import load_predictor

    spent = _time_stages(inference, crop_views)

    labels = sio.load_slp(args.labels)
    t0 = time.perf_counter()
    predictor = load_predictor(
        list(args.models), peak_threshold=args.threshold, max_instances=args.max_instances, batch_size=args.batch_size
    )
    load = time.perf_counter() - t0
    frames = [(0, i) for i in range(args.frames)]
    predictor.predict(labels, frames[: args.batch_size])  # warm-up: traces the graphs
    spent.clear()
    t0 = time.perf_counter()
    out = predictor.predict(labels, frames)
    dt = time.perf_counter() - t0
    n_inst = sum(len(lf.instances) for lf in out.labeled_frames)
    return {
        "frames_per_s": len(frames) / dt,
        "frames": len(frames),
        "instances_per_frame": n_inst / len(frames),
        "model_load_s": load,
        "batch_size": args.batch_size,
        "stages_s": {k: round(v, 2) for k, v in spent.items()},
        "peak_rss_mb": peak_rss_mb(),
    }


def _time_stages(module, *helpers) -> dict[str, float]:
    """Wrap the stage functions :mod:`~napari_sleap_train.engine.inference` (``module``) and the
    ``helpers`` modules it calls (crops and their peaks: ``engine.crop_views``) call with timers.

    Returns the dict the seconds add up in (main thread only: decoding runs
    ahead in a thread and is not counted). Where the time of a run goes.
    """
    spent: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t

        return wrapper

    for mod in (module, *helpers):
        for name in ("_prepare_frame", "crop_instances", "find_local_peaks", "find_global_peaks"):
            if hasattr(mod, name):
                setattr(mod, name, timed(name, getattr(mod, name)))
    network = module._model_output

    def model_output(model, batch):
        t = time.perf_counter()
        try:
            return network(model, batch)
        finally:
            key = f"network.{model.kind.value}"
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - t

    module._model_output = model_output
    return spent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("train")
    p.add_argument("--sizes", choices=["equal", "default"], required=True)
    p.add_argument("--model", choices=["centroid", "centered_instance"], required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("infer")
    p.add_argument("--models", nargs=2, required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--threshold", type=float, default=0.0)
    p.add_argument("--max-instances", type=int, default=2)
    p.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    result = train(args) if args.cmd == "train" else infer(args)
    Path(args.out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
