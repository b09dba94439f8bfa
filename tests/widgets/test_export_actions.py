"""The dock's "Export job..." and "Save SLEAP configs..." buttons, driven as a user would."""

from __future__ import annotations

import json
import zipfile

from qtpy.QtCore import Qt

from napari_sleap_train.config.model import ModelKind
from napari_sleap_train.config.sleap_json import read_sleap_config
from napari_sleap_train.session.reuse import Reuse
from tests.runner.tiny_project import write_run_folder


def _click(qtbot, button) -> None:
    qtbot.mouseClick(button.native, Qt.MouseButton.LeftButton)


def test_export_job_button_writes_the_package_with_the_dock_settings(docked, tmp_path, qtbot, notes):
    viewer, dock = docked
    session = dock.session
    centroid = session.pipeline.models[ModelKind.CENTROID]
    centroid.optimization.epochs = 23  # a setting made in the dock, to find in the package
    # the centroid tab uses a trained run as it is: the package must carry it
    run = write_run_folder(
        tmp_path / "runs" / "260101_000000.centroid", session.snapshot().models[ModelKind.CENTROID],
        dock.project.node_names,
    )  # fmt: skip
    session.reuse[ModelKind.CENTROID].how = Reuse.USE
    session.reuse[ModelKind.CENTROID].run = str(run)
    asked = []
    dock.exports.ask_zip = lambda parent, default: asked.append(default) or str(tmp_path / "out.zip")
    _click(qtbot, dock.pipeline_tab.export_job)
    assert asked and asked[0].endswith("sample.job.zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        names = zf.namelist()
        job = json.loads(zf.read("job.json"))
    assert "sample.pkg.slp" in names and "train.sh" in names
    assert "models/260101_000000.centroid/best_model.keras" in names
    assert job["use"] == ["models/260101_000000.centroid"]
    assert job["pipeline"]["models"]["centroid"]["optimization"]["epochs"] == 23
    assert any("Wrote the training job package" in m for _, m in notes)
    # cancelling the dialog writes nothing
    dock.exports.ask_zip = lambda parent, default: None
    (tmp_path / "out.zip").unlink()
    _click(qtbot, dock.pipeline_tab.export_job)
    assert not (tmp_path / "out.zip").exists()


def test_save_sleap_configs_button_writes_one_config_per_model(docked, tmp_path, qtbot, notes):
    viewer, dock = docked
    dock.session.pipeline.models[ModelKind.CENTERED_INSTANCE].optimization.batch_size = 3
    dock.exports.ask_folder = lambda parent, default: str(tmp_path)
    _click(qtbot, dock.pipeline_tab.save_sleap_configs)
    files = sorted(p.name for p in tmp_path.glob("*.training_config.json"))
    assert files == ["centered_instance.training_config.json", "centroid.training_config.json"]
    cfg = read_sleap_config(tmp_path / "centered_instance.training_config.json")
    assert cfg.optimization.batch_size == 3
    assert cfg.head.anchor_part == dock.session.pipeline.anchor_part
    # files already there: asked first; "no" keeps them as they are
    before = (tmp_path / "centroid.training_config.json").read_text()
    dock.session.pipeline.models[ModelKind.CENTROID].optimization.batch_size = 7
    asked = []
    dock.exports.ask_overwrite = lambda parent, names: asked.append(names) or False
    _click(qtbot, dock.pipeline_tab.save_sleap_configs)
    assert asked and (tmp_path / "centroid.training_config.json").read_text() == before
    dock.exports.ask_overwrite = lambda parent, names: True
    _click(qtbot, dock.pipeline_tab.save_sleap_configs)
    assert read_sleap_config(tmp_path / "centroid.training_config.json").optimization.batch_size == 7
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left over
