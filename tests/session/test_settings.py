"""The dock's session state without a viewer: evented settings, the anchor part stored once, the job."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from napari_sleap_train.config.model import ModelKind, PipelineKind, PredictOn, TrainingConfig
from napari_sleap_train.config.profiles import get_profile
from napari_sleap_train.config.serialize import to_dict
from napari_sleap_train.protocol.job import load_job, save_job
from napari_sleap_train.session import JobError, TrainingSession, make_train_job
from napari_sleap_train.session.profiles import use_models

CEN, CI, SI = ModelKind.CENTROID, ModelKind.CENTERED_INSTANCE, ModelKind.SINGLE_INSTANCE


def _project(folder: Path, nodes=("nose", "tail")):
    """What the session reads of an open project: its path and node names."""
    return SimpleNamespace(path=folder / "p.slp", node_names=list(nodes))


def test_anchor_part_is_stored_once_and_reaches_the_heads_only_in_the_job():
    s = TrainingSession()
    s.pipeline.anchor_part = "nose"
    assert all(s.model(k).head.anchor_part is None for k in ModelKind)
    assert s.trained_model(CI).head.anchor_part == "nose"
    assert s.trained_model(SI).head.anchor_part is None  # single instance has no anchor
    job = make_train_job(s.pipeline, "p.slp")
    assert [c.head.anchor_part for c in job.pipeline.models.values()] == ["nose", "nose"]
    assert s.model(CEN).head.anchor_part is None  # making the job changed nothing


def test_a_profile_with_an_anchor_keeps_the_pipelines():
    s = TrainingSession()
    s.pipeline.anchor_part = "nose"
    cfg = get_profile("baseline.centroid")
    cfg.head.anchor_part = "tail"
    s.load_model(CEN, cfg)
    assert s.model(CEN).head.anchor_part is None
    assert s.trained_model(CEN).head.anchor_part == "nose"


def test_loading_copies_values_into_the_live_objects_and_signals_each_field():
    s = TrainingSession()
    live = s.model(CEN)
    opt = live.optimization
    seen = []
    opt.events.batch_size.connect(lambda new, old: seen.append((new, old)))
    cfg = get_profile("baseline.centroid")
    cfg.optimization.batch_size = opt.batch_size + 5
    s.load_model(CEN, cfg)
    assert s.model(CEN) is live and live.optimization is opt  # bindings stay valid
    assert seen == [(cfg.optimization.batch_size, cfg.optimization.batch_size - 5)]
    assert live.profile == "baseline.centroid"
    cfg.optimization.batch_size = 99
    assert opt.batch_size != 99  # a copy, not the caller's object


def test_pipeline_switch_keeps_every_models_settings_and_moves_the_selection():
    s = TrainingSession()
    s.select(CI)
    s.model(CI).optimization.epochs = 11
    selected = []
    s.selected_changed.connect(selected.append)
    s.pipeline.kind = PipelineKind.SINGLE_INSTANCE
    assert s.model_kinds == (SI,)
    assert s.selected is SI and selected == [SI]
    s.pipeline.kind = PipelineKind.TOP_DOWN
    assert s.model(CI).optimization.epochs == 11
    snap = s.snapshot()
    assert list(snap.models) == [CEN, CI]


def test_changed_fires_for_pipeline_and_nested_model_settings():
    s = TrainingSession()
    count = []
    s.changed.connect(lambda: count.append(1))
    s.pipeline.predict_on = PredictOn.NOTHING
    s.model(SI).augmentation.rotate = not s.model(SI).augmentation.rotate
    s.model(CI).optimization.early_stopping.patience = 3
    assert len(count) == 3


def test_project_makes_runs_folder_absolute_and_drops_an_unknown_anchor(tmp_path):
    s = TrainingSession()
    s.pipeline.anchor_part = "thorax"
    projects = []
    s.project_changed.connect(projects.append)
    project = _project(tmp_path)
    s.set_project(project)
    assert s.pipeline.runs_folder == str(tmp_path.resolve() / "models")
    assert s.pipeline.anchor_part is None
    assert projects == [project]
    s.pipeline.anchor_part = "tail"
    s.set_project(_project(tmp_path))
    assert s.pipeline.anchor_part == "tail"


def test_make_train_job_takes_paths_as_given_and_round_trips(tmp_path):
    s = TrainingSession()
    s.model(CI).optimization.batch_size = 3
    s.pipeline.time_limit_minutes = 12.0
    s.pipeline.snapshot_minutes = [1.0, 2.0]
    job = make_train_job(s.pipeline, "p.pkg.slp", runs_folder="models", predict_frames=[(0, 1)])
    assert job.labels_path == "p.pkg.slp" and job.runs_folder == job.pipeline.runs_folder == "models"
    assert job.pipeline.models[CI].optimization.batch_size == 3
    assert list(job.pipeline.models) == [CEN, CI]
    assert to_dict(load_job(save_job(job, tmp_path / "job.json"))) == to_dict(job)
    # idempotent: a job's pipeline makes the same job again
    again = make_train_job(job.pipeline, job.labels_path, predict_frames=job.predict_frames)
    assert to_dict(again) == to_dict(job)


def test_make_train_job_needs_every_model_of_the_pipeline():
    s = TrainingSession()
    pipeline = s.snapshot()
    del pipeline.models[CI]
    with pytest.raises(JobError, match="no settings for the centered_instance model"):
        make_train_job(pipeline, "p.slp")


def test_bottom_up_job_round_trips_and_checks_its_edges(tmp_path):
    s = TrainingSession()
    s.pipeline.kind = PipelineKind.BOTTOM_UP
    s.pipeline.anchor_part = "head"  # top-down's setting: not written into a bottom-up head
    s.model(ModelKind.MULTI_INSTANCE).pafs.edges = [["head", "tail"]]
    s.model(ModelKind.MULTI_INSTANCE).pafs.sigma = 20.0
    job = make_train_job(s.pipeline, "p.slp", node_names=["head", "tail"])
    assert list(job.pipeline.models) == [ModelKind.MULTI_INSTANCE]
    cfg = job.pipeline.models[ModelKind.MULTI_INSTANCE]
    assert cfg.head.anchor_part is None and cfg.pafs.sigma == 20.0
    assert to_dict(load_job(save_job(job, tmp_path / "job.json"))) == to_dict(job)
    with pytest.raises(JobError, match="edges name tail, which the skeleton does not have"):
        make_train_job(s.pipeline, "p.slp", node_names=["head", "thorax"])


def test_use_models_adopts_the_anchor_the_configs_agree_on():
    s = TrainingSession()
    pipeline = s.snapshot()
    cfg = TrainingConfig(kind=CI)
    cfg.head.anchor_part = "thorax"
    use_models(pipeline, [cfg])
    assert pipeline.anchor_part == "thorax"
    with pytest.raises(ValueError, match="does not fit the top-down pipeline"):
        use_models(pipeline, [TrainingConfig(kind=SI)], strict=True)
