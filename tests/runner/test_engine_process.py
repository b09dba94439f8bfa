"""Drive the real training child through EngineProcess (no TensorFlow in this process).

One top-down run is shared by several tests (module fixture): the
centered-instance model (the last) is stopped after its first batch, so the
run also shows that a stop keeps the best models. A stop during the centroid
ends the pipeline's training: no later model starts.
"""

from __future__ import annotations

import math
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from napari_sleap_train.config.model import ModelKind, PipelineKind
from napari_sleap_train.protocol.events import (
    Batch,
    Checkpoint,
    Done,
    Epoch,
    Error,
    Message,
    ModelFinished,
    ModelStarted,
    Started,
    Status,
)
from napari_sleap_train.protocol.job import load_job
from napari_sleap_train.runner.process import EngineProcess
from tests.runner.tiny_project import make_tiny_project, tiny_job


@pytest.fixture(scope="module")
def tiny_slp(tmp_path_factory) -> Path:
    return make_tiny_project(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory, tiny_slp):
    """Top-down run; 'stop' is sent at the centered-instance model's first batch."""
    runs = tmp_path_factory.mktemp("runs")
    job = tiny_job(tiny_slp, runs)
    # many epochs, so the stop (read by this process a little after the child sent the
    # batch) always lands long before the centered-instance model would finish
    job.pipeline.models[ModelKind.CENTERED_INSTANCE].optimization.epochs = 50
    proc = EngineProcess(work_dir=tmp_path_factory.mktemp("work"))
    proc.start(job)
    events = []
    sent = False
    for event in proc.events():
        events.append(event)
        if isinstance(event, Batch) and event.model == "centered_instance" and not sent:
            proc.stop()
            sent = True
    return proc, events, runs


def test_started_event_reports_hardware(stopped_run):
    _, events, _ = stopped_run
    started = [e for e in events if isinstance(e, Started)]
    assert len(started) == 1
    assert started[0].hardware == "cpu"
    assert "CPU" in started[0].description and "core" in started[0].description
    assert started[0].models == ["centroid", "centered_instance"]
    # Feedback arrives before TensorFlow is even loaded.
    assert isinstance(events[0], Status) and events[0].stage == "loading labels"


def test_batches_arrive_before_first_epoch_and_losses_are_finite(stopped_run):
    _, events, _ = stopped_run
    kinds = [type(e) for e in events]
    assert kinds.index(Batch) < kinds.index(Epoch)
    epochs = [e for e in events if isinstance(e, Epoch)]
    assert epochs and all(math.isfinite(e.val_loss) and math.isfinite(e.train_loss) for e in epochs)
    assert all(e.learning_rate > 0 and e.patience == 15 for e in epochs)


def test_stop_keeps_best_models(stopped_run):
    proc, events, _ = stopped_run
    finished = {e.model: e for e in events if isinstance(e, ModelFinished)}
    assert finished["centroid"].reason == "completed"
    assert finished["centroid"].epochs_trained == 2
    assert finished["centered_instance"].reason == "stopped"
    assert 1 <= finished["centered_instance"].epochs_trained < 50
    batches = [e for e in events if isinstance(e, Batch) and e.model == "centered_instance"]
    assert len(batches) <= 2  # the batch in flight when the command arrived
    done = events[-1]
    assert isinstance(done, Done) and done.status == "stopped"
    assert proc.returncode == 0
    assert len(done.run_dirs) == 2
    for run_dir in done.run_dirs:
        assert (Path(run_dir) / "best_model.keras").is_file()
    checkpoints = [e for e in events if isinstance(e, Checkpoint)]
    assert {c.model for c in checkpoints} == {"centroid", "centered_instance"}


def test_run_folder_contents(stopped_run):
    _, events, runs = stopped_run
    started = [e for e in events if isinstance(e, ModelStarted)]
    assert [Path(e.run_dir).parent for e in started] == [runs, runs]
    assert [Path(e.run_dir).name.split(".")[-1] for e in started] == ["centroid", "centered_instance"]
    centered = started[1]
    assert centered.crop_size and centered.input_shape[:2] == [centered.crop_size, centered.crop_size]
    assert centered.receptive_field == 36 and centered.parameters > 0
    for e in started:
        folder = Path(e.run_dir)
        names = {p.name for p in folder.iterdir()}
        assert {
            "best_model.keras",
            "training_log.csv",
            "config.json",
            "labels_gt.train.slp",
            "labels_gt.val.slp",
        } <= names
        log_lines = (folder / "training_log.csv").read_text().splitlines()
        assert log_lines[0] == "epoch,loss,val_loss,lr,time"
    import sleap_io as sio

    train = sio.load_slp(str(Path(started[0].run_dir) / "labels_gt.train.slp"))
    val = sio.load_slp(str(Path(started[0].run_dir) / "labels_gt.val.slp"))
    assert len(train.labeled_frames) == 8 and len(val.labeled_frames) == 2


