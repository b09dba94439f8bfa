"""Read and merge predictions in a helper process, so napari's GUI thread never waits.

A worker *thread* of the napari process reading a whole-video predictions file
and merging it holds Python's lock most of the time: each turn of the GUI's
event loop (dozens of hand-overs of that lock between Qt and Python) then waits
for it, and the viewer stutters by 50–100 ms at a time while nothing is drawn.
So the reading and the merge (:func:`~.merge_plan.prepare_merge`) run in a
helper process with its own lock, on another core; the GUI's worker thread only
waits for the answer and reads it back in short steps
(:mod:`~.merge_transfer`).

The helper is started ahead of time (:meth:`MergeService.start`, when a run
begins predicting), answers one request at a time, and ends when the napari
process closes its pipe or exits. When it cannot be started (a Python that
cannot run ``-m``), the merge runs in the calling thread as before. Run as
``python -m napari_sleap_train.project.merge_service`` it is the helper.
"""

from __future__ import annotations

import atexit
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from napari_sleap_train.project.errors import PredictionsError
from napari_sleap_train.project.merge import load_predictions
from napari_sleap_train.project.merge_plan import MergeSnapshot, PreparedMerge, prepare_merge
from napari_sleap_train.project.merge_transfer import (
    dump_answer,
    dump_request,
    load_answer,
    load_request,
    snapshot_objects,
)

_HEADER = struct.Struct("<cQ")  # kind, payload length
_REQUEST, _ANSWER, _ERROR = b"Q", b"A", b"E"


def _send(stream: IO[bytes], kind: bytes, payload: bytes) -> None:
    stream.write(_HEADER.pack(kind, len(payload)))
    stream.write(payload)
    stream.flush()


def _receive(stream: IO[bytes]) -> tuple[bytes, bytes] | None:
    """One message, or ``None`` when the other side closed the pipe."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    kind, length = _HEADER.unpack(header)
    payload = stream.read(length)
    if len(payload) < length:
        return None
    return kind, payload


def read_failure(path: str | Path, exc: BaseException) -> str:
    """The message for a file sleap-io or h5py could not read (they raise many kinds)."""
    return f"The predictions file {Path(path).name} could not be read ({type(exc).__name__}: {exc})."


def merge_here(path: str | Path, snapshot: MergeSnapshot) -> PreparedMerge:
    """Read and merge in this thread (the helper's work; also the fallback without a helper).

    Raises
    ------
    PredictionsError
        The file cannot be read or its predictions do not fit the project.
    """
    try:
        return prepare_merge(snapshot, load_predictions(str(path)))
    except PredictionsError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user reads it
        raise PredictionsError(read_failure(path, exc)) from exc


class MergeService:
    """The napari side of the helper process (one per napari process: :func:`shared_service`)."""

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()  # one request at a time (held while the helper works)
        self._start_lock = threading.Lock()  # starting or ending the helper (never held long)
        #: the helper's process id of the last answer (``None``: merged in this process)
        self.last_pid: int | None = None

    @property
    def running(self) -> bool:
        """The helper is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> bool:
        """Start the helper if it is not running (cheap: it loads its libraries on its own). ``False``: cannot."""
        with self._start_lock:
            if self.running:
                return True
            self._reap()
            return self._spawn()

    def _spawn(self) -> bool:
        try:
            self._proc = subprocess.Popen(
                [self.python, "-m", "napari_sleap_train.project.merge_service"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONIOENCODING": "utf-8"},
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
                start_new_session=(os.name == "posix"),  # Ctrl-C in a terminal reaches napari only
            )
        except OSError:
            self._proc = None
            return False
        return True

    def merge(self, path: str | Path, snapshot: MergeSnapshot) -> PreparedMerge:
        """Read ``path`` and merge it against ``snapshot`` in the helper (blocks: call from a worker thread).

        Raises
        ------
        PredictionsError
            The file cannot be read, its predictions do not fit the project, or
            the helper stopped while merging (the next call starts a new one).
        """
        objects = snapshot_objects(snapshot)
        request = dump_request(str(path), snapshot, objects)
        with self._lock:
            if not self.start():
                self.last_pid = None
                return merge_here(path, snapshot)
            proc = self._proc
            try:
                _send(proc.stdin, _REQUEST, request)
                message = _receive(proc.stdout)
            except OSError:
                message = None
            if message is None:
                with self._start_lock:
                    if self._proc is proc:
                        self._reap(kill=True)
                raise PredictionsError(
                    f"The helper process merging {Path(path).name} stopped before it answered "
                    f"(exit code {proc.returncode}); the next try starts a new one."
                )
            self.last_pid = proc.pid
        kind, payload = message
        if kind == _ERROR:
            raise PredictionsError(payload.decode("utf-8", "replace"))
        return load_answer(payload, snapshot, objects)

    def close(self) -> None:
        """End the helper (it also ends by itself when this process exits)."""
        with self._start_lock:
            self._reap(kill=False)

    def _reap(self, kill: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if kill and proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_shared: MergeService | None = None
_shared_lock = threading.Lock()


def shared_service() -> MergeService:
    """The napari process's one helper (started on first use, ended at exit)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MergeService()
            atexit.register(_shared.close)
        return _shared


def main() -> int:
    """The helper: answer requests on stdin until the napari process closes the pipe."""
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a library's print must not land in the answers
    while True:
        message = _receive(requests)
        if message is None:
            return 0
        path = "the predictions file"
        try:
            path, snapshot, objects = load_request(message[1])
            _send(answers, _ANSWER, dump_answer(merge_here(path, snapshot), objects))
        except PredictionsError as exc:
            _send(answers, _ERROR, str(exc).encode("utf-8"))
        except Exception as exc:  # noqa: BLE001 - reported to the user, the helper keeps serving
            _send(answers, _ERROR, read_failure(path, exc).encode("utf-8"))


if __name__ == "__main__":
    sys.exit(main())
