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
* reports ID switches, MOTA, IDF1 and tracking frames per second (the flow
  tracker's time includes decoding the frames).

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

#: name -> tracker settings (as keyword arguments of TrackerSettings) that are compared.
CONFIGS: dict[str, dict[str, Any]] = {
    "flow, instance, greedy": dict(tracker="flow", similarity="instance", match="greedy"),
    "flow, instance, hungarian": dict(tracker="flow", similarity="instance", match="hungarian"),
    "simple, instance, greedy": dict(tracker="simple", similarity="instance", match="greedy"),
    "simple, centroid, hungarian": dict(tracker="simple", similarity="centroid", match="hungarian"),
}


def _trim(labels, n_frames: int | None):
    if n_frames:
        labels.labeled_frames[:] = [lf for lf in labels.labeled_frames if lf.frame_idx < n_frames]
    return labels


def run(quick: bool = False, n_frames: int | None = None, max_tracks: int = 2) -> dict[str, Any]:
    """Figures of SLEAP's tracks and of each configuration in :data:`CONFIGS`."""
    import sleap_io as sio

    from napari_sleap_train.evaluate.tracking import evaluate_tracks
    from napari_sleap_train.io.project import SleapProject
    from napari_sleap_train.tracking import TrackerSettings, remove_predicted_tracks, track_labels

    if quick and n_frames is None:
        n_frames = 300
    gt = _trim(sio.load_slp(GROUND_TRUTH.as_posix(), open_videos=False), n_frames)
    figures: dict[str, Any] = {"frames": len(gt.labeled_frames), "max tracks": max_tracks}

    def score(labels) -> dict[str, Any]:
        ev = evaluate_tracks(gt, labels)
        t = ev.total
        figures["match criterion"] = ev.criterion
        return {"ID switches": t.id_switches, "MOTA": round(t.mota, 4), "IDF1": round(t.idf1, 4),
                "tracks": t.n_pred_tracks}

    sleap = _trim(sio.load_slp(PREDICTIONS.as_posix(), open_videos=False), n_frames)
    figures["SLEAP identity model"] = score(sleap)

    project = SleapProject.load(PREDICTIONS)  # finds the video the way the plugin does
    if not project.video_available(0):
        raise SystemExit(f"the fly clip video was not found near {PREDICTIONS}")
    for name, kwargs in CONFIGS.items():
        labels = _trim(sio.load_slp(PREDICTIONS.as_posix(), open_videos=False), n_frames)
        remove_predicted_tracks(labels)
        settings = TrackerSettings(max_tracks=max_tracks, **kwargs)
        t0 = time.perf_counter()
        report = track_labels(labels, settings, frame=project.frame if settings.uses_frames else None)
        seconds = time.perf_counter() - t0
        row = score(labels)
        row["frames/s"] = round(report.n_frames / seconds, 1)
        figures[name] = row
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first 300 frames only")
    parser.add_argument("--frames", type=int, default=None, help="first N frames only")
    parser.add_argument("--max-tracks", type=int, default=2)
    args = parser.parse_args(argv)
    figures = run(quick=args.quick, n_frames=args.frames, max_tracks=args.max_tracks)
    for key, value in figures.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