def test_stop_during_the_first_model_ends_the_pipeline(tmp_path, tiny_slp):
    runs = tmp_path / "runs"
    proc = EngineProcess(work_dir=tmp_path / "work")
    proc.start(tiny_job(tiny_slp, runs, epochs=50))
    events = []
    for event in proc.events():
        events.append(event)
        if isinstance(event, Batch) and event.model == "centroid" and event.batch == 0:
            proc.stop()
    assert [e.model for e in events if isinstance(e, ModelStarted)] == ["centroid"]
    done = events[-1]
    assert done.status == "stopped" and len(done.run_dirs) == 1
    assert (Path(done.run_dirs[0]) / "best_model.keras").is_file()
    warning = next(e for e in events if isinstance(e, Message) and "Stopped before centered_instance" in e.text)
    assert "prediction" in warning.text


def test_cancel_removes_run_folders(tmp_path, tiny_slp):
    runs = tmp_path / "runs"
    job = tiny_job(tiny_slp, runs, epochs=50)
    proc = EngineProcess(work_dir=tmp_path / "work")
    proc.start(job)
    events = []
    for event in proc.events():
        events.append(event)
        if isinstance(event, ModelStarted):
            assert Path(event.run_dir).is_dir()
            proc.cancel()
    assert isinstance(events[-1], Done) and events[-1].status == "cancelled"
    assert not any(isinstance(e, Error) for e in events)
    assert list(runs.iterdir()) == []
    assert proc.returncode == 0


def test_cancel_keeps_finished_models(tmp_path, tiny_slp):
    """Cancel during the centered-instance model discards only that model."""
    runs = tmp_path / "runs"
    job = tiny_job(tiny_slp, runs)
    job.pipeline.models[ModelKind.CENTERED_INSTANCE].optimization.epochs = 1000
    proc = EngineProcess(work_dir=tmp_path / "work")
    proc.start(job)
    events = []
    for event in proc.events():
        events.append(event)
        if isinstance(event, Epoch) and event.model == "centered_instance":
            proc.cancel()
    done = events[-1]
    centroid = next(e.run_dir for e in events if isinstance(e, ModelFinished))
    assert done.status == "cancelled" and done.run_dirs == [centroid]
    assert [p.name for p in runs.iterdir()] == [Path(centroid).name]
    assert (Path(centroid) / "best_model.keras").is_file() and (Path(centroid) / "training_config.json").is_file()


def test_unknown_anchor_part_is_a_plain_config_error(tmp_path, tiny_slp):
    job = tiny_job(tiny_slp, tmp_path / "runs")
    job.pipeline.anchor_part = "thorax"
    proc = EngineProcess(work_dir=tmp_path / "work")
    proc.start(job)
    events = list(proc.events())
    errors = [e for e in events if isinstance(e, Error)]
    assert len(errors) == 1
    assert errors[0].kind == "config"
    assert "thorax" in errors[0].message and "head" in errors[0].message
    assert "Traceback" in errors[0].traceback
    assert isinstance(events[-1], Done) and events[-1].status == "failed"
    assert proc.returncode == 1
    assert not any(isinstance(e, Started) for e in events)  # failed before loading TensorFlow


def test_corrupt_project_is_a_plain_data_error(tmp_path):
    bad = tmp_path / "broken.slp"
    bad.write_bytes(b"this is not an HDF5 file")
    job = tiny_job(bad, tmp_path / "runs", kind=PipelineKind.SINGLE_INSTANCE)
    proc = EngineProcess(work_dir=tmp_path / "work")
    proc.start(job)
    events = list(proc.events())
    error = next(e for e in events if isinstance(e, Error))
    assert error.kind == "data"
    assert "broken.slp" in error.message and "not a SLEAP project" in error.message
    assert events[-1].status == "failed"


