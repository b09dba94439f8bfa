"""Video access: path resolution and a lazy, cached frame array.

SLEAP files record the path a video had when the project was saved. Projects
move between machines, so :func:`resolve_video_path` looks for the file the way
SLEAP does (as stored, next to the ``.slp``, relative to it, then in nearby
folders). :class:`VideoArray` wraps an opened ``sleap_io.Video`` as an array-like
that napari can slice: frames are decoded only when asked for and a small LRU
cache keeps memory flat however long the video is.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap_train.project.errors import VideoAccessError

log = logging.getLogger(__name__)

#: Largest block of frames one ``__getitem__``/``__array__`` call may decode.
DEFAULT_MAX_REQUEST_BYTES = 256 * 1024**2
#: Memory budget for the decoded-frame cache of one video.
DEFAULT_CACHE_BYTES = 32 * 1024**2


def _path_parts(stored: str) -> list[str]:
    """Split a stored path into its components, whatever OS wrote it."""
    parts = [p for p in str(stored).replace("\\", "/").split("/") if p not in ("", ".")]
    if parts and len(parts[0]) == 2 and parts[0][1] == ":":  # Windows drive "C:"
        parts = parts[1:]
    return parts


def candidate_video_paths(stored: str, labels_path: str | Path) -> Iterator[Path]:
    """Yield the places a video may be, in the order SLEAP would look.

    1. the path as stored (absolute, or relative to the working directory);
    2. the file name in the folder of the ``.slp``;
    3. the stored path relative to the ``.slp`` folder, dropping leading folders
       one at a time (``tests/data/videos/a.mp4`` -> ``data/videos/a.mp4`` ->
       ``videos/a.mp4``);
    4. the file name one level away: sub folders of the ``.slp`` folder, its
       parent folder and the parent's other sub folders (siblings).
    """
    parts = _path_parts(stored)
    if not parts:
        return
    name = parts[-1]
    here = Path(labels_path).resolve().parent
    seen: set[Path] = set()

    def fresh(p: Path) -> bool:
        key = p.absolute()
        if key in seen:
            return False
        seen.add(key)
        return True

    first = [Path(str(stored).replace("\\", "/")), here / name]
    first += [here.joinpath(*parts[i:]) for i in range(len(parts) - 1)]
    for p in first:
        if fresh(p):
            yield p
    nearby: list[Path] = []
    for folder in (here, here.parent):
        try:
            subdirs = sorted(d for d in folder.iterdir() if d.is_dir())
        except OSError:
            continue
        nearby += [d / name for d in subdirs]
    nearby.append(here.parent / name)
    for p in nearby:
        if fresh(p):
            yield p


def resolve_video_path(
    stored: str,
    labels_path: str | Path,
    accept: Callable[[Path], bool] | None = None,
) -> Path | None:
    """Find a video recorded in a SLEAP file.

    Parameters
    ----------
    stored
        The video path as written in the ``.slp`` file.
    labels_path
        Path of the ``.slp`` file (relative video paths are relative to it).
    accept
        Optional check of a candidate file (e.g. frame size matches the stored
        metadata); candidates it rejects are skipped.

    Returns
    -------
    Path or None
        The first existing candidate from :func:`candidate_video_paths`, or
        ``None`` when the video is nowhere to be found.
    """
    for path in candidate_video_paths(stored, labels_path):
        try:
            if not path.is_file():
                continue
        except OSError:
            continue
        if accept is None or accept(path):
            return path
    return None


class VideoArray:
    """Read-only, lazily decoded array view of a SLEAP video for napari.

    Shape is ``(n_frames, H, W)`` for grayscale videos (the channel axis is
    dropped so napari shows a gray 2D image) and ``(n_frames, H, W, 3)`` for
    colour videos. With ``video_axis=True`` a leading axis of length 1 is added
    so that several videos can share a ``[video, frame, y, x]`` dims space (the
    image layer is then translated to its video index).

    Frames that the source cannot provide (frames not embedded in a
    ``.pkg.slp``, or past the real end of a video whose length was estimated)
    read as black.

    Parameters
    ----------
    video
        An opened ``sleap_io.Video``.
    n_frames
        Length of the frame axis; defaults to the video's frame count. Embedded
        videos pass the original video length so frame indices stay the same as
        in the labels.
    video_axis
        Add a leading length-1 axis (see above).
    cache_bytes
        Memory budget for the decoded-frame LRU cache (at least 2 frames).
    max_request_bytes
        Largest amount of decoded data one indexing call may produce; larger
        requests (e.g. napari's 3D view of a long video) raise
        :class:`VideoAccessError` instead of exhausting memory.
    """

    def __init__(
        self,
        video: sio.Video,
        n_frames: int | None = None,
        *,
        video_axis: bool = False,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    ) -> None:
        backend = video.backend
        if backend is None:
            raise VideoAccessError(f"The video {video.filename} is not open.")
        self._video = video
        self._backend = backend
        n, h, w, c = backend.shape
        self._n = int(n if n_frames is None else n_frames)
        self._rgb = int(c) == 3
        self._frame_shape: tuple[int, ...] = (int(h), int(w), 3) if self._rgb else (int(h), int(w))
        self._video_axis = video_axis
        self._embedded = bool(getattr(backend, "has_embedded_images", False))
        frame_bytes = int(np.prod(self._frame_shape))
        self._capacity = max(2, cache_bytes // max(frame_bytes, 1))
        self._max_request_bytes = max_request_bytes
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._warned_unreadable = False
        self.decoded_count = 0  # frames actually decoded (not cache hits); for tests/benchmarks

    # -- array protocol used by napari -------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        lead = (1,) if self._video_axis else ()
        return lead + (self._n,) + self._frame_shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        return self.size

    @property
    def rgb(self) -> bool:
        """True for colour videos (last axis is RGB)."""
        return self._rgb

    @property
    def video(self) -> sio.Video:
        """The wrapped ``sleap_io.Video``."""
        return self._video

    @property
    def cache_capacity(self) -> int:
        """How many decoded frames the LRU cache holds."""
        return self._capacity

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"VideoArray({self._video.filename!r}, shape={self.shape}, dtype=uint8)"

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        # Materialising a whole long video would defeat the point of this class;
        # refuse above the request budget with a message that says why.
        self._check_request(self._n)
        out = self[...]
        return out.astype(dtype) if dtype is not None else out

    def __getitem__(self, key) -> np.ndarray:
        key = self._normalize_key(key)
        lead_key = None
        if self._video_axis:
            lead_key, key = key[0], key[1:]
        frame_key, rest = key[0], key[1:]
        if isinstance(frame_key, (int, np.integer)):
            idx = int(frame_key)
            if idx < 0:
                idx += self._n
            if not 0 <= idx < self._n:
                raise IndexError(f"frame {frame_key} is out of range for a video of {self._n} frames")
            out = self._frame(idx)[rest]
        else:
            inds = np.arange(self._n)[frame_key]
            self._check_request(len(inds))
            if len(inds):
                out = np.stack([self._frame(int(i))[rest] for i in inds])
            else:
                out = np.empty((0,) + np.empty(self._frame_shape, np.uint8)[rest].shape, np.uint8)
        if lead_key is None:
            return out
        n_lead = len(np.arange(1)[lead_key]) if not isinstance(lead_key, (int, np.integer)) else None
        if n_lead is None:
            if lead_key not in (0, -1):
                raise IndexError(f"index {lead_key} is out of range for the video axis of length 1")
            return out
        return np.repeat(out[None], n_lead, axis=0)

    # -- internals ---------------------------------------------------------------------
    def _normalize_key(self, key) -> tuple:
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            i = next(i for i, k in enumerate(key) if k is Ellipsis)
            fill = (slice(None),) * (self.ndim - len(key) + 1)
            key = key[:i] + fill + key[i + 1 :]
        if len(key) > self.ndim:
            raise IndexError(f"too many indices for a {self.ndim}-dimensional video")
        return key + (slice(None),) * (self.ndim - len(key))

    def _check_request(self, n_frames: int) -> None:
        nbytes = n_frames * int(np.prod(self._frame_shape))
        if nbytes > self._max_request_bytes:
            raise VideoAccessError(
                f"Refusing to decode {n_frames} frames ({nbytes / 1024**2:.0f} MB) of "
                f"{self._video.filename} at once; the video is read frame by frame to keep "
                "memory low. Use the 2D view, or index fewer frames."
            )

    def _frame(self, idx: int) -> np.ndarray:
        with self._lock:
            cached = self._cache.get(idx)
            if cached is not None:
                self._cache.move_to_end(idx)
                return cached
            frame = self._decode(idx)
            frame.setflags(write=False)
            self._cache[idx] = frame
            if len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
            return frame

    def _decode(self, idx: int) -> np.ndarray:
        if self._embedded and not self._backend.has_frame(idx):
            return np.zeros(self._frame_shape, np.uint8)
        try:
            img = np.asarray(self._backend.get_frame(idx))
        except Exception as exc:  # decoder errors must not crash napari's slicing
            if not self._warned_unreadable:
                log.warning("could not decode frame %d of %s: %s", idx, self._video.filename, exc)
                self._warned_unreadable = True
            return np.zeros(self._frame_shape, np.uint8)
        self.decoded_count += 1
        if img.ndim == 3 and not self._rgb:
            img = img[..., 0]
        elif img.ndim == 2 and self._rgb:
            img = np.repeat(img[..., None], 3, axis=-1)
        if img.dtype != np.uint8:
            img = np.clip(img, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(img)
