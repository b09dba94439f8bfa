"""Tabs of the training dock and the pure-Python settings state they edit."""
