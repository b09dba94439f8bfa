"""Training job packages: contents, embedded frames without the video, configs, scripts, errors."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.config.model import ModelKind, PipelineKind
from napari_sleap_train.config.profiles import default_pipeline
from napari_sleap_train.config.serialize import to_dict
from napari_sleap_train.config.sleap_json import read_sleap_config
from napari_sleap_train.export import (
    ExportCancelledError,
    ExportJobError,
    MissingVideoError,
    PackageExistsError,
    SlurmOptions,
    export_job,
    export_job_package,
    extract_job,
)
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.protocol.job import load_job
from napari_sleap_train.session.job import make_train_job

TOP_DOWN_FILES = [
    "sample.pkg.slp",
    "job.json",
    "centroid.training_config.json",
    "centered_instance.training_config.json",
    "train.sh",
    "predict.sh",
    "README.txt",
]


def _pipeline(kind="top-down", anchor="trunk"):
    pipeline = default_pipeline(kind, "gpu")
    pipeline.anchor_part = anchor if kind == "top-down" else None
    pipeline.runs_folder = "/somewhere/only/on/my/laptop"
    for i, cfg in enumerate(pipeline.models.values()):
        cfg.optimization.epochs = 17 + i  # something not a default, to see it come back
    return pipeline


def _user_images(labels: sio.Labels) -> dict[int, np.ndarray]:
    return {int(lf.frame_idx): np.asarray(lf.image) for lf in labels.labeled_frames if lf.has_user_instances}


def _fake_cli(tmp_path: Path) -> tuple[dict, Path]:
    """An environment whose ``napari-sleap-train`` only records its folder and arguments."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    log = tmp_path / "calls.txt"
    fake = bin_dir / "napari-sleap-train"
    fake.write_text('#!/usr/bin/env bash\n{ echo "cwd=$(pwd)"; printf "%s\\n" "$@"; echo "--end--"; } >> "$FAKE_LOG"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", "FAKE_LOG": str(log), "HOME": str(tmp_path)}
    return env, log


# -- contents ------------------------------------------------------------------------------
def test_package_embeds_frames_and_opens_without_the_video(sample_copy, tmp_path):
    original = sio.load_slp(str(sample_copy))
    original_images = _user_images(original)
    suggested = {int(s.frame_idx) for s in original.suggestions}
    out = export_job(sample_copy, _pipeline(), tmp_path / "job.zip")
    assert out == (tmp_path / "job.zip").resolve()

    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == TOP_DOWN_FILES
    (sample_copy.parent / "sample.mp4").unlink()  # the package must not need it
    folder = extract_job(out, tmp_path / "unzipped")

    labels = sio.load_slp(str(folder / "sample.pkg.slp"))
    video = labels.videos[0]
    assert video.backend.has_embedded_images
    assert Path(video.filename).resolve() == (folder / "sample.pkg.slp").resolve()
    assert {int(i) for i in video.backend.embedded_frame_inds} == set(original_images) | suggested
    assert _user_images(labels).keys() == original_images.keys()
    for frame, image in _user_images(labels).items():
        np.testing.assert_array_equal(image, original_images[frame])
    # suggested frames are readable too (predict.sh runs on them)
    for s in labels.suggestions:
        assert video[int(s.frame_idx)].shape == original_images[next(iter(original_images))].shape
    # labels themselves are unchanged
    assert len(labels.user_labeled_frames) == len(original.user_labeled_frames)
    for a, b in zip(labels.user_labeled_frames, original.user_labeled_frames):
        np.testing.assert_allclose(
            np.stack([i.numpy() for i in a.instances]), np.stack([i.numpy() for i in b.instances])
        )


def test_configs_parse_back(sample_copy, tmp_path):
    pipeline = _pipeline()
    folder = extract_job(export_job(sample_copy, pipeline, tmp_path / "job.zip"), tmp_path / "x")
    job = load_job(folder / "job.json")
    assert job.labels_path == "sample.pkg.slp" and job.runs_folder == "models"  # relative to the package
    assert to_dict(job) == to_dict(make_train_job(pipeline, "sample.pkg.slp", runs_folder="models"))
    for kind in PipelineKind.TOP_DOWN.model_kinds:
        ours = job.pipeline.models[kind]
        assert ours.optimization.epochs == pipeline.models[kind].optimization.epochs
        assert ours.head.anchor_part == "trunk"
        sleap = read_sleap_config(folder / f"{kind.value}.training_config.json")
        assert sleap.kind is kind
        assert sleap.optimization.epochs == pipeline.models[kind].optimization.epochs
        assert sleap.model.max_stride == pipeline.models[kind].model.max_stride
    assert "trunk" in (folder / "centroid.training_config.json").read_text()  # skeleton/anchor included


def test_pipeline_argument_is_not_modified(sample_copy, tmp_path):
    pipeline = _pipeline()
    before = to_dict(pipeline)
    export_job(sample_copy, pipeline, tmp_path / "job.zip")
    assert to_dict(pipeline) == before


def test_scripts_are_executable_and_reference_the_package_files(sample_copy, tmp_path):
    out = export_job(sample_copy, _pipeline(), tmp_path / "job.zip", slurm=True)
    with zipfile.ZipFile(out) as zf:
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    for script in ("train.sh", "predict.sh", "train.slurm"):
        assert modes[script] & 0o111 == 0o111, script
    assert modes["README.txt"] & 0o111 == 0
    folder = extract_job(out, tmp_path / "x")
    for script in ("train.sh", "predict.sh", "train.slurm"):
        path = folder / script
        assert os.access(path, os.X_OK)
        subprocess.run(["bash", "-n", str(path)], check=True)  # syntax
        text = path.read_text()
        assert "set -euo pipefail" in text
    train = (folder / "train.sh").read_text()
    assert 'cd "$(dirname "${BASH_SOURCE[0]}")"' in train
    assert 'napari-sleap-train train --job job.json "$@"' in train
    readme = (folder / "README.txt").read_text()
    for name in TOP_DOWN_FILES + ["train.slurm"]:
        assert name in readme
    assert "pip install napari-sleap-train" in readme


def test_train_sh_runs_the_cli_in_its_folder_with_extra_arguments(sample_copy, tmp_path):
    folder = extract_job(export_job(sample_copy, _pipeline(), tmp_path / "job.zip"), tmp_path / "pkg")
    env, log = _fake_cli(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run(
        [str(folder / "train.sh"), "--epochs", "1", "--run-dir", "my runs"], cwd=elsewhere, env=env, check=True
    )
    lines = log.read_text().splitlines()
    assert lines[0] == f"cwd={folder}"
    args = lines[1 : lines.index("--end--")]
    assert args == ["train", "--job", "job.json", "--epochs", "1", "--run-dir", "my runs"]
    assert (folder / "job.json").is_file()


def test_train_sh_says_when_the_cli_is_missing(sample_copy, tmp_path):
    folder = extract_job(export_job(sample_copy, _pipeline(), tmp_path / "job.zip"), tmp_path / "pkg")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([str(folder / "train.sh")], env=env, capture_output=True, text=True)
    assert proc.returncode == 127
    assert "napari-sleap-train is not installed" in proc.stderr


def _fake_run(folder: Path, name: str, age_s: float, model="best_model.keras") -> Path:
    run = folder / "models" / name
    run.mkdir(parents=True)
    if model:
        (run / model).write_bytes(b"weights")
        t = 1_700_000_000 - age_s
        os.utime(run / model, (t, t))
    return run


def test_predict_sh_uses_the_newest_trained_run_of_each_kind(sample_copy, tmp_path):
    folder = extract_job(export_job(sample_copy, _pipeline(), tmp_path / "job.zip"), tmp_path / "pkg")
    env, log = _fake_cli(tmp_path)
    _fake_run(folder, "260101_000000.centroid", age_s=300)
    _fake_run(folder, "260101_000100.centroid", age_s=200)  # newest centroid
    _fake_run(folder, "260101_000200.centroid", age_s=0, model=None)  # newer but never trained
    _fake_run(folder, "260101_000050.centered_instance", age_s=100, model="best_model.h5")
    _fake_run(folder, "250101_000000.centered_instance", age_s=50)  # older name, newer model file
    subprocess.run(
        [str(folder / "predict.sh"), "--batch-size", "2"], cwd=tmp_path, env=env, check=True, capture_output=True
    )
    lines = log.read_text().splitlines()
    args = lines[1 : lines.index("--end--")]
    assert args[:2] == ["predict", "sample.pkg.slp"]
    models = [args[i + 1] for i, a in enumerate(args) if a == "--model"]
    assert models == ["models/260101_000100.centroid", "models/250101_000000.centered_instance"]
    assert args[-4:] == ["--frames", "suggested", "--batch-size", "2"]
    assert "--max-instances" not in args


def test_predict_sh_keeps_the_pipeline_instance_limit(sample_copy, tmp_path):
    pipeline = _pipeline()
    pipeline.max_instances = 2
    folder = extract_job(export_job(sample_copy, pipeline, tmp_path / "job.zip"), tmp_path / "pkg")
    env, log = _fake_cli(tmp_path)
    _fake_run(folder, "260101_000000.centroid", age_s=0)
    _fake_run(folder, "260101_000000.centered_instance", age_s=0)
    subprocess.run([str(folder / "predict.sh")], env=env, check=True, capture_output=True)
    args = log.read_text().splitlines()
    assert args[args.index("--max-instances") + 1] == "2"


def test_predict_sh_explains_missing_models(sample_copy, tmp_path):
    folder = extract_job(export_job(sample_copy, _pipeline(), tmp_path / "job.zip"), tmp_path / "pkg")
    env, log = _fake_cli(tmp_path)
    _fake_run(folder, "260101_000000.centroid", age_s=0)
    proc = subprocess.run([str(folder / "predict.sh")], env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "No trained centered_instance model in models/; run ./train.sh first." in proc.stderr
    assert not log.exists()


def test_single_instance_package(sample_copy, tmp_path):
    result = export_job_package(sample_copy, _pipeline("single-instance"), tmp_path / "job.zip")
    assert result.files == (
        "sample.pkg.slp",
        "job.json",
        "single_instance.training_config.json",
        "train.sh",
        "predict.sh",
        "README.txt",
    )
    folder = extract_job(result.path, tmp_path / "x")
    job = load_job(folder / "job.json")
    assert list(job.pipeline.models) == [ModelKind.SINGLE_INSTANCE]
    assert job.pipeline.anchor_part is None
    assert "for kind in single_instance; do" in (folder / "predict.sh").read_text()
    assert read_sleap_config(folder / "single_instance.training_config.json").kind is ModelKind.SINGLE_INSTANCE


# -- inputs --------------------------------------------------------------------------------
def test_sleap_project_and_labels_inputs(sample_copy, tmp_path):
    project = SleapProject.load(sample_copy)
    a = export_job_package(project, _pipeline(), tmp_path / "a.zip")
    labels = sio.load_slp(str(sample_copy))
    b = export_job_package(labels, _pipeline(), tmp_path / "b.zip", name="renamed")
    assert a.project_file == "sample.pkg.slp"
    assert b.project_file == "renamed.pkg.slp"
    assert a.n_embedded == b.n_embedded == len(_user_images(labels)) + len(labels.suggestions)
    assert len(labels.suggestions) == 5  # the caller's labels are left as they were


def test_extra_frames_are_embedded_and_suggested(sample_copy, tmp_path):
    labels = sio.load_slp(str(sample_copy))
    taken = {int(lf.frame_idx) for lf in labels.labeled_frames} | {int(s.frame_idx) for s in labels.suggestions}
    extra = [f for f in range(60) if f not in taken][:3]
    result = export_job_package(labels, _pipeline(), tmp_path / "job.zip", extra_frames=[(0, f) for f in extra])
    assert len(labels.suggestions) == 5
    folder = extract_job(result.path, tmp_path / "x")
    packaged = sio.load_slp(str(folder / "sample.pkg.slp"))
    assert {int(s.frame_idx) for s in packaged.suggestions} >= set(extra)
    embedded = {int(i) for i in packaged.videos[0].backend.embedded_frame_inds}
    assert set(extra) <= embedded
    for f in extra:
        np.testing.assert_array_equal(packaged.videos[0][f], labels.videos[0][f])
    with pytest.raises(ExportJobError, match="video 3"):
        export_job(labels, _pipeline(), tmp_path / "bad.zip", extra_frames=[(3, 0)])


def test_repackaging_a_pkg_slp(shared_data, tmp_path):
    source = shared_data / "embedded" / "minimal_instance.pkg.slp"
    original = sio.load_slp(str(source))
    result = export_job_package(source, _pipeline(anchor=None), tmp_path / "job.zip")
    folder = extract_job(result.path, tmp_path / "x")
    packaged = sio.load_slp(str(folder / "minimal_instance.pkg.slp"))
    assert result.n_embedded == len(original.user_labeled_frames) >= 1
    for a, b in zip(packaged.user_labeled_frames, original.user_labeled_frames):
        np.testing.assert_array_equal(a.image, b.image)


def test_shared_minimal_project(shared_data, tmp_path):
    source = shared_data / "minimal" / "minimal_instance.slp"
    original = sio.load_slp(str(source))
    result = export_job_package(source, _pipeline(anchor=None), tmp_path / "job.zip")
    folder = extract_job(result.path, tmp_path / "x")
    packaged = sio.load_slp(str(folder / "minimal_instance.pkg.slp"))
    assert packaged.videos[0].backend.has_embedded_images
    for a, b in zip(packaged.user_labeled_frames, original.user_labeled_frames):
        np.testing.assert_array_equal(a.image, b.image)


# -- errors --------------------------------------------------------------------------------
def test_refuses_to_overwrite_unless_asked(sample_copy, tmp_path):
    out = tmp_path / "job.zip"
    out.write_bytes(b"precious")
    with pytest.raises(PackageExistsError, match="already exists"):
        export_job(sample_copy, _pipeline(), out)
    assert out.read_bytes() == b"precious"
    export_job(sample_copy, _pipeline(), out, overwrite=True)
    assert zipfile.is_zipfile(out)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary leftovers


def test_missing_video_is_named(small_sample, tmp_path):
    alone = tmp_path / "isolated" / "deeper"
    alone.mkdir(parents=True)
    shutil.copy2(small_sample / "sample.slp", alone / "sample.slp")
    with pytest.raises(MissingVideoError, match=r"video 0 \(sample\.mp4\)") as info:
        export_job(alone / "sample.slp", _pipeline(), tmp_path / "job.zip")
    assert "sample.slp" in str(info.value) and "cannot be opened" in str(info.value)
    assert not (tmp_path / "job.zip").exists()
    labels = sio.load_slp(str(alone / "sample.slp"))
    with pytest.raises(MissingVideoError, match="sample.mp4"):
        export_job(labels, _pipeline(), tmp_path / "job.zip")


def test_bad_inputs_have_plain_messages(sample_copy, tmp_path):
    with pytest.raises(ExportJobError, match="There is no file"):
        export_job(tmp_path / "nope.slp", _pipeline(), tmp_path / "job.zip")
    with pytest.raises(ExportJobError, match=r"\.zip file"):
        export_job(sample_copy, _pipeline(), tmp_path / "job.tar")
    with pytest.raises(ExportJobError, match="does not exist"):
        export_job(sample_copy, _pipeline(), tmp_path / "no" / "job.zip")
    with pytest.raises(ExportJobError, match="snout are not in the skeleton"):
        export_job(sample_copy, _pipeline(anchor="snout"), tmp_path / "job.zip")
    pipeline = _pipeline()
    del pipeline.models[ModelKind.CENTROID]
    with pytest.raises(ExportJobError, match="no settings for the centroid model"):
        export_job(sample_copy, pipeline, tmp_path / "job.zip")
    with pytest.raises(ExportJobError, match="time limit"):
        export_job(sample_copy, _pipeline(), tmp_path / "job.zip", slurm=SlurmOptions(time="soon"))
    assert not (tmp_path / "job.zip").exists()


def test_progress_is_reported_and_can_cancel(sample_copy, tmp_path):
    seen = []
    export_job(sample_copy, _pipeline(), tmp_path / "a.zip", progress=lambda c, t, p: seen.append((c, t, p)))
    assert seen and {p for _, _, p in seen} <= {"embed", "write"}
    with pytest.raises(ExportCancelledError):
        export_job(sample_copy, _pipeline(), tmp_path / "b.zip", progress=lambda c, t, p: False)
    assert not (tmp_path / "b.zip").exists()


def test_extract_refuses_paths_outside_the_folder(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("../escape.txt", "x")
    with pytest.raises(ExportJobError, match="unsafe path"):
        extract_job(bad, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_no_tensorflow_in_this_process():
    assert "tensorflow" not in sys.modules and "keras" not in sys.modules


def test_mode_bits_survive_system_unzip(sample_copy, tmp_path):
    unzip = shutil.which("unzip")
    if unzip is None:
        pytest.skip("no unzip on this machine")
    out = export_job(sample_copy, _pipeline(), tmp_path / "job.zip")
    subprocess.run([unzip, "-q", str(out), "-d", str(tmp_path / "u")], check=True)
    assert stat.S_IMODE((tmp_path / "u" / "train.sh").stat().st_mode) & 0o111
