import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.config.model import AugmentationConfig, ModelKind, TrainingConfig
from napari_sleap_train.data.augmentation import transform_points
from napari_sleap_train.data.crops import crop_network_size
from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.labels import collect_samples
from napari_sleap_train.data.training_inputs import (
    centered_instance_crops,
    centered_instance_examples,
    centroid_example,
    crop_instances,
    single_instance_example,
)

NODES = ["head", "thorax", "tail"]
ALL_AUG = AugmentationConfig(
    rotate=True,
    rotation_max_angle=180,
    scale=True,
    scale_min=0.8,
    scale_max=1.2,
    flip=True,
    contrast=True,
    brightness=True,
    gaussian_noise=True,
    uniform_noise=True,
)


def _instances():
    return np.array(
        [
            [[60.0, 50.0], [80.0, 62.0], [104.0, 70.0]],
            [[200.0, 150.0], [186.0, 170.0], [176.0, 196.0]],
            [[4.0, 3.0], [20.0, 12.0], [np.nan, np.nan]],  # at the image border, tail missing
        ]
    )


def _dots(h, w, points, radius=3.0):
    img = np.zeros((h, w, 1), dtype=np.uint8)
    yy, xx = np.mgrid[:h, :w]
    for x, y in points.reshape(-1, 2):
        if np.isfinite(x):
            img[((xx - x) ** 2 + (yy - y) ** 2 <= radius**2), 0] = 200
    return img


def _cfg(kind, scaling=1.0, max_stride=16, output_stride=2, aug=ALL_AUG, anchor="thorax"):
    cfg = TrainingConfig(kind=kind)
    cfg.data.input_scaling = scaling
    cfg.model.max_stride = max_stride
    cfg.model.output_stride = output_stride
    cfg.head.sigma = 2.0
    cfg.head.anchor_part = anchor
    cfg.augmentation = aug
    return cfg


def _peaks(cm, stride):
    """xy (input pixels) of the maximum of every channel."""
    flat = cm.reshape(-1, cm.shape[-1]).argmax(0)
    i, j = np.unravel_index(flat, cm.shape[:2])
    return np.stack([j * stride, i * stride], axis=1).astype(float)


def _blob_centre(img, xy, r):
    """Centre of mass of the bright pixels within r of xy."""
    h, w = img.shape[:2]
    x, y = int(round(xy[0])), int(round(xy[1]))
    y0, y1, x0, x1 = max(y - r, 0), min(y + r + 1, h), max(x - r, 0), min(x + r + 1, w)
    patch = img[y0:y1, x0:x1, 0].astype(float)
    patch = np.where(patch > 0.3 * patch.max(), patch, 0.0)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    return np.array([(patch * xx).sum() / patch.sum(), (patch * yy).sum() / patch.sum()])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("scaling", [1.0, 0.5])
