"""predictions/ and evaluate/ are numpy/sleap-io only: importing them never loads TensorFlow."""

from __future__ import annotations

import subprocess
import sys


def test_prediction_and_evaluation_modules_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "import napari_sleap_train.predictions.peaks, napari_sleap_train.predictions.frame_selection\n"
        "import napari_sleap_train.predictions.merge, napari_sleap_train.evaluate\n"
        "import napari_sleap_train.cli.predict, napari_sleap_train.cli.evaluate\n"
        "bad = [m for m in ('tensorflow', 'keras', 'napari_sleap_train.engine') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
