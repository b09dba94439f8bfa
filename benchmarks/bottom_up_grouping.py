"""Accuracy of a trained bottom-up model under different peak and grouping settings.

Run from the repository root::

    python -m benchmarks.bottom_up_grouping RUN_DIR TEST.slp [--frames 100]

The network runs once per frame (its outputs are kept); every setting then
only finds peaks and groups them again, so a grid of settings costs seconds.
It answers whether the found-rate of a bottom-up model is limited by its
training or by the peak threshold / line-score / ``max_instances`` settings,
and which nodes are missed (``time_to_accuracy.py --pipeline bottom-up``
leaves ``test.slp`` and the run folders in its work folder).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make "benchmarks" importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import format_table

#: (peak threshold, max instances, grouping overrides) tried by default.
GRID = [
    (0.2, 2, {}),  # what the benchmark's predict call uses
    (0.2, None, {}),
    (0.1, 2, {}),
    (0.2, 2, {"min_line_score": 0.1}),
    (0.2, 2, {"min_line_score": 0.0}),
    (0.1, 2, {"min_line_score": 0.1}),
    (0.2, 2, {"max_edge_length_ratio": 0.5}),
    (0.2, 2, {"dist_penalty_weight": 0.0}),
    (0.2, 2, {"n_points": 20}),
]


class CachedNetwork:
    """The network's outputs per input batch, computed once (keyed by the batch's bytes)."""

    def __init__(self, fn):
        self.fn = fn
        self.cache: dict[str, object] = {}

    def __call__(self, batch):
        key = hashlib.blake2b(batch.tobytes(), digest_size=16).hexdigest() + str(batch.shape)
        if key not in self.cache:
            out = self.fn(batch)
            self.cache[key] = [o.numpy() for o in (out.values() if isinstance(out, dict) else out)]
        return self.cache[key]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", help="a trained bottom-up run folder")
    p.add_argument("test", help="project with user labels to score against (e.g. the benchmark's test.slp)")
    p.add_argument("--frames", type=int, default=100, help="first N labeled frames of the test project")
    args = p.parse_args(argv)

    import numpy as np
    import sleap_io as sio

    from napari_sleap_train.engine.inference import Predictor
    from napari_sleap_train.engine.sleap_weights import load_model_folder
    from napari_sleap_train.evaluate import evaluate
    from napari_sleap_train.predictions.paf_grouping import GroupingSettings

    labels = sio.load_slp(args.test)
    frames = sorted({(labels.videos.index(lf.video), int(lf.frame_idx)) for lf in labels.labeled_frames})
    frames = frames[: args.frames]
    model = load_model_folder(args.run_dir)
    model._predict_fn = CachedNetwork(model.predict_fn)  # the network once; peaks and grouping per setting
    rows, per_node = [], None
    for threshold, max_instances, overrides in GRID:
        grouping = dataclasses.replace(GroupingSettings(), **overrides)
        pred = Predictor([model], threshold, max_instances, grouping=grouping).predict(labels, frames)
        r = evaluate(labels, pred, frames=frames)
        n_inst = [len(lf.predicted_instances) for lf in pred.labeled_frames]
        rows.append(
            [
                threshold,
                max_instances if max_instances is not None else "-",
                ", ".join(f"{k}={v}" for k, v in overrides.items()) or "defaults",
                f"{r.detected_fraction:.3f}",
                f"{r.pixel_error.median:.2f}",
                f"{r.pixel_error.p90:.2f}",
                f"{r.oks_map:.3f}",
                f"{np.mean(n_inst) if n_inst else 0:.2f}",
            ]
        )
        if per_node is None:
            per_node = r
        print(rows[-1], file=sys.stderr, flush=True)
    print(
        format_table(
            rows, ["peak thr", "max inst", "grouping", "detected", "median px", "p90 px", "OKS mAP", "inst/frame"]
        )
    )
    if per_node is not None:
        print("\nper node (first setting):")
        print(
            format_table(
                [
                    [n, f"{per_node.node_detected_fraction[n]:.3f}", f"{per_node.node_pixel_error[n].median:.2f}"]
                    for n in per_node.node_detected_fraction
                ],
                ["node", "detected", "median px"],
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
