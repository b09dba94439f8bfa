"""npe2 reader: open ``.slp`` / ``.pkg.slp`` SLEAP projects as napari layers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from napari.utils.notifications import show_warning

from napari_sleap_train.io.layers import LayerData, project_layer_data
from napari_sleap_train.io.project import SleapProject


def _is_slp(path: str | Path) -> bool:
    return str(path).lower().endswith(".slp")


def get_reader(path: str | Sequence[str]) -> Callable[[str | Sequence[str]], list[LayerData]] | None:
    """Return :func:`read_slp` for ``.slp`` paths (one or a list), else ``None``.

    Any ``.slp`` path is accepted without sniffing, so that a damaged or wrong
    file produces a clear :class:`~napari_sleap_train.io.errors.SleapFileError`
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
        project = SleapProject.load(p)
        for message in project.messages:
            show_warning(f"{project.name}: {message}")
        layers += project_layer_data(project)
    return layers
