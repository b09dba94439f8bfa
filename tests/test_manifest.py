"""The npe2 manifest napari reads: a real file in the package that validates and resolves."""

from __future__ import annotations

from importlib import resources

import pytest
from npe2 import PluginManifest


@pytest.fixture(scope="module")
def manifest_path():
    path = resources.files("napari_sleap_train") / "napari.yaml"
    with resources.as_file(path) as real:
        yield real


def test_manifest_is_a_plain_file_inside_the_package(manifest_path):
    # a symlink turns into a one-line text file on Windows checkouts
    assert manifest_path.is_file()
    assert not manifest_path.is_symlink()


def test_manifest_validates_and_every_command_imports(manifest_path):
    manifest = PluginManifest.from_file(manifest_path)
    assert manifest.name == "napari-sleap-train"
    manifest.validate_imports()  # raises when a python_name does not resolve


def test_manifest_categories_fit_a_pose_annotation_plugin(manifest_path):
    manifest = PluginManifest.from_file(manifest_path)
    assert "Acquisition" not in manifest.categories
    assert {"Annotation", "IO"} <= set(manifest.categories)


def test_installed_entry_point_finds_this_manifest():
    from npe2 import PluginManager

    pm = PluginManager.instance()
    pm.discover()
    found = pm.get_manifest("napari-sleap-train")
    assert found.display_name == "SLEAP Training"
