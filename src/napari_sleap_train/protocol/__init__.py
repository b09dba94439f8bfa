"""Job, events and commands shared by the runner (parent) and the engine (child), with their JSON.

The bottom layer of the process split: no Qt, no napari, no TensorFlow.
"""
