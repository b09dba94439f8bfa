"""npe2 sample data: the procedural multi-mouse project, opened like any ``.slp``.

File > Open Sample > napari-sleap-train > "SLEAP sample project" generates the
project once into the user cache (see
:func:`napari_sleap_train.sample.project.default_sample_project`) and returns
exactly the layers the plugin's reader gives for ``sample.slp``, so the widget
finds the project the same way as for a user's own file.
"""

from __future__ import annotations

from napari_sleap_train.io.reader import get_reader
from napari_sleap_train.sample.project import default_sample_project


def sample_project() -> list[tuple]:
    """Layer-data tuples of the cached procedural sample project (2 mice, 300 frames)."""
    path = str(default_sample_project().labels_path)
    reader = get_reader(path)
    if reader is None:  # the reader accepts every .slp path; this would be a bug
        raise RuntimeError(f"the napari-sleap-train reader refused its own sample project {path}")
    return reader(path)
