"""``napari-sleap-train export-job``: writes a job package, refuses to overwrite, plain errors."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import zipfile

import pytest

from napari_sleap_train.cli import build_parser, main
from napari_sleap_train.config.model import ModelKind
from napari_sleap_train.config.profiles import get_profile
from napari_sleap_train.config.serialize import save_json
from napari_sleap_train.protocol.job import load_job


@pytest.fixture
def project(shared_data, tmp_path):
    """The minimal project in a folder of its own, its video next to it."""
    folder = tmp_path / "proj"
    folder.mkdir()
    path = folder / "minimal_instance.slp"
    shutil.copy(shared_data / "minimal/minimal_instance.slp", path)
    os.chmod(path, 0o644)
    (folder / "centered_pair_low_quality.mp4").symlink_to(shared_data / "minimal/centered_pair_low_quality.mp4")
    return path


def test_export_job_is_a_subcommand():
    help_text = build_parser().format_help()
    assert "export-job" in help_text


def test_writes_a_package(project, tmp_path, capsys):
    out = tmp_path / "job.zip"
    assert main(["export-job", str(project), "-o", str(out), "--anchor-part", "A"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed
    assert "1 frame images embedded" in printed
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        train = zf.read("train.sh").decode()
    assert names[0] == "minimal_instance.pkg.slp"
    assert "train.slurm" not in names
    expected = {"job.json", "centroid.training_config.json", "train.sh", "predict.sh", "README.txt"}
    assert expected <= set(names)
    assert "train --job job.json" in train
    with zipfile.ZipFile(out) as zf:
        job = json.loads(zf.read("job.json"))
    assert job["pipeline"]["anchor_part"] == "A"
    assert {m["head"]["anchor_part"] for m in job["pipeline"]["models"].values()} == {"A"}


def test_default_output_next_to_the_project(project, capsys):
    assert main(["export-job", str(project)]) == 0
    assert (project.parent / "minimal_instance.job.zip").is_file()


def test_refuses_to_overwrite_without_force(project, tmp_path, capsys):
    out = tmp_path / "job.zip"
    out.write_bytes(b"keep me")
    assert main(["export-job", str(project), "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main(["export-job", str(project), "-o", str(out), "--force"]) == 0
    assert zipfile.is_zipfile(out)


def test_slurm_template(project, tmp_path, capsys):
    out = tmp_path / "job.zip"
    args = [
        "export-job",
        str(project),
        "-o",
        str(out),
        "--slurm",
        "--slurm-partition",
        "gpu-a100",
        "--slurm-time",
        "2-00:00:00",
    ]
    assert main(args) == 0
    with zipfile.ZipFile(out) as zf:
        slurm = zf.read("train.slurm").decode()
        mode = (zf.getinfo("train.slurm").external_attr >> 16) & 0o777
    assert mode & 0o111
    assert "#SBATCH --gres=gpu:1" in slurm
    assert "#SBATCH --partition=gpu-a100" in slurm
    assert "#SBATCH --time=2-00:00:00" in slurm
    assert "# module load" in slurm and "# source" in slurm  # environment lines left commented
    assert 'cd "${SLURM_SUBMIT_DIR:-$(pwd)}"' in slurm
    assert 'bash ./train.sh "$@"' in slurm


def test_cpu_slurm_job_requests_no_gpu(project, tmp_path, capsys):
    out = tmp_path / "job.zip"
    assert main(["export-job", str(project), "-o", str(out), "--slurm", "--slurm-gpus", "0"]) == 0
    with zipfile.ZipFile(out) as zf:
        assert "--gres" not in zf.read("train.slurm").decode()


def test_profile_and_config_choose_the_models(project, tmp_path, capsys):
    cfg = get_profile("baseline_medium_rf.single")
    cfg.optimization.epochs = 7
    cfg_path = save_json(cfg, tmp_path / "mine.json")
    out = tmp_path / "job.zip"
    assert (
        main(["export-job", str(project), "-o", str(out), "--pipeline", "single-instance", "--config", str(cfg_path)])
        == 0
    )
    folder = tmp_path / "x"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(folder)
    packaged = load_job(folder / "job.json").pipeline.models[ModelKind.SINGLE_INSTANCE]
    assert packaged.optimization.epochs == 7

    out2 = tmp_path / "job2.zip"
    assert main(["export-job", str(project), "-o", str(out2), "--profile", "baseline_large_rf.topdown"]) == 0
    with zipfile.ZipFile(out2) as zf:
        zf.extractall(tmp_path / "y")
    assert load_job(tmp_path / "y" / "job.json").pipeline.models[ModelKind.CENTERED_INSTANCE].model.max_stride == 32


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--profile", "baseline.centroid", "--pipeline", "single-instance"], "does not fit the single-instance"),
        (["--profile", "no.such.profile"], "Unknown training profile"),
        (["--anchor-part", "tail"], "tail are not in the skeleton"),
        (["--slurm", "--slurm-time", "tomorrow"], "time limit"),
    ],
)
def test_bad_arguments(project, tmp_path, capsys, extra, message):
    out = tmp_path / "job.zip"
    assert main(["export-job", str(project), "-o", str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_missing_project_and_missing_video(project, tmp_path, capsys):
    assert main(["export-job", str(tmp_path / "nope.slp"), "-o", str(tmp_path / "a.zip")]) == 2
    assert "project file not found" in capsys.readouterr().err
    (project.parent / "centered_pair_low_quality.mp4").unlink()
    assert main(["export-job", str(project), "-o", str(tmp_path / "b.zip")]) == 2
    err = capsys.readouterr().err
    assert "centered_pair_low_quality.mp4" in err and "cannot be opened" in err
    assert not (tmp_path / "b.zip").exists()


# -- where the zip goes (issue 13: no traceback, nothing half-written) ----------------------
def _export_in_a_process(project, out, limit_bytes=None):
    """``napari-sleap-train export-job`` as a real process, optionally under a file-size limit."""

    def limit():
        if limit_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", "napari_sleap_train.cli", "export-job", str(project), "-o", str(out)],
        preexec_fn=limit,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _one_error_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("napari-sleap-train export-job: error: "), proc.stderr
    return lines[0]


def test_output_under_a_file_is_refused_in_plain_words(project, tmp_path):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    proc = _export_in_a_process(project, tmp_path / "notes.txt" / "job.zip")
    assert proc.returncode == 2
    assert "notes.txt is a file" in _one_error_line(proc)


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody can write in: chmod for users, a read-only tmpfs for root (chmod does not stop root)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_read_only_output_folder_is_checked_before_any_work(project, read_only_folder):
    proc = _export_in_a_process(project, read_only_folder / "job.zip")
    assert proc.returncode == 2
    line = _one_error_line(proc)
    assert f"Cannot write in {read_only_folder}" in line
    assert proc.stdout == ""


def test_a_write_failing_part_way_leaves_nothing(project, tmp_path):
    """A file-size limit the project fits under but the zip does not: the zip write itself fails."""
    probe = tmp_path / "probe"
    probe.mkdir()
    assert _export_in_a_process(project, probe / "job.zip").returncode == 0
    with zipfile.ZipFile(probe / "job.zip") as zf:
        pkg = zf.getinfo("minimal_instance.pkg.slp").file_size
    assert (probe / "job.zip").stat().st_size > pkg + 2000  # the limit below stops the zip, not the project

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = _export_in_a_process(project, out_dir / "job.zip", limit_bytes=pkg + 1000)
    assert proc.returncode == 1
    assert "File too large" in _one_error_line(proc)
    assert list(out_dir.iterdir()) == []  # no zip, no temporary zip, no work folder
