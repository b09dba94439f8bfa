"""The plugin in napari's own menus (manifest ``menus``), not only under Plugins, found and run as a user would."""

from __future__ import annotations

import zipfile
from importlib import resources

from npe2 import PluginManifest
from qtpy.QtWidgets import QMenu

from napari_sleap_train.widgets.dock import TrainingDock
from napari_sleap_train.widgets.menu_commands import export_from_dock

PLUGIN = "napari-sleap-train"


def _menu(menu: QMenu, *path: str) -> QMenu:
    """The submenu reached through the visible titles ``path`` ("&" accelerators ignored)."""
    for title in path:
        menu.aboutToShow.emit()  # app-model fills some menus when they open
        found = [a.menu() for a in menu.actions() if a.menu() is not None and a.text().replace("&", "") == title]
        assert found, f"no {title!r} in {[a.text() for a in menu.actions()]}"
        menu = found[0]
    menu.aboutToShow.emit()
    return menu


def _action(menu: QMenu, text: str):
    hits = [a for a in menu.actions() if text in a.text().replace("&&", "&")]
    assert hits, f"no {text!r} in {[a.text() for a in menu.actions()]}"
    return hits[0]


def _docks(viewer) -> list[TrainingDock]:
    return viewer.window.main_menu.parent().findChildren(TrainingDock)


def test_manifest_puts_train_predict_export_and_the_dock_in_napari_menus():
    with resources.as_file(resources.files("napari_sleap_train") / "napari.yaml") as path:
        manifest = PluginManifest.from_file(path)
    menus = {menu: [item.command for item in items] for menu, items in manifest.contributions.menus.items()}
    assert menus == {
        "napari/layers/annotate": [f"{PLUGIN}.training_widget"],
        "napari/layers/track": [f"{PLUGIN}.train", f"{PLUGIN}.predict"],
        "napari/file/io_utilities": [f"{PLUGIN}.export_job"],
    }
    assert [s.command for s in manifest.contributions.sample_data] == [f"{PLUGIN}.sample_project"]


def test_menus_of_a_real_viewer_open_the_dock_once(make_napari_viewer, sample_slp, qtbot):
    viewer = make_napari_viewer()
    viewer.open(str(sample_slp), plugin=PLUGIN)
    bar = viewer.window.main_menu
    layers = next(a.menu() for a in bar.actions() if a.text().replace("&", "") == "Layers")
    track = _menu(layers, "Track")
    train = _action(track, "Train SLEAP models...")
    predict = _action(track, "Predict with SLEAP models...")
    assert _docks(viewer) == []
    _action(_menu(layers, "Annotate"), "SLEAP Training").trigger()  # napari's own widget action
    (dock,) = _docks(viewer)
    assert dock.project is not None and dock.project.path == sample_slp
    train.trigger()  # the same dock again, not a second one
    predict.trigger()
    assert _docks(viewer) == [dock]

    file_menu = next(a.menu() for a in bar.actions() if a.text().replace("&", "") == "File")
    _action(_menu(file_menu, "IO Utilities"), "Export SLEAP training job...")
    samples = _menu(file_menu, "Open Sample")
    assert any(
        "SLEAP sample project" in a.text()
        for m in [samples, *[a.menu() for a in samples.actions() if a.menu()]]
        for a in m.actions()
    )
    dock.cleanup()


def test_train_from_the_menu_docks_the_widget_with_run_ready(make_napari_viewer, sample_slp, qtbot):
    viewer = make_napari_viewer()
    viewer.open(str(sample_slp), plugin=PLUGIN)
    layers = next(a.menu() for a in viewer.window.main_menu.actions() if a.text().replace("&", "") == "Layers")
    _action(_menu(layers, "Track"), "Train SLEAP models...").trigger()
    (dock,) = _docks(viewer)
    assert dock.isVisibleTo(viewer.window.main_menu.parent())
    assert not dock.run_panel.is_running  # settings first: nothing started
    _action(_menu(layers, "Track"), "Predict with SLEAP models...").trigger()
    assert _docks(viewer) == [dock]
    dock.cleanup()


def test_export_from_the_menu_writes_the_dock_settings_with_progress(make_napari_viewer, sample_slp, qtbot, tmp_path):
    viewer = make_napari_viewer()
    viewer.open(str(sample_slp), plugin=PLUGIN)
    _, dock = viewer.window.add_plugin_dock_widget(PLUGIN, "SLEAP Training")
    dock.session.pipeline.max_instances = 2
    result = export_from_dock(dock, tmp_path / "job.zip")
    assert result is not None and result.path == tmp_path / "job.zip"
    assert result.n_embedded >= 20  # the labeled frames travel as images
    with zipfile.ZipFile(result.path) as zf:
        assert {"job.json", "train.sh", result.project_file} <= set(zf.namelist())
    # an existing zip is not replaced without the dialog's confirmation
    assert export_from_dock(dock, tmp_path / "job.zip") is None
    dock.cleanup()
