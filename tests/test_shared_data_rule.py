"""The data-folder rule: skip with one reason on a developer's machine, fail under CI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path


def _run(tmp_path, env_ci: str | None):
    test = tmp_path / "test_uses_data.py"
    test.write_text(
        textwrap.dedent("""
        def test_needs_data(shared_data):
            assert shared_data.is_dir()
    """)
    )
    (tmp_path / "conftest.py").write_text((Path(__file__).parent / "conftest.py").read_text())
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["NAPARI_SLEAP_TRAIN_DATA"] = str(tmp_path / "no-such-folder")
    if env_ci is not None:
        env["CI"] = env_ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(test)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_data_skips_with_the_folder_named(tmp_path):
    result = _run(tmp_path, None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "no-such-folder" in result.stdout and "NAPARI_SLEAP_TRAIN_DATA" in result.stdout


def test_missing_data_fails_under_ci(tmp_path):
    result = _run(tmp_path, "true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "CI needs it" in result.stdout
