"""``train --use / --init-from / --resume RUN``: jobs, settings taken from runs, and the refusals.

The fast tests build jobs (run folders laid out as the engine writes them,
nothing trained); the slow ones run the real command, child process and all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_sleap_train.cli import build_parser, main
from napari_sleap_train.cli.train import build_job
from napari_sleap_train.config.model import ModelKind
from tests.runner.tiny_project import make_tiny_project, tiny_config, write_run_folder

CEN, CI, SI = ModelKind.CENTROID, ModelKind.CENTERED_INSTANCE, ModelKind.SINGLE_INSTANCE


@pytest.fixture(scope="module")
def tiny_slp(tmp_path_factory) -> Path:
    return make_tiny_project(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def runs(tmp_path) -> dict[str, Path]:
    """Run folders of the tiny project's skeleton (and one of another skeleton)."""
    ci = tiny_config(CI, epochs=5)
    ci.model.filters = 6  # a network unlike the profile's
    return {
        "centroid": write_run_folder(tmp_path / "r" / "a.centroid", tiny_config(CEN)),
        "centered": write_run_folder(tmp_path / "r" / "b.centered_instance", ci, resumable=True),
        "single": write_run_folder(tmp_path / "r" / "c.single_instance", tiny_config(SI)),
        "other_skeleton": write_run_folder(tmp_path / "r" / "d.centered_instance", ci, node_names=("nose", "tail")),
    }


def _job(tiny_slp, tmp_path, *options):
    return build_job(build_parser().parse_args(["train", str(tiny_slp), "--run-dir", str(tmp_path / "out"), *options]))


def test_use_and_init_from_go_into_the_job(tmp_path, tiny_slp, runs):
    job = _job(
        tiny_slp,
        tmp_path,
        "--profile",
        "cpu.centered_instance",
        "--use",
        str(runs["centroid"]),
        "--init-from",
        str(runs["centered"]),
        "--epochs",
        "3",
    )
    assert job.use == [str(runs["centroid"].resolve())]
    assert job.init_from == [str(runs["centered"].resolve())]
    assert job.resume == []
    ci = job.pipeline.models[CI]
    assert ci.model.filters == 6  # the network is the run's (its weights need it) ...
    assert ci.optimization.epochs == 3  # ... the rest are the options'
    assert ci.profile == "cpu.centered_instance"


def test_resume_takes_every_setting_of_the_run_and_more_epochs(tmp_path, tiny_slp, runs):
    job = _job(tiny_slp, tmp_path, "--resume", str(runs["centered"]), "--epochs", "9")
    assert job.resume == [str(runs["centered"].resolve())]
    ci = job.pipeline.models[CI]
    assert ci.model.filters == 6 and ci.optimization.batch_size == 4  # tiny_config's, not the profile's
    assert ci.optimization.epochs == 9


@pytest.mark.parametrize(
    "options, message",
    [
        (
            ["--use", "{single}"],
            "it is a single_instance model and the top-down pipeline has centroid, centered_instance",
        ),
        (
            ["--init-from", "{other_skeleton}"],
            "predicts the body parts nose, tail, the project's skeleton has head, tail",
        ),
        (["--resume", "{centroid}"], "cannot resume a.centroid: it has no latest_model.keras"),
        (
            ["--use", "{centered}", "--init-from", "{other_skeleton}"],
            "two runs were given for the centered_instance model",
        ),
        (["--use", "{missing}"], "run folder not found"),
        (["--init-from", "{sleap_centered}"], "predicts the body parts A, B"),
    ],
)
def test_runs_that_do_not_fit_are_refused_before_training(
    tmp_path, tiny_slp, runs, shared_data, capsys, options, message
):
    folders = {k: str(v) for k, v in runs.items()}
    folders["missing"] = str(tmp_path / "nowhere")
    folders["sleap_centered"] = str(shared_data / "models" / "minimal_instance.UNet.centered_instance")
    argv = ["train", str(tiny_slp), "--run-dir", str(tmp_path / "out"), *[o.format(**folders) for o in options]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / "out").exists()  # nothing was started or written


def test_a_network_changed_after_init_from_is_refused(tmp_path, tiny_slp, runs, capsys):
    # the run's network is taken, so only a config given for the same model after it could differ: a job file
    job = _job(tiny_slp, tmp_path, "--init-from", str(runs["centered"]))
    from napari_sleap_train.protocol.job import save_job

    job.pipeline.models[CI].model.filters = 32
    path = save_job(job, tmp_path / "job.json")
    assert main(["train", "--job", str(path)]) == 2
    assert "its network differs (filters 6 in the run, 32 in the settings)" in capsys.readouterr().err


@pytest.mark.slow
def test_train_with_every_model_used_trains_nothing_and_predicts(tmp_path, tiny_slp, capsys):
    """The real command: train once, then ``--use`` both runs: no model trains, predictions are written."""
    configs = []
    for kind in (CEN, CI):
        from napari_sleap_train.config.serialize import save_json

        configs += ["--config", str(save_json(tiny_config(kind, epochs=1, batches=2), tmp_path / f"{kind.value}.json"))]
    base = ["train", str(tiny_slp), "--device", "cpu", "--anchor-part", "head", *configs]
    assert main([*base, "--run-dir", str(tmp_path / "first")]) == 0
    trained = sorted(p for p in (tmp_path / "first").iterdir() if p.is_dir() and p.name != "predictions")
    capsys.readouterr()
    uses = [arg for run in trained for arg in ("--use", str(run))]
    assert main([*base, "--run-dir", str(tmp_path / "second"), *uses, "--predict", "labeled"]) == 0
    out = capsys.readouterr().out
    assert out.count("(not retrained)") == 2
    assert "epoch 1:" not in out
    assert "predictions: " in out
    made = [p for p in (tmp_path / "second").iterdir() if p.is_dir()] if (tmp_path / "second").exists() else []
    assert all(p.name in ("predictions", "labels") for p in made)  # no run folder for a used model