def test_child_dying_without_done_is_reported(tmp_path):
    """A fake interpreter that prints one event, complains on stderr and exits 3."""
    fake = tmp_path / "fake_python"
    fake.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import sys
            print('{{"type": "status", "stage": "loading labels"}}', flush=True)
            print("Traceback (most recent call last):", file=sys.stderr)
            print('  File "x.py", line 1, in <module>', file=sys.stderr)
            print("RuntimeError: Segmentation fault in libfoo", file=sys.stderr)
            # TensorFlow's start-up banner, as a child thread may print it after the error
            print("2026-12-01 08:00:00.123456: I tensorflow/core/util/port.cc:153] oneDNN custom "
                  "operations are on. You may see slightly different numerical results.", file=sys.stderr)
            print("To enable the following instructions: AVX2 FMA, in other operations, rebuild "
                  "TensorFlow with the appropriate compiler flags.", file=sys.stderr)
            sys.exit(3)
            """
        )
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    proc = EngineProcess(python=str(fake), work_dir=tmp_path / "work")
    proc.start(tiny_job(tmp_path / "x.slp", tmp_path / "runs"))
    events = list(proc.events())
    assert isinstance(events[0], Status)
    error = events[-2]
    assert isinstance(error, Error) and error.kind == "crash"
    assert "exit code 3" in error.message and "RuntimeError: Segmentation fault in libfoo" in error.message
    assert "Traceback" in error.message
    assert "oneDNN" not in error.message and "instructions" not in error.message
    assert isinstance(events[-1], Done) and events[-1].status == "failed"
    assert proc.returncode == 3
    assert proc.log_path.is_file() and str(proc.log_path) in error.hint  # a failed run keeps its log


def _fake_python(tmp_path: Path, lines: list[str], code: int) -> Path:
    fake = tmp_path / "fake_python"
    body = "".join(f"print({line!r}, flush=True)\n" for line in lines)
    fake.write_text(f"#!{sys.executable}\n{body}import sys\nsys.exit({code})\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return fake


def test_scratch_folder_is_removed_when_the_run_ends(tmp_path):
    """Without a work_dir the job file and log go to <tmp>/napari-sleap-train-*, removed unless the run failed."""
    ok = _fake_python(tmp_path, ['{"type": "done", "status": "finished"}'], 0)
    proc = EngineProcess(python=str(ok))
    proc.start(tiny_job(tmp_path / "x.slp", tmp_path / "runs"))
    work = proc.log_path.parent
    assert work.name.startswith("napari-sleap-train-") and (work / "job.json").is_file()
    assert list(proc.events())[-1].status == "finished"
    assert not work.exists()

    (tmp_path / "bad").mkdir()
    bad = _fake_python(tmp_path / "bad", [], 3)
    proc = EngineProcess(python=str(bad))
    proc.start(tiny_job(tmp_path / "x.slp", tmp_path / "runs"))
    events = list(proc.events())
    assert events[-1].status == "failed" and proc.log_path.is_file()
    assert str(proc.log_path) in events[-2].hint
    import shutil

    shutil.rmtree(proc.log_path.parent)


def test_stale_scratch_folders_are_cleaned(tmp_path):
    import os
    import time

    from napari_sleap_train.runner.workdir import PID_FILE, clean_stale_work_dirs

    old = time.time() - 2 * 24 * 3600
    folders = {}
    for name, pid in (("dead", "999999999"), ("none", None), ("alive", str(os.getpid())), ("fresh", None)):
        folder = tmp_path / f"napari-sleap-train-{name}"
        folder.mkdir()
        (folder / "engine.log").write_text("log\n")
        if pid:
            (folder / PID_FILE).write_text(pid)
        if name != "fresh":
            for path in (*folder.iterdir(), folder):
                os.utime(path, (old, old))
        folders[name] = folder
    other = tmp_path / "someone-else"
    other.mkdir()
    os.utime(other, (old, old))
    removed = clean_stale_work_dirs(tmp_path)
    assert sorted(p.name for p in removed) == ["napari-sleap-train-dead", "napari-sleap-train-none"]
    assert folders["alive"].exists() and folders["fresh"].exists() and other.exists()


def test_job_file_round_trip(tmp_path):
    job = tiny_job(tmp_path / "p.slp", tmp_path / "runs")
    job.predict_frames = [(0, 3), (1, 7)]
    proc = EngineProcess(python=sys.executable, work_dir=tmp_path)
    # Only write the job: start() is what the widget calls; here check the file it writes.
    from napari_sleap_train.protocol.job import save_job

    loaded = load_job(save_job(job, tmp_path / "job.json"))
    assert loaded == job
    assert loaded.pipeline.models[ModelKind.CENTROID].data.input_scaling == 0.5
    assert proc.returncode is None and not proc.running


def test_runner_never_imports_tensorflow():
    assert "tensorflow" not in sys.modules
    assert "keras" not in sys.modules
    assert not any(m.startswith("napari_sleap_train.engine") for m in sys.modules)


def test_kill_9_of_the_engine_leaves_usable_or_unlisted_folders(tmp_path, tiny_slp):
    """The configs are written when a model starts and models by rename: a killed engine leaves no broken folder."""
    import os
    import signal

    from napari_sleap_train.config.profiles import list_trained_runs

    runs = tmp_path / "runs"
    job = tiny_job(tiny_slp, runs, epochs=1000)
    proc = EngineProcess(work_dir=tmp_path / "work")
    proc.start(job)
    started = None
    for event in proc.events():
        if isinstance(event, ModelStarted):
            started = Path(event.run_dir)
            # before the first checkpoint: configs already there, no model yet
            assert {"config.json", "training_config.json", "initial_config.json"} <= {p.name for p in started.iterdir()}
            assert list_trained_runs(runs) == []  # not listed: nothing trained yet
        if isinstance(event, Checkpoint):
            os.kill(proc.pid, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    names = {p.name for p in started.iterdir()}
    assert {"best_model.keras", "config.json", "training_config.json", "initial_config.json"} <= names
    # kill -9 in the middle of a write can leave that write's hidden temporary file
    # (nothing can remove it); never a truncated file under a real name
    assert all(".tmp." in n for n in names if n.startswith(".")), names
    assert list_trained_runs(runs) == [started]
