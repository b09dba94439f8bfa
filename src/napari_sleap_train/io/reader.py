"""npe2 reader: open ``.slp`` / ``.pkg.slp`` SLEAP projects as napari layers."""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from napari.utils import progress
from napari.utils.notifications import show_warning

from napari_sleap_train.io.binding import bind_project
from napari_sleap_train.io.layers import (
    PROJECT_KEY,
    ROLE_KEY,
    LayerData,
    project_layer_data,
)
from napari_sleap_train.project.model import SleapProject


def _is_slp(path: str | Path) -> bool:
    return str(path).lower().endswith(".slp")


def get_reader(path: str | Sequence[str]) -> Callable[[str | Sequence[str]], list[LayerData]] | None:
    """Return :func:`read_slp` for ``.slp`` paths (one or a list), else ``None``.

    Any ``.slp`` path is accepted without sniffing, so that a damaged or wrong
    file produces a clear :class:`~napari_sleap_train.project.errors.SleapFileError`
    from the reader instead of napari's generic "no reader" message.
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths or not all(_is_slp(p) for p in paths):
        return None
    return read_slp


def read_slp(path: str | Sequence[str]) -> list[LayerData]:
    """Read one or more SLEAP projects into layer-data tuples.

    Problems that still let the project open (a missing video, instances with
    no visible node) are shown as napari warnings; the labels are shown anyway.

    Raises
    ------
    SleapFileError
        The file is not a readable SLEAP project.
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    layers: list[LayerData] = []
    for p in paths:
        # a large project (thousands of frames, videos to find) takes seconds: show the steps
        with progress(total=2, desc=f"Opening {Path(p).name}: reading the labels") as bar:
            project = SleapProject.load(p)
            bar.update(1)
            bar.set_description(f"Opening {Path(p).name}: building the layers")
            items = project_layer_data(project)
            bar.update(1)
        for message in project.messages:
            show_warning(f"{project.name}: {message}")
        bind_when_added(project, {meta["metadata"][ROLE_KEY] for _, meta, _ in items})
        layers += items
    return layers


def _open_viewer() -> Any:
    """The napari viewer that is opening the file, if a Qt viewer is running.

    Only looked up when napari's Qt window module is already loaded: a reader
    called outside a viewer must not start Qt.
    """
    if "napari._qt.qt_main_window" not in sys.modules:
        return None
    try:
        from napari import current_viewer

        return current_viewer()
    except Exception:  # noqa: BLE001 (no viewer is a normal case)
        return None


def bind_when_added(project: SleapProject, roles: set[str], viewer: Any = None) -> bool:
    """Bind the project's layers (edits, live skeleton) once napari has added them all.

    A reader returns layer *data*; napari creates the layers afterwards. This
    watches the viewer's layer list and calls :func:`~napari_sleap_train.io.binding.bind_project`
    when the last of ``roles`` arrives, then stops watching, and shows the first
    labeled frame (napari would open on the middle one, often unlabeled). Without a viewer it
    does nothing (:func:`~napari_sleap_train.io.binding.find_project` binds too).

    Returns
    -------
    bool
        Whether a viewer is being watched.
    """
    viewer = viewer if viewer is not None else _open_viewer()
    if viewer is None:
        return False
    layer_list = viewer.layers
    project_ref = weakref.ref(project)

    def on_inserted(event: Any) -> None:
        project = project_ref()
        if project is None:
            layer_list.events.inserted.disconnect(on_inserted)
            return
        if getattr(event, "value", None) is not None and event.value.metadata.get(PROJECT_KEY) is not project:
            return
        present = {layer.metadata.get(ROLE_KEY) for layer in layer_list if layer.metadata.get(PROJECT_KEY) is project}
        if roles <= present:
            layer_list.events.inserted.disconnect(on_inserted)
            bind_project(project, layer_list)
            show_first_labeled_frame(project, viewer)

    layer_list.events.inserted.connect(on_inserted)
    return True


def show_first_labeled_frame(project: SleapProject, viewer: Any) -> bool:
    """Move the viewer to the project's first labeled frame (else its first suggestion)."""
    frame = project.first_labeled_frame()
    if frame is None:
        return False
    if project.multi_video:
        viewer.dims.set_current_step(0, frame[0])
        viewer.dims.set_current_step(1, frame[1])
    else:
        viewer.dims.set_current_step(0, frame[1])
    return True
