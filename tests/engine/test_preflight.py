"""Checks before TensorFlow loads: flips that cannot swap left and right, limbs with no tip to bend."""

from __future__ import annotations

import numpy as np
import sleap_io as sio

from napari_sleap_train.config.model import ModelKind
from napari_sleap_train.config.profiles import get_profile
from napari_sleap_train.engine.preflight import check_flips, check_limbs


def _labels(nodes: list[str]) -> sio.Labels:
    video = sio.Video(filename="/nonexistent/v.mp4", open_backend=False)
    skel = sio.Skeleton(nodes)
    inst = sio.Instance.from_numpy(np.arange(2 * len(nodes), dtype=float).reshape(-1, 2), skeleton=skel)
    return sio.Labels(videos=[video], skeletons=[skel], labeled_frames=[sio.LabeledFrame(video, 0, [inst])])


def _messages(nodes: list[str], flip: bool) -> list:
    cfg = get_profile("cpu.centered_instance")
    assert cfg.kind is ModelKind.CENTERED_INSTANCE
    cfg.augmentation.flip = flip
    out: list = []
    check_flips([cfg], _labels(nodes), out.append)
    return out


def test_flips_on_a_skeleton_without_left_right_pairs_are_reported():
    (msg,) = _messages(["head", "thorax", "p1", "p2"], flip=True)
    assert msg.level == "warning" and "declare them as symmetries" in msg.text


def test_no_message_with_named_pairs_declared_pairs_or_no_flips():
    assert _messages(["head", "wingL", "wingR"], flip=True) == []
    assert _messages(["head", "p1", "p2"], flip=False) == []
    labels = _labels(["head", "p1", "p2"])
    labels.skeleton.add_symmetry("p1", "p2")
    cfg = get_profile("cpu.centered_instance")
    cfg.augmentation.flip = True
    out: list = []
    check_flips([cfg], labels, out.append)
    assert out == []


def _limb_messages(nodes, edges, angle=20.0):
    labels = _labels(nodes)
    for a, b in edges:
        labels.skeleton.add_edge(a, b)
    cfg = get_profile("cpu.centered_instance")
    cfg.augmentation.limb_angle = angle
    out: list = []
    check_limbs([cfg], labels, out.append)
    return out


def test_bend_limbs_without_tips_is_reported():
    (msg,) = _limb_messages(["head", "thorax", "tail"], [])  # no edges
    assert msg.level == "warning" and "nothing to bend" in msg.text
    (msg,) = _limb_messages(["head", "thorax"], [("thorax", "head")])  # no body to bend about
    assert "Add the skeleton's edges" in msg.text


def test_no_limb_message_with_tips_or_when_off():
    star = (["thorax", "head", "tail"], [("thorax", "head"), ("thorax", "tail")])
    assert _limb_messages(*star) == []
    assert _limb_messages(["head", "thorax", "tail"], [], angle=0.0) == []
