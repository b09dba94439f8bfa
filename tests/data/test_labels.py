import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.labels import collect_samples, node_index, symmetry_permutation


def test_collect_samples_on_fly_clip(shared_data):
    labels = sio.load_slp(str(shared_data / "fly" / "clip.slp"))
    samples = collect_samples(labels)
    assert len(samples) == 1500
    s = samples[0]
    assert (s.video_index, s.frame_index) == (0, 0)
    assert s.instances.shape == (2, 13, 2) and s.instances.dtype == np.float32
    np.testing.assert_allclose(s.instances[0, 0], [335.25, 444.75])
    assert np.isnan(s.instances[1, 7]).all()  # midlegL4 of the female is missing
    names = [labels.tracks[t].name for t in s.track_ids]
    assert names == ["male", "female"]


def test_collect_samples_drops_empty_instances_and_predictions():
    skel = sio.Skeleton(["a", "b"])
    video = sio.Video(filename="fake.mp4")
    user = sio.Instance.from_numpy(np.array([[1.0, 2.0], [3.0, 4.0]]), skeleton=skel)
    empty = sio.Instance.from_numpy(np.full((2, 2), np.nan), skeleton=skel)
    pred = sio.PredictedInstance.from_numpy(
        np.array([[5.0, 6.0], [7.0, 8.0]]), skeleton=skel, point_scores=np.ones(2), score=1.0
    )
    frames = [
        sio.LabeledFrame(video=video, frame_idx=3, instances=[user, empty, pred]),
        sio.LabeledFrame(video=video, frame_idx=4, instances=[empty]),
    ]
    labels = sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skel])
    user_only = collect_samples(labels)
    assert [s.frame_index for s in user_only] == [3]
    assert user_only[0].instances.shape == (1, 2, 2)
    assert user_only[0].track_ids == [None]
    everything = collect_samples(labels, user_only=False)
    assert everything[0].instances.shape == (2, 2, 2)


def test_node_index_and_clear_error(shared_data):
    labels = sio.load_slp(str(shared_data / "fly" / "clip.slp"))
    assert node_index(labels, "thorax") == 1
    assert node_index(labels.skeleton, "eyeR") == 12
    assert node_index(["x", "y"], "y") == 1
    with pytest.raises(DataError, match="no node named 'tail'.*head, thorax"):
        node_index(labels, "tail")


def test_symmetry_permutation():
    skel = sio.Skeleton(["head", "eyeL", "eyeR", "earL", "earR"])
    assert symmetry_permutation(sio.Skeleton(["head", "thorax"])) is None
    skel.add_symmetry("eyeL", "eyeR")  # declared symmetries win over names
    np.testing.assert_array_equal(symmetry_permutation(skel), [0, 2, 1, 3, 4])


def test_symmetry_from_left_right_names_when_none_is_declared():
    """The fly clip declares no symmetries: a flip must still swap wingL and wingR (and not touch the rest)."""
    names = ["head", "wingL", "wingR", "forelegL4", "forelegR4", "left_ear", "right_ear", "Lone", "thorax"]
    perm = symmetry_permutation(sio.Skeleton(names))
    np.testing.assert_array_equal(perm, [0, 2, 1, 4, 3, 6, 5, 7, 8])
    assert sorted(perm) == list(range(len(names)))
