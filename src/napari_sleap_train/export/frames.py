"""Which frames a job package embeds, and whether their videos can give them.

A package holds the user-labeled and suggested frames of every video as images;
each video is checked by decoding one wanted frame, so a missing or broken video
is named before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import sleap_io as sio

from napari_sleap_train.export.errors import ExportJobError, MissingVideoError
from napari_sleap_train.project.model import SleapProject


def missing_message(path: Path | None, videos: list[str]) -> str:
    """The message for frames that cannot be embedded because their videos cannot be opened."""
    where = f" of {path.name}" if path is not None else ""
    return (
        f"The frames to embed cannot be read because {'a video' if len(videos) == 1 else 'videos'}{where} "
        f"cannot be opened: {'; '.join(videos)}. Put the video back (or next to the project) "
        "and export again."
    )


def add_suggestions(labels: sio.Labels, frames: Iterable[tuple[int, int]]) -> list[sio.SuggestionFrame]:
    """Add ``frames`` (not yet labeled or suggested) as suggestions; return what was added."""
    have = {(vi, f) for vi, frames in frames_wanted(labels).items() for f in frames}
    added = []
    for vi, fi in frames:
        vi, fi = int(vi), int(fi)
        if not 0 <= vi < len(labels.videos):
            raise ExportJobError(f"Frame ({vi}, {fi}) refers to video {vi}; the project has {len(labels.videos)}.")
        if fi < 0:
            raise ExportJobError(f"Frame index {fi} of video {vi} is negative.")
        if (vi, fi) in have:
            continue
        sf = sio.SuggestionFrame(video=labels.videos[vi], frame_idx=fi)
        labels.suggestions.append(sf)
        added.append(sf)
        have.add((vi, fi))
    return added


def frames_wanted(labels: sio.Labels) -> dict[int, set[int]]:
    """Frames whose images the package needs: user-labeled and suggested, per video index."""
    index = {id(v): i for i, v in enumerate(labels.videos)}
    wanted: dict[int, set[int]] = {i: set() for i in range(len(labels.videos))}
    for lf in labels.labeled_frames:
        if lf.has_user_instances:
            wanted[index[id(lf.video)]].add(int(lf.frame_idx))
    for sf in labels.suggestions:
        wanted[index[id(sf.video)]].add(int(sf.frame_idx))
    return wanted


def has_unlabeled_suggestions(labels: sio.Labels) -> bool:
    """True when some suggested frame has no user instance yet (the package then predicts on suggestions)."""
    labeled = {(id(lf.video), int(lf.frame_idx)) for lf in labels.labeled_frames if lf.has_user_instances}
    return any((id(sf.video), int(sf.frame_idx)) not in labeled for sf in labels.suggestions)


def embed_plan(labels: sio.Labels, project: SleapProject | None, source: Path | None) -> list[tuple[sio.Video, int]]:
    """``(video, frame)`` pairs to embed; checks every video that has some.

    A video that is already embedded (a ``.pkg.slp`` source) can only give the
    frames it holds; wanted frames it lacks (suggestions never embedded) are skipped.
    """
    plan: list[tuple[sio.Video, int]] = []
    missing: list[str] = []
    for vi, frames in sorted(frames_wanted(labels).items()):
        if not frames:
            continue
        video = labels.videos[vi]
        reason = unreadable_reason(video, project, vi, min(frames))
        if reason is not None:
            stored = video.filename[0] if isinstance(video.filename, list) else video.filename
            missing.append(f"video {vi} ({stored}): {reason}")
            continue
        backend = video.backend
        if getattr(backend, "has_embedded_images", False):
            frames = frames & {int(i) for i in backend.embedded_frame_inds}
        else:
            n = frame_count(video)
            if n is not None:
                beyond = sorted(f for f in frames if f >= n)
                if beyond:
                    raise ExportJobError(
                        f"Video {vi} ({video.filename}) has {n} frames, but frame {beyond[0]} is "
                        "labeled or suggested; is it the right video?"
                    )
        plan += [(video, f) for f in sorted(frames)]
    if missing:
        raise MissingVideoError(missing_message(source, missing))
    return plan


def unreadable_reason(video: sio.Video, project: SleapProject | None, index: int, frame: int) -> str | None:
    """Why a video's frames cannot be read, or ``None`` when they can.

    A backend object alone proves nothing (sleap-io creates one for a missing
    file), so one wanted frame is decoded.
    """
    if project is not None:
        for m in project.missing_videos:
            if m.index == index:
                return m.reason
    embedded = getattr(video.backend, "has_embedded_images", False)
    if not embedded and not isinstance(video.filename, list) and not video.exists():
        return "the file was not found"
    try:
        if video.backend is None:
            video.open()
        if video.backend is None:
            return "it could not be opened"
        if not embedded:
            video[frame]
    except Exception as exc:  # sleap-io/opencv/h5py raise many kinds; all mean "not readable"
        return str(exc) or type(exc).__name__
    return None


def frame_count(video: sio.Video) -> int | None:
    """The number of frames its backend reports, or ``None`` when it cannot tell."""
    try:
        shape = video.backend.shape
    except Exception:
        return None
    return int(shape[0]) if shape else None
