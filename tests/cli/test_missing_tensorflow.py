"""A Python without TensorFlow: ``train`` says which command installs it (real CLI process).

TensorFlow is hidden from the child the way a missing install looks to it: a package
named ``tensorflow`` first on ``PYTHONPATH`` whose import raises ModuleNotFoundError.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.runner.tiny_project import make_tiny_project

HIDE_TF = 'raise ModuleNotFoundError("No module named \'tensorflow\'", name="tensorflow")\n'


def _declared_tensorflow() -> str:
    text = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    return re.search(r'"(tensorflow>=[^";]+)"', text).group(1)


def _without_tensorflow(folder: Path) -> dict[str, str]:
    (folder / "tensorflow").mkdir(parents=True)
    (folder / "tensorflow" / "__init__.py").write_text(HIDE_TF)
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path)


def test_train_without_tensorflow_names_the_install_command(tmp_path):
    slp = make_tiny_project(tmp_path / "tiny", n_frames=4)
    env = _without_tensorflow(tmp_path / "hide")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "napari_sleap_train.cli",
            "train",
            str(slp),
            "--run-dir",
            str(tmp_path / "runs"),
            "--device",
            "cpu",
            "--anchor-part",
            "head",
            "--epochs",
            "1",
            "--predict",
            "none",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "TensorFlow is not installed in the Python that runs training" in out
    # this very Python, so the command just works, and the requirement pyproject.toml declares
    assert f'{sys.executable} -m pip install "{_declared_tensorflow()}"' in out.replace("[and-cuda]", "")
    assert "Traceback" not in result.stdout
