"""``data.size_checks`` on real labels: what is refused, what is allowed (numpy only)."""

from __future__ import annotations

import sleap_io as sio

from napari_sleap_train.config.profiles import get_profile
from napari_sleap_train.data.labels import collect_samples, node_names_of
from napari_sleap_train.data.size_checks import LabelSizes, check_training_sizes, network_cost


def _sizes(shared_data) -> LabelSizes:
    labels = sio.load_slp(str(shared_data / "minimal/minimal_instance.slp"), open_videos=False)
    samples = collect_samples(labels, user_only=True)
    return LabelSizes([s.instances for s in samples], [0], node_names_of(labels), (384, 384))


def test_default_batch_is_allowed_on_a_one_frame_project(shared_data):
    # SLEAP's default batch of 4 on 1 labeled frame is how many projects start: no refusal
    for name in ("cpu.centroid", "cpu.centered_instance"):
        assert check_training_sizes(get_profile(name), _sizes(shared_data), "cpu", 8 * 1024**3) == []
    cfg = get_profile("cpu.centroid")
    cfg.optimization.batch_size = 5
    (finding,) = check_training_sizes(cfg, _sizes(shared_data), "cpu")
    assert finding.level == "error" and "1 training example of" in finding.message


def test_memory_and_gpu(shared_data):
    cfg = get_profile("baseline.centroid")
    sizes = _sizes(shared_data)
    # a GPU is not asked about the CPU's memory, and a built-in profile is not called slow here
    assert check_training_sizes(cfg, sizes, "gpu") == []
    per_example = 2 * network_cost(cfg, sizes).activations  # bytes: 4 for half of the layer outputs
    (finding,) = check_training_sizes(cfg, sizes, "cpu", available_bytes=int(2.5 * per_example))
    assert finding.level == "error" and "examples of" in finding.message and "available" in finding.message
    assert finding.hint.startswith("use a batch size of at most 2")
    (finding,) = check_training_sizes(cfg, sizes, "cpu", available_bytes=per_example // 2)
    assert "one example alone does not fit" in finding.hint
