"""Write the procedural sample as a SLEAP project folder, and cache a default copy.

Folder layout (``write_sample_project``)::

    OUT_DIR/sample.mp4         the video (H.264, near-lossless)
    OUT_DIR/sample.slp         labeled subset (user instances with tracks) + suggestions
    OUT_DIR/sample.truth.slp   every frame, every animal (user instances, same tracks)

Both ``.slp`` files store the video as the bare file name ``sample.mp4``; SLEAP
and sleap-io look for it next to the ``.slp`` file, so the folder can be moved.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sleap_io as sio

from .generate import GENERATOR_VERSION, SampleData, generate_sample
from .skeleton import make_skeleton

VIDEO_NAME = "sample.mp4"
LABELS_NAME = "sample.slp"
TRUTH_NAME = "sample.truth.slp"
FPS = 30.0
#: H.264 quality: low CRF keeps decoded frames within ~1-2 grey levels of the rendering.
VIDEO_CRF = 14

#: Environment variable that overrides the cache folder of the default sample.
CACHE_ENV = "NAPARI_SLEAP_TRAIN_CACHE_DIR"


@dataclass(frozen=True)
class SampleProject:
    """Paths of a written sample project.

    Attributes
    ----------
    folder : Path
    labels_path : Path
        ``sample.slp``: the project a user opens (labeled subset + suggestions).
    video_path : Path
        ``sample.mp4``.
    truth_path : Path
        ``sample.truth.slp``: ground truth on every frame (for evaluation).
    seed, n_frames, n_animals : int
    """

    folder: Path
    labels_path: Path
    video_path: Path
    truth_path: Path
    seed: int
    n_frames: int
    n_animals: int

    def exists(self) -> bool:
        """Whether all three files are present."""
        return self.labels_path.is_file() and self.video_path.is_file() and self.truth_path.is_file()


def _video_reference(shape: tuple[int, int, int, int]) -> sio.Video:
    """A closed video referring to ``sample.mp4`` by bare name (resolved next to the .slp)."""
    metadata = {
        "type": "MediaVideo",
        "shape": list(shape),
        "filename": VIDEO_NAME,
        "grayscale": True,
        "bgr": True,
        "dataset": "",
        "input_format": "",
        "fps": FPS,
    }
    return sio.Video(filename=VIDEO_NAME, backend_metadata=metadata, open_backend=False)


def build_labels(sample: SampleData, frame_indices: np.ndarray | None, with_suggestions: bool) -> sio.Labels:
    """Build sleap-io Labels from a generated sample.

    Parameters
    ----------
    sample : SampleData
    frame_indices : np.ndarray or None
        Frames to label (every animal as a user instance with its track); ``None`` for all.
    with_suggestions : bool
        Add ``sample.suggested_frames`` as suggestions.
    """
    skeleton = make_skeleton()
    video = _video_reference((sample.n_frames, *sample.frames.shape[1:], 1))
    tracks = [sio.Track(name=f"mouse{i + 1}") for i in range(sample.n_animals)]
    if frame_indices is None:
        frame_indices = np.arange(sample.n_frames)
    frames = []
    for f in frame_indices:
        instances = [
            sio.Instance.from_numpy(sample.points[f, a].astype(np.float64), skeleton=skeleton, track=tracks[a])
            for a in range(sample.n_animals)
        ]
        frames.append(sio.LabeledFrame(video=video, frame_idx=int(f), instances=instances))
    suggestions = (
        [sio.SuggestionFrame(video=video, frame_idx=int(f)) for f in sample.suggested_frames]
        if with_suggestions
        else []
    )
    return sio.Labels(
        labeled_frames=frames,
        videos=[video],
        skeletons=[skeleton],
        tracks=tracks,
        suggestions=suggestions,
        provenance={"generator": "napari_sleap_train.sample", "seed": int(sample.seed), "version": GENERATOR_VERSION},
    )


def write_sample_project(
    out_dir: str | os.PathLike,
    seed: int = 0,
    n_frames: int = 300,
    n_animals: int = 2,
    height: int = 384,
    width: int = 384,
    n_labeled: int = 40,
    n_suggested: int = 20,
    overwrite: bool = False,
) -> SampleProject:
    """Generate the procedural sample and write it as a SLEAP project folder.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created if missing).
    seed : int
        Same seed, same pixels and points.
    n_frames, n_animals, height, width : int
        Video length, number of mice and frame size.
    n_labeled, n_suggested : int
        Frames labeled in ``sample.slp`` and frames suggested for labeling.
    overwrite : bool
        Replace existing sample files; otherwise refuse with ``FileExistsError``.

    Returns
    -------
    SampleProject
        Paths of ``sample.slp``, ``sample.mp4`` and ``sample.truth.slp``.
    """
    folder = Path(out_dir)
    project = SampleProject(
        folder=folder,
        labels_path=folder / LABELS_NAME,
        video_path=folder / VIDEO_NAME,
        truth_path=folder / TRUTH_NAME,
        seed=seed,
        n_frames=n_frames,
        n_animals=n_animals,
    )
    existing = [p for p in (project.labels_path, project.video_path, project.truth_path) if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{existing[0]} already exists; choose another folder or pass overwrite=True (--overwrite)"
        )
    sample = generate_sample(
        seed=seed,
        n_frames=n_frames,
        n_animals=n_animals,
        height=height,
        width=width,
        n_labeled=n_labeled,
        n_suggested=n_suggested,
    )
    folder.mkdir(parents=True, exist_ok=True)
    sio.save_video(sample.frames, project.video_path, fps=FPS, crf=VIDEO_CRF, preset="superfast")
    sio.save_slp(build_labels(sample, sample.labeled_frames, with_suggestions=True), str(project.labels_path))
    sio.save_slp(build_labels(sample, None, with_suggestions=False), str(project.truth_path))
    return project


def cache_root() -> Path:
    """Folder holding cached sample projects.

    ``$NAPARI_SLEAP_TRAIN_CACHE_DIR`` if set, else the user cache folder
    (``platformdirs.user_cache_dir("napari-sleap-train")``, e.g.
    ``~/.cache/napari-sleap-train`` on Linux).
    """
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("napari-sleap-train"))


def default_sample_project(seed: int = 0, n_animals: int = 2, n_frames: int = 300) -> SampleProject:
    """Return the cached sample project, generating it on first use.

    The project lives in ``cache_root()/sample-v<version>-seed<seed>-<animals>x<frames>``;
    it is regenerated when any of its files is missing. Generation writes into
    a temporary sibling folder and renames it into place, so concurrent callers
    never see a half-written project.
    """
    root = cache_root()
    name = f"sample-v{GENERATOR_VERSION}-seed{seed}-{n_animals}x{n_frames}"
    target = root / name

    def at(folder: Path) -> SampleProject:
        return SampleProject(
            folder=folder,
            labels_path=folder / LABELS_NAME,
            video_path=folder / VIDEO_NAME,
            truth_path=folder / TRUTH_NAME,
            seed=seed,
            n_frames=n_frames,
            n_animals=n_animals,
        )

    project = at(target)
    if project.exists():
        return project
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        write_sample_project(tmp, seed=seed, n_frames=n_frames, n_animals=n_animals)
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
        if target.exists():  # incomplete leftover (or a concurrent writer lost the race)
            if project.exists():
                return project
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not project.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return project
