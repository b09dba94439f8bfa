"""Crossing animals: the flow tracker keeps identities that centroid matching swaps."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap_train.evaluate.tracking import TrackedFrame, track_metrics
from napari_sleap_train.tracking import FrameInstances, TrackerSettings, track_frames

from .synthetic import crossing_paths, instance_points, render


def _inputs(points: np.ndarray, order_seed: int = 1) -> tuple[list[FrameInstances], list[np.ndarray]]:
    """Frames with the two instances in a shuffled order (so list order gives nothing away)."""
    rng = np.random.default_rng(order_seed)
    frames, truth = [], []
    for f, pts in enumerate(points):
        perm = rng.permutation(len(pts))
        frames.append(FrameInstances(f, pts[perm], scores=np.ones(len(pts))))
        truth.append(perm)  # ground-truth animal of each row
    return frames, truth


def _id_switches(result, truth, points) -> int:
    frames = [
        TrackedFrame(t, points[f][t], r.tracks, points[f][t]) for f, (r, t) in enumerate(zip(result.frames, truth))
    ]
    return track_metrics(frames, max_distance=1.0).id_switches


@pytest.fixture(scope="module")
def crossing():
    centres = crossing_paths()
    return instance_points(centres), render(centres)


@pytest.mark.parametrize("similarity", ["centroid", "instance"])
def test_simple_tracker_swaps_crossing_animals(crossing, similarity):
    points, _ = crossing
    frames, truth = _inputs(points)
    result = track_frames(
        frames,
        TrackerSettings(tracker="simple", similarity=similarity, match="hungarian", track_window=1, max_tracks=2),
    )
    assert _id_switches(result, truth, points) >= 1


@pytest.mark.parametrize("match", ["greedy", "hungarian"])
def test_flow_tracker_keeps_identities(crossing, match):
    points, images = crossing
    frames, truth = _inputs(points)
    calls = []

    def frame(i):
        calls.append(i)
        return images[i]

    settings = TrackerSettings(tracker="flow", match=match, track_window=1, max_tracks=2)
    result = track_frames(frames, settings, frame=frame)
    assert _id_switches(result, truth, points) == 0
    # one track per animal from start to end
    ids = [{int(r.tracks[list(t).index(a)]) for r, t in zip(result.frames, truth)} for a in (0, 1)]
    assert all(len(s) == 1 for s in ids) and ids[0] != ids[1]
    assert set(calls) == set(range(len(images)))


def test_flow_tracker_works_on_colour_frames(crossing):
    points, images = crossing
    frames, truth = _inputs(points)
    rgb = np.repeat(images[..., None], 3, axis=-1)
    result = track_frames(frames, TrackerSettings(tracker="flow", track_window=1, max_tracks=2), frame=lambda i: rgb[i])
    assert _id_switches(result, truth, points) == 0


def test_the_default_forward_backward_check_keeps_the_crossing_tracked(crossing):
    """The check alone drops every point at 36 px a frame and loses the animals; keeping the
    plain flow of an instance whose every point fails (the default) tracks them."""
    from napari_sleap_train.tracking import FlowSettings

    points, images = crossing
    strict = FlowSettings(max_fb_error=2.0, max_fb_error_fraction=None, fb_keep_if_all_lost=False)
    for flow, expected_ok in ((strict, False), (FlowSettings(), True)):
        assert FlowSettings().max_fb_error_fraction == 0.1 and FlowSettings().fb_keep_if_all_lost
        frames, truth = _inputs(points)
        result = track_frames(
            frames, TrackerSettings(tracker="flow", track_window=1, max_tracks=2, flow=flow), frame=lambda i: images[i]
        )
        assert (_id_switches(result, truth, points) == 0) is expected_ok
