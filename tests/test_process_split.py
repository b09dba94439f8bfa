"""The hard rule: the napari process never imports TensorFlow or Keras.

Two checks:

- dynamic: a fresh Python process (so nothing another test imported can hide
  or cause a violation) imports every module the napari process may load,
  opens a real napari window under the test display, docks *SLEAP Training*
  through the plugin manifest, opens a project, redraws the previews and the
  training inputs, then reports which forbidden modules ended up in
  ``sys.modules``;
- static: no module outside ``engine/`` imports ``tensorflow``, ``keras`` or
  ``napari_sleap_train.engine`` anywhere in its source (also lazily inside a
  function, or through ``importlib.import_module``).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "napari_sleap_train"
FORBIDDEN_ROOTS = ("tensorflow", "keras", "tf_keras")
ENGINE = "napari_sleap_train.engine"


def _forbidden(name: str) -> bool:
    root = name.split(".")[0]
    return root in FORBIDDEN_ROOTS or name == ENGINE or name.startswith(ENGINE + ".")


# -- dynamic -----------------------------------------------------------------------
CHILD = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys

    import napari_sleap_train

    # every module of the napari side: io, config, data, runner, predictions,
    # evaluate, sample, widgets (+ package roots) and the cli top level
    # (walked by hand: pkgutil.walk_packages would import the engine package to look inside)
    imported = []

    def walk(path, prefix):
        for info in pkgutil.iter_modules(path, prefix):
            if info.name == "napari_sleap_train.engine" or info.name.endswith("__main__"):
                continue
            if info.name.startswith("napari_sleap_train.cli."):
                continue  # the CLI runs without napari; only its top level is loaded here
            module = importlib.import_module(info.name)
            imported.append(info.name)
            if info.ispkg:
                walk(module.__path__, info.name + ".")

    walk(napari_sleap_train.__path__, "napari_sleap_train.")

    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=True)
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
    viewer.open(sys.argv[1], plugin="napari-sleap-train")
    app = QApplication.instance()
    for _ in range(10):
        app.processEvents()
    dock.previews.update()
    viewer.dims.set_current_step(0, 1)
    dock.view_training_inputs(n=2)
    job = dock.build_job()
    for _ in range(10):
        app.processEvents()
    viewer.screenshot(canvas_only=True)  # the canvas really drew
    bad = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras")
                 or m == "napari_sleap_train.engine" or m.startswith("napari_sleap_train.engine."))
    print("RESULT " + json.dumps({
        "bad": bad,
        "imported": imported,
        "dock": type(dock).__name__,
        "job": job is not None,
        "project": dock.project is not None,
    }))
    dock.cleanup()
    viewer.close()
    """
)


def test_napari_process_never_imports_tensorflow(sample_slp_for_split, tmp_path):
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "xcb" if env.get("DISPLAY") else "offscreen")
    env["NAPARI_SLEAP_TRAIN_CACHE_DIR"] = str(tmp_path / "cache")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(sample_slp_for_split)],
        capture_output=True,
        text=True,
        timeout=540,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-4000:]}"
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["dock"] == "TrainingDock" and result["project"] and result["job"]
    for area in (
        "io",
        "project",
        "config",
        "data",
        "runner",
        "predictions",
        "evaluate",
        "sample",
        "widgets",
    ):
        assert any(m.startswith(f"napari_sleap_train.{area}.") for m in result["imported"]), area
    assert result["bad"] == [], f"the napari process imported {result['bad']}"


@pytest.fixture(scope="module")
def sample_slp_for_split(tmp_path_factory) -> Path:
    from napari_sleap_train.sample.project import write_sample_project

    folder = tmp_path_factory.mktemp("split_sample")
    return write_sample_project(folder, seed=1, n_frames=20, n_labeled=6, n_suggested=2).labels_path


# -- static ------------------------------------------------------------------------
def _module_name(path: Path, package: Path) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, package_dir: Path) -> list[tuple[int, str]]:
    """Every module a source file imports (absolute names), with line numbers."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = _module_name(path, package_dir)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def _violations(package: Path) -> list[str]:
    out = []
    for path in sorted(package.rglob("*.py")):
        if (package / "engine") in path.parents:
            continue
        for lineno, name in _imports(path, package):
            if _forbidden(name):
                out.append(f"{path.relative_to(package.parent)}:{lineno} imports {name}")
    return out


def test_no_module_outside_engine_imports_tensorflow_keras_or_engine():
    assert _violations(PACKAGE) == []


def test_static_check_catches_each_kind_of_import(tmp_path):
    pkg = tmp_path / "napari_sleap_train"
    (pkg / "widgets").mkdir(parents=True)
    (pkg / "engine").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "widgets" / "__init__.py").write_text("")
    (pkg / "engine" / "__init__.py").write_text("import tensorflow\n")  # allowed there
    (pkg / "widgets" / "a.py").write_text("def f():\n    import keras\n")
    (pkg / "widgets" / "b.py").write_text("from ..engine import unet\n")
    (pkg / "widgets" / "c.py").write_text("import importlib\nimportlib.import_module('tensorflow.keras')\n")
    (pkg / "widgets" / "d.py").write_text("from napari_sleap_train import engine\n")
    (pkg / "widgets" / "ok.py").write_text("import numpy\nfrom ..data import crops\n")
    found = _violations(pkg)
    assert [v.split(":")[0] for v in found] == [
        "napari_sleap_train/widgets/a.py",
        "napari_sleap_train/widgets/b.py",
        "napari_sleap_train/widgets/b.py",
        "napari_sleap_train/widgets/c.py",
        "napari_sleap_train/widgets/d.py",
    ]
