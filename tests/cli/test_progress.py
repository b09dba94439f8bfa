"""CLI progress: tqdm bars on a terminal (a real pseudo-terminal), plain lines through a pipe."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import sleap_io as sio

from napari_sleap_train.cli.progress import Progress, is_terminal
from tests.runner.tiny_project import make_tiny_project

from .test_train_cli import _tiny_configs

# pseudo-terminals are POSIX; on Windows the plain-line tests here are skipped with them
pty = pytest.importorskip("pty")
fcntl = pytest.importorskip("fcntl")
termios = pytest.importorskip("termios")

CLI = [sys.executable, "-m", "napari_sleap_train.cli"]
BAR = "%|"  # tqdm's "desc:  50%|█████     | 2/4 ..."


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return dict(os.environ, PYTHONPATH=src, TERM="xterm", COLUMNS="120")


def in_terminal(args: list[str], size: tuple[int, int] = (0, 0), timeout: float = 600) -> tuple[int, str]:
    """Run ``args`` with stdout and stderr on a pseudo-terminal of ``size`` (rows, columns; 0: unset).

    Returns its exit code and all it wrote.
    """
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=child, stderr=child, env=_env(), close_fds=True)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc.wait(timeout=timeout), b"".join(chunks).decode("utf-8", "replace")


def through_pipe(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=_env(), timeout=timeout)


def test_plain_lines_at_each_tenth_without_a_terminal():
    out = io.StringIO()
    assert not is_terminal(out)
    with Progress("predicting", unit="frame", stream=out) as bar:
        assert not bar.is_bar
        for done in range(1, 41):
            bar.update_to(done, 40)
        bar.write("warning: something")
    lines = out.getvalue().splitlines()
    assert lines[0] == "predicting: 4/40 frames (10%)" and lines[-2] == "predicting: 40/40 frames (100%)"
    assert len(lines) == 11 and lines[-1] == "warning: something"
    assert "\r" not in out.getvalue()


@pytest.fixture(scope="module")
def fly_predictions(shared_data, tmp_path_factory) -> Path:
    labels = sio.load_slp((shared_data / "fly" / "clip.predictions.slp").as_posix(), open_videos=False)
    labels.labeled_frames[:] = [lf for lf in labels.labeled_frames if lf.frame_idx < 40]
    path = tmp_path_factory.mktemp("track") / "pred.slp"
    labels.save(path.as_posix())
    return path


def test_track_draws_a_bar_on_a_terminal_and_prints_lines_into_a_pipe(fly_predictions, tmp_path):
    args = [*CLI, "track", str(fly_predictions), "--tracker", "simple", "--max-tracks", "2"]
    code, shown = in_terminal([*args, "-o", str(tmp_path / "a.slp")])  # a terminal that reports no size
    assert code == 0, shown
    assert "tracking:" in shown and BAR in shown and "frame/s" in shown and "\r" in shown

    piped = through_pipe([*args, "-o", str(tmp_path / "b.slp")])
    assert piped.returncode == 0, piped.stderr
    assert "tracking: 40/40 frames (100%)" in piped.stderr.splitlines()
    assert BAR not in piped.stderr and "\r" not in piped.stderr
    assert "wrote" in piped.stdout  # the data line stays on standard output


def test_train_shows_batch_bars_on_a_terminal_and_epoch_lines_in_a_pipe(tmp_path):
    project = make_tiny_project(tmp_path / "tiny")
    args = [
        *CLI, "train", str(project), *_tiny_configs(tmp_path), "--epochs", "2", "--batches-per-epoch", "3",
        "--device", "cpu", "--anchor-part", "head",
    ]  # fmt: skip
    code, shown = in_terminal([*args, "--run-dir", str(tmp_path / "runs_tty")], size=(30, 120))
    assert code == 0, shown
    assert "[centroid] epoch 1:" in shown and BAR in shown and "batch" in shown
    assert "[centered_instance] epoch 2: loss" in shown  # the epoch lines stay above the bars

    piped = through_pipe([*args, "--run-dir", str(tmp_path / "runs_pipe")])
    assert piped.returncode == 0, piped.stderr
    assert "[centered_instance] epoch 2: loss" in piped.stdout
    assert BAR not in piped.stdout + piped.stderr and "\r" not in piped.stdout + piped.stderr
