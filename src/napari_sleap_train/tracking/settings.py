"""The tracker's settings; they live in :mod:`napari_sleap_train.config.tracking` (jobs carry them)."""

from napari_sleap_train.config.tracking import (  # noqa: F401
    MATCHES,
    OKS_NORMALIZATIONS,
    SIMILARITIES,
    TRACKERS,
    CullSettings,
    FlowSettings,
    MatchKind,
    SimilarityKind,
    TrackerKind,
    TrackerSettings,
    TrackingSettingsError,
)
