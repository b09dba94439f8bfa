"""The project model imports no napari, no Qt and no TensorFlow (checked in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys

    import napari_sleap_train.project as project

    names = [info.name for info in pkgutil.iter_modules(project.__path__, "napari_sleap_train.project.")]
    for name in names:
        importlib.import_module(name)
    roots = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "vispy", "tensorflow", "keras")
    bad = sorted(m for m in sys.modules if m.split(".")[0] in roots or m.startswith("napari_sleap_train.io"))
    print("RESULT " + json.dumps({"modules": names, "bad": bad}))
    """
)


def test_project_package_imports_no_napari_qt_or_tensorflow():
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT ") :])
    assert "napari_sleap_train.project.model" in result["modules"]
    assert result["bad"] == []
