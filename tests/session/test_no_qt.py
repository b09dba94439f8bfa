"""The session package is Qt-free: importing it loads no Qt, napari or TensorFlow."""

import subprocess
import sys

MODULES = [
    "napari_sleap_train.session",
    "napari_sleap_train.session.settings",
    "napari_sleap_train.session.profiles",
    "napari_sleap_train.session.job",
    "napari_sleap_train.session.run_state",
]


def test_session_imports_neither_qt_nor_napari_nor_tensorflow():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in MODULES)
        + "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'qtpy', 'napari', 'magicgui', 'superqt')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
