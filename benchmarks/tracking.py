"""Benchmark: retrack SLEAP's predictions of the fly clip and score the identities.

Run from the repository root::

    python -m benchmarks.tracking [--quick] [--frames N]

``fly/clip.predictions.slp`` holds SLEAP 1.4's predictions of the fly clip (2
flies, 2-node skeleton head/thorax), tracked by SLEAP's bottom-up identity
model. This benchmark

* scores those SLEAP tracks against the ground-truth tracks of
  ``fly/clip.2node.slp`` (same video and frames; nodes matched by name) as the
  reference;
* removes the tracks, retracks the same instances with this plugin's trackers
  (``flow`` and ``simple``, max tracks 2) and scores them the same way;
* reports ID switches, MOTA, IDF1 (predictions match a ground-truth fly within
  1/2 and within 1 body length, the median ground-truth bounding-box diagonal),
  the share of instances on the same identity as SLEAP's tracks, and tracking
  frames per second (the flow tracker's time includes decoding the frames);
* with ``--plugin-predictions``, scores the plugin's own top-down predictions
  of the clip the same way (as tracked by the predict job, and retracked);
* as a ceiling, scores the predictions with each one put on the identity of the
  ground-truth fly it matches on its frame (IDF1 cannot go above this; its ID
  switches are not a floor: they come from mixed-up predictions that sit on the
  other fly).

Goal (issue 16): with max tracks 2, fewer ID switches than SLEAP's tracks and
IDF1 >= 0.98.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fly"
PREDICTIONS = DATA / "clip.predictions.slp"
GROUND_TRUTH = DATA / "clip.2node.slp"

#: name -> tracker settings (keyword arguments of TrackerSettings, flow as FlowSettings ones) compared.
CONFIGS: dict[str, dict[str, Any]] = {
    "flow (SLEAP defaults: no forward-backward check)": dict(
        tracker="flow", flow={"max_fb_error_fraction": None, "fb_keep_if_all_lost": False}
    ),
    "flow, plugin default (fb check 0.1 of the size, plain flow if all fail)": dict(tracker="flow"),
    "flow + forward-backward 2 px": dict(tracker="flow", flow={"max_fb_error": 2.0, "max_fb_error_fraction": None}),
    "simple": dict(tracker="simple"),
    "simple, window 1, centroid": dict(tracker="simple", track_window=1, similarity="centroid"),
}


def _trim(labels, n_frames: int | None):
    if n_frames:
        labels.labeled_frames[:] = [lf for lf in labels.labeled_frames if lf.frame_idx < n_frames]
    return labels


def _same_identity(a, b) -> float:
    """Share of predicted instances whose track, after renaming tracks one to one, is the same in a and b."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    fa = {lf.frame_idx: lf for lf in a.labeled_frames}
    pairs: dict[tuple[str, str], int] = {}
    n = 0
    for lf in b.labeled_frames:
        other = fa.get(lf.frame_idx)
        if other is None:
            continue
        for i, j in zip(other.predicted_instances, lf.predicted_instances):
            n += 1
            key = (getattr(i.track, "name", None), getattr(j.track, "name", None))
            pairs[key] = pairs.get(key, 0) + 1
    ra = sorted({k[0] for k in pairs}, key=str)
    rb = sorted({k[1] for k in pairs}, key=str)
    w = np.array([[pairs.get((x, y), 0) for y in rb] for x in ra])
    r, c = linear_sum_assignment(w, maximize=True)
    return float(w[r, c].sum() / n) if n else float("nan")


def run(
    quick: bool = False, n_frames: int | None = None, max_tracks: int = 2, plugin_predictions: str | None = None
) -> dict[str, Any]:
    """Figures of SLEAP's tracks, of each configuration in :data:`CONFIGS` and of perfect identities."""
    import sleap_io as sio

    from napari_sleap_train.evaluate.tracking import evaluate_tracks
    from napari_sleap_train.project.model import SleapProject
    from napari_sleap_train.tracking import FlowSettings, TrackerSettings, remove_predicted_tracks, track_labels

    if quick and n_frames is None:
        n_frames = 300
    gt = _trim(sio.load_slp(GROUND_TRUTH.as_posix(), open_videos=False), n_frames)
    figures: dict[str, Any] = {"frames": len(gt.labeled_frames), "max tracks": max_tracks}

    size = _body_size(gt)
    figures["body size (median GT bounding-box diagonal, px)"] = round(size, 1)
    criteria = {"1/2 body": 0.5 * size, "1 body": size}

    def score(labels) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for label, max_distance in criteria.items():
            t = evaluate_tracks(gt, labels, max_distance=max_distance).total
            row[label] = f"ID switches {t.id_switches}, MOTA {t.mota:.4f}, IDF1 {t.idf1:.4f}"
        return row

    sleap = _trim(sio.load_slp(PREDICTIONS.as_posix(), open_videos=False), n_frames)
    figures["SLEAP identity model"] = score(sleap)

    # the ceiling: every prediction that matches a ground-truth fly carries that fly's identity
    ceiling = {}
    for label, max_distance in criteria.items():
        oracle = _trim(sio.load_slp(PREDICTIONS.as_posix(), open_videos=False), n_frames)
        _give_true_identities(oracle, gt, max_distance)
        t = evaluate_tracks(gt, oracle, max_distance=max_distance).total
        ceiling[label] = f"ID switches {t.id_switches}, MOTA {t.mota:.4f}, IDF1 {t.idf1:.4f}"
    figures["true identity on each frame's match (IDF1 ceiling)"] = ceiling

    project = SleapProject.load(PREDICTIONS)  # finds the video the way the plugin does
    if not project.video_available(0):
        raise SystemExit(f"the fly clip video was not found near {PREDICTIONS}")
    for name, kwargs in CONFIGS.items():
        labels = _trim(sio.load_slp(PREDICTIONS.as_posix(), open_videos=False), n_frames)
        remove_predicted_tracks(labels)
        kwargs = dict(kwargs)
        flow = FlowSettings(**kwargs.pop("flow", {}))
        settings = TrackerSettings(max_tracks=max_tracks, flow=flow, **kwargs)
        t0 = time.perf_counter()
        report = track_labels(labels, settings, frame=project.frame if settings.uses_frames else None)
        seconds = time.perf_counter() - t0
        row = score(labels)
        row["same identity as SLEAP's tracks"] = f"{100 * _same_identity(sleap, labels):.2f} %"
        row["frames/s"] = round(report.n_frames / seconds, 1)
        figures[name] = row
    if plugin_predictions is not None:
        figures.update(_plugin_figures(Path(plugin_predictions), gt, n_frames, score, criteria, project, max_tracks))
    return figures


