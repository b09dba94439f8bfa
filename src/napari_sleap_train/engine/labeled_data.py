"""Labeled samples and decoded frames for training (no TensorFlow).

:class:`LabeledData` collects the user-labeled frames of a project and splits
them by frame; :class:`FrameStore` decodes each needed frame once and keeps it
in memory within a budget. Both are TensorFlow-free so the child process can
check the project before TensorFlow (slow to import) is loaded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.image import as_hwc
from napari_sleap_train.data.labels import FrameSample, collect_samples, node_names_of, symmetry_permutation
from napari_sleap_train.data.split import split_frames
from napari_sleap_train.engine.errors import EngineDataError

#: Default memory budget for decoded frames.
FRAME_BUDGET_BYTES = 4 * 1024**3

#: Up to this many unneeded frames between two needed ones are read through
#: instead of seeking: a seek in a compressed video decodes from the previous
#: keyframe (0.6 s for a 1024x1024 H.264 frame here, vs 13 ms per frame read
#: in order), so labels spread every few frames decode 20-40x faster.
READ_THROUGH_FRAMES = 32


def memory_budget(limit: int = FRAME_BUDGET_BYTES) -> int:
    """Bytes of decoded frames to keep: at most half the available RAM and ``limit``."""
    try:
        import psutil

        return int(min(limit, psutil.virtual_memory().available // 2))
    except ImportError:  # psutil is a dependency; be tolerant anyway
        return limit


class FrameStore:
    """Decoded labeled frames, each read from its video once.

    Parameters
    ----------
    labels
        The project.
    keys
        (video index, frame index) of every frame training needs.
    budget_bytes
        When all frames fit, they are decoded up front (in video order, reading
        through short gaps, which is much faster than seeking); otherwise
        frames are decoded on demand and an LRU cache keeps as many as the
        budget allows.
    progress
        ``progress(done, total)`` called while decoding up front.
    """

    def __init__(
        self,
        labels: sio.Labels,
        keys: Sequence[tuple[int, int]],
        budget_bytes: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ):
        self.labels = labels
        self.keys = sorted(set(keys))
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        budget = memory_budget() if budget_bytes is None else budget_bytes
        need = sum(self.frame_bytes(v) for v, _ in self.keys)
        self.preloaded = need <= budget
        self._capacity = len(self.keys) if self.preloaded else max(1, budget // max(1, self.frame_bytes(0)))
        self.decode_count = 0
        self.skipped_reads = 0  # unneeded frames read through instead of seeking
        if self.preloaded:
            last = time.monotonic()
            previous: tuple[int, int] | None = None
            for i, key in enumerate(self.keys):
                if previous is not None and previous[0] == key[0]:
                    self._read_through(key[0], previous[1] + 1, key[1])
                previous = key
                self._cache[key] = self._decode(key)
                if progress is not None and (time.monotonic() - last > 1.0 or i + 1 == len(self.keys)):
                    progress(i + 1, len(self.keys))
                    last = time.monotonic()

    def frame_bytes(self, video_index: int) -> int:
        shape = self.labels.videos[video_index].shape
        if shape is None:
            return 0
        h, w = shape[1:3]
        c = shape[3] if len(shape) > 3 else 1
        return int(h * w * c)

    def _read_through(self, video_index: int, start: int, stop: int) -> None:
        """Read frames ``start..stop-1`` in order (and drop them) when the gap is short."""
        if not 0 < stop - start <= READ_THROUGH_FRAMES:
            return
        video = self.labels.videos[video_index]
        if type(getattr(video, "backend", None)).__name__ != "MediaVideo":
            return  # image files and embedded frames have cheap random access
        for frame_index in range(start, stop):
            try:
                video[frame_index]
            except Exception:  # noqa: BLE001 - only a speed-up; the needed frame is read anyway
                return
            self.skipped_reads += 1

    def _decode(self, key: tuple[int, int]) -> np.ndarray:
        video_index, frame_index = key
        video = self.labels.videos[video_index]
        try:
            frame = video[frame_index]
        except Exception as exc:  # backends raise many kinds of errors
            raise EngineDataError(
                f"Could not read frame {frame_index} of video {video_index} ({video.filename}): {exc}",
                hint="check that the video file exists and is readable",
            ) from exc
        if frame is None:
            raise EngineDataError(f"Video {video.filename} returned no image for frame {frame_index}.")
        self.decode_count += 1
        return np.ascontiguousarray(as_hwc(np.asarray(frame)))

    def __getitem__(self, key: tuple[int, int]) -> np.ndarray:
        with self._lock:
            frame = self._cache.get(key)
            if frame is not None:
                self._cache.move_to_end(key)
                return frame
            # Video backends are not thread safe: decode under the lock.
            frame = self._decode(key)
            self._cache[key] = frame
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
            return frame


@dataclass
class LabeledData:
    """Training samples of a project with their train/validation split."""

    labels: sio.Labels
    samples: list[FrameSample]
    node_names: list[str]
    symmetry: np.ndarray | None
    train_idx: np.ndarray
    val_idx: np.ndarray
    #: ``(source, destination)`` node names of the skeleton's edges (bottom-up fields)
    edge_names: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_labels(cls, labels: sio.Labels, validation_fraction: float, seed: int = 0) -> LabeledData:
        """Collect user-labeled frames and split them by frame.

        Raises
        ------
        EngineDataError
            No skeleton or no labeled instance.
        """
        try:
            node_names = node_names_of(labels)
            samples = collect_samples(labels, user_only=True)
        except DataError as exc:
            raise EngineDataError(str(exc)) from exc
        if not samples:
            raise EngineDataError(
                "The project has no user-labeled instances to train on.",
                hint="label a few frames first (at least 2 for a validation split)",
            )
        try:
            train_idx, val_idx = split_frames(len(samples), validation_fraction, seed)
            symmetry = symmetry_permutation(labels)
        except DataError as exc:
            raise EngineDataError(str(exc)) from exc
        edges = [tuple(e) for e in labels.skeleton.edge_names]
        return cls(labels, samples, node_names, symmetry, train_idx, val_idx, edges)

    def subset_labels(self, indices: Sequence[int]) -> sio.Labels:
        """A new :class:`sio.Labels` with the labeled frames of the given samples."""
        frames = {}
        video_of = {id(v): i for i, v in enumerate(self.labels.videos)}
        for lf in self.labels.labeled_frames:
            frames[(video_of.get(id(lf.video), -1), int(lf.frame_idx))] = lf
        chosen = [frames[self.samples[i].key] for i in indices if self.samples[i].key in frames]
        return sio.Labels(
            labeled_frames=chosen,
            videos=list(self.labels.videos),
            skeletons=list(self.labels.skeletons),
            tracks=list(self.labels.tracks),
        )

    def write_split(self, run_dir: str | Path) -> None:
        """Write ``labels_gt.train.slp`` and ``labels_gt.val.slp`` (SLEAP's names)."""
        run_dir = Path(run_dir)
        for name, idx in (("train", self.train_idx), ("val", self.val_idx)):
            sio.save_slp(self.subset_labels(idx), str(run_dir / f"labels_gt.{name}.slp"), verbose=False)
