"""Put the real SLEAP test projects the tests read into a folder (CI, fresh checkouts).

The files are SLEAP's own test data, unchanged, from two public repositories (see
``SOURCES.md`` in the data folder): ``talmolab/sleap`` (tests/data, commit 7785f660)
and ``talmolab/sleap-io.js`` (tests/data, commit a9978f1). Both are checked out
sparsely (tests/data only), and every file of ``scripts/test_data.sha256`` is copied to
its place in this project's layout (``fly/clip.slp``, ``models/...``) by its SHA-256,
so a file that changed or is missing upstream is named instead of silently tested::

    python scripts/fetch_test_data.py [DEST]    # default: $NAPARI_SLEAP_TRAIN_DATA or ../shared/data

``SLEAP_REPO``/``SLEAP_COMMIT`` and ``SLEAP_IO_JS_REPO``/``SLEAP_IO_JS_COMMIT`` point
elsewhere (a mirror, a local clone). Exit status 1 when a file could not be found.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKSUMS = ROOT / "scripts" / "test_data.sha256"
SOURCES = [
    ("SLEAP_REPO", "https://github.com/talmolab/sleap", "SLEAP_COMMIT", "7785f660"),
    ("SLEAP_IO_JS_REPO", "https://github.com/talmolab/sleap-io.js", "SLEAP_IO_JS_COMMIT", "a9978f1"),
]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True)


def checkout(repo: str, commit: str, into: Path) -> Path:
    """Sparse checkout of ``tests/data`` at ``commit``; returns that folder."""
    _git("clone", "-q", "--filter=blob:none", "--no-checkout", repo, str(into))
    _git("sparse-checkout", "set", "tests/data", cwd=into)
    _git("checkout", "-q", commit, cwd=into)
    if shutil.which("git-lfs"):  # harmless where the repository has no LFS files
        subprocess.run(["git", "lfs", "pull", "--include", "tests/data/**"], cwd=into, check=False)
    return into / "tests" / "data"


def wanted() -> list[tuple[str, str]]:
    """(sha256, relative destination) for every file of the data folder."""
    rows = []
    for line in CHECKSUMS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, rel = line.split(maxsplit=1)
            rows.append((digest, rel.strip()))
    return rows


def fill(dest: Path, sources: list[Path]) -> list[str]:
    """Copy each wanted file from ``sources`` into ``dest``; returns what was not found."""
    by_hash: dict[str, Path] = {}
    for folder in sources:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                by_hash.setdefault(_sha256(path), path)
    missing = []
    for digest, rel in wanted():
        target = dest / rel
        if target.is_file() and _sha256(target) == digest:
            continue
        source = by_hash.get(digest)
        if source is None:
            missing.append(rel)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)  # a half-copied file never looks complete
    return missing


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    default = os.environ.get("NAPARI_SLEAP_TRAIN_DATA") or str(ROOT.parent / "shared" / "data")
    dest = Path(argv[0] if argv else default).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    if all((dest / rel).is_file() and _sha256(dest / rel) == digest for digest, rel in wanted()):
        print(f"[data] {len(wanted())} files already in {dest}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for i, (repo_env, repo, commit_env, commit) in enumerate(SOURCES):
            repo, commit = os.environ.get(repo_env, repo), os.environ.get(commit_env, commit)
            print(f"[data] {repo} @ {commit} (tests/data)", flush=True)
            folders.append(checkout(repo, commit, Path(tmp) / f"src{i}"))
        missing = fill(dest, folders)
    if missing:
        print(f"[data] not found upstream with the expected contents: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"[data] {len(wanted())} files in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
