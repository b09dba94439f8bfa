"""napari side of the plugin: the *SLEAP Training* dock and what it shows.

``dock.TrainingDock`` (the npe2 widget) holds the settings tabs (``tabs/``, bound
to the Qt-free ``session.TrainingSession``), the live preview layers
(``previews/``, numpy only) and the run panel (``run_panel``). Nothing outside
this package imports it, and nothing in it imports TensorFlow.
"""
