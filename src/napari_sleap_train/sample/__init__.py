"""Procedural sample project: walking "mice" with exact keypoints and hidden ground truth.

- :func:`generate_sample` renders frames and keypoints in memory (deterministic per seed).
- :func:`write_sample_project` writes ``sample.slp`` (labeled subset with tracks +
  suggestions), ``sample.mp4`` and ``sample.truth.slp`` (every frame) to a folder.
- :func:`default_sample_project` keeps one generated copy in the user cache (used by
  napari's File > Open Sample and ``napari-sleap-train demo``).

Command line: ``napari-sleap-train sample OUT_DIR [--seed S] [--frames N] [--animals K]``.
"""

from napari_sleap_train.sample.generate import SampleData, SampleParameterError, generate_sample
from napari_sleap_train.sample.project import SampleProject, cache_root, default_sample_project, write_sample_project
from napari_sleap_train.sample.skeleton import EDGES, NODE_NAMES, make_skeleton

__all__ = [
    "EDGES",
    "NODE_NAMES",
    "SampleData",
    "SampleParameterError",
    "SampleProject",
    "cache_root",
    "default_sample_project",
    "generate_sample",
    "make_skeleton",
    "write_sample_project",
]
