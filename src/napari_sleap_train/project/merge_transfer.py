"""Carry a merge to a helper process and back without losing which objects are the project's.

:func:`~.merge_plan.prepare_merge` answers in terms of the project's own
objects: a frame's new instance list holds the very user instances the project
holds, an accepted instance is linked to a new prediction, a prediction already
shown keeps its layer id (looked up by ``id()``). Sent to another process, the
snapshot arrives as copies; so both sides list the snapshot's objects in the
same order (:func:`snapshot_objects`), the helper writes its answer with each of
them as a reference (``pickle``'s persistent ids) and the GUI's side reads the
references back as its own objects. Everything new (the merged predictions, the
layer tables) travels by value.

Instances travel as plain arrays and their other attributes: pickled as they
are, their points (a structured array with a column of node names) take ~60 µs
each, seconds for a whole video. Videos hold open readers, which do not travel:
each goes as a stand-in with its file name, metadata and shape (all the merge's
video pairing looks at), and comes back as the project's video.

The answer is written as several pickles with one memo (one per group of
frames), so the GUI's side reads it in short steps: one long ``pickle.loads``
would hold Python's lock, and the GUI, for its whole length.
"""

from __future__ import annotations

import copyreg
import io
import pickle
from dataclasses import replace
from typing import Any

import attrs
import numpy as np
import sleap_io as sio
from sleap_io.model.instance import PointsArray, PredictedPointsArray

from napari_sleap_train.project.merge_plan import MergeSnapshot, PreparedMerge

#: Frames per pickle of an answer (each is read in one call holding Python's lock: keep it short).
FRAMES_PER_CHUNK = 100

_SNAPSHOT = ("snapshot",)


def snapshot_objects(snapshot: MergeSnapshot) -> list[Any]:
    """The snapshot's objects whose identity the merge relies on, in an order both sides share."""
    objects: list[Any] = [*snapshot.videos, *snapshot.skeletons, *snapshot.tracks]
    seen = {id(o) for o in objects}
    for key in sorted(snapshot.frames):
        for inst in snapshot.frames[key]:
            for obj in (inst, getattr(inst, "from_predicted", None)):
                if obj is not None and id(obj) not in seen:
                    seen.add(id(obj))
                    objects.append(obj)
    return objects


def _video_stand_in(filename: Any, metadata: dict, source: sio.Video | None) -> sio.Video:
    """A video without a reader (helper side): enough to pair videos by file, path and shape."""
    return sio.Video(
        filename=filename, backend=None, backend_metadata=metadata, source_video=source, open_backend=False
    )


def _reduce_video(video: sio.Video) -> tuple:
    metadata = dict(video.backend_metadata)
    if video.shape is not None:  # take_snapshot read it: the stand-in answers it without a reader
        metadata["shape"] = tuple(video.shape)
    return _video_stand_in, (video.filename, metadata, video.source_video)


def _instance(cls: type, xy: np.ndarray, columns: dict[str, np.ndarray], names: tuple, others: dict) -> sio.Instance:
    """An instance rebuilt from :func:`_reduce_instance`'s parts."""
    array_type = PredictedPointsArray if issubclass(cls, sio.PredictedInstance) else PointsArray
    points = array_type.empty(len(xy))
    points["xy"] = xy
    for name, column in columns.items():
        points[name] = column
    points["name"] = names
    return cls(points=points, **others)


_FIELDS: dict[type, tuple[str, ...]] = {}


def _reduce_instance(inst: sio.Instance) -> tuple:
    points = inst.points
    columns = {name: np.array(points[name]) for name in points.dtype.names if name not in ("xy", "name")}
    names = _FIELDS.get(type(inst))
    if names is None:
        names = _FIELDS[type(inst)] = tuple(a.name for a in attrs.fields(type(inst)) if a.name != "points")
    others = {name: getattr(inst, name) for name in names}
    return _instance, (type(inst), np.array(points["xy"]), columns, tuple(points["name"]), others)


