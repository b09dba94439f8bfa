"""Equal settings give equal jobs from the dock, ``train`` and ``export-job``.

The dock is set through its widgets in a real napari viewer; ``train`` goes
through its argument parsing; ``export-job`` through the real subcommand, whose
package's ``job.json`` is read back. All three make their job with
:func:`napari_sleap_train.session.job.make_train_job`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from napari_sleap_train.cli import build_parser, main
from napari_sleap_train.cli.train import build_job
from napari_sleap_train.config.model import ModelKind, PipelineKind, Precision, PredictOn, Switch
from napari_sleap_train.config.serialize import to_dict
from napari_sleap_train.protocol.job import load_job

CEN, CI, MULTI = ModelKind.CENTROID, ModelKind.CENTERED_INSTANCE, ModelKind.MULTI_INSTANCE

#: the settings, as command-line options
OPTIONS = [
    "--profile",
    "cpu.centroid",
    "--profile",
    "cpu.centered_instance",
    "--epochs",
    "5",
    "--batch-size",
    "3",
    "--learning-rate",
    "0.002",
    "--patience",
    "4",
    "--model-time-limit",
    "7",
    "--time-limit",
    "12",
    "--snapshot-minutes",
    "1,2",
    "--device",
    "cpu",
    "--precision",
    "float32",
    "--xla",
    "off",
    "--anchor-part",
    "nose",
    "--tracker",
    "flow",
    "--max-tracks",
    "2",
    "--track-window",
    "3",
    "--match",
    "hungarian",
]


def _set_in_the_dock(dock) -> None:
    """The same settings, the way a user sets them (widgets)."""
    tab = dock.pipeline_tab
    tab.device.value = "cpu"
    tab.precision.value = Precision.FLOAT32
    tab.xla.value = Switch.OFF
    tab.anchor.value = "nose"
    tab.predict_on.value = PredictOn.SUGGESTED_FRAMES
    tracking = tab.tracking  # the Tracking section of the pipeline tab
    tracking.tracker.value = "flow"
    tracking.max_tracks.value = 2
    tracking.track_window.value = 3
    tracking.match.value = "hungarian"
    for kind, profile in ((CEN, "cpu.centroid"), (CI, "cpu.centered_instance")):
        model = dock.model_tabs[kind]
        model.profile.value = f"profile:{profile}"
        model.epochs.value = 5
        model.batch_size.value = 3
        model.learning_rate.value = 0.002
        model.patience.value = 4
        model.time_limit.value = 7
    tab.time_budget.value = 12  # the whole pipeline's budget, as --time-limit
    # no widget sets the snapshot minutes: a script would set the session
    dock.session.pipeline.snapshot_minutes = [1.0, 2.0]


def _settings(job) -> dict:
    """What the child is asked to do, without where the files are."""
    pipeline = to_dict(job.pipeline)
    pipeline.pop("runs_folder")
    return pipeline


def test_dock_train_and_export_job_make_the_same_job(docked, sample_slp, tmp_path):
    _, dock = docked
    _set_in_the_dock(dock)
    from_dock = dock.build_job()
    assert from_dock is not None

    from_cli = build_job(build_parser().parse_args(["train", str(sample_slp), *OPTIONS, "--predict", "suggested"]))

    out = tmp_path / "job.zip"
    assert main(["export-job", str(sample_slp), "-o", str(out), *OPTIONS]) == 0
    with zipfile.ZipFile(out) as zf:
        zf.extract("job.json", tmp_path)
    from_export = load_job(tmp_path / "job.json")

    # the one setting followed from its spin box: the same int in all three jobs
    for job in (from_dock, from_cli, from_export):
        assert [m.optimization.batch_size for m in job.pipeline.models.values()] == [3, 3]
        assert [m.head.anchor_part for m in job.pipeline.models.values()] == ["nose", "nose"]
        assert job.pipeline.precision is Precision.FLOAT32 and job.pipeline.snapshot_minutes == [1.0, 2.0]
        t = job.pipeline.tracking
        assert (t.tracker, t.max_tracks, t.track_window, t.match) == ("flow", 2, 3, "hungarian")
    assert _settings(from_dock) == _settings(from_cli) == _settings(from_export)
    # dock and train also agree on where runs go and what is predicted afterwards
    assert from_dock.runs_folder == from_cli.runs_folder == str(Path(sample_slp).resolve().parent / "models")
    assert from_dock.predict_frames == from_cli.predict_frames != []
    # the package's job is relative to the package
    assert from_export.labels_path == f"{Path(sample_slp).stem}.pkg.slp"
    assert from_export.runs_folder == "models"


def test_dock_and_train_reuse_runs_the_same_way(docked, sample_slp, tmp_path):
    """Use one run and start from another: equal jobs from the dock's Weights controls and train's options."""
    from napari_sleap_train.config.profiles import get_profile
    from napari_sleap_train.session.reuse import Reuse
    from tests.runner.tiny_project import write_run_folder

    _, dock = docked
    _set_in_the_dock(dock)
    nodes = list(dock.project.node_names)
    ci = get_profile("cpu.centered_instance")
    ci.model.filters = 12
    used = write_run_folder(tmp_path / "runs" / "a.centroid", get_profile("cpu.centroid"), nodes)
    start = write_run_folder(tmp_path / "runs" / "b.centered_instance", ci, nodes)
    for kind, how, run in ((CEN, Reuse.USE, used), (CI, Reuse.INIT_FROM, start)):
        controls = dock.model_tabs[kind].reuse
        controls.add_folder(run)  # the Folder... button, without its dialog
        controls.how.value = how
    from_dock = dock.build_job()
    from_cli = build_job(
        build_parser().parse_args(
            [
                "train",
                str(sample_slp),
                *OPTIONS,
                "--predict",
                "suggested",
                "--use",
                str(used),
                "--init-from",
                str(start),
            ]
        )
    )
    for job in (from_dock, from_cli):
        assert job.use == [str(used.resolve())] and job.init_from == [str(start.resolve())] and job.resume == []
        assert job.pipeline.models[CI].model.filters == 12  # the weights' network
    assert _settings(from_dock) == _settings(from_cli)


#: bottom-up settings as command-line options (the fields' own settings come with the profile)
BOTTOM_UP_OPTIONS = [
    "--pipeline",
    "bottom-up",
    "--profile",
    "cpu.bottomup",
    "--epochs",
    "6",
    "--batch-size",
    "2",
    "--learning-rate",
    "0.003",
    "--patience",
    "5",
    "--time-limit",
    "9",
    "--device",
    "cpu",
    "--precision",
    "float32",
    "--xla",
    "off",
    "--tracker",
    "flow",
    "--max-tracks",
    "2",
]


def test_dock_train_and_export_job_make_the_same_bottom_up_job(docked, sample_slp, tmp_path):
    _, dock = docked
    tab = dock.pipeline_tab
    tab.kind.value = PipelineKind.BOTTOM_UP
    tab.device.value = "cpu"
    tab.precision.value = Precision.FLOAT32
    tab.xla.value = Switch.OFF
    tab.predict_on.value = PredictOn.SUGGESTED_FRAMES
    tab.time_budget.value = 9
    tab.tracking.tracker.value = "flow"
    tab.tracking.max_tracks.value = 2
    model = dock.model_tabs[MULTI]
    model.profile.value = "profile:cpu.bottomup"
    model.epochs.value = 6
    model.batch_size.value = 2
    model.learning_rate.value = 0.003
    model.patience.value = 5
    from_dock = dock.build_job()
    assert from_dock is not None

    from_cli = build_job(
        build_parser().parse_args(["train", str(sample_slp), *BOTTOM_UP_OPTIONS, "--predict", "suggested"])
    )
    out = tmp_path / "job.zip"
    assert main(["export-job", str(sample_slp), "-o", str(out), *BOTTOM_UP_OPTIONS]) == 0
    with zipfile.ZipFile(out) as zf:
        zf.extract("job.json", tmp_path)
    from_export = load_job(tmp_path / "job.json")

    for job in (from_dock, from_cli, from_export):
        assert job.pipeline.kind is PipelineKind.BOTTOM_UP and list(job.pipeline.models) == [MULTI]
        cfg = job.pipeline.models[MULTI]
        assert (cfg.pafs.sigma, cfg.pafs.output_stride, cfg.optimization.batch_size) == (25.0, 8, 2)
    assert _settings(from_dock) == _settings(from_cli) == _settings(from_export)
    assert from_dock.predict_frames == from_cli.predict_frames != []


def _identity_options(pipeline: str, profiles: list[str]) -> list[str]:
    """Identity-pipeline settings as command-line options (no tracker: the classes are the tracks)."""
    out = ["--pipeline", pipeline]
    for profile in profiles:
        out += ["--profile", profile]
    return out + ["--epochs", "4", "--batch-size", "2", "--device", "cpu", "--precision", "float32", "--xla", "off"]


@pytest.mark.parametrize(
    ("kind", "profiles"),
    [
        (PipelineKind.TOP_DOWN_ID, ["cpu.centroid", "cpu.topdown_id"]),
        (PipelineKind.BOTTOM_UP_ID, ["cpu.bottomup_id"]),
    ],
)
def test_dock_train_and_export_job_make_the_same_identity_job(docked, sample_slp, tmp_path, kind, profiles):
    _, dock = docked
    tab = dock.pipeline_tab
    assert dock.session.pipeline.tracking.tracker != "none"  # the tracked sample suggests a tracker ...
    tab.kind.value = kind
    tab.device.value = "cpu"
    tab.precision.value = Precision.FLOAT32
    tab.xla.value = Switch.OFF
    tab.predict_on.value = PredictOn.SUGGESTED_FRAMES
    for model_kind, profile in zip(kind.model_kinds, profiles, strict=True):
        model = dock.model_tabs[model_kind]
        model.profile.value = f"profile:{profile}"
        model.epochs.value = 4
        model.batch_size.value = 2
    from_dock = dock.build_job()
    assert from_dock is not None

    options = _identity_options(kind.value, profiles)
    from_cli = build_job(build_parser().parse_args(["train", str(sample_slp), *options, "--predict", "suggested"]))
    out = tmp_path / "job.zip"
    assert main(["export-job", str(sample_slp), "-o", str(out), *options]) == 0
    with zipfile.ZipFile(out) as zf:
        zf.extract("job.json", tmp_path)
    from_export = load_job(tmp_path / "job.json")

    identity = next(k for k in kind.model_kinds if k.is_identity)
    for job in (from_dock, from_cli, from_export):
        assert job.pipeline.kind is kind and tuple(job.pipeline.models) == kind.model_kinds
        assert job.pipeline.tracking.tracker == "none"  # ... which an identity pipeline does not use
        assert job.pipeline.models[identity].optimization.batch_size == 2
    assert _settings(from_dock) == _settings(from_cli) == _settings(from_export)
    assert from_dock.predict_frames == from_cli.predict_frames != []
