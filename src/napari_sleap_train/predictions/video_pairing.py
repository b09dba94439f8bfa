"""Which video of one label file a video of another shows: one rule for merging and evaluating.

Predictions are merged into a project (:mod:`.merge`) and compared with its
labels (:mod:`napari_sleap_train.evaluate`) by the same rule:

1. sleap-io's own video matching (``VideoMatcher`` with method ``auto``): the
   same object or file (embedded ``.pkg.slp`` frames lead back to their
   source), the same full path, then the shortest unique path ending (file
   name, then folder and file name, ...); videos whose frame count or size
   differ never match;
2. failing that, when both files have as many videos, the video at the same
   position, unless their sizes differ. That is a guess (the videos were
   renamed or moved), so :func:`position_warning` names the files paired so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sleap_io as sio
from sleap_io.model.matching import VideoMatcher, shapes_compatible


@dataclass(frozen=True)
class VideoPair:
    """The target video a source video shows, and how that was decided.

    ``how`` is ``"same"`` (the same object), ``"match"`` (sleap-io's matching:
    same file, path or unique path ending) or ``"position"`` (no match, same
    index in files with as many videos). ``target_index`` is ``None`` when the
    video is in no way part of the target.
    """

    source_index: int
    target_index: int | None
    how: str | None


def pair_videos(target: sio.Labels, source: sio.Labels) -> list[VideoPair]:
    """Pair every video of ``source`` (e.g. predictions) with a video of ``target`` (the project)."""
    matcher = VideoMatcher(method="auto")
    index = {id(v): i for i, v in enumerate(target.videos)}
    same_count = len(source.videos) == len(target.videos)
    pairs = []
    for j, video in enumerate(source.videos):
        if id(video) in index:
            pairs.append(VideoPair(j, index[id(video)], "same"))
            continue
        found = matcher.find_match(video, list(target.videos))
        if found is not None:
            pairs.append(VideoPair(j, index[id(found)], "match"))
        elif same_count and shapes_compatible(target.videos[j], video) is not False:
            pairs.append(VideoPair(j, j, "position"))
        else:
            pairs.append(VideoPair(j, None, None))
    # a position guess never takes a video another video matched by name or file
    named = {p.target_index for p in pairs if p.how in ("same", "match")}
    return [
        VideoPair(p.source_index, None, None) if p.how == "position" and p.target_index in named else p for p in pairs
    ]


def video_name(video: sio.Video) -> str:
    """The file name of a video (the first image of an image sequence)."""
    name = video.filename[0] if isinstance(video.filename, list) and video.filename else video.filename
    return Path(str(name)).name


def position_warning(
    pairs: list[VideoPair], target: sio.Labels, source: sio.Labels, target_name: str, source_name: str, limit: int = 3
) -> str | None:
    """A warning naming the videos paired only by their position, or ``None`` when there are none."""
    guessed = [p for p in pairs if p.how == "position"]
    if not guessed:
        return None
    shown = ", ".join(
        f"{video_name(source.videos[p.source_index])} as {video_name(target.videos[p.target_index])}"
        for p in guessed[:limit]
    )
    more = f" and {len(guessed) - limit} more" if len(guessed) > limit else ""
    return (
        f"the videos of {source_name} are not found by file in {target_name} and are paired by their order "
        f"({shown}{more}); check that they are the same videos"
    )
