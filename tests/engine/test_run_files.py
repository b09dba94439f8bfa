"""Models and configs are written atomically: a full disk never leaves a truncated file behind."""

from __future__ import annotations

import resource
from contextlib import contextmanager

import keras
import numpy as np
import pytest

from napari_sleap_train.engine.run_files import save_model, write_text
from napari_sleap_train.outputs import OutputError
from tests.engine.keras_helpers import tiny_model


@contextmanager
def file_size_limit(n_bytes: int):
    """RLIMIT_FSIZE: writes past ``n_bytes`` fail with EFBIG, as on a full disk (Python ignores SIGXFSZ)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_failed_model_save_keeps_the_previous_best(tmp_path):
    path = tmp_path / "best_model.keras"
    model = tiny_model(1e-3)
    save_model(model, path)
    good = path.read_bytes()
    with file_size_limit(len(good) // 2), pytest.raises(Exception) as failed:
        save_model(model, path)
    assert isinstance(failed.value, OutputError) and "file-size limit" in str(failed.value)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_model.keras"]  # no partial file left
    loaded = keras.models.load_model(path, compile=False)
    x = np.zeros((1, *model.input_shape[1:]), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_failed_text_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "training_config.json"
    write_text(path, "{}\n")
    with file_size_limit(100), pytest.raises(OutputError, match="file-size limit"):
        write_text(path, "x" * 10_000)
    assert path.read_text() == "{}\n" and [p.name for p in tmp_path.iterdir()] == ["training_config.json"]


def test_leftover_temporaries_of_a_killed_write_are_removed_and_nothing_else(tmp_path):
    from napari_sleap_train.engine.run_files import remove_leftover_temporaries

    (tmp_path / "best_model.keras").write_bytes(b"model")
    (tmp_path / ".latest_model.keras.1a2b3c4d.tmp.keras").write_bytes(b"half")
    (tmp_path / "training_log.csv").write_text("epoch\n")
    removed = remove_leftover_temporaries(tmp_path)
    assert [p.name for p in removed] == [".latest_model.keras.1a2b3c4d.tmp.keras"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_model.keras", "training_log.csv"]
