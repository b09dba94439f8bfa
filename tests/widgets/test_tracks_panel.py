"""Tracks on the viewer: the Tracks layer, predictions outlined by track, swap and set track.

A real napari viewer with the first frames of the fly clip and SLEAP's tracked
predictions of it, opened through the plugin's reader, and the dock's panel
driven the way a user drives it.
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

N_FRAMES = 30


@pytest.fixture
def fly_project(shared_data, tmp_path):
    labels = sio.load_slp(str(shared_data / "fly/clip.predictions.slp"), open_videos=False)
    labels.labeled_frames[:] = [lf for lf in labels.labeled_frames if lf.frame_idx < N_FRAMES]
    (tmp_path / "clip.mp4").symlink_to(shared_data / "fly/clip.mp4")
    labels.videos[0].replace_filename(str(tmp_path / "clip.mp4"), open=False)
    path = tmp_path / "clip.predictions.slp"
    sio.save_slp(labels, str(path))
    return path


@pytest.fixture
def fly_dock(make_napari_viewer, fly_project):
    viewer = make_napari_viewer()
    viewer.open(str(fly_project), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    yield viewer, dock
    dock.cleanup()


def _tracks_layer(viewer):
    from napari.layers import Tracks

    found = [la for la in viewer.layers if isinstance(la, Tracks)]
    return found[0] if found else None


def _track_of(project, frame, x_near):
    lf = next(lf for lf in project.labels.labeled_frames if lf.frame_idx == frame)
    inst = min(lf.predicted_instances, key=lambda i: abs(np.nanmean(i.numpy()[:, 0]) - x_near))
    return inst.track.name


def test_show_tracks_adds_a_tracks_layer_and_colours_predictions_by_track(fly_dock):
    viewer, dock = fly_dock
    panel = dock.tracks_panel
    assert dock.session.pipeline.tracking.tracker == "flow"  # a tracked project: flow, its 2 tracks
    assert dock.session.pipeline.tracking.max_tracks == 2
    assert _tracks_layer(viewer) is None
    panel.show.value = True
    layer = _tracks_layer(viewer)
    assert layer is not None and layer.visible and layer.tail_length == 30
    assert sorted(set(layer.data[:, 0].astype(int))) == [0, 1]
    assert len(layer.data) == 2 * N_FRAMES and set(layer.data[:, 1].astype(int)) == set(range(N_FRAMES))
    preds = next(la for la in viewer.layers if la.name.endswith("predictions"))
    tracks = preds.features["track"].to_numpy()
    colors = preds.face_color
    for name in set(tracks):  # one colour per track, different between tracks
        assert len({tuple(c) for c in colors[tracks == name]}) == 1
    assert not np.allclose(colors[tracks == "female"][0], colors[tracks == "male"][0])
    panel.tail_length.value = 5
    assert layer.tail_length == 5
    panel.show.value = False
    assert not layer.visible
    nodes = preds.features["node"].to_numpy()  # back to one colour per node
    assert all(len({tuple(c) for c in preds.face_color[nodes == n]}) == 1 for n in set(nodes))
    assert not np.allclose(preds.face_color[nodes == "head"][0], preds.face_color[nodes == "thorax"][0])


def test_swap_from_the_current_frame_on(fly_dock):
    viewer, dock = fly_dock
    panel = dock.tracks_panel
    project = dock.project
    panel.show.value = True
    lf = next(lf for lf in project.labels.labeled_frames if lf.frame_idx == 0)
    x = {i.track.name: float(np.nanmean(i.numpy()[:, 0])) for i in lf.predicted_instances}
    before = [_track_of(project, f, x["female"]) for f in (5, 9, 10, 20)]
    viewer.dims.set_current_step(0, 10)
    panel.first.value, panel.second.value = "female", "male"
    panel.swap.clicked.emit()  # the user clicks Swap
    after = [_track_of(project, f, x["female"]) for f in (5, 9, 10, 20)]
    other = {"female": "male", "male": "female"}
    assert after[:2] == before[:2] and after[2:] == [other[t] for t in before[2:]]
    # the layers show it: the predictions' track feature and the Tracks layer from frame 10 on
    preds = next(la for la in viewer.layers if la.name.endswith("predictions"))
    rows = preds.data[:, 0] >= 10
    names = set(preds.features["track"].to_numpy()[rows])
    assert names == {"female", "male"}
    layer = _tracks_layer(viewer)  # track 0 (female) at frame 10 is where the female is now
    lf10 = next(lf for lf in project.labels.labeled_frames if lf.frame_idx == 10)
    female = next(i for i in lf10.predicted_instances if i.track.name == "female")
    row = layer.data[(layer.data[:, 1] == 10) & (layer.data[:, 0] == 0)][0]
    np.testing.assert_allclose(row[2:][::-1], np.nanmean(female.numpy(), axis=0))


def test_set_track_of_the_selected_instance(fly_dock):
    viewer, dock = fly_dock
    panel = dock.tracks_panel
    project = dock.project
    viewer.dims.set_current_step(0, 3)
    preds = next(la for la in viewer.layers if la.name.endswith("predictions"))
    rows = np.flatnonzero(preds.data[:, 0] == 3)
    first = rows[preds.features["instance"].to_numpy()[rows] == preds.features["instance"].to_numpy()[rows[0]]]
    old = preds.features["track"].to_numpy()[first[0]]
    preds.selected_data = set(first.tolist())
    panel.new_track.value = "male" if old == "female" else "female"
    panel.set_track.clicked.emit()
    lf = next(lf for lf in project.labels.labeled_frames if lf.frame_idx == 3)
    assert sorted(i.track.name for i in lf.predicted_instances) == ["female", "male"]  # the other took old
    preds = next(la for la in viewer.layers if la.name.endswith("predictions"))
    feats = preds.features
    at3 = feats[preds.data[:, 0] == 3]
    moved = at3[at3["instance"] == feats["instance"].to_numpy()[first[0]]]
    assert set(moved["track"]) == {panel.new_track.value}


@pytest.fixture
def two_video_dock(make_napari_viewer, shared_data, tmp_path):
    """The fly clip's tracked predictions on two videos: both tracks on video 0, only "female" on video 1."""
    labels = sio.load_slp(str(shared_data / "fly/clip.predictions.slp"), open_videos=False)
    for name in ("clip.mp4", "clip2.mp4"):
        (tmp_path / name).symlink_to(shared_data / "fly/clip.mp4")
    first = labels.videos[0]
    first.replace_filename(str(tmp_path / "clip.mp4"), open=False)
    second = sio.Video(filename=str(tmp_path / "clip2.mp4"), open_backend=False)
    frames = [lf for lf in labels.labeled_frames if lf.frame_idx < N_FRAMES]
    copies = [
        sio.LabeledFrame(
            video=second,
            frame_idx=lf.frame_idx,
            instances=[i for i in lf.predicted_instances if i.track is not None and i.track.name == "female"],
        )
        for lf in frames[:20]
    ]
    labels.labeled_frames[:] = frames + copies
    labels.videos.append(second)
    path = tmp_path / "two.predictions.slp"
    sio.save_slp(labels, str(path))
    viewer = make_napari_viewer()
    viewer.open(str(path), plugin="napari-sleap-train")
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    yield viewer, dock
    dock.cleanup()


def test_several_videos_show_the_current_videos_tracks(two_video_dock):
    viewer, dock = two_video_dock
    panel, project = dock.tracks_panel, dock.project
    assert project.multi_video
    viewer.dims.set_current_step(0, 0)
    panel.show.value = True
    layer = _tracks_layer(viewer)
    assert layer is not None and layer.visible and layer.name.endswith("tracks (video 0)")
    assert layer.ndim == 3  # [frame, y, x]: lined up with the frame axis of [video, frame, y, x]
    assert sorted(set(layer.data[:, 0].astype(int))) == [0, 1] and len(layer.data) == 2 * N_FRAMES
    assert "2 track(s) of video 0 shown" in panel.status.value
    # moving to the second video redraws its tracks: only the female, 20 frames
    viewer.dims.set_current_step(0, 1)
    female = [t.name for t in project.labels.tracks].index("female")
    assert layer.name.endswith("tracks (video 1)")
    assert set(layer.data[:, 0].astype(int)) == {female} and len(layer.data) == 20
    assert "1 track(s) of video 1 shown" in panel.status.value
    # hidden: moving between videos leaves it alone
    panel.show.value = False
    viewer.dims.set_current_step(0, 0)
    assert not layer.visible and layer.name.endswith("tracks (video 1)")
