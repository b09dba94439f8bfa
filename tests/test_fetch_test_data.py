"""scripts/fetch_test_data.py rebuilds the data folder from upstream checkouts by checksum.

Upstream stands in as two local git repositories holding the files under other names
(as SLEAP's tests/data does), so the test runs without the network.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "fetch_test_data.py"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _repo(folder: Path, files: dict[str, Path]) -> str:
    for rel, src in files.items():
        (folder / "tests" / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, folder / "tests" / "data" / rel)
    (folder / "README").write_text("not test data\n")
    env = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t"
    )
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "data"]):
        subprocess.run(["git", *args], cwd=folder, check=True, env=env)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=folder, check=True, capture_output=True, text=True
    ).stdout.strip()


def _rows() -> list[tuple[str, str]]:
    lines = (ROOT / "scripts" / "test_data.sha256").read_text().splitlines()
    return [tuple(line.split(maxsplit=1)) for line in lines if line and not line.startswith("#")]


def test_data_folder_is_rebuilt_by_checksum(shared_data, tmp_path):
    rows = _rows()
    files = {rel: shared_data / rel for _, rel in rows}
    # upstream layout: flat names under two repositories, one file moved to the second
    first = {f"slp_hdf5/{i}_{Path(rel).name}": src for i, (rel, src) in enumerate(files.items()) if i}
    second = {"slp/" + Path(rows[0][1]).name: files[rows[0][1]]}
    env = dict(os.environ, SLEAP_REPO=str(tmp_path / "sleap"), SLEAP_IO_JS_REPO=str(tmp_path / "siojs"))
    for name, content in (("sleap", first), ("siojs", second)):
        (tmp_path / name).mkdir()
        key = "SLEAP_COMMIT" if name == "sleap" else "SLEAP_IO_JS_COMMIT"
        env[key] = _repo(tmp_path / name, content)

    dest = tmp_path / "data"
    result = subprocess.run([sys.executable, str(SCRIPT), str(dest)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    for digest, rel in rows:
        assert hashlib.sha256((dest / rel).read_bytes()).hexdigest() == digest, rel
    assert not list(dest.rglob("*.part")) and not (dest / "README").exists()


def test_a_file_missing_upstream_is_named(shared_data, tmp_path):
    rows = _rows()
    kept = {rel: shared_data / rel for _, rel in rows[1:]}
    (tmp_path / "sleap").mkdir()
    (tmp_path / "siojs").mkdir()
    env = dict(os.environ, SLEAP_REPO=str(tmp_path / "sleap"), SLEAP_IO_JS_REPO=str(tmp_path / "siojs"))
    env["SLEAP_COMMIT"] = _repo(tmp_path / "sleap", {Path(r).name + str(i): p for i, (r, p) in enumerate(kept.items())})
    env["SLEAP_IO_JS_COMMIT"] = _repo(tmp_path / "siojs", {})
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "data")], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert rows[0][1] in result.stderr
