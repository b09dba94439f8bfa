"""``napari_sleap_train.outputs``: a failed write leaves nothing behind and never replaces a file."""

from __future__ import annotations

import pytest

from napari_sleap_train.outputs import OutputError, atomic_output, check_output_file, check_output_folder, write_text


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target, overwrite=True) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk gone")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_file_that_appeared_meanwhile_is_not_replaced(tmp_path):
    target = tmp_path / "out.slp"
    with pytest.raises(OutputError, match="exists already"), atomic_output(target) as tmp:
        tmp.write_text("new")
        target.write_text("someone else's")
    assert target.read_text() == "someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["out.slp"]


def test_checks_name_the_problem(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "file")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_output_file(tmp_path / "file" / "deeper" / "out.json")
    with pytest.raises(OutputError, match="exists already"):
        check_output_file(tmp_path / "file")
    assert check_output_file(tmp_path / "new" / "out.json") == tmp_path / "new" / "out.json"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    assert write_text(tmp_path / "new" / "out.json", "{}").read_text() == "{}"
