"""Generate the procedural sample in memory: frames, exact keypoints, frame choices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import drawing, keypoints
from .motion import simulate_poses
from .render import blur_image, make_background, render_frame
from .skeleton import EDGES, NODE_NAMES

#: Bumped whenever the generator's output for a given seed changes (cache key).
GENERATOR_VERSION = 2

#: Optical blur of the rendered frames (Gaussian sigma, pixels).
BLUR = 0.7


class SampleParameterError(ValueError):
    """Raised when the sample project is asked for with impossible parameters."""


@dataclass
class SampleData:
    """A generated sample video with its ground truth.

    Attributes
    ----------
    frames : np.ndarray
        ``(n_frames, height, width)`` uint8 grayscale frames.
    points : np.ndarray
        ``(n_frames, n_animals, n_nodes, 2)`` float32 exact keypoints (x, y) in
        pixels (pixel centres at integer coordinates); animal ``i`` is track ``i``.
    node_names : tuple of str
    edges : tuple of (str, str)
    labeled_frames : np.ndarray
        Sorted frame indices that get user labels in ``sample.slp``.
    suggested_frames : np.ndarray
        Sorted frame indices (disjoint from ``labeled_frames``) offered as suggestions.
    seed : int
    """

    frames: np.ndarray
    points: np.ndarray
    node_names: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    labeled_frames: np.ndarray
    suggested_frames: np.ndarray
    seed: int

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def n_animals(self) -> int:
        return int(self.points.shape[1])


def _spread_frames(rng: np.random.Generator, n_frames: int, n_pick: int, exclude: np.ndarray) -> np.ndarray:
    """Pick ``n_pick`` frames spread over the video: one random frame per equal chunk."""
    candidates = np.setdiff1d(np.arange(n_frames), exclude)
    n_pick = min(n_pick, len(candidates))
    if n_pick == 0:
        return np.zeros(0, dtype=np.int64)
    chunks = np.array_split(candidates, n_pick)
    return np.sort(np.array([rng.choice(c) for c in chunks], dtype=np.int64))


def generate_sample(
    seed: int = 0,
    n_frames: int = 300,
    n_animals: int = 2,
    height: int = 384,
    width: int = 384,
    n_labeled: int = 40,
    n_suggested: int = 20,
    body_length: float | None = None,
    noise: float = 4.0,
) -> SampleData:
    """Generate the frames and exact keypoints of a procedural multi-mouse video.

    Parameters
    ----------
    seed : int
        Same seed, same pixels and points.
    n_frames : int
        Video length.
    n_animals : int
        Number of mice (1-4 fit comfortably in the default frame).
    height, width : int
        Frame size in pixels (at least 128).
    n_labeled : int
        Frames that get user labels (spread over the video).
    n_suggested : int
        Unlabeled frames offered as suggestions.
    body_length : float, optional
        Nose-to-tail-base length in pixels; default ``min(height, width) / 6``.
    noise : float
        Sensor noise standard deviation in grey levels.

    Returns
    -------
    SampleData
    """
    if n_frames < 1:
        raise SampleParameterError(f"the sample needs at least 1 frame, got {n_frames}")
    if not 1 <= n_animals <= 6:
        raise SampleParameterError(f"the sample supports 1 to 6 animals, got {n_animals}")
    if min(height, width) < 128:
        raise SampleParameterError(f"frames must be at least 128x128 pixels, got {height}x{width}")
    if n_labeled < 0 or n_suggested < 0:
        raise SampleParameterError("the numbers of labeled and suggested frames cannot be negative")
    if body_length is None:
        body_length = min(height, width) / 6.0

    rng = np.random.default_rng(seed)
    poses = simulate_poses(rng, n_frames, n_animals, height, width, body_length)
    background = make_background(rng, height, width)
    blurred_background = blur_image(background, BLUR)

    texture_phase = rng.uniform(0, 2 * np.pi, size=n_animals)
    frames = np.empty((n_frames, height, width), dtype=np.uint8)
    points = np.empty((n_frames, n_animals, len(NODE_NAMES), 2), dtype=np.float32)
    # Fixed stacking order (animal 0 at the bottom) keeps identities readable when they cross.
    for f in range(n_frames):
        prims = []
        for a in range(n_animals):
            args = (
                poses.x[f, a],
                poses.y[f, a],
                poses.heading[f, a],
                poses.bend[f, a],
                poses.wag[f, a],
                poses.length[a],
            )
            points[f, a] = keypoints(*args)
            prims.append(drawing(*args, texture_phase=texture_phase[a]))
        frames[f] = render_frame(background, prims, rng, noise=noise, blur=BLUR, blurred_background=blurred_background)

    labeled = _spread_frames(rng, n_frames, n_labeled, np.zeros(0, dtype=np.int64))
    suggested = _spread_frames(rng, n_frames, n_suggested, labeled)
    return SampleData(
        frames=frames,
        points=points,
        node_names=NODE_NAMES,
        edges=EDGES,
        labeled_frames=labeled,
        suggested_frames=suggested,
        seed=seed,
    )
