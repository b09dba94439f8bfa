"""Open a ``.slp`` / ``.pkg.slp`` file and its videos: the one way projects are opened.

The viewer (through :meth:`~napari_sleap_train.project.model.SleapProject.load`),
prediction and training all call :func:`load_labels`, so they find videos the
same way (see :func:`~napari_sleap_train.project.video.resolve_video_path`) and
say the same plain words about a file that cannot be used.

A video that cannot be used (not found, unreadable, embedded frames missing) does
not stop the labels from opening: it is listed in
:attr:`OpenedLabels.missing_videos` with the reason, and its backend stays closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import sleap_io as sio

from napari_sleap_train.project.errors import SleapFileError
from napari_sleap_train.project.video import resolve_video_path


@dataclass(frozen=True)
class MissingVideo:
    """A video of the project that could not be opened."""

    index: int
    stored_path: str
    reason: str

    @property
    def problem(self) -> str:
        """What is wrong, in one sentence naming the video."""
        name = Path(self.stored_path.replace(chr(92), "/")).name
        return f"Video {self.index} ('{name}') could not be opened: {self.reason}."

    @property
    def message(self) -> str:
        """:attr:`problem` as the viewer says it (the labels still open)."""
        return f"{self.problem} Its labels are shown without the video."


@dataclass
class OpenedLabels:
    """What :func:`load_labels` read.

    Attributes
    ----------
    labels : sleap_io.Labels
        The labels, with every usable video open (paths updated where found elsewhere).
    path : pathlib.Path
        The resolved path of the file.
    missing_videos : list of MissingVideo
        Videos that could not be opened, with the reason.
    """

    labels: sio.Labels
    path: Path
    missing_videos: list[MissingVideo] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        """One plain-words line per missing video."""
        return [m.message for m in self.missing_videos]


def is_embedded(video: sio.Video) -> bool:
    """True when the video's frames are stored in the ``.slp`` itself (a ``.pkg.slp``)."""
    return video.backend_metadata.get("filename") == "."


def check_sleap_file(path: Path) -> None:
    """Raise :class:`SleapFileError` with a plain message if ``path`` is not a readable .slp."""
    if not path.exists():
        raise SleapFileError(f"There is no file at {path}.")
    if path.is_dir():
        raise SleapFileError(f"{path} is a folder, not a SLEAP project file.")
    if path.stat().st_size == 0:
        raise SleapFileError(f"{path.name} is empty (0 bytes); it is not a SLEAP project.")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise SleapFileError(f"{path.name} cannot be read: {exc}.") from exc
    if not is_hdf5:
        raise SleapFileError(
            f"{path.name} is not a SLEAP project: SLEAP .slp files are HDF5 files and this "
            "one is not (wrong file, or renamed to .slp)."
        )
    try:
        with h5py.File(path, "r") as f:
            keys = set(f.keys())
    except OSError as exc:
        raise SleapFileError(f"{path.name} could not be read; the file looks truncated or damaged ({exc}).") from exc
    needed = {"metadata", "videos_json"}
    if not needed <= keys:
        raise SleapFileError(
            f"{path.name} is an HDF5 file but not a SLEAP project (missing {', '.join(sorted(needed - keys))})."
        )


def load_labels(path: str | Path) -> OpenedLabels:
    """Read a ``.slp`` / ``.pkg.slp`` file and open its videos, looking for them as SLEAP does.

    Raises
    ------
    SleapFileError
        The file does not exist, is not a SLEAP file, is damaged, or holds
        nothing to show (no skeleton, video or labels).
    """
    path = Path(path).resolve()
    check_sleap_file(path)
    try:
        labels = sio.load_slp(path.as_posix(), open_videos=False)
    except Exception as exc:  # sleap-io / h5py raise many kinds
        raise SleapFileError(
            f"{path.name} could not be read as a SLEAP project ({type(exc).__name__}: {exc})."
        ) from exc
    if not labels.skeletons and not labels.videos and not labels.labeled_frames:
        raise SleapFileError(f"{path.name} is an empty SLEAP project: it has no skeleton, no videos and no labels.")
    opened = OpenedLabels(labels, path)
    for i, video in enumerate(labels.videos):
        stored = video.filename
        try:
            _open_video(video, path)
        except Exception as exc:  # any failure means: show labels without this video
            _close_quietly(video)
            reason = str(exc) or type(exc).__name__
            stored_str = stored[0] if isinstance(stored, list) else str(stored)
            opened.missing_videos.append(MissingVideo(i, stored_str, reason))
    return opened


def _close_quietly(video: sio.Video) -> None:
    try:
        video.close()
    except Exception:  # noqa: BLE001 (a backend that failed to open may fail to close)
        pass


def _open_video(video: sio.Video, labels_path: Path) -> None:
    meta = video.backend_metadata
    grayscale = meta.get("grayscale")
    if is_embedded(video):
        _check_embedded_frames(video, labels_path)
        video.open(grayscale=grayscale)
        return
    if isinstance(video.filename, list):  # image sequence
        files = [Path(f) for f in video.filename]
        first = resolve_video_path(video.filename[0], labels_path)
        if first is None:
            raise FileNotFoundError(f"image sequence starting with {video.filename[0]} was not found")
        video.replace_filename([(first.parent / f.name).as_posix() for f in files], open=False)
        video.open(grayscale=grayscale)
        _check_readable(video, first)
        return
    stored_shape = meta.get("shape")

    def same_frame_size(candidate: Path) -> bool:
        if not stored_shape or candidate.as_posix() == str(video.filename):
            return True
        try:
            probe = sio.load_video(candidate.as_posix())
            ok = tuple(probe.shape[1:3]) == tuple(stored_shape[1:3])
            probe.close()
            return ok
        except Exception:  # noqa: BLE001 (an unreadable candidate is not the video)
            return False

    found = resolve_video_path(str(video.filename), labels_path, accept=same_frame_size)
    if found is None:
        raise FileNotFoundError(
            f"not found at {video.filename}, next to the project, relative to it, or in nearby folders"
        )
    if found.as_posix() != str(video.filename):
        video.replace_filename(found.resolve().as_posix(), open=False)
    video.open(grayscale=grayscale)
    _check_readable(video, found)


def _check_readable(video: sio.Video, found: Path) -> None:
    """Read the video's shape (which decodes its first frame): a truncated file fails here."""
    if video.backend is None:
        raise OSError(f"{found} exists but could not be opened as a video")
    try:
        shape = video.backend.shape
    except Exception as exc:  # decoders raise IndexError, OSError, RuntimeError, ...
        raise OSError(
            f"{found} exists but no frame can be read from it; the file looks truncated "
            f"or damaged ({type(exc).__name__}: {exc})"
        ) from exc
    if shape is None or not shape[0]:
        raise OSError(f"{found} exists but holds no frames; the file looks truncated or damaged")


def _check_embedded_frames(video: sio.Video, labels_path: Path) -> None:
    """Say plainly when a ``.pkg.slp`` lacks the frames its labels point to."""
    dataset = video.backend_metadata.get("dataset")
    if not dataset:
        return
    try:
        with h5py.File(labels_path, "r") as f:
            present = dataset in f
    except OSError as exc:
        raise OSError(f"the embedded frames of {labels_path.name} cannot be read ({exc})") from exc
    if not present:
        raise FileNotFoundError(
            f"the frames embedded in {labels_path.name} are missing (it has no '{dataset}'); "
            "the package was saved without its images or was damaged, so only the labels "
            "can be shown. Open the original project with its videos, or save the package again"
        )
