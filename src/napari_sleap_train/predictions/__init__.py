"""Predictions without TensorFlow: frame selection, peak finding, merging (numpy/sleap-io only)."""
