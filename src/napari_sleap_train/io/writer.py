"""npe2 writer: save points (and the project behind them) as a SLEAP ``.slp`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from napari.utils import progress

from napari_sleap_train.io.layers import PROJECT_KEY, ROLE_KEY, LayerData
from napari_sleap_train.io.plain_points import project_from_points
from napari_sleap_train.project.errors import LayerDataError
from napari_sleap_train.project.model import SleapProject


def _project_of(meta: dict[str, Any]) -> SleapProject | None:
    project = (meta.get("metadata") or {}).get(PROJECT_KEY)
    return project if isinstance(project, SleapProject) else None


def write_slp(path: str, layer_data: list[LayerData]) -> list[str]:
    """Save the chosen layers as a SLEAP project at ``path``.

    If the layers come from an opened project, the project is saved with the
    edits of its ``labels`` Points layer (predictions, skeleton, tracks,
    suggestions and videos are kept). Otherwise a minimal project is built from
    the Points layers' ``node`` / ``instance`` / ``track`` features.

    Only ``path`` (the file chosen in the save dialog, which napari has
    already confirmed overwriting) is written; the file is written under a
    temporary name beside it and moved into place at the end.

    Returns
    -------
    list of str
        ``[path]``.

    Raises
    ------
    LayerDataError
        The layers cannot be turned into a SLEAP project.
    SleapFileError
        Writing failed (full disk, read-only folder, ...); nothing was written.

    Neither derives from ``ValueError``: napari's writer lookup would swallow
    it and say only "not a valid writer".
    """
    projects: list[SleapProject] = []
    for _, meta, _ in layer_data:
        project = _project_of(meta)
        if project is not None and all(project is not p for p in projects):
            projects.append(project)
    if len(projects) > 1:
        raise LayerDataError(
            f"The selected layers come from {len(projects)} SLEAP projects "
            f"({', '.join(p.name for p in projects)}); select the layers of one project to save."
        )
    if projects:
        project = projects[0]
        labels_layers = [
            (data, meta)
            for data, meta, kind in layer_data
            if kind == "points" and _project_of(meta) is project and meta["metadata"].get(ROLE_KEY) == "labels"
        ]
        if len(labels_layers) > 1:
            raise LayerDataError(
                f"{len(labels_layers)} selected points layers hold the labels of {project.name}; "
                "select only one of them to save."
            )
        if labels_layers:
            data, meta = labels_layers[0]
            project.update_from_points(data, meta.get("features"))
        else:
            project.sync()
    else:
        project = project_from_points(layer_data, Path(path))
    # embedding frames into a .pkg.slp takes long: napari's activity dock shows how far it is
    with progress(total=0, desc=f"Saving {Path(path).name}") as bar:

        def embedded(done: int, total: int, phase: str) -> None:
            bar.total = total
            bar.n = done
            bar.set_description(f"Saving {Path(path).name}: {phase}" if phase else f"Saving {Path(path).name}")
            bar.refresh()

        saved = project.save(path, overwrite=True, progress=embedded)
    return [str(saved)]
