"""Live previews of the training settings drawn on the napari viewer (numpy only)."""
