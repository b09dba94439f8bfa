import subprocess
import sys

MODULES = [
    "napari_sleap_train.data.labels",
    "napari_sleap_train.data.anchors",
    "napari_sleap_train.data.receptive_field",
    "napari_sleap_train.data.crops",
    "napari_sleap_train.data.scaling",
    "napari_sleap_train.data.confmaps",
    "napari_sleap_train.data.augmentation",
    "napari_sleap_train.data.split",
    "napari_sleap_train.data.pose_balance",
    "napari_sleap_train.data.training_inputs",
    "napari_sleap_train.config.sleap_json",
    "napari_sleap_train.config.profiles",
]


def test_data_and_config_import_neither_tensorflow_nor_qt():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in MODULES)
        + "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'qtpy', 'napari')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
