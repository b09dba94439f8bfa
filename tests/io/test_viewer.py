"""Open SLEAP projects through a real napari viewer (plugin discovered by npe2).

Needs the package installed (``pip install -e . --no-deps``) and a display
(``xvfb-run -a``).
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.io.binding import find_project
from napari_sleap_train.project.errors import SleapFileError

PLUGIN = "napari-sleap-train"


def _shown_points(points) -> np.ndarray:
    """Indices of the points napari draws on the current slice.

    napari has no public name for them; it renamed ``Points._indices_view`` to
    ``_view_indices`` after 0.7, and the floor (0.7.0) has the old name.
    """
    shown = getattr(points, "_view_indices", None)
    return points._indices_view if shown is None else shown


def _visible_edges(labels: sio.Labels, frame: int) -> int:
    (lf,) = [f for f in labels if f.frame_idx == frame]
    n = 0
    for inst in lf.user_instances:
        xy = inst.numpy()
        for a, b in inst.skeleton.edge_inds:
            n += not (np.isnan(xy[a]).any() or np.isnan(xy[b]).any())
    return n


def _visible_nodes(labels: sio.Labels, frame: int) -> int:
    (lf,) = [f for f in labels if f.frame_idx == frame]
    return int(sum((~np.isnan(i.numpy()).any(axis=1)).sum() for i in lf.user_instances))


def test_open_fly_and_step_frames(make_napari_viewer, shared_data):
    viewer = make_napari_viewer()
    path = shared_data / "fly" / "clip.slp"
    viewer.open(str(path), plugin=PLUGIN)
    assert [layer.name for layer in viewer.layers] == ["clip video", "clip skeleton", "clip labels"]
    image = viewer.layers["clip video"]
    skeleton = viewer.layers["clip skeleton"]
    points = viewer.layers["clip labels"]
    assert viewer.dims.nsteps[0] == 1500
    assert image.data.decoded_count <= 2  # frame 0 (and nothing else) decoded on open

    labels = sio.load_slp(path.as_posix(), open_videos=False)
    reference = sio.load_video((shared_data / "fly" / "clip.mp4").as_posix(), grayscale=True)
    try:
        for frame in (37, 38, 1200):
            viewer.dims.set_point(0, frame)
            shown = np.asarray(image._slice.image.raw)
            np.testing.assert_array_equal(shown, reference[frame][..., 0])
            shown_edges = skeleton.data[skeleton._view_indices]
            assert len(shown_edges) == _visible_edges(labels, frame)
            assert np.all(shown_edges[:, 0, 0] == frame)
            assert len(_shown_points(points)) == _visible_nodes(labels, frame)
    finally:
        reference.close()
    assert len(image.data._cache) <= image.data.cache_capacity
    assert points.text.visible is False
    assert set(points.features.columns) >= {"instance", "node", "track", "score", "user"}
    assert find_project(viewer.layers) is image.metadata["sleap_project"]


def test_open_package_and_missing_video(make_napari_viewer, shared_data, isolated_copy, monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr("napari_sleap_train.io.reader.show_warning", shown.append)
    viewer = make_napari_viewer()
    pkg, preds = isolated_copy(
        shared_data / "embedded" / "minimal_instance.pkg.slp",
        shared_data / "predictions" / "centered_pair_predictions.slp",
    )
    viewer.open(str(pkg), plugin=PLUGIN)
    assert "minimal_instance video" in viewer.layers
    assert np.asarray(viewer.layers["minimal_instance video"]._slice.image.raw).any()
    assert shown == []

    viewer.open(str(preds), plugin=PLUGIN)
    assert "centered_pair_predictions predictions" in viewer.layers
    assert "centered_pair_predictions video" not in viewer.layers
    assert len(shown) == 1 and "centered_pair_low_quality.mp4" in shown[0]


def test_bad_file_error_reaches_the_user(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    bad = tmp_path / "notes.slp"
    bad.write_text("not a project")
    with pytest.raises(SleapFileError, match="not a SLEAP project"):
        viewer.open(str(bad), plugin=PLUGIN)
    assert len(viewer.layers) == 0
    assert bad.read_text() == "not a project"


def test_two_videos_slice_by_video_axis(make_napari_viewer, two_video_project, shared_data):
    viewer = make_napari_viewer()
    viewer.open(str(two_video_project), plugin=PLUGIN)
    gray, rgb = viewer.layers["two video 0"], viewer.layers["two video 1"]
    points = viewer.layers["two labels"]
    assert viewer.dims.ndim == 4
    viewer.dims.set_point(0, 1)
    viewer.dims.set_point(1, 7)
    robot = sio.load_video((shared_data / "robot" / "small_robot.mp4").as_posix())
    try:
        np.testing.assert_array_equal(np.asarray(rgb._slice.image.raw), robot[7])
    finally:
        robot.close()
    assert gray._slice.empty  # the other video is not drawn on this video's frames
    assert len(_shown_points(points)) == 2
    viewer.dims.set_point(0, 0)
    viewer.dims.set_point(1, 3)
    assert not gray._slice.empty and rgb._slice.empty
    assert len(_shown_points(points)) == 2


def test_truncated_video_opens_labels_with_a_warning(make_napari_viewer, shared_data, isolated_copy, monkeypatch):
    """File > Open of a project whose video is truncated: labels shown, the warning names the file."""
    shown: list[str] = []
    monkeypatch.setattr("napari_sleap_train.io.reader.show_warning", shown.append)
    (slp,) = isolated_copy(shared_data / "minimal" / "minimal_instance.slp")
    video = slp.parent / "centered_pair_low_quality.mp4"
    video.write_bytes((shared_data / "minimal" / "centered_pair_low_quality.mp4").read_bytes()[:4096])
    viewer = make_napari_viewer()
    viewer.open(str(slp), plugin=PLUGIN)
    assert "minimal_instance labels" in viewer.layers
    assert len(viewer.layers["minimal_instance labels"].data) == 4
    assert "minimal_instance video" not in viewer.layers
    assert len(shown) == 1
    assert str(video) in shown[0] and "truncated or damaged" in shown[0]
