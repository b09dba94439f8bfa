"""The device picker's choices, without TensorFlow."""

import sys

from napari_sleap_train.runner.devices import device_choices, nvidia_gpus, parse_nvidia_smi

SMI = """GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-1234)
GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-5678)
"""


def test_parse_nvidia_smi():
    assert parse_nvidia_smi(SMI) == [(0, "NVIDIA A100-SXM4-40GB"), (1, "NVIDIA A100-SXM4-40GB")]
    assert parse_nvidia_smi("NVIDIA-SMI has failed because it couldn't communicate") == []


def test_two_gpus_offer_each_and_all():
    values = [c.value for c in device_choices(parse_nvidia_smi(SMI), apple_silicon=False)]
    assert values == ["auto", "gpu:0", "gpu:1", "gpu:all", "cpu"]


def test_laptop_without_gpu_offers_auto_and_cpu():
    assert [c.value for c in device_choices([], apple_silicon=False)] == ["auto", "cpu"]
    labels = [c.label for c in device_choices([], apple_silicon=True)]
    assert "Apple GPU (Metal)" in labels


def test_this_machine_is_detected_without_tensorflow():
    gpus = nvidia_gpus()
    assert isinstance(gpus, list)
    assert device_choices()[0].value == "auto"
    assert "tensorflow" not in sys.modules