def _plugin_figures(path: Path, gt, n_frames, score, criteria, project, max_tracks: int) -> dict[str, Any]:
    """The same scores for the plugin's own predictions of the clip (``predict --tracker flow``)."""
    import sleap_io as sio

    from napari_sleap_train.evaluate.tracking import evaluate_tracks
    from napari_sleap_train.tracking import TrackerSettings, remove_predicted_tracks, track_labels

    def load():
        labels = _trim(sio.load_slp(path.as_posix(), open_videos=False), n_frames)
        for lf in labels.labeled_frames:  # the predictions only (the training frames' labels are not scored)
            lf.instances = list(lf.predicted_instances)
        return labels

    out: dict[str, Any] = {}
    out["plugin top-down, tracked in the predict job (flow, default settings)"] = score(load())
    ceiling = {}
    for label, max_distance in criteria.items():
        oracle = load()
        _give_true_identities(oracle, gt, max_distance)
        t = evaluate_tracks(gt, oracle, max_distance=max_distance).total
        ceiling[label] = f"ID switches {t.id_switches}, MOTA {t.mota:.4f}, IDF1 {t.idf1:.4f}"
    out["plugin top-down, true identity on each frame's match (IDF1 ceiling)"] = ceiling
    for name, kwargs in {
        "flow (SLEAP defaults)": dict(
            tracker="flow", flow={"max_fb_error_fraction": None, "fb_keep_if_all_lost": False}
        ),
        "flow (plugin default)": dict(tracker="flow"),
        "simple": dict(tracker="simple"),
    }.items():
        from napari_sleap_train.tracking import FlowSettings

        labels = load()
        remove_predicted_tracks(labels)
        kwargs = dict(kwargs)
        settings = TrackerSettings(max_tracks=max_tracks, flow=FlowSettings(**kwargs.pop("flow", {})), **kwargs)
        t0 = time.perf_counter()
        report = track_labels(labels, settings, frame=project.frame if settings.uses_frames else None)
        seconds = time.perf_counter() - t0
        row = score(labels)
        row["frames/s"] = round(report.n_frames / seconds, 1)
        out[f"plugin top-down, retracked: {name}"] = row
    return out


def _body_size(gt) -> float:
    """Median bounding-box diagonal of the ground-truth instances (pixels)."""
    import numpy as np

    pts = np.stack([i.numpy() for lf in gt.labeled_frames for i in lf.user_instances])
    diag = np.hypot(*(np.nanmax(pts, axis=1) - np.nanmin(pts, axis=1)).T)
    return float(np.median(diag[np.isfinite(diag)]))


def _give_true_identities(labels, gt, max_distance: float) -> None:
    """Put each prediction on the track of the ground-truth fly it matches (Hungarian, within
    ``max_distance``); the others each on a track of their own, as a tracker would."""
    import numpy as np
    import sleap_io as sio
    from scipy.optimize import linear_sum_assignment

    from napari_sleap_train.evaluate.tracking import mean_node_distance

    tracks = {t.name: sio.Track(t.name) for t in gt.tracks}
    labels.tracks[:] = list(tracks.values())
    by_frame = {lf.frame_idx: lf for lf in gt.labeled_frames}
    for lf in labels.labeled_frames:
        preds = lf.predicted_instances
        for p in preds:
            p.track = None
        g = by_frame.get(lf.frame_idx)
        if g is None or not preds or not g.user_instances:
            continue
        d = mean_node_distance(np.stack([i.numpy() for i in g.user_instances]), np.stack([p.numpy() for p in preds]))
        d = np.where(np.isfinite(d), d, 1e9)
        for a, b in zip(*linear_sum_assignment(d)):
            if d[a, b] <= max_distance:
                preds[b].track = tracks[g.user_instances[a].track.name]
    spare = 0
    for lf in labels.labeled_frames:  # unmatched predictions: one short track each (an honest tracker's best)
        for p in lf.predicted_instances:
            if p.track is None:
                p.track = sio.Track(f"spare_{spare}")
                labels.tracks.append(p.track)
                spare += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first 300 frames only")
    parser.add_argument("--frames", type=int, default=None, help="first N frames only")
    parser.add_argument("--max-tracks", type=int, default=2)
    parser.add_argument(
        "--plugin-predictions",
        default=None,
        metavar="PRED.slp",
        help="also score the plugin's own predictions of the clip (written by "
        "napari-sleap-train predict ... --tracker flow --max-tracks 2)",
    )
    args = parser.parse_args(argv)
    figures = run(
        quick=args.quick, n_frames=args.frames, max_tracks=args.max_tracks, plugin_predictions=args.plugin_predictions
    )
    for key, value in figures.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
