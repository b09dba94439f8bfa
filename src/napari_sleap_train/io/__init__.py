"""The napari side of SLEAP projects: reader, writer, layers, layer sync, live skeleton.

The project model itself (loading, instances, edits, merging, saving) is
:mod:`napari_sleap_train.project`, which imports no napari. Here::

    from napari_sleap_train.io.binding import find_project, refresh_layers

    project = find_project(viewer.layers)   # bound to its labels layer
    project.add_predictions(path)           # -> PredictionsUpdate (counts, summary)
    refresh_layers(project, viewer.layers)  # updates / inserts the predictions layers

The reader (``io.reader:get_reader``) and writer (``io.writer:write_slp``) are
npe2 contributions. This package's ``__init__`` imports nothing, so that
importing a submodule loads only what it needs.
"""
