"""Grouping points rows back into instances, and folding edited tables into a project."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_sleap_train.project.errors import SleapEditWarning
from napari_sleap_train.project.model import SleapProject
from napari_sleap_train.project.tables import group_points

NODES = ["head", "thorax", "tail"]


def _features(nodes, ids, tracks):
    return pd.DataFrame({"node": nodes, "instance": ids, "track": tracks})


def test_groups_follow_layer_order_and_last_row_wins():
    data = np.array(
        [[5, 1, 2], [5, 3, 4], [2, 9, 9], [5, 7, 8]],  # [frame, y, x]
        float,
    )
    feats = _features(["head", "tail", "head", "head"], [4, 4, 1, 4], ["a", "a", "", "b"])
    groups, problems = group_points(data, feats, multi_video=False, node_names=NODES)
    assert problems == []
    assert groups.keys.tolist() == [[0, 5, 4], [0, 2, 1]]
    np.testing.assert_array_equal(groups.xy[0, 0], (8, 7))  # the later "head" row wins
    np.testing.assert_array_equal(groups.xy[0, 2], (4, 3))
    assert np.isnan(groups.xy[0, 1]).all()
    assert groups.tracks == ["a", None]  # majority vote; "" means no track


def test_bad_rows_are_reported_and_skipped():
    data = np.array([[0, np.nan, 1], [0, 1, 1], [0, 2, 2], [-1, 3, 3], [0, 4, 4]], float)
    feats = _features(["head", None, "wing", "head", "thorax"], [0, 0, 0, 0, 0], [""] * 5)
    groups, problems = group_points(data, feats, multi_video=False, node_names=NODES)
    assert len(groups) == 1 and not np.isnan(groups.xy[0, 1]).any()
    text = " ".join(problems)
    assert "NaN" in text and "no node name" in text and "'wing'" in text and "before the first frame" in text


def test_wrong_number_of_columns():
    with pytest.raises(ValueError, match=r"\[video, frame, y, x\]"):
        group_points(np.zeros((1, 3)), _features(["head"], [0], [""]), multi_video=True, node_names=NODES)


def test_point_moved_to_another_frame_becomes_new_instance(shared_data):
    project = SleapProject.load(shared_data / "minimal" / "minimal_instance.slp")
    data, feats = project.user_points()
    (frame,) = {int(f) for f in data[:, 0]}
    data[0, 0] = frame + 10
    summary = project.update_from_points(data, feats)
    assert summary.added_instances == 1 and summary.removed_points == 1
    assert project.user_frames() == [(0, frame), (0, frame + 10)]
    assert project.labeled_instances(0, frame + 10).shape == (1, 2, 2)


def test_nan_point_in_layer_warns(shared_data):
    project = SleapProject.load(shared_data / "minimal" / "minimal_instance.slp")
    data, feats = project.user_points()
    data[1, 1] = np.nan
    with pytest.warns(SleapEditWarning, match="NaN"):
        summary = project.update_from_points(data, feats)
    assert summary.removed_points == 1
