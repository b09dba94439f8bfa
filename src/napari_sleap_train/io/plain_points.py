"""Build a minimal SLEAP project from plain napari Points layers (no project behind them).

Used by the writer when the user saves points that were not opened from a
``.slp``: every point needs a ``node`` feature (the keypoint name); points
sharing an ``instance`` value on a frame form one instance (without an
``instance`` feature, all points of a frame form one instance); an optional
``track`` feature names tracks. The skeleton gets the node names and no edges.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import sleap_io as sio

from napari_sleap_train.project.errors import LayerDataError
from napari_sleap_train.project.model import SleapProject


def _node_order(features: list[pd.DataFrame]) -> list[str]:
    names: list[str] = []
    for f in features:
        col = f["node"]
        values = list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype) else list(col)
        for v in values:
            if isinstance(v, str) and v and v not in names:
                names.append(v)
    return names


def project_from_points(layer_data: list, path: Path) -> SleapProject:
    """A new :class:`SleapProject` holding the points of the given layers as user instances.

    Raises
    ------
    LayerDataError
        No Points layer, or Points without a ``node`` feature.
    """
    points = [(np.asarray(d), m) for d, m, kind in layer_data if kind == "points"]
    if not points:
        raise LayerDataError("There is no points layer to save as a SLEAP project.")
    tables: list[tuple[np.ndarray, pd.DataFrame]] = []
    for data, meta in points:
        features = meta.get("features")
        name = meta.get("name", "points")
        if features is None or "node" not in features:
            raise LayerDataError(
                f"The points layer '{name}' has no 'node' feature, so its points cannot be "
                "assigned to skeleton nodes. Add a 'node' feature (the keypoint name of each "
                "point) or open a SLEAP project and label in its labels layer."
            )
        if data.ndim != 2 or data.shape[1] not in (2, 3):
            raise LayerDataError(
                f"The points layer '{name}' has {data.shape[-1]}-D points; SLEAP needs [y, x] or [frame, y, x] points."
            )
        if data.shape[1] == 2:
            data = np.column_stack([np.zeros(len(data)), data])
        features = features.copy()
        if "instance" not in features:
            features["instance"] = 0
        tables.append((data, features))
    nodes = _node_order([f for _, f in tables])
    if not nodes:
        raise LayerDataError("The points have no node names; nothing to save.")

    images = [(d, m) for d, m, kind in layer_data if kind == "image"]
    if images:
        data, meta = images[0]
        shape = tuple(int(s) for s in data.shape)
        rgb = bool(meta.get("rgb"))
        h, w = (shape[-3], shape[-2]) if rgb else (shape[-2], shape[-1])
        n = shape[0] if len(shape) >= (4 if rgb else 3) else 1
        video_name = meta.get("name", "video")
        backend_meta = {"shape": [n, h, w, 3 if rgb else 1]}
    else:
        video_name = f"{path.stem}.video"
        backend_meta = {}
    video = sio.Video(filename=video_name, backend=None, open_backend=False)
    video.backend_metadata.update(backend_meta)
    skeleton = sio.Skeleton(nodes=nodes)
    labels = sio.Labels(videos=[video], skeletons=[skeleton])
    project = SleapProject(labels, path)
    datas, feats = [], []
    for i, (data, features) in enumerate(tables):
        ids = pd.to_numeric(features["instance"], errors="coerce").fillna(-1).astype(np.int64)
        track = features["track"] if "track" in features else pd.Series([""] * len(features))
        feats.append(
            pd.DataFrame(
                {
                    "instance": ids.to_numpy() + i * 1_000_000,  # keep layers' instances apart
                    "node": features["node"].astype(object).to_numpy(),
                    "track": track.astype(object).to_numpy(),
                }
            )
        )
        datas.append(data)
    project.update_from_points(np.concatenate(datas), pd.concat(feats, ignore_index=True))
    if not project.user_frames():
        raise LayerDataError("The points layer(s) hold no points with a node name; nothing to save.")
    return project
