"""``napari-sleap-train export-job``: writes a job package, refuses to overwrite, plain errors."""

from __future__ import annotations

import os
import shutil
import zipfile

import pytest

from napari_sleap_train.cli import build_parser, main
from napari_sleap_train.config.model import TrainingConfig
from napari_sleap_train.config.profiles import get_profile
from napari_sleap_train.config.serialize import load_json, save_json


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
    expected = {"centroid.config.json", "centered_instance.config.json", "train.sh", "predict.sh", "README.txt"}
    assert expected <= set(names)
    assert "--anchor-part A" in train


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
    args = ["export-job", str(project), "-o", str(out), "--slurm", "--slurm-partition", "gpu-a100",
            "--slurm-time", "2-00:00:00"]
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
    assert main(["export-job", str(project), "-o", str(out), "--pipeline", "single-instance",
                 "--config", str(cfg_path)]) == 0
    folder = tmp_path / "x"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(folder)
    packaged = load_json(TrainingConfig, folder / "single_instance.config.json")
    assert packaged.optimization.epochs == 7

    out2 = tmp_path / "job2.zip"
    assert main(["export-job", str(project), "-o", str(out2), "--profile", "baseline_large_rf.topdown"]) == 0
    with zipfile.ZipFile(out2) as zf:
        zf.extractall(tmp_path / "y")
    assert load_json(TrainingConfig, tmp_path / "y" / "centered_instance.config.json").model.max_stride == 32


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
