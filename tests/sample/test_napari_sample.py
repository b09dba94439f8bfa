"""File > Open Sample: the procedural project through napari and the plugin's reader.

Needs the package installed (``pip install -e . --no-deps``) and a display (``xvfb-run -a``).
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.io.binding import find_project
from napari_sleap_train.sample.project import CACHE_ENV

PLUGIN = "napari-sleap-train"


@pytest.fixture(scope="module")
def sample_cache(tmp_path_factory):
    """Generate the default sample once for the module, in a private cache folder."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(cache))
        yield cache


def test_sample_data_is_declared_in_the_manifest():
    from npe2 import PluginManager

    pm = PluginManager.instance()
    pm.discover()
    (contrib,) = pm.get_manifest(PLUGIN).contributions.sample_data
    assert contrib.key == "sample_project"
    command = pm.get_command(contrib.command)
    assert command.python_name == "napari_sleap_train.sample.napari_sample:sample_project"


def test_sample_project_returns_the_readers_layers(sample_cache):
    from napari_sleap_train.io.reader import read_slp
    from napari_sleap_train.sample.napari_sample import sample_project

    layers = sample_project()
    (folder,) = [p for p in sample_cache.iterdir() if p.name.startswith("sample-")]
    expected = read_slp(str(folder / "sample.slp"))
    assert [(kind, meta["name"]) for _, meta, kind in layers] == [(kind, meta["name"]) for _, meta, kind in expected]
    kinds = [kind for _, _, kind in layers]
    assert "image" in kinds and "points" in kinds
    image = next(data for data, _, kind in layers if kind == "image")
    assert image.shape[:3] == (300, 384, 384)
    points = next(data for data, _, kind in layers if kind == "points")
    assert len(points) == 40 * 2 * 8  # 40 labeled frames x 2 mice x 8 nodes
    # Reused from the cache on the next call (no second folder).
    sample_project()
    assert len([p for p in sample_cache.iterdir() if p.name.startswith("sample-")]) == 1


def test_open_sample_in_napari(make_napari_viewer, sample_cache):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "sample_project")
    kinds = {layer._type_string for layer in viewer.layers}
    assert {"image", "points"} <= kinds
    project = find_project(viewer.layers)
    assert project is not None
    labels = project.labels
    assert len(labels.labeled_frames) == 40
    assert len(labels.suggestions) == 20
    assert [t.name for t in labels.tracks] == ["mouse1", "mouse2"]
    image = next(layer for layer in viewer.layers if layer._type_string == "image")
    frame = np.asarray(image.data[10])
    assert frame.shape[:2] == (384, 384) and frame.std() > 5
    (folder,) = [p for p in sample_cache.iterdir() if p.name.startswith("sample-")]
    truth = sio.load_slp(str(folder / "sample.truth.slp"), open_videos=False)
    assert len(truth.labeled_frames) == 300
