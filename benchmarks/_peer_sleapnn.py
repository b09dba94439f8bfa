"""The sleap-nn side of :mod:`benchmarks.peer` (run with the peer environment's Python).

Not part of the plugin and not imported by it: :mod:`benchmarks.peer` runs this
file as a script with ``.peer-venv/bin/python`` (where sleap-nn is installed),
one subprocess per step, and reads the JSON it writes::

    python benchmarks/_peer_sleapnn.py train --sizes equal --model centroid --labels SUB.slp \
        --warmup 3 --batches 20 --run-dir DIR --out OUT.json
    python benchmarks/_peer_sleapnn.py infer --models CENTROID_DIR CI_DIR --video clip.mp4 \
        --frames 200 --batch-size 4 --out OUT.json

Settings:

* ``--sizes equal``: the sizes of the peer issue (centroid: input scale 0.25,
  filters 16; centered instance: 208-px crops at full scale, filters 24; both
  filters rate 2, max stride 16, output stride 2), batch 4, rotation +-180 deg
  as the only augmentation, decoded frames cached in memory
  (``torch_dataset_cache_img_memory``, what our engine does too);
* ``--sizes default``: what sleap-nn chooses for this project by itself
  (``ConfigGenerator.from_slp(...).auto()``, its ``sleap-nn config`` /
  web-app recommendation), unchanged except for paths, step counts and the
  per-epoch visualisation (off: it runs outside the timed steps anyway).

Training samples/s are timed from the end of the last warm-up batch to the end
of the last batch (Lightning callback), so data loading between steps counts,
start-up and validation do not. Inference: ``Predictor.from_model_paths``
(timed apart as model load), one warm-up batch, then the frames.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # a CPU benchmark

#: Sizes of the equal-size rows (the same numbers as ``benchmarks/_peer_ours.py``).
EQUAL = {
    "centroid": {"scale": 0.25, "filters": 16, "crop": None},
    "centered_instance": {"scale": 1.0, "filters": 24, "crop": 208},
}
FILTERS_RATE, MAX_STRIDE, OUTPUT_STRIDE, BATCH = 2.0, 16, 2, 4


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_config(sizes: str, model: str, labels: str, steps: int, run_dir: Path):
    """The sleap-nn training config (OmegaConf) of one model."""
    from omegaconf import OmegaConf
    from sleap_nn.config_generator.generator import ConfigGenerator

    gen = ConfigGenerator.from_slp(labels).auto()
    cfg = gen.build_centroid() if model == "centroid" else gen.build_centered_instance()
    cfg.data_config.train_labels_path = [labels]
    t = cfg.trainer_config
    t.max_epochs = 1
    t.train_steps_per_epoch = steps
    t.min_train_steps_per_epoch = steps
    t.visualize_preds_during_training = False
    t.enable_progress_bar = False
    t.trainer_accelerator = "cpu"
    t.save_ckpt = True
    t.ckpt_dir = str(run_dir.parent)
    t.run_name = run_dir.name
    t.model_ckpt.save_last = False
    t.early_stopping.stop_training_on_plateau = False
    if sizes == "equal":
        eq = EQUAL[model]
        cfg.data_config.data_pipeline_fw = "torch_dataset_cache_img_memory"
        pre = cfg.data_config.preprocessing
        pre.scale = eq["scale"]
        if eq["crop"]:
            pre.crop_size = eq["crop"]
        unet = cfg.model_config.backbone_config.unet
        unet.filters = eq["filters"]
        unet.filters_rate = FILTERS_RATE
        unet.max_stride = MAX_STRIDE
        unet.output_stride = OUTPUT_STRIDE
        head = cfg.model_config.head_configs[model].confmaps
        head.output_stride = OUTPUT_STRIDE
        geo = cfg.data_config.augmentation_config.geometric
        geo.rotation_min, geo.rotation_max, geo.rotation_p = -180.0, 180.0, 1.0
        geo.scale_min, geo.scale_max, geo.scale_p = 1.0, 1.0, 0.0
        t.train_data_loader.batch_size = BATCH
        t.val_data_loader.batch_size = BATCH
    return OmegaConf.create(OmegaConf.to_container(cfg))


def train(args) -> dict:
    import lightning as L
    import torch
    from sleap_nn.training import model_trainer as mt

    run_dir = Path(args.run_dir)
    steps = args.warmup + args.batches
    cfg = make_config(args.sizes, args.model, args.labels, steps, run_dir)
    times: list[float] = []

    class Timer(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            times.append(time.perf_counter())

    original = mt.ModelTrainer._setup_loggers_callbacks

    def with_timer(self, *a, **k):
        loggers, callbacks = original(self, *a, **k)
        return loggers, [*callbacks, Timer()]

    mt.ModelTrainer._setup_loggers_callbacks = with_timer
    t0 = time.perf_counter()
    trainer = mt.ModelTrainer.get_model_trainer_from_config(cfg)
    trainer.train()
    total = time.perf_counter() - t0
    if len(times) < steps:
        raise RuntimeError(f"sleap-nn ran {len(times)} of {steps} batches")
    bs = int(trainer.config.trainer_config.train_data_loader.batch_size)
    timed = times[args.warmup - 1 : steps]
    rate = args.batches * bs / (timed[-1] - timed[0])
    params = sum(p.numel() for p in trainer.lightning_model.model.parameters())
    pre = trainer.config.data_config.preprocessing
    return {
        "samples_per_s": rate,
        "batch_size": bs,
        "parameters": int(params),
        "scale": float(pre.scale),
        "crop_size": None if pre.crop_size is None else int(pre.crop_size),
        "max_stride": int(trainer.config.model_config.backbone_config.unet.max_stride),
        "filters": int(trainer.config.model_config.backbone_config.unet.filters),
        "wall_s": total,
        "torch_threads": torch.get_num_threads(),
        "peak_rss_mb": peak_rss_mb(),
    }


def infer(args) -> dict:
    import sleap_io as sio
    import torch
    from sleap_nn.inference.predictor import Predictor

    t0 = time.perf_counter()
    predictor = Predictor.from_model_paths(
        list(args.models),
        device="cpu",
        batch_size=args.batch_size,
        peak_threshold=args.threshold,
        max_instances=args.max_instances,
    )
    load = time.perf_counter() - t0
    video = sio.load_video(args.video)
    frames = list(range(args.frames))
    predictor.predict(video, frames=frames[: args.batch_size], make_labels=True)  # warm-up
    t0 = time.perf_counter()
    labels = predictor.predict(video, frames=frames, make_labels=True)
    dt = time.perf_counter() - t0
    n_inst = sum(len(lf.instances) for lf in labels.labeled_frames)
    return {
        "frames_per_s": len(frames) / dt,
        "frames": len(frames),
        "instances_per_frame": n_inst / len(frames),
        "model_load_s": load,
        "batch_size": args.batch_size,
        "torch_threads": torch.get_num_threads(),
        "peak_rss_mb": peak_rss_mb(),
    }


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
    p.add_argument("--video", required=True)
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--threshold", type=float, default=0.0)
    p.add_argument("--max-instances", type=int, default=2)
    p.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    result = train(args) if args.cmd == "train" else infer(args)
    import sleap_nn

    result["sleap_nn_version"] = sleap_nn.__version__
    Path(args.out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
