"""Check that the lowest versions pyproject.toml allows still work.

Pins every direct dependency (base, [all] and [testing]) to the lower bound of its
``>=`` specifier, installs the package with those pins into a throwaway virtual
environment (outside the checkout), prints what got installed, and runs the fast tests
there the way scripts/test.sh does (napari-process tests and engine tests in separate
pytest processes, under Xvfb when there is no display)::

    python3 scripts/check_floors.py                       # all fast tests
    python3 scripts/check_floors.py -- tests/project -x   # pytest arguments after --
    python3 scripts/check_floors.py --venv /tmp/floors --no-install -- tests/io

Transitive dependencies resolve to the newest versions the pins allow (pip has no
"lowest" mode), which is what a user who upgrades nothing else gets. Wheels only
(``--only-binary :all:``): a floor without a wheel for this Python is a floor no user
can install either. Exit status: 0 when the pins install and the tests pass.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    sys.exit("check_floors.py needs Python >= 3.11 (tomllib); run it with python3.11 or newer")

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("all", "testing")


def floor_pins(pyproject: Path = ROOT / "pyproject.toml", extras=EXTRAS) -> tuple[list[str], list[str]]:
    """``name==floor`` constraints for every direct requirement with a ``>=`` bound.

    Returns the constraint lines and the names of requirements that have no floor.
    Requirements of the same name (a base pin and an extra's) get the highest floor.
    """
    project = tomllib.loads(pyproject.read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    floors: dict[str, tuple[str, str]] = {}
    unbounded = []
    for req in reqs:
        lows = [s.version for s in req.specifier if s.operator == ">="]
        if not lows:
            unbounded.append(req.name)
            continue
        low = max(lows, key=_version)
        marker = f"; {req.marker}" if req.marker else ""
        key = req.name.lower().replace("_", "-")
        if key not in floors or _version(low) > _version(floors[key][0]):
            floors[key] = (low, marker)
    pins = [f"{name}=={low}{marker}" for name, (low, marker) in sorted(floors.items())]
    return pins, sorted(set(unbounded) - set(floors))


def _version(text: str):
    from packaging.version import Version

    return Version(text)


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(cmd: list[str], **kw) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], **kw)


def install(venv: Path, pins: list[str], dry_run: bool = False) -> int:
    if venv.exists():
        shutil.rmtree(venv)
    if _run([sys.executable, "-m", "venv", venv]) != 0:
        return 1
    py = _venv_python(venv)
    constraints = venv / "floors-constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    _run([py, "-m", "pip", "install", "-q", "--upgrade", "pip"])
    return _run(
        [
            py,
            "-m",
            "pip",
            "install",
            "--only-binary",
            ":all:",
            "-c",
            constraints,
            *(["--dry-run"] if dry_run else []),
            "-e",
            f"{ROOT}[{','.join(EXTRAS)}]",
        ]
    )


def report(venv: Path, pins: list[str]) -> bool:
    """Print floor vs installed version for each pinned requirement; False on a mismatch."""
    out = subprocess.run(
        [_venv_python(venv), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    installed = {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(out)}
    ok = True
    print("\nrequirement                floor      installed")
    for pin in pins:
        req = Requirement(pin)
        if req.marker and not req.marker.evaluate():
            continue
        want = next(iter(req.specifier)).version
        have = installed.get(req.name.lower().replace("_", "-"), "MISSING")
        flag = "" if have != "MISSING" and _version(have) == _version(want) else "   <-- differs"
        ok &= not flag
        print(f"{req.name:26} {want:10} {have}{flag}")
    rc = _run([_venv_python(venv), "-m", "pip", "check"])
    return ok and rc == 0


def run_tests(venv: Path, pytest_args: list[str]) -> int:
    py = _venv_python(venv)
    wrap: list[str] = []
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        wrap = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24"]
    # test paths pick the pytest run (napari-process or engine); the rest goes to both in order
    selection = [a for a in pytest_args if not a.startswith("-") and (ROOT / a.split("::")[0]).exists()]
    options = [a for a in pytest_args if a not in selection]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    code = 0
    gui = (
        [s for s in selection if not s.startswith("tests/engine")] if selection else ["tests", "--ignore=tests/engine"]
    )
    engine = [s for s in selection if s.startswith("tests/engine")] if selection else ["tests/engine"]
    for part in (gui, engine):
        if part:
            rc = _run(
                [*wrap, py, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider", *part, *options],
                cwd=ROOT,
                env=env,
            )
            code = code or rc
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--venv",
        type=Path,
        default=Path(tempfile.gettempdir()) / "napari-sleap-train-floors",
        help="throwaway virtual environment (replaced; default: %(default)s)",
    )
    parser.add_argument("--no-install", action="store_true", help="reuse the venv from an earlier run")
    parser.add_argument("--print", action="store_true", help="only print the pins")
    parser.add_argument("--resolve-only", action="store_true", help="only check that the pins resolve (pip --dry-run)")
    parser.add_argument("pytest_args", nargs="*", help="after --: tests and pytest options")
    args = parser.parse_args(argv)

    pins, unbounded = floor_pins()
    print("floor pins:\n  " + "\n  ".join(pins))
    if unbounded:
        print("no floor (not checked): " + ", ".join(unbounded))
    if args.print:
        return 0
    if not args.no_install and install(args.venv, pins, dry_run=args.resolve_only) != 0:
        print("\n[floors] the lowest allowed versions do not install together: raise a floor (see pip's message)")
        return 1
    if args.resolve_only:
        print("\n[floors] the pins resolve")
        return 0
    versions_ok = report(args.venv, pins)
    code = run_tests(args.venv, args.pytest_args)
    print(f"\n[floors] pins installed as asked: {versions_ok}; fast tests: {'passed' if code == 0 else 'FAILED'}")
    return 0 if code == 0 and versions_ok else 1


if __name__ == "__main__":
    sys.exit(main())
