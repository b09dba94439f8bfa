"""The procedural sample in memory: determinism, geometry, and that it is learnable."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap_train.sample.body import keypoints
from napari_sleap_train.sample.generate import SampleParameterError, generate_sample
from napari_sleap_train.sample.motion import simulate_poses
from napari_sleap_train.sample.skeleton import EDGES, NODE_NAMES, make_skeleton

NODE = {name: i for i, name in enumerate(NODE_NAMES)}


@pytest.fixture(scope="module")
def sample():
    """Default-sized sample, shortened to keep the module fast."""
    return generate_sample(seed=3, n_frames=120, n_animals=3, n_labeled=30, n_suggested=15)


def test_same_seed_gives_identical_pixels_and_points():
    a = generate_sample(seed=11, n_frames=12, n_labeled=4, n_suggested=3)
    b = generate_sample(seed=11, n_frames=12, n_labeled=4, n_suggested=3)
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.labeled_frames, b.labeled_frames)
    np.testing.assert_array_equal(a.suggested_frames, b.suggested_frames)


def test_different_seeds_differ():
    a = generate_sample(seed=1, n_frames=12, n_labeled=4, n_suggested=3)
    b = generate_sample(seed=2, n_frames=12, n_labeled=4, n_suggested=3)
    assert np.abs(a.frames.astype(int) - b.frames.astype(int)).mean() > 5
    assert np.abs(a.points - b.points).mean() > 10


def test_shapes_dtypes_and_counts(sample):
    assert sample.frames.shape == (120, 384, 384)
    assert sample.frames.dtype == np.uint8
    assert sample.points.shape == (120, 3, len(NODE_NAMES), 2)
    assert sample.points.dtype == np.float32
    assert np.isfinite(sample.points).all()
    assert (sample.n_frames, sample.n_animals) == (120, 3)
    assert len(sample.labeled_frames) == 30 and len(sample.suggested_frames) == 15
    assert np.all(np.diff(sample.labeled_frames) > 0) and np.all(np.diff(sample.suggested_frames) > 0)
    assert not set(sample.labeled_frames) & set(sample.suggested_frames)
    # Spread over the whole video, not bunched at the start.
    assert sample.labeled_frames[0] < 10 and sample.labeled_frames[-1] > 110
    assert np.diff(sample.labeled_frames).max() < 20


def test_frame_size_parameter():
    s = generate_sample(seed=0, n_frames=3, height=200, width=256, n_labeled=2, n_suggested=1)
    assert s.frames.shape == (3, 200, 256)
    assert s.points[..., 0].max() < 256 and s.points[..., 1].max() < 200


def test_node_names_and_edges():
    assert len(NODE_NAMES) == 8 and len(set(NODE_NAMES)) == 8
    assert {"nose", "head", "left_ear", "right_ear", "trunk", "tail_base", "tail_tip"} <= set(NODE_NAMES)
    skeleton = make_skeleton()
    assert skeleton.node_names == list(NODE_NAMES)
    assert [(e.source.name, e.destination.name) for e in skeleton.edges] == list(EDGES)
    # The edges connect every node into one tree.
    assert len(EDGES) == len(NODE_NAMES) - 1
    assert {n for e in EDGES for n in e} == set(NODE_NAMES)
    # Left and right ears look different, so they are deliberately not declared symmetric.
    assert skeleton.symmetries == []


@pytest.mark.parametrize("n_animals", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_keypoints_stay_inside_the_frame(seed, n_animals):
    rng = np.random.default_rng(seed)
    poses = simulate_poses(rng, 400, n_animals, 384, 384, body_length=64.0)
    pts = np.array(
        [
            [
                keypoints(
                    poses.x[f, a],
                    poses.y[f, a],
                    poses.heading[f, a],
                    poses.bend[f, a],
                    poses.wag[f, a],
                    poses.length[a],
                )
                for a in range(n_animals)
            ]
            for f in range(400)
        ]
    )
    assert pts.min() >= 4.0 - 1e-6
    assert pts[..., 0].max() <= 383 - 4.0 + 1e-6 and pts[..., 1].max() <= 383 - 4.0 + 1e-6


def test_generated_keypoints_inside_frame(sample):
    assert sample.points.min() >= 0
    assert sample.points[..., 0].max() <= 383 and sample.points[..., 1].max() <= 383


def test_motion_is_smooth_and_varied(sample):
    step = np.linalg.norm(np.diff(sample.points, axis=0), axis=-1)  # (f-1, animals, nodes)
    assert step.max() < 12  # no jumps (body length ~64 px)
    trunk = sample.points[:, :, NODE["trunk"]]
    travelled = np.linalg.norm(np.diff(trunk, axis=0), axis=-1).sum(0)
    assert (travelled > 80).all()  # every animal walks around
    heading = sample.points[:, :, NODE["nose"]] - sample.points[:, :, NODE["trunk"]]
    angle = np.unwrap(np.arctan2(heading[..., 1], heading[..., 0]), axis=0)
    assert (angle.max(0) - angle.min(0) > np.pi / 2).all()  # and turns


def test_animals_rarely_overlap(sample):
    trunk = sample.points[:, :, NODE["trunk"]]
    d = np.linalg.norm(trunk[:, :, None] - trunk[:, None, :], axis=-1)
    d[:, np.arange(3), np.arange(3)] = np.inf
    close = (d.min(axis=(1, 2)) < 40).mean()  # trunks closer than ~0.6 body length
    assert close < 0.1


def _pixel(frame: np.ndarray, xy: np.ndarray) -> float:
    x, y = np.rint(xy).astype(int)
    return float(frame[y - 1 : y + 2, x - 1 : x + 2].mean())


def test_keypoints_sit_on_distinct_visible_features(sample):
    """Head brighter than body, left ear bright, right ear dark: orientation and sides are learnable."""
    trunk = sample.points[:, :, NODE["trunk"]]
    d = np.linalg.norm(trunk[:, :, None] - trunk[:, None, :], axis=-1)
    d[:, np.arange(3), np.arange(3)] = np.inf
    values = {name: [] for name in NODE_NAMES}
    background = []
    for f in range(sample.n_frames):
        for a in range(sample.n_animals):
            if d[f, a].min() < 100:  # skip animals that might be touching another
                continue
            for name in NODE_NAMES:
                values[name].append(_pixel(sample.frames[f], sample.points[f, a, NODE[name]]))
            corner = sample.points[f, a, NODE["trunk"]] + np.array([45.0, 45.0])
            if (corner < 380).all():
                background.append(_pixel(sample.frames[f], corner))
    med = {k: float(np.median(v)) for k, v in values.items()}
    assert len(values["trunk"]) > 50
    assert med["left_ear"] > med["head"] + 15
    assert med["right_ear"] < med["head"] - 60
    assert med["head"] > med["trunk"] + 10
    assert med["trunk"] > med["tail_mid"]
    assert med["tail_mid"] > np.median(background) + 20
    # The sides are told apart in (almost) every single frame, not just on average.
    assert (np.array(values["left_ear"]) - np.array(values["right_ear"]) > 60).mean() > 0.95


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_frames": 0},
        {"n_animals": 0},
        {"n_animals": 7},
        {"height": 64},
        {"n_labeled": -1},
    ],
)
def test_bad_parameters_are_refused_in_plain_words(kwargs):
    with pytest.raises(SampleParameterError):
        generate_sample(**kwargs)


def test_labeled_and_suggested_counts_are_capped_by_video_length():
    s = generate_sample(seed=0, n_frames=10, n_labeled=8, n_suggested=5)
    assert len(s.labeled_frames) == 8
    assert len(s.suggested_frames) == 2  # only 2 unlabeled frames remain
