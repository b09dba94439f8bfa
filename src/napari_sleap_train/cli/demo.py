"""``napari-sleap-train demo [PROJECT.slp] [--screenshot PNG]``: napari with the widget docked.

Without a project it opens the procedural sample project (generated once into
the user cache, see :func:`napari_sleap_train.sample.project.default_sample_project`).
With ``--screenshot`` it saves the whole window once napari has drawn, then
quits: used on headless machines (under Xvfb) and for the docs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PLUGIN = "napari-sleap-train"
WIDGET = "SLEAP Training"
#: Delay before the screenshot, so the window, canvas and dock have been drawn.
SCREENSHOT_DELAY_MS = 1500


class DemoError(Exception):
    """The demo cannot start (e.g. the project file is missing or unreadable)."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="open napari with a SLEAP project and the SLEAP Training widget",
        description=(
            "Start napari, open PROJECT.slp with the napari-sleap-train reader (or the "
            "built-in procedural sample project when no path is given) and dock the "
            "SLEAP Training widget."
        ),
    )
    parser.add_argument("project", nargs="?", metavar="PROJECT.slp", help="SLEAP project to open (default: sample)")
    parser.add_argument(
        "--screenshot",
        metavar="PNG",
        help="save a screenshot of the whole window once it is drawn, then quit",
    )
    parser.set_defaults(func=run)
    return parser


def _project_path(arg: str | None) -> Path:
    """The .slp to open: checked user path, or the cached sample project."""
    if arg is None:
        from napari_sleap_train.sample.project import default_sample_project

        print("opening the procedural sample project (generated on first use) ...", flush=True)
        return default_sample_project().labels_path
    path = Path(arg).expanduser()
    if not path.exists():
        raise DemoError(f"{path} does not exist.")
    if path.is_dir() or not path.name.lower().endswith(".slp"):
        raise DemoError(f"{path} is not a SLEAP project: expected a .slp or .pkg.slp file.")
    from napari_sleap_train.project.errors import SleapFileError
    from napari_sleap_train.project.model import SleapProject

    try:
        SleapProject.load(path)  # fail here, in plain words, before a window opens
    except SleapFileError as exc:
        raise DemoError(str(exc)) from exc
    return path


def _show_first_labeled_frame(viewer, layers) -> None:
    """Move the frame slider to the first labeled frame, so labels are visible at once."""
    from napari.layers import Points

    for layer in layers:
        if isinstance(layer, Points) and len(layer.data):
            first = layer.data[layer.data[:, 0].argmin()]
            viewer.dims.set_current_step(0, int(first[0]))
            return


def _fit_window(viewer, width: int = 1400, height: int = 900) -> None:
    """Give the screenshot a useful size: ``width x height`` or the screen, if smaller."""
    from qtpy.QtWidgets import QApplication

    screen = QApplication.primaryScreen()
    if screen is not None:
        avail = screen.availableGeometry()
        width, height = min(width, avail.width()), min(height, avail.height())
    viewer.window.set_geometry(0, 0, width, height)


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 on success, 2 when the project cannot be opened, 1 if the screenshot failed."""
    try:
        path = _project_path(args.project)
    except DemoError as exc:
        print(f"napari-sleap-train demo: error: {exc}", file=sys.stderr)
        return 2

    import napari
    from qtpy.QtCore import QTimer

    viewer = napari.Viewer(title=f"napari-sleap-train demo - {path.name}")
    try:
        layers = viewer.open(str(path), plugin=PLUGIN)
    except Exception as exc:  # the reader's errors are plain words; show them, not a traceback
        viewer.close()
        print(f"napari-sleap-train demo: error: could not open {path}: {exc}", file=sys.stderr)
        return 2
    _show_first_labeled_frame(viewer, layers)

    try:
        viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    except Exception as exc:
        print(
            f"napari-sleap-train demo: the '{WIDGET}' widget could not be docked "
            f"({type(exc).__name__}: {exc}); continuing without it.",
            file=sys.stderr,
        )

    result = {"code": 0}
    if args.screenshot:
        target = Path(args.screenshot).expanduser().resolve()
        result["code"] = 1
        _fit_window(viewer)

        def grab() -> None:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                viewer.screenshot(str(target), canvas_only=False)
                print(f"screenshot saved to {target}", flush=True)
                result["code"] = 0
            except Exception as exc:
                print(f"napari-sleap-train demo: error: screenshot failed: {exc}", file=sys.stderr)
            finally:
                viewer.close()

        # Fit the data to the resized canvas first, then grab once that is drawn.
        QTimer.singleShot(SCREENSHOT_DELAY_MS // 2, viewer.reset_view)
        QTimer.singleShot(SCREENSHOT_DELAY_MS, grab)
    napari.run()
    return result["code"]
