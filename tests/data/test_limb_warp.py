import numpy as np
import pytest

from napari_sleap_train.config.model import AugmentationConfig, ModelKind, TrainingConfig
from napari_sleap_train.data.limb_warp import MAX_SLOPE, _grid_field, carry_points, draw_bumps, limb_pairs, warp_limbs
from napari_sleap_train.data.training_inputs import centered_instance_crops

# a star skeleton like the fly's: head (with an eye), legs and a tail hang from the thorax
NODES = ["head", "thorax", "eye", "legL", "legR", "tail"]
EDGES = [("thorax", "head"), ("head", "eye"), ("thorax", "legL"), ("thorax", "legR"), ("thorax", "tail")]
POSE = np.array([[48.0, 28.0], [48.0, 48.0], [58.0, 20.0], [28.0, 52.0], [68.0, 52.0], [48.0, 76.0]])


def _dots(h, w, points, radius=2.5, value=200.0):
    img = np.zeros((h, w, 1), dtype=np.float32)
    yy, xx = np.mgrid[:h, :w]
    for x, y in np.asarray(points).reshape(-1, 2):
        if np.isfinite(x):
            img[((xx - x) ** 2 + (yy - y) ** 2 <= radius**2), 0] = value
    return img


def _bright_centre(img, xy, r=4):
    x, y = int(round(xy[0])), int(round(xy[1]))
    patch = img[y - r : y + r + 1, x - r : x + r + 1, 0]
    yy, xx = np.mgrid[y - r : y + r + 1, x - r : x + r + 1]
    w = np.where(patch > 60, patch, 0.0)
    return np.array([(w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()])


def test_limb_pairs_are_the_skeleton_leaves_with_their_parent():
    pairs = limb_pairs(NODES, EDGES, anchor=1)
    assert sorted(map(tuple, pairs.tolist())) == [(2, 0), (3, 1), (4, 1), (5, 1)]
    # the anchor is never bent, nor is either end of a two-node skeleton
    assert len(limb_pairs(["head", "thorax"], [("head", "thorax")], anchor=1)) == 0
    assert len(limb_pairs(["head", "thorax"], [("head", "thorax")])) == 0
    # no edges: no limbs
    assert len(limb_pairs(NODES, [])) == 0


def test_bent_limbs_keep_every_label_on_its_feature_and_the_body_in_place():
    img = _dots(96, 96, POSE)
    limbs = limb_pairs(NODES, EDGES, anchor=1)
    rng = np.random.default_rng(0)
    tip_moves, thorax_moves = [], []
    for _ in range(30):
        out, pts = warp_limbs(img, POSE, limbs, 30.0, 0.25, rng)
        assert out.shape == img.shape and pts.shape == POSE.shape
        for p in pts:  # each label sits on its dot (a steep warp stretches a dot a little)
            assert np.abs(_bright_centre(out, p) - p).max() <= 1.0
        tip_moves.append(np.linalg.norm(pts[3:] - POSE[3:], axis=1))
        thorax_moves.append(np.linalg.norm(pts[1] - POSE[1]))
    tip_moves = np.array(tip_moves)
    assert tip_moves.max() > 5 and np.median(tip_moves) > 1  # the tips do move
    assert max(thorax_moves) < 1.0  # the body they hang from stays
    # the turn is about the parent: the legs' distance to the thorax changes by at most the stretch
    out, pts = warp_limbs(img, POSE, limbs, 0.0, 0.25, np.random.default_rng(1))
    ratio = np.linalg.norm(pts[3:] - pts[1], axis=1) / np.linalg.norm(POSE[3:] - POSE[1], axis=1)
    assert np.all((ratio > 0.74) & (ratio < 1.26))


def test_crowded_bumps_are_scaled_down_so_the_warp_never_folds():
    # three tips on top of each other, pulled different ways
    pose = np.array([[48.0, 48.0], [60.0, 60.0], [61.0, 60.0], [60.0, 61.0]])
    limbs = np.array([[1, 0], [2, 0], [3, 0]])
    for seed in range(10):
        bumps = draw_bumps(pose, limbs, 90.0, 0.5, np.random.default_rng(seed))
        out, pts = warp_limbs(_dots(96, 96, pose), pose, limbs, 90.0, 0.5, np.random.default_rng(seed))
        assert np.isfinite(pts).all()
        field, slope = _grid_field(bumps, 96, 96)
        scale = min(1.0, MAX_SLOPE / slope)
        capped = type(bumps)(bumps.centres, bumps.shifts, bumps.widths, scale)
        assert _grid_field(capped, 96, 96)[1] <= MAX_SLOPE + 1e-9
        # the points solve q + b(q) = p
        q = carry_points(pose, capped)
        np.testing.assert_allclose(q + capped.field(q), pose, atol=1e-6)
        np.testing.assert_allclose(pts, q)


def test_unlabeled_nodes_stay_unlabeled_and_short_limbs_are_left_alone():
    pose = POSE.copy()
    pose[3] = np.nan  # legL not labeled
    pose[2] = pose[0] + [0.5, 0.5]  # an eye on the head: nothing to turn
    out, pts = warp_limbs(_dots(96, 96, pose), pose, limb_pairs(NODES, EDGES, 1), 30.0, 0.2, np.random.default_rng(0))
    assert np.isnan(pts[3]).all() and np.isfinite(np.delete(pts, 3, axis=0)).all()
    # nothing to bend at all: the crop comes back as it was
    img = _dots(96, 96, POSE)
    same, pts = warp_limbs(img, POSE, np.zeros((0, 2), int), 30.0, 0.2, np.random.default_rng(0))
    assert same is img and np.array_equal(pts, POSE)


def test_centered_instance_crops_bend_limbs_only_when_augmenting():
    cfg = TrainingConfig(kind=ModelKind.CENTERED_INSTANCE)
    cfg.model.max_stride = 16
    cfg.head.sigma = 2.0
    cfg.head.anchor_part = "thorax"
    cfg.augmentation = AugmentationConfig(rotate=False, limb_angle=30.0, limb_stretch=0.2)
    frame = _dots(200, 200, POSE + 52.0).astype(np.uint8)
    inst = (POSE + 52.0)[None]
    limbs = limb_pairs(NODES, EDGES, anchor=1)
    kw = dict(node_names=NODES, limbs=limbs)
    plain = centered_instance_crops(frame, inst, cfg, 96, augment=False, **kw)[0]
    moved = 0.0
    rng = np.random.default_rng(0)
    for _ in range(10):
        c = centered_instance_crops(frame, inst, cfg, 96, rng, **kw)[0]
        for p in c.points:  # targets follow the warped dots
            assert np.abs(_bright_centre(c.image * 255.0, p) - p).max() <= 1.0
        peak = np.unravel_index(c.confmaps[..., 4].argmax(), c.confmaps.shape[:2])
        assert np.abs(np.array(peak[::-1]) * 2 - c.points[4]).max() <= 2
        moved = max(moved, float(np.abs(c.points - plain.points).max()))
    assert moved > 3
    # validation and prediction crops are never bent
    again = centered_instance_crops(frame, inst, cfg, 96, np.random.default_rng(1), augment=False, **kw)[0]
    np.testing.assert_array_equal(again.image, plain.image)
    # without limbs, or with the option off, the crop is not bent either
    cfg.augmentation = AugmentationConfig(rotate=False)
    assert not cfg.augmentation.bends_limbs
    off = centered_instance_crops(frame, inst, cfg, 96, np.random.default_rng(0), **kw)[0]
    np.testing.assert_allclose(off.points, plain.points)


@pytest.mark.parametrize("angle, stretch, bends", [(0, 0, False), (10, 0, True), (0, 0.1, True)])
def test_bends_limbs(angle, stretch, bends):
    assert AugmentationConfig(limb_angle=angle, limb_stretch=stretch).bends_limbs is bends
