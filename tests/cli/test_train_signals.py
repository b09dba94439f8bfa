"""Signals sent to a real ``napari-sleap-train train`` process never lose a trained model.

Each test starts the CLI on the tiny project (the centroid trains 2 short
epochs, the centered-instance model would train for minutes), waits for a
progress line and then does what a cluster or a user does: SIGTERM (time
limit), SIGHUP (terminal closed), SIGKILL, Ctrl-C once or twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from napari_sleap_train.config.model import ModelKind
from napari_sleap_train.config.profiles import list_trained_runs
from napari_sleap_train.config.serialize import save_json
from tests.runner.tiny_project import make_tiny_project, tiny_config

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # each trains two tiny models in a real CLI process (~15 s)
RUN_FILES = ("best_model.keras", "training_config.json", "initial_config.json", "config.json")


@pytest.fixture(scope="module")
def tiny_slp(tmp_path_factory) -> Path:
    return make_tiny_project(tmp_path_factory.mktemp("tiny"))


def _configs(folder: Path) -> list[str]:
    # the centroid finishes fast; the centered-instance model is still training when the signal comes
    epochs = {ModelKind.CENTROID: 2, ModelKind.CENTERED_INSTANCE: 1000}
    args = []
    for kind, n in epochs.items():
        args += ["--config", str(save_json(tiny_config(kind, epochs=n, batches=2), folder / f"{kind.value}.json"))]
    return args


def start_cli(tmp_path: Path, tiny_slp: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + str(ROOT))
    cmd = [
        sys.executable,
        "-m",
        "napari_sleap_train.cli",
        "train",
        str(tiny_slp),
        "--run-dir",
        str(tmp_path / "runs"),
        *_configs(tmp_path),
        "--device",
        "cpu",
        "--anchor-part",
        "head",
        *extra,
    ]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )


def read_until(proc: subprocess.Popen, text: str, timeout: float = 240) -> list[str]:
    """stdout lines up to and including the first that contains ``text``."""
    seen = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(line)
        if text in line:
            return seen
        assert time.monotonic() < deadline, "".join(seen)
    proc.wait()
    raise AssertionError(f"no {text!r} in the output:\n{''.join(seen)}\n{proc.stderr.read()}")


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def run_folders(tmp_path: Path) -> dict[str, Path]:
    runs = tmp_path / "runs"
    return {p.name.rsplit(".", 1)[-1]: p for p in runs.iterdir() if p.is_dir() and p.name != "labels"}


def assert_usable(folder: Path) -> None:
    missing = [name for name in RUN_FILES if not (folder / name).is_file()]
    assert not missing, f"{folder} lacks {missing}"
    assert not list(folder.glob(".*"))  # no temporary file left


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_and_keep_every_model(tmp_path, tiny_slp, signum) -> None:
    proc = start_cli(tmp_path, tiny_slp)
    read_until(proc, "[centered_instance] epoch 1:")
    proc.send_signal(signum)
    code, out, err = finish(proc)
    folders = run_folders(tmp_path)
    assert set(folders) == {"centroid", "centered_instance"}, (out, err)
    for folder in folders.values():
        assert_usable(folder)
    assert "[centered_instance] finished (stopped)" in out
    assert "kept:" in err and str(folders["centered_instance"]) in err
    assert code == 128 + signum
    runs = list_trained_runs(tmp_path / "runs")
    assert set(runs) == set(folders.values())


def test_sigkill_of_the_cli_keeps_every_model(tmp_path, tiny_slp) -> None:
    proc = start_cli(tmp_path, tiny_slp, "--json")
    engine_pid = None
    for line in proc.stdout:
        event = json.loads(line)
        if event["type"] == "started":
            engine_pid = event["pid"]
        if event["type"] == "epoch" and event["model"] == "centered_instance":
            break
    assert engine_pid is not None
    proc.kill()
    proc.wait()
    # the engine notices its parent is gone, stops and exits by itself
    psutil.Process(engine_pid).wait(timeout=120)
    folders = run_folders(tmp_path)
    assert set(folders) == {"centroid", "centered_instance"}
    for folder in folders.values():
        assert_usable(folder)


def test_first_ctrl_c_stops_the_whole_pipeline(tmp_path, tiny_slp) -> None:
    proc = start_cli(tmp_path, tiny_slp)
    # the centroid takes its 2 epochs; Ctrl-C right after the first ends it, and no later model trains
    read_until(proc, "[centroid] epoch 1:")
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc)
    assert "no further model is trained" in err
    assert "[centered_instance] epoch" not in out
    folders = run_folders(tmp_path)
    assert set(folders) == {"centroid"}
    assert_usable(folders["centroid"])
    assert "kept:" in err and str(folders["centroid"]) in err
    assert code == 0


def test_second_ctrl_c_keeps_finished_models(tmp_path, tiny_slp) -> None:
    proc = start_cli(tmp_path, tiny_slp)
    read_until(proc, "[centered_instance] epoch 1:")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.1)  # two signals at once reach Python's handler once
    proc.send_signal(signal.SIGINT)
    _, out, err = finish(proc)
    assert "cancelling" in err, err
    folders = run_folders(tmp_path)
    assert "centroid" in folders, (out, err)  # finished before the Ctrl-Cs: never deleted
    assert_usable(folders["centroid"])
    # the model being trained is either discarded by the cancel or, when its stop won the race, kept whole
    for folder in folders.values():
        assert_usable(folder)
