"""Training-data math shared by the TensorFlow engine and the live GUI previews.

numpy + OpenCV only (never Qt or TensorFlow). Modules:

- :mod:`.labels` -- sleap-io labels as :class:`~.labels.FrameSample` arrays, node lookup, symmetries
- :mod:`.anchors` -- instance anchors (anchor node or bounding-box midpoint)
- :mod:`.receptive_field` -- U-Net receptive field (network and frame pixels)
- :mod:`.crops` -- rotation-aware auto crop size, crop boxes and extraction
- :mod:`.scaling` -- input scaling, stride padding, point (un)scaling
- :mod:`.confmaps` -- Gaussian confidence maps on the output-stride grid
- :mod:`.augmentation` -- geometric and photometric augmentation
- :mod:`.split` -- deterministic train/validation split
- :mod:`.training_inputs` -- network inputs and targets for every model kind
"""
