"""Reusing bottom-up runs: the field head is part of the network."""

import pytest

from napari_sleap_train.config.model import ModelKind, PipelineConfig, PipelineKind
from napari_sleap_train.config.runs import RunError, check_reuse
from napari_sleap_train.session.reuse import Reuse, take_run_settings
from tests.runner.tiny_project import tiny_config, write_run_folder

MI = ModelKind.MULTI_INSTANCE


def _run(tmp_path, resumable=False):
    cfg = tiny_config(MI)  # fields at stride 4
    cfg.pafs.edges = [["head", "tail"]]
    return write_run_folder(tmp_path / "run.multi_instance", cfg, resumable=resumable)


def test_starting_from_a_bottom_up_run_takes_its_field_head(tmp_path):
    run = _run(tmp_path)
    mine = tiny_config(MI)
    mine.pafs.output_stride = 8
    taken = take_run_settings(mine, Reuse.INIT_FROM, run)
    assert taken.pafs.output_stride == 4 and taken.pafs.edges == [["head", "tail"]]
    pipeline = PipelineConfig(kind=PipelineKind.BOTTOM_UP, models={MI: taken})
    assert check_reuse(pipeline, init_from=[str(run)], node_names=["head", "tail"])["init_from"][MI].folder == run


def test_a_different_field_stride_or_edges_is_refused(tmp_path):
    run = _run(tmp_path, resumable=True)
    mine = tiny_config(MI)
    mine.pafs.output_stride = 8
    pipeline = PipelineConfig(kind=PipelineKind.BOTTOM_UP, models={MI: mine})
    with pytest.raises(RunError, match="part affinity field output stride 4 in the run, 8 in the settings"):
        check_reuse(pipeline, init_from=[str(run)])
    mine.pafs.output_stride = 4
    mine.pafs.edges = [["tail", "head"]]
    with pytest.raises(RunError, match="part affinity field edges"):
        check_reuse(pipeline, resume=[str(run)])