def test_centroid_peaks_sit_on_anchor_dots(seed, scaling):
    inst = _instances()[:2]
    img = _dots(240, 320, inst[:, 1])  # a dot on each thorax (the anchor)
    cfg = _cfg(ModelKind.CENTROID, scaling=scaling, output_stride=4)
    x, cm = centroid_example(img, inst, cfg, np.random.default_rng(seed), node_names=NODES)
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert x.shape[0] % 16 == 0 and x.shape[1] % 16 == 0
    assert cm.shape == (x.shape[0] // 4, x.shape[1] // 4, 1)
    # the two largest local maxima of the map are the two dots
    for peak in _local_maxima(cm[..., 0], 4, 2):
        dot = _blob_centre(x, peak, r=int(6 * scaling) + 4)
        assert np.abs(dot - peak).max() <= 4


def _local_maxima(channel, stride, n):
    work = channel.copy()
    out = []
    for _ in range(n):
        i, j = np.unravel_index(work.argmax(), work.shape)
        out.append(np.array([j * stride, i * stride], dtype=float))
        work[max(i - 3, 0) : i + 4, max(j - 3, 0) : j + 4] = 0
    return out


def test_centroid_without_augmentation_is_plain_scaled_frame():
    inst = _instances()[:2]
    img = (np.arange(240 * 320) % 251).astype(np.uint8).reshape(240, 320, 1)
    cfg = _cfg(ModelKind.CENTROID, scaling=0.5, max_stride=32, output_stride=2)
    x, cm = centroid_example(img, inst, cfg, augment=False, node_names=NODES)
    assert x.shape == (128, 160, 1)
    assert x[120:].max() == 0  # padding below the 120 scaled rows
    # anchor: thorax (80, 62) -> scaled (40.25, 30.75) -> grid (20, 15)
    assert cm[15, 20, 0] == pytest.approx(cm.max())


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("scaling", [1.0, 0.5])
def test_centered_instance_peaks_land_on_node_dots(seed, scaling):
    inst = _instances()
    img = _dots(240, 320, inst)
    cfg = _cfg(ModelKind.CENTERED_INSTANCE, scaling=scaling, output_stride=2)
    crops = centered_instance_crops(img, inst, cfg, 96, np.random.default_rng(seed), node_names=NODES)
    n = crop_network_size(96, scaling, 16)
    assert [c.instance_index for c in crops] == [0, 1, 2]
    for c in crops:
        assert c.image.shape == (n, n, 1) and c.confmaps.shape == (n // 2, n // 2, 3)
        peaks = _peaks(c.confmaps, 2)
        for node in range(3):
            q = c.points[node]
            if not np.isfinite(q).all():
                assert c.confmaps[..., node].max() == 0.0
                continue
            if not (0 <= q[0] < n - 1 and 0 <= q[1] < n - 1):
                continue  # node rotated out of the crop
            assert np.abs(peaks[node] - q).max() <= 2  # within one output-stride pixel
            dot = _blob_centre(c.image, q, r=int(5 * scaling) + 3)
            assert np.abs(dot - q).max() <= 1.0


def test_centered_instance_anchor_at_crop_centre_and_other_animals_excluded():
    inst = _instances()[:2]
    img = _dots(240, 320, inst)
    cfg = _cfg(ModelKind.CENTERED_INSTANCE, aug=AugmentationConfig())
    crops = centered_instance_crops(img, inst, cfg, 320, augment=False, node_names=NODES)
    for c in crops:
        np.testing.assert_allclose(c.points[1], [(320 - 1) / 2] * 2)
        # the crop sees the other animal's dots, but the targets only show this one
        other = transform_points(inst[1 - c.instance_index], c.matrix)
        for q in other:
            cm = c.confmaps[int(round(q[1] / 2)), int(round(q[0] / 2))]
            assert cm.max() < 1e-3


def test_anchor_jitter_moves_the_crop_centre_but_the_targets_stay_on_the_animal():
    inst = _instances()[:2]
    img = _dots(240, 320, inst)
    cfg = _cfg(ModelKind.CENTERED_INSTANCE, aug=AugmentationConfig(anchor_jitter=0.1))
    centre = (96 - 1) / 2
    rng = np.random.default_rng(0)
    shifts = []
    for _ in range(20):
        for c in centered_instance_crops(img, inst, cfg, 96, rng, node_names=NODES):
            shifts.append(c.points[1] - centre)
            dot = _blob_centre(c.image, c.points[1], r=6)  # the thorax target sits on the thorax dot
            assert np.abs(dot - c.points[1]).max() <= 1.0
            assert _peaks(c.confmaps, 2)[1] == pytest.approx(c.points[1], abs=2)
    shifts = np.array(shifts)
    assert np.abs(shifts).max() <= 0.1 * 96 + 1e-6  # up to 10% of the crop side either way
    assert np.abs(shifts).max() > 0.05 * 96 and np.std(shifts[:, 0]) > 2  # and it does move
    # validation and prediction crops stay centred on the anchor
    for c in centered_instance_crops(img, inst, cfg, 96, augment=False, node_names=NODES):
        np.testing.assert_allclose(c.points[1], [centre, centre])


def test_crop_at_image_border_is_zero_filled():
    inst = _instances()[2:]
    img = np.full((240, 320, 1), 90, dtype=np.uint8)
    cfg = _cfg(ModelKind.CENTERED_INSTANCE, aug=AugmentationConfig())
    ((crop, cm),) = centered_instance_examples(img, inst, cfg, 64, augment=False, node_names=NODES)
    # thorax (20, 12) at the crop centre 31.5: frame column 0 is at crop x = 11.5
    assert crop[:, :11].max() == 0 and crop[20:, 13:].min() > 0.3
    assert crop[:19].max() == 0
    assert np.unravel_index(cm[..., 0].argmax(), cm.shape[:2]) == (round((3 + 19.5) / 2), round((4 + 11.5) / 2))


def test_crop_instances_roundtrip_to_frame():
    img = _dots(240, 320, _instances()[:2])
    anchors = np.array([[80.0, 62.0], [186.0, 170.0]])
    crops, mats = crop_instances(img, anchors, 100, input_scaling=0.5, max_stride=16)
    assert crops.shape == (2, 64, 64, 1)  # 100 * 0.5 -> 50 -> 64
    for i in range(2):
        centre = np.array([31.5, 31.5])
        np.testing.assert_allclose(transform_points(centre, np.linalg.inv(mats[i])), anchors[i])


def test_single_instance_has_one_channel_per_part():
    inst = _instances()[:1]
    img = _dots(240, 320, inst)
    cfg = _cfg(ModelKind.SINGLE_INSTANCE, scaling=0.5, output_stride=2, anchor=None)
    cfg.head.part_names = ["tail", "head"]
    x, cm = single_instance_example(img, inst, cfg, np.random.default_rng(1), node_names=NODES)
    assert cm.shape == (x.shape[0] // 2, x.shape[1] // 2, 2)
    peaks = _peaks(cm, 2)
    for p in peaks:
        dot = _blob_centre(x, p, r=5)
        assert np.abs(dot - p).max() <= 2


def test_same_seed_same_example():
    inst = _instances()
    img = _dots(240, 320, inst)
    cfg = _cfg(ModelKind.CENTERED_INSTANCE)
    a = centered_instance_examples(img, inst, cfg, 96, np.random.default_rng(7), node_names=NODES)
    b = centered_instance_examples(img, inst, cfg, 96, np.random.default_rng(7), node_names=NODES)
    for (ia, ca), (ib, cb) in zip(a, b):
        np.testing.assert_array_equal(ia, ib)
        np.testing.assert_array_equal(ca, cb)


def test_missing_settings_are_clear():
    inst = _instances()
    img = _dots(240, 320, inst)
    cfg = _cfg(ModelKind.CENTERED_INSTANCE)
    with pytest.raises(DataError, match="node names"):
        centered_instance_examples(img, inst, cfg, 96)
    cfg.data.crop_size = None
    with pytest.raises(DataError, match="crop size"):
        centered_instance_examples(img, inst, cfg, None, node_names=NODES)


def test_real_fly_frame_inputs(shared_data):
    labels = sio.load_slp(str(shared_data / "fly" / "clip.slp"))
    sample = collect_samples(labels)[0]
    frame = labels.videos[0][sample.frame_index]
    names = labels.skeleton.node_names
    cfg = _cfg(ModelKind.CENTROID, scaling=0.5, output_stride=2)
    x, cm = centroid_example(frame, sample.instances, cfg, np.random.default_rng(0), augment=False, node_names=names)
    assert x.shape == (512, 512, 1) and cm.shape == (256, 256, 1)
    thorax = (sample.instances[:, 1] + 0.5) * 0.5 - 0.5
    for t in thorax:
        assert cm[int(round(t[1] / 2)), int(round(t[0] / 2)), 0] > 0.8
    ci = _cfg(ModelKind.CENTERED_INSTANCE, output_stride=4)
    out = centered_instance_examples(frame, sample.instances, ci, 160, np.random.default_rng(0), node_names=names)
    assert len(out) == 2
    assert out[0][0].shape == (160, 160, 1) and out[0][1].shape == (40, 40, 13)
    # female's midlegL4 is missing: empty channel
    assert out[1][1][..., 7].max() == 0.0


def test_auto_crop_size_for_follows_the_config_like_the_engine():
    """The preview boxes and the engine share this one config -> crop size rule."""
    from napari_sleap_train.config.model import TrainingConfig
    from napari_sleap_train.data.crops import auto_crop_size
    from napari_sleap_train.data.training_inputs import auto_crop_size_for

    # an animal 60 px long whose anchor ("tip") is at one end
    inst = np.array([[[100.0, 100.0], [160.0, 100.0], [130.0, 110.0]]], np.float32)
    names = ["tip", "tail", "mid"]
    cfg = TrainingConfig()
    cfg.data.crop_padding = 8
    cfg.model.max_stride = 16
    plain = auto_crop_size_for(cfg, [inst], names)
    assert plain == auto_crop_size([inst], max_stride=16, padding=8)
    cfg.head.anchor_part = "tip"
    around_tip = auto_crop_size_for(cfg, [inst], names)
    assert around_tip == auto_crop_size([inst], max_stride=16, padding=8, anchor_index=0)
    assert around_tip > plain  # centred on the tip, the crop must reach 60 px either way
    cfg.augmentation.rotate = True
    cfg.augmentation.rotation_max_angle = 45
    assert auto_crop_size_for(cfg, [inst], names) >= around_tip
    with pytest.raises(Exception, match="node names"):
        auto_crop_size_for(cfg, [inst], None)
