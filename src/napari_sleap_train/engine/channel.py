"""The child's side of the event/command protocol.

Events go out as JSON lines on the *original* standard output. Everything else
that writes to fd 1 (TensorFlow's C++ logging, Keras progress bars, stray
``print`` calls) is redirected to stderr first, so nothing can corrupt the
event stream. Commands (``stop``, ``cancel``, ``set_lr``) arrive as JSON lines
on stdin and are read by a daemon thread that only sets flags; the training
loop acts on them between batches.

Losing the parent (its end of stdin closes, or the event pipe breaks: the CLI
got SIGTERM/SIGHUP/SIGKILL, napari quit) is a *stop*, never a cancel: the model
being trained keeps its best checkpoint, later models are not started, and
nothing is deleted. Only an explicit ``cancel`` command deletes anything.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import IO, TextIO

from napari_sleap_train.engine.errors import Cancelled
from napari_sleap_train.protocol.events import (
    CancelCommand,
    Event,
    SetLRCommand,
    StopCommand,
    parse_command,
)


class Channel:
    """Sends events and holds the latest commands from the parent.

    Parameters
    ----------
    out
        Text stream the events are written to (one JSON object per line).
    """

    def __init__(self, out: TextIO):
        self._out = out
        self._lock = threading.Lock()
        self.stop_requested = threading.Event()
        self.cancel_requested = threading.Event()
        #: the parent went away: stop and keep, and skip work nobody will see
        self.parent_lost = threading.Event()
        self._pending_lr: float | None = None
        self._reader: threading.Thread | None = None

    @classmethod
    def from_stdio(cls) -> Channel:
        """Take over fd 1 for events and point fd 1 (and ``sys.stdout``) at stderr."""
        sys.stdout.flush()
        event_fd = os.dup(1)
        os.dup2(2, 1)
        out = os.fdopen(event_fd, "w", buffering=1, encoding="utf-8")
        sys.stdout = sys.stderr
        return cls(out)

    # ------------------------------------------------------------- events
    def emit(self, event: Event) -> None:
        """Write one event line and flush it (thread safe, never raises on a closed pipe)."""
        line = event.to_json()
        with self._lock:
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (BrokenPipeError, ValueError, OSError):
                # The parent is gone; nobody to tell. Stop, keeping what is trained.
                self.lose_parent()

    # ----------------------------------------------------------- commands
    def handle_command_line(self, line: str) -> None:
        """Apply one command line (unknown lines are ignored)."""
        command = parse_command(line)
        if isinstance(command, StopCommand):
            self.stop_requested.set()
        elif isinstance(command, CancelCommand):
            self.cancel_requested.set()
        elif isinstance(command, SetLRCommand):
            with self._lock:
                self._pending_lr = float(command.learning_rate)

    def lose_parent(self) -> None:
        """The parent is gone: stop training, keeping the best model (never a cancel)."""
        self.parent_lost.set()
        self.stop_requested.set()

    def start_reader(self, stream: IO[str], stop_on_eof: bool = False) -> None:
        """Read commands from ``stream`` in a daemon thread.

        ``stop_on_eof``: the parent closing our stdin means it went away
        (set when the runner started us): stop burning CPU for nobody, but
        keep every model trained so far (see :meth:`lose_parent`).
        """

        def read() -> None:
            try:
                for line in stream:
                    if line.strip():
                        self.handle_command_line(line)
            except (OSError, ValueError):
                pass  # a broken stdin is the same as a closed one
            if stop_on_eof:
                self.lose_parent()

        self._reader = threading.Thread(target=read, name="command-reader", daemon=True)
        self._reader.start()

    def take_learning_rate(self) -> float | None:
        """The learning rate asked for since the last call, if any."""
        with self._lock:
            lr, self._pending_lr = self._pending_lr, None
        return lr

    def check_cancel(self) -> None:
        """Raise :class:`Cancelled` if the parent asked to cancel."""
        if self.cancel_requested.is_set():
            raise Cancelled()

    def close(self) -> None:
        with self._lock:
            try:
                self._out.flush()
            except (OSError, ValueError):
                pass
