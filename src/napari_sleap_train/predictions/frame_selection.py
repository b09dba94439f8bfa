"""Which frames to predict on (SLEAP's *Predict On* choices), numpy/sleap-io only.

:func:`select_frames` turns a :class:`~napari_sleap_train.config.model.PredictOn`
choice into a list of ``(video_index, frame_index)`` pairs. When the choice
yields nothing, :attr:`FrameSelection.explanation` says why in plain words
(SLEAP only says "predicted on 0 frames").

"Labeled" always means *has a user instance*: frames holding only earlier
predictions are fair game for new predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap_train.config.model import PredictOn

#: How the choices read in messages.
CHOICE_NAMES: dict[PredictOn, str] = {
    PredictOn.NOTHING: "nothing",
    PredictOn.CURRENT_FRAME: "the current frame",
    PredictOn.RANDOM_FRAMES: "random unlabeled frames",
    PredictOn.RANDOM_FRAMES_CURRENT_VIDEO: "random unlabeled frames of the current video",
    PredictOn.SUGGESTED_FRAMES: "suggested frames",
    PredictOn.USER_LABELED_FRAMES: "user-labeled frames",
    PredictOn.CURRENT_VIDEO: "the entire current video",
    PredictOn.ALL_VIDEOS: "all videos",
}


@dataclass
class FrameSelection:
    """Frames chosen for prediction.

    Attributes
    ----------
    frames
        ``(video_index, frame_index)`` pairs, sorted, no duplicates.
    explanation
        Plain words: what was selected, or why nothing was.
    """

    frames: list[tuple[int, int]]
    explanation: str

    def __len__(self) -> int:
        return len(self.frames)

    def __bool__(self) -> bool:
        return bool(self.frames)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def video_frames(video: sio.Video, labels_path: str | Path | None = None) -> Sequence[int] | None:
    """Frame indices of ``video`` that can be read, or ``None`` when it cannot be opened.

    A normal video gives ``range(n_frames)``; a video embedded in a ``.pkg.slp``
    gives the indices of the frames stored in the package. A video stored by a
    relative or outdated path is looked up next to ``labels_path`` (same folder,
    the stored relative path below it, or a ``videos`` subfolder); when found
    there, ``video`` is pointed at it in place so later reads work too.
    """
    backend = None
    try:
        if video.exists():
            backend = video.backend if video.is_open else None
            if backend is None:
                video.open()
                backend = video.backend
    except Exception:  # noqa: BLE001 - any backend failure means "unreadable"
        backend = None
    if backend is None and labels_path is not None and isinstance(video.filename, (str, Path)):
        name = Path(str(video.filename))
        base = Path(labels_path).resolve().parent
        for cand in (base / name, base / name.name, base / "videos" / name.name):
            if not cand.is_file():
                continue
            try:
                video.replace_filename(str(cand), open=True)
                backend = video.backend
            except Exception:  # noqa: BLE001
                backend = None
            if backend is not None:
                break
    if backend is None:
        return None
    frame_map = getattr(backend, "frame_map", None)
    if getattr(backend, "has_embedded_images", False) and frame_map:
        return sorted(int(i) for i in frame_map)
    try:
        shape = video.shape
    except Exception:  # noqa: BLE001
        shape = None
    return None if shape is None else range(int(shape[0]))


def video_length(video: sio.Video, labels_path: str | Path | None = None) -> int | None:
    """Number of readable frames of ``video`` (``None``: cannot be opened)."""
    frames = video_frames(video, labels_path)
    return None if frames is None else len(frames)


def user_labeled_frames(labels: sio.Labels) -> set[tuple[int, int]]:
    """``(video_index, frame_index)`` of every frame with at least one user instance."""
    index = {id(v): i for i, v in enumerate(labels.videos)}
    return {
        (index[id(lf.video)], int(lf.frame_idx))
        for lf in labels.labeled_frames
        if id(lf.video) in index and lf.user_instances
    }


def suggested_frames(labels: sio.Labels) -> list[tuple[int, int]]:
    """``(video_index, frame_index)`` of every suggestion (sorted, unique)."""
    index = {id(v): i for i, v in enumerate(labels.videos)}
    return sorted({(index[id(s.video)], int(s.frame_idx)) for s in labels.suggestions if id(s.video) in index})


class _Frames:
    """Readable frame indices per video, computed lazily (opening a video can be slow)."""

    def __init__(self, labels: sio.Labels, lengths: Sequence[int | None] | None, labels_path):
        self.labels = labels
        self.given = list(lengths) if lengths is not None else None
        self.labels_path = labels_path
        self.cache: dict[int, tuple[Sequence[int], set[int] | range] | None] = {}

    def __call__(self, vi: int) -> Sequence[int] | None:
        entry = self._entry(vi)
        return None if entry is None else entry[0]

    def contains(self, vi: int, fi: int) -> bool:
        entry = self._entry(vi)
        return entry is not None and fi in entry[1]

    def _entry(self, vi: int):
        if vi not in self.cache:
            if self.given is not None:
                n = self.given[vi] if vi < len(self.given) else None
                frames = None if n is None else range(int(n))
            else:
                frames = video_frames(self.labels.videos[vi], self.labels_path)
            if frames is None:
                self.cache[vi] = None
            else:
                lookup = frames if isinstance(frames, range) else set(frames)
                self.cache[vi] = (frames, lookup)
        return self.cache[vi]


def _unreadable_message(labels: sio.Labels, videos: list[int]) -> str:
    names = ", ".join(Path(str(labels.videos[v].filename)).name for v in videos[:3])
    more = "" if len(videos) <= 3 else f" and {len(videos) - 3} more"
    what = "the video" if len(videos) == 1 else "the videos"
    return f"no video frames are readable ({what} {names}{more} cannot be opened)"


def _filter_readable(frames: list[tuple[int, int]], available: _Frames) -> tuple[list[tuple[int, int]], list[int]]:
    """Keep frames that can be read; return the videos that cannot be opened too."""
    keep, bad_videos = [], []
    for vi, fi in frames:
        if available(vi) is None:
            if vi not in bad_videos:
                bad_videos.append(vi)
        elif available.contains(vi, fi):
            keep.append((vi, fi))
    return keep, bad_videos


def _random_unlabeled(
    videos: list[int],
    n: int,
    labeled: set[tuple[int, int]],
    available: _Frames,
    rng: np.random.Generator,
) -> tuple[list[tuple[int, int]], list[int], int]:
    """Sample up to ``n`` unlabeled frames uniformly over the given videos.

    Returns the frames, the videos that cannot be opened and the number of
    readable frames in the readable videos.
    """
    spans, bad = [], []
    for vi in videos:
        frames = available(vi)
        if frames is None:
            bad.append(vi)
        elif len(frames) > 0:
            spans.append((vi, frames))
    total = sum(len(f) for _, f in spans)
    readable = {vi for vi, _ in spans}
    n_labeled = sum(1 for vi, fi in labeled if vi in readable and available.contains(vi, fi))
    want = min(n, total - n_labeled)
    if want <= 0:
        return [], bad, total
    starts = np.cumsum([0] + [len(f) for _, f in spans])
    chosen: set[tuple[int, int]] = set()
    # rejection sampling is fast unless nearly every frame is labeled; then
    # enumerate the unlabeled frames instead
    attempts = 0
    while len(chosen) < want and attempts < 20 * want + 100:
        k = int(rng.integers(0, total))
        j = int(np.searchsorted(starts, k, side="right") - 1)
        frame = (spans[j][0], int(spans[j][1][k - int(starts[j])]))
        if frame not in labeled:
            chosen.add(frame)
        attempts += 1
    if len(chosen) < want:
        pool = [
            (vi, int(fi))
            for vi, frames in spans
            for fi in frames
            if (vi, int(fi)) not in labeled and (vi, int(fi)) not in chosen
        ]
        extra = rng.choice(len(pool), size=want - len(chosen), replace=False)
        chosen.update(pool[int(i)] for i in extra)
    return sorted(chosen), bad, total


def select_frames(
    labels: sio.Labels,
    predict_on: PredictOn | str,
    n: int = 20,
    current_video: int = 0,
    current_frame: int = 0,
    seed: int = 0,
    video_lengths: Sequence[int | None] | None = None,
    labels_path: str | Path | None = None,
) -> FrameSelection:
    """Frames to predict on for one *Predict On* choice.

    Parameters
    ----------
    labels
        The project.
    predict_on
        The choice (a :class:`PredictOn` or its value).
    n
        Number of frames for the random choices.
    current_video, current_frame
        Where the viewer is (index into ``labels.videos``; frame index).
    seed
        Seed of the random choices (same seed, same frames).
    video_lengths
        Frame count per video (``None`` entries: unreadable). Default: open the
        videos (looking next to ``labels_path`` for moved files).
    labels_path
        Where the project file lives, to find videos stored by relative path.

    Returns
    -------
    FrameSelection
    """
    choice = PredictOn(predict_on)
    available = _Frames(labels, video_lengths, labels_path)
    n_videos = len(labels.videos)
    labeled = user_labeled_frames(labels)

    if choice is PredictOn.NOTHING:
        return FrameSelection([], "prediction is turned off (predict on: nothing)")
    if n_videos == 0:
        return FrameSelection([], "the project has no videos")

    def check_current() -> str | None:
        if not 0 <= current_video < n_videos:
            return f"there is no current video (video {current_video} of a project with {_plural(n_videos, 'video')})"
        return None

    if choice is PredictOn.CURRENT_FRAME:
        problem = check_current()
        if problem:
            return FrameSelection([], problem)
        frames = available(current_video)
        if frames is None:
            return FrameSelection([], _unreadable_message(labels, [current_video]))
        if not available.contains(current_video, current_frame):
            return FrameSelection(
                [],
                f"the current frame {current_frame} cannot be read from the video "
                f"({_plural(len(frames), 'readable frame')})",
            )
        return FrameSelection([(current_video, current_frame)], f"the current frame ({current_frame})")

    if choice in (PredictOn.CURRENT_VIDEO, PredictOn.ALL_VIDEOS):
        if choice is PredictOn.CURRENT_VIDEO:
            problem = check_current()
            if problem:
                return FrameSelection([], problem)
            videos = [current_video]
        else:
            videos = list(range(n_videos))
        frames, bad = [], []
        for vi in videos:
            readable = available(vi)
            if readable is None:
                bad.append(vi)
            else:
                frames.extend((vi, int(fi)) for fi in readable)
        if not frames:
            if bad:
                return FrameSelection([], _unreadable_message(labels, bad))
            return FrameSelection([], "the video has no frames" if len(videos) == 1 else "the videos have no frames")
        text = f"{_plural(len(frames), 'frame')} of {_plural(len(videos) - len(bad), 'video')}"
        if bad:
            text += f"; skipped {_unreadable_message(labels, bad).split('(', 1)[1].rstrip(')')}"
        return FrameSelection(frames, text)

    if choice in (PredictOn.RANDOM_FRAMES, PredictOn.RANDOM_FRAMES_CURRENT_VIDEO):
        if choice is PredictOn.RANDOM_FRAMES_CURRENT_VIDEO:
            problem = check_current()
            if problem:
                return FrameSelection([], problem)
            videos = [current_video]
        else:
            videos = list(range(n_videos))
        if n <= 0:
            return FrameSelection([], f"the number of random frames is {n}")
        rng = np.random.default_rng(seed)
        frames, bad, total = _random_unlabeled(videos, n, labeled, available, rng)
        if frames:
            text = f"{_plural(len(frames), 'random unlabeled frame')}"
            if len(frames) < n:
                text += f" (only {len(frames)} of the {_plural(total, 'frame')} are unlabeled)"
            return FrameSelection(frames, text)
        if len(bad) == len(videos):
            return FrameSelection([], _unreadable_message(labels, bad))
        if choice is PredictOn.RANDOM_FRAMES_CURRENT_VIDEO:
            where = "the current video"
        else:
            where = "the video" if n_videos == 1 else "the videos"
        if total == 0:
            return FrameSelection([], f"{where} {'has' if len(videos) == 1 else 'have'} no frames")
        if total == 1:
            return FrameSelection([], f"the only frame of {where} is already labeled")
        return FrameSelection([], f"all {total} frames of {where} are already labeled")

    if choice is PredictOn.SUGGESTED_FRAMES:
        suggested = suggested_frames(labels)
        if not suggested:
            return FrameSelection([], "the project has no suggested frames")
        unlabeled = [f for f in suggested if f not in labeled]
        if not unlabeled:
            return FrameSelection(
                [],
                f"all {_plural(len(suggested), 'suggested frame')} are already labeled"
                if len(suggested) > 1
                else "the only suggested frame is already labeled",
            )
        frames, bad = _filter_readable(unlabeled, available)
        if not frames:
            if bad:
                return FrameSelection([], _unreadable_message(labels, bad))
            return FrameSelection([], "none of the suggested frames can be read from their videos")
        text = f"{_plural(len(frames), 'unlabeled suggested frame')}"
        skipped = len(suggested) - len(unlabeled)
        if skipped:
            text += f" ({skipped} already labeled)"
        return FrameSelection(frames, text)

    if choice is PredictOn.USER_LABELED_FRAMES:
        if not labeled:
            return FrameSelection([], "the project has no user-labeled frames")
        frames, bad = _filter_readable(sorted(labeled), available)
        if not frames:
            if bad:
                return FrameSelection([], _unreadable_message(labels, bad))
            return FrameSelection([], "none of the labeled frames can be read from their videos")
        return FrameSelection(frames, f"{_plural(len(frames), 'user-labeled frame')}")

    raise ValueError(f"unknown predict-on choice {predict_on!r}")  # pragma: no cover
