"""Train SLEAP-style pose models from napari.

The napari process only ever imports ``io``, ``config``, ``data``, ``runner``,
``evaluate``, ``sample`` and ``widgets``; TensorFlow lives in ``engine`` and runs
in a child process started by ``runner``.
"""

__version__ = "0.1.0"
