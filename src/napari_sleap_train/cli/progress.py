"""Progress of a long CLI step: a tqdm bar on a terminal, plain lines otherwise.

A terminal (``stream.isatty()``, ``TERM`` not ``dumb``) gets a bar that
redraws in place; a pipe, a log file or a cluster job's output gets one line
per tenth of the way (and the last), so logs stay readable and grep-able.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal that can redraw a bar."""
    try:
        return bool(stream.isatty()) and os.environ.get("TERM", "") != "dumb"
    except (AttributeError, ValueError, OSError):
        return False


def _size(stream: TextIO) -> tuple[int, int]:
    try:
        return tuple(os.get_terminal_size(stream.fileno()))
    except (AttributeError, ValueError, OSError):
        return 0, 0


class Progress:
    """``done`` out of ``total`` units of one step.

    Parameters
    ----------
    desc
        What is counted, e.g. ``"predicting"``.
    total
        The number of units (may be set later with :meth:`update_to`).
    unit
        The unit's name ("frame", "batch").
    stream
        Where it goes (default: standard error, so standard output stays data).
    bar
        Force a bar (True) or plain lines (False); default: a bar on a terminal.
    leave
        Keep the finished bar on the screen (False: it vanishes when closed).
    """

    def __init__(
        self,
        desc: str,
        total: int | None = None,
        unit: str = "frame",
        stream: TextIO | None = None,
        bar: bool | None = None,
        leave: bool = True,
    ) -> None:
        self.desc = desc
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self._last_tenth = 0  # the first line at a tenth of the way
        self._bar = None
        if is_terminal(self.stream) if bar is None else bar:
            from tqdm import tqdm

            # a terminal that reports no size (0 x 0, e.g. a bare pseudo-terminal) would get no bar
            sized = min(_size(self.stream)) > 0
            self._bar = tqdm(
                total=total,
                desc=desc,
                unit=unit,
                file=self.stream,
                dynamic_ncols=sized,
                ncols=None if sized else 80,
                nrows=None if sized else 20,
                leave=leave,
            )

    @property
    def is_bar(self) -> bool:
        return self._bar is not None

    def update_to(self, done: int, total: int | None = None) -> None:
        """Set the count (and the total when it is known only now)."""
        if total is not None and total != self.total:
            self.total = total
            if self._bar is not None:
                self._bar.total = total
        self.done = done
        if self._bar is not None:
            self._bar.n = done
            self._bar.refresh()
            return
        if not self.total:
            return
        tenth = min(10, int(10 * done / self.total))
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            self._line(f"{self.desc}: {done}/{self.total} {self.unit}s ({100 * done // self.total}%)")

    def write(self, text: str, stream: TextIO | None = None) -> None:
        """A line of its own (on ``stream``, default the bar's) that leaves the bar intact below it."""
        if self._bar is not None:
            self._bar.write(text, file=stream or self.stream)
        else:
            self._line(text, stream)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _line(self, text: str, stream: TextIO | None = None) -> None:
        try:
            print(text, file=stream or self.stream, flush=True)
        except (OSError, ValueError):  # a closed pipe or a terminal that is gone
            pass
