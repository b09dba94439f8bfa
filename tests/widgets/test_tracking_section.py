"""The Tracking section of the pipeline tab: bound to the session's tracker settings."""

from __future__ import annotations


def _shown(widget) -> bool:
    """Not hidden by the section (the test viewer itself is not on screen)."""
    native = getattr(widget, "native", widget)
    return not native.isHidden()


def test_tracking_section_edits_the_sessions_settings_and_shows_what_applies(docked):
    _, dock = docked
    section = dock.pipeline_tab.tracking
    t = dock.session.pipeline.tracking
    section.tracker.value = "none"
    assert t.tracker == "none"
    assert not _shown(section.max_tracks) and not _shown(section.more_section)
    section.tracker.value = "simple"
    assert _shown(section.max_tracks) and not _shown(section.fb_fraction)  # no flow, no flow options
    section.tracker.value = "flow"
    section.more_section.expand(animate=False)
    assert _shown(section.fb_fraction)
    section.max_tracks.value = 3
    section.fb_fraction.value = 0.0  # off: SLEAP's flow tracker
    assert (t.tracker, t.max_tracks, t.flow.max_fb_error_fraction) == ("flow", 3, None)
    # settings set elsewhere (a loaded configuration) show in the widgets
    t.track_window = 9
    t.cull.max_instances = 2
    assert section.track_window.value == 9 and section.cull.value == 2
    job = dock.build_job()
    assert job.pipeline.tracking == t
