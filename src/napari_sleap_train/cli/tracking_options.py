"""Tracker options of ``predict``, ``train`` and ``export-job``, and arguments -> settings.

Every option defaults to ``None`` ("not given"), so options left out keep the
settings they start from (the job's, the session's, SLEAP's default of no
tracker). The settings are :class:`~napari_sleap_train.config.tracking.TrackerSettings`.
"""

from __future__ import annotations

import argparse
import copy


class TrackingOptionsError(ValueError):
    """A tracker option has a bad value (printed without a traceback)."""


def add_tracking_options(p: argparse.ArgumentParser) -> None:
    """Register the tracker options on ``p`` (in their own help group)."""
    from napari_sleap_train.config.tracking import MATCHES, SIMILARITIES, TRACKERS

    g = p.add_argument_group("tracking", "put the predictions on tracks across frames (SLEAP's trackers)")
    g.add_argument(
        "--tracker",
        choices=TRACKERS,
        default=None,
        help="none (default, as in SLEAP), simple, or flow (candidates shifted by optical flow; reads the video)",
    )
    g.add_argument(
        "--max-tracks",
        type=int,
        default=None,
        metavar="N",
        help="never more than N tracks per video (0: no limit, the default)",
    )
    g.add_argument("--similarity", choices=SIMILARITIES, default=None, help="default: instance")
    g.add_argument("--match", choices=MATCHES, default=None, help="default: greedy")
    g.add_argument(
        "--track-window", type=int, default=None, metavar="N", help="frames that give candidates (default: 5)"
    )
    g.add_argument(
        "--robust",
        type=float,
        default=None,
        metavar="Q",
        help="track similarity: this quantile of its candidates (default: 1, the best)",
    )
    g.add_argument(
        "--connect-breaks",
        action="store_true",
        default=None,
        help="join a track that ends with one that starts on the same frame (needs --max-tracks)",
    )
    g.add_argument(
        "--min-new-track-points",
        type=int,
        default=None,
        metavar="N",
        help="a new track needs N visible nodes (default: 0)",
    )
    g.add_argument("--of-window-size", type=int, default=None, metavar="PX", help="flow window (default: 21)")
    g.add_argument("--of-max-levels", type=int, default=None, metavar="N", help="flow pyramid levels (default: 3)")
    g.add_argument(
        "--of-fb-error",
        type=float,
        default=None,
        metavar="PX",
        help="forward-backward check: drop flow points that do not come back within PX pixels",
    )


#: option -> attribute path in TrackerSettings
_FIELDS = {
    "tracker": ("tracker",),
    "max_tracks": ("max_tracks",),
    "similarity": ("similarity",),
    "match": ("match",),
    "track_window": ("track_window",),
    "robust": ("robust",),
    "connect_breaks": ("connect_single_breaks",),
    "min_new_track_points": ("min_new_track_points",),
    "of_window_size": ("flow", "window_size"),
    "of_max_levels": ("flow", "max_levels"),
    "of_fb_error": ("flow", "max_fb_error"),
}


def tracking_from_args(args: argparse.Namespace, base=None):
    """The tracker settings the options describe, on top of a copy of ``base``.

    ``base`` defaults to no tracker. A ``--max-tracks`` or flow option without
    ``--tracker`` is an error only when the result tracks nothing.

    Raises
    ------
    TrackingOptionsError
        A value is out of range (the message says which).
    """
    from napari_sleap_train.config.tracking import TrackerSettings, TrackingSettingsError

    settings = copy.deepcopy(base) if base is not None else TrackerSettings(tracker="none")
    given = []
    for option, path in _FIELDS.items():
        value = getattr(args, option, None)
        if value is None:
            continue
        given.append(option)
        target = settings
        for name in path[:-1]:
            target = getattr(target, name)
        setattr(target, path[-1], value)
    if given and given != ["tracker"] and not settings.enabled:
        named = ", ".join("--" + o.replace("_", "-") for o in given if o != "tracker")
        raise TrackingOptionsError(f"{named} set tracker options but no tracker runs; add --tracker simple or flow")
    try:
        return settings.validate()
    except TrackingSettingsError as exc:
        raise TrackingOptionsError(str(exc)) from exc
