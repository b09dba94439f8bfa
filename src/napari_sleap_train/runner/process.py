"""Start the training child process and talk to it.

The child is ``python -m napari_sleap_train.engine JOB.json``. Events come
back as JSON lines on its stdout, commands go to its stdin, and its stderr
(TensorFlow logging, tracebacks) goes to a log file. No network ports, no
TensorFlow in this process: this module imports neither ``tensorflow`` nor
``napari_sleap_train.engine``.

Typical use (the widget runs ``events()`` in a napari ``thread_worker``)::

    proc = EngineProcess()
    proc.start(job)
    for event in proc.events():
        ...
    proc.stop()  # from the GUI thread: keep the best models, end the training

The scratch folder (job file, log) is removed when the run ends unless it
failed (:mod:`.workdir`); the crash message quotes the log lines that explain
(:mod:`.log_tail`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from napari_sleap_train.protocol.events import (
    CancelCommand,
    Command,
    Done,
    Error,
    Event,
    ModelFinished,
    ModelStarted,
    SetLRCommand,
    StopCommand,
    parse_event,
)
from napari_sleap_train.protocol.job import AnyJob, save_job
from napari_sleap_train.runner.log_tail import explaining_lines
from napari_sleap_train.runner.workdir import make_work_dir, remove_work_dir, write_pid

#: Seconds ``cancel()`` waits for the child to clean up before killing it.
CANCEL_GRACE_SECONDS = 15.0


class EngineProcessError(RuntimeError):
    """The child process could not be started or used."""


class EngineProcess:
    """One training or prediction child process.

    Parameters
    ----------
    python
        Interpreter for the child (default: this one).
    work_dir
        Folder for the job file and the child's log (default: a new temp folder).
    """

    def __init__(self, python: str | None = None, work_dir: str | Path | None = None):
        self.python = python or sys.executable
        self._work_dir = Path(work_dir) if work_dir else None
        self._proc: subprocess.Popen | None = None
        self._log_file = None
        self._write_lock = threading.Lock()
        self._cancel_requested = False
        self._killed = False
        self._run_dirs: list[str] = []
        self._finished_dirs: set[str] = set()
        self._own_work_dir: Path | None = None  # the scratch folder we made (removed at the end)
        self.job_path: Path | None = None
        self.log_path: Path | None = None
        self.done: Done | None = None

    # ------------------------------------------------------------ start
    def start(self, job: AnyJob) -> None:
        """Write the job file and start the child.

        Raises
        ------
        EngineProcessError
            A child is already running, or the interpreter cannot be started.
        """
        if self.running:
            raise EngineProcessError("A training process is already running.")
        work = self._work_dir or make_work_dir()
        work.mkdir(parents=True, exist_ok=True)
        self._own_work_dir = None if self._work_dir else work
        self.job_path = save_job(job, work / "job.json")
        self.log_path = work / "engine.log"
        self._log_file = open(self.log_path, "w", encoding="utf-8")
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONIOENCODING"] = "utf-8"
        cmd = [self.python, "-m", "napari_sleap_train.engine", str(self.job_path), "--parent"]
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log_file,
                text=True,
                encoding="utf-8",
                bufsize=1,
                env=env,
                # Own process group: Ctrl-C in a terminal reaches only the parent,
                # which turns it into a polite "stop".
                start_new_session=(os.name == "posix"),
            )
        except OSError as exc:
            self._log_file.close()
            raise EngineProcessError(f"Could not start the training process ({exc}).") from exc
        write_pid(work, self._proc.pid)
        self._cancel_requested = False
        self._killed = False
        self._run_dirs = []
        self._finished_dirs = set()
        self.done = None

    # ----------------------------------------------------------- status
    @property
    def running(self) -> bool:
        """True while the child is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """Exit code of the child (``None`` while running or before start)."""
        return None if self._proc is None else self._proc.poll()

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    # ----------------------------------------------------------- events
    def events(self) -> Iterator[Event]:
        """Yield events until the child is done (blocking).

        If the child exits without a ``Done`` event, an ``Error`` (kind
        ``"crash"``, with the last lines of its log) and ``Done(status="failed")``
        are synthesised, or ``Done(status="cancelled")`` after a cancel.
        """
        if self._proc is None or self._proc.stdout is None:
            raise EngineProcessError("The training process was not started.")
        for line in self._proc.stdout:
            if not line.strip():
                continue
            event = parse_event(line)
            if isinstance(event, ModelStarted) and event.run_dir:
                self._run_dirs.append(event.run_dir)
            if isinstance(event, ModelFinished) and event.run_dir:
                self._finished_dirs.add(event.run_dir)
            if isinstance(event, Done):
                self.done = event
            yield event
            if self.done is not None:
                break
        try:
            self._proc.wait(timeout=30 if self.done is not None else None)
        except subprocess.TimeoutExpired:
            self._kill()
        self._close_files()
        if self.done is not None:
            self._end_work_dir()
            return
        if self._cancel_requested:
            self._remove_partial_run_dirs()
            self.done = Done(status="cancelled", run_dirs=sorted(self._finished_dirs))
            self._end_work_dir()
            yield self.done
            return
        yield Error(
            message=(
                f"The training process ended unexpectedly ({_exit_text(self._proc.returncode)})."
                + self._log_tail_text()
            ),
            kind="crash",
            hint=f"the full log is in {self.log_path}",
        )
        self.done = Done(status="failed", run_dirs=list(self._run_dirs))
        yield self.done

    def _end_work_dir(self) -> None:
        """A run that did not fail needs neither its job file nor its log any more."""
        if self.done is not None and self.done.status != "failed":
            remove_work_dir(self._own_work_dir)

    def _log_tail_text(self, n: int = 15) -> str:
        tail = self.log_tail(n)
        return ("\nLast lines of its log:\n" + "\n".join(tail)) if tail else ""

    def log_tail(self, n: int = 15) -> list[str]:
        """The last lines of the child's stderr that explain (its last traceback), without TensorFlow's banner."""
        return [] if self.log_path is None else explaining_lines(self.log_path, n)

    # --------------------------------------------------------- commands
    def _send(self, command: Command) -> bool:
        if not self.running or self._proc.stdin is None:
            return False
        with self._write_lock:
            try:
                self._proc.stdin.write(command.to_json() + "\n")
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                return False
        return True

    def stop(self) -> bool:
        """Finish the current batch, keep the best models; no later model of the pipeline starts."""
        return self._send(StopCommand())

    def set_lr(self, learning_rate: float) -> bool:
        """Change the learning rate of the model being trained."""
        return self._send(SetLRCommand(learning_rate=float(learning_rate)))

    def cancel(self, grace: float = CANCEL_GRACE_SECONDS) -> None:
        """End the run now; the folder of the model being trained is removed, finished ones are kept.

        The child cleans up and reports ``Done(status="cancelled")``; if it has
        not exited after ``grace`` seconds it is killed (and the runner removes
        the announced run folders whose model had not finished).
        """
        self._cancel_requested = True
        self._send(CancelCommand())
        proc = self._proc
        if proc is None:
            return

        def kill_later() -> None:
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._kill()

        threading.Thread(target=kill_later, name="engine-cancel", daemon=True).start()

    def terminate(self, grace: float = 3.0, keep: bool = True) -> None:
        """End the run because napari or the dock is closing; blocks up to ``grace`` s.

        ``keep`` (the default): stop and close the child's stdin; the child
        finishes its batch, keeps the best models and exits on its own, even
        after this process is gone. It is never killed, so nothing trained is
        lost. ``keep=False``: cancel (the model being trained is discarded),
        killing the child after ``grace`` s.
        """
        if not self.running:
            return
        if keep:
            self.stop()
            self._close_stdin()  # EOF: the child stops too if the command was lost
            try:
                self._proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass  # still saving: it exits by itself
            return
        self._cancel_requested = True
        self._send(CancelCommand())
        try:
            self._proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self._kill()
            self._proc.wait()
        self._close_files()

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._killed = True
            self._proc.kill()

    def _remove_partial_run_dirs(self) -> None:
        for run_dir in self._run_dirs:
            if run_dir not in self._finished_dirs:
                shutil.rmtree(run_dir, ignore_errors=True)

    def _close_stdin(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            with self._write_lock:
                try:
                    self._proc.stdin.close()
                except (BrokenPipeError, OSError):
                    pass

    def _close_files(self) -> None:
        self._close_stdin()
        if self._log_file is not None and not self._log_file.closed:
            self._log_file.close()


def _exit_text(code: int | None) -> str:
    """'exit code 1', or the signal that killed the child in words."""
    if code is not None and code < 0:
        import signal

        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}" + (" (out of memory, or killed by hand)" if -code == signal.SIGKILL else "")
    return f"exit code {code}"