def _dispatch_table() -> dict:
    table = copyreg.dispatch_table.copy()
    table[sio.Video] = _reduce_video
    table[sio.Instance] = table[sio.PredictedInstance] = _reduce_instance
    return table


def dump_request(path: str, snapshot: MergeSnapshot, objects: list[Any]) -> bytes:
    """The GUI's side: the predictions file and the snapshot, as bytes for the helper.

    ``objects`` is :func:`snapshot_objects`, listed once for the request and its answer.
    """
    index = {id(o): k for k, o in enumerate(objects)}
    # layer ids are keyed by id() of this process's objects: send them by position
    pred_ids = {index[i]: layer_id for i, layer_id in snapshot.pred_ids.items() if i in index}
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _dispatch_table()
    pickler.dump((path, replace(snapshot, pred_ids={}), objects, pred_ids))
    return buffer.getvalue()


def load_request(payload: bytes) -> tuple[str, MergeSnapshot, list[Any]]:
    """The helper's side: the file, the snapshot (layer ids keyed by its own objects) and the objects."""
    path, snapshot, objects, pred_ids = pickle.loads(payload)
    snapshot = replace(snapshot, pred_ids={id(objects[k]): layer_id for k, layer_id in pred_ids.items()})
    return path, snapshot, objects


class _AnswerPickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, snapshot: MergeSnapshot, objects: list[Any]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = _dispatch_table()
        self._snapshot = snapshot
        self._index = {id(o): k for k, o in enumerate(objects)}

    def persistent_id(self, obj: Any) -> Any:
        if obj is self._snapshot:
            return _SNAPSHOT
        k = self._index.get(id(obj))
        return None if k is None else k


def _chunks(frames: dict) -> list[list]:
    items = sorted(frames.items())
    return [items[i : i + FRAMES_PER_CHUNK] for i in range(0, len(items), FRAMES_PER_CHUNK)]


def dump_answer(prepared: PreparedMerge, objects: list[Any]) -> bytes:
    """The helper's side: the prepared merge, the snapshot's objects as references, in chunks."""
    buffer = io.BytesIO()
    pickler = _AnswerPickler(buffer, prepared.snapshot, objects)
    plans, skipped = _chunks(prepared.plans), _chunks(prepared.skipped)
    pickler.dump((len(plans), len(skipped), prepared.warnings))
    for chunk in plans + skipped:
        pickler.dump(chunk)
    for k in range(0, len(prepared.new_order), FRAMES_PER_CHUNK):  # its instances went with the frames
        pickler.dump(prepared.new_order[k : k + FRAMES_PER_CHUNK])
    pickler.dump((prepared.data, prepared.features, prepared.vectors))
    return buffer.getvalue()


class _AnswerUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, snapshot: MergeSnapshot, objects: list[Any]) -> None:
        super().__init__(file)
        self._snapshot = snapshot
        self._objects = objects

    def persistent_load(self, pid: Any) -> Any:
        if pid == _SNAPSHOT:
            return self._snapshot
        return self._objects[pid]


def load_answer(payload: bytes, snapshot: MergeSnapshot, objects: list[Any]) -> PreparedMerge:
    """The GUI's side: the :class:`PreparedMerge`, with the snapshot's own objects where it names them.

    Read one chunk per call: between two calls, Python hands its lock to the
    GUI thread when that waits for it.
    """
    unpickler = _AnswerUnpickler(io.BytesIO(payload), snapshot, objects)
    n_plans, n_skipped, warnings = unpickler.load()
    plans: dict = {}
    for _ in range(n_plans):
        plans.update(unpickler.load())
    skipped: dict = {}
    for _ in range(n_skipped):
        skipped.update(unpickler.load())
    new_order: list = []
    while True:
        part = unpickler.load()
        if isinstance(part, tuple):  # the layer tables come last
            break
        new_order.extend(part)
    data, features, vectors = part
    return PreparedMerge(snapshot, plans, new_order, data, features, vectors, skipped, warnings=list(warnings))
