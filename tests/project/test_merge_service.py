"""The helper process merges predictions exactly as the GUI's own thread would, with the project's own objects."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.project import SleapProject
from napari_sleap_train.project.errors import PredictionsError
from napari_sleap_train.project.merge_plan import take_snapshot
from napari_sleap_train.project.merge_service import MergeService, merge_here
from tests.project.test_labeling import predictions_from_truth


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from napari_sleap_train.sample.project import write_sample_project

    return write_sample_project(tmp_path_factory.mktemp("merge_service"), seed=0, n_frames=40, n_labeled=8)


@pytest.fixture(scope="module")
def whole_video(sample, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("merge_service_predictions") / "whole.predictions.slp"
    sio.save_slp(predictions_from_truth(sample.truth_path, list(range(40)), shift=1.0), str(path), verbose=False)
    return path


@pytest.fixture
def service():
    service = MergeService()
    yield service
    service.close()


def _same_merge(here, there, snapshot) -> None:
    """Both merges decide the same: tables, frames, which objects are the project's."""
    assert np.array_equal(here.data, there.data, equal_nan=True)
    assert here.features.equals(there.features)
    assert np.array_equal(here.vectors, there.vectors, equal_nan=True)
    assert sorted(here.plans) == sorted(there.plans) and sorted(here.skipped) == sorted(there.skipped)
    assert len(here.new_order) == len(there.new_order) and here.warnings == there.warnings
    own = {id(i) for frame in snapshot.frames.values() for i in frame}
    for key, plan in there.plans.items():
        mine = [id(i) for i in plan.instances if id(i) in own]
        assert mine == [id(i) for i in here.plans[key].instances if id(i) in own]  # the very objects
        for new in plan.new:
            assert new.skeleton is snapshot.skeletons[0]  # the project's skeleton, not a copy
            np.testing.assert_allclose(new.numpy(), here.plans[key].new[plan.new.index(new)].numpy())
        for user, source in plan.links:
            assert id(user) in own and any(source is n for n in plan.new)
    assert there.snapshot is snapshot


def test_the_helper_merges_as_this_thread_would_with_the_projects_own_objects(sample, whole_video, service):
    project = SleapProject.load(sample.labels_path)
    snapshot = take_snapshot(project)
    there = service.merge(whole_video, snapshot)
    assert service.last_pid not in (None, os.getpid())  # another process did it
    _same_merge(merge_here(whole_video, snapshot), there, snapshot)
    update, (data, _features, _vectors) = project.apply_merge(there)
    assert update.n_frames == 40  # every frame got its predictions (user labels stay beside them)
    assert len(data) == len(project.predicted_points()[0])
    # the project took the predictions: a layer id for each, every user label still there
    assert len(project.predicted_instance_ids(0, 0)) > 0
    assert {f for _, f in project.user_frames()} == {f for _, f in SleapProject.load(sample.labels_path).user_frames()}


def test_a_second_merge_keeps_the_shown_predictions_ids_and_the_accepted_links(sample, whole_video, service):
    project = SleapProject.load(sample.labels_path)
    labeled = {f for _, f in project.user_frames()}
    free = [f for f in range(40) if f not in labeled]
    project.add_predictions(predictions_from_truth(sample.truth_path, free[:6]))
    accepted = project.promote_predictions(0, free[0], project.predicted_instance_ids(0, free[0])[:1])
    assert accepted
    snapshot = take_snapshot(project)
    there = service.merge(whole_video, snapshot)
    _same_merge(merge_here(whole_video, snapshot), there, snapshot)
    # the frame whose prediction the user accepted links that instance to its new source
    (user,) = [u for u in snapshot.frames[(0, free[0])] if not isinstance(u, sio.PredictedInstance)]
    assert any(u is user for u, _ in there.plans[(0, free[0])].links)
    project.apply_merge(there)
    assert user.from_predicted is not None and user.from_predicted in project._frames[(0, free[0])].instances


def test_an_unreadable_file_is_a_clear_error_and_the_helper_goes_on(sample, whole_video, service, tmp_path):
    snapshot = take_snapshot(SleapProject.load(sample.labels_path))
    broken = tmp_path / "broken.predictions.slp"
    broken.write_bytes(b"not an HDF5 file at all")
    with pytest.raises(PredictionsError, match="broken.predictions.slp"):
        service.merge(broken, snapshot)
    with pytest.raises(PredictionsError, match="does not exist"):
        service.merge(tmp_path / "missing.slp", snapshot)
    pid = service.last_pid
    assert len(service.merge(whole_video, snapshot).data) > 0 and service.last_pid == pid  # the same helper


def test_a_helper_that_dies_while_merging_is_reported_and_replaced(sample, whole_video, service, monkeypatch):
    from napari_sleap_train.project import merge_service

    snapshot = take_snapshot(SleapProject.load(sample.labels_path))
    service.merge(whole_video, snapshot)  # started and warm
    first = service._proc
    send = merge_service._send

    def send_then_crash(stream, kind, payload):  # the helper dies (e.g. out of memory) while it merges
        send(stream, kind, payload)
        first.kill()

    monkeypatch.setattr(merge_service, "_send", send_then_crash)
    with pytest.raises(PredictionsError, match="stopped before it answered"):
        service.merge(whole_video, snapshot)
    monkeypatch.setattr(merge_service, "_send", send)
    assert len(service.merge(whole_video, snapshot).data) > 0  # a new helper answers
    assert service.last_pid != first.pid and first.poll() is not None


def test_without_a_python_to_start_the_merge_runs_in_the_calling_thread(sample, whole_video, tmp_path):
    service = MergeService(python=str(tmp_path / "no-such-python"))
    snapshot = take_snapshot(SleapProject.load(sample.labels_path))
    prepared = service.merge(whole_video, snapshot)
    assert service.last_pid is None and not service.running
    _same_merge(merge_here(whole_video, snapshot), prepared, snapshot)
    service.close()
