"""progress_view: what the run panel's progress bar shows for each stage of a run (no Qt)."""

from __future__ import annotations

from napari_sleap_train.protocol import events as ev
from napari_sleap_train.session.run_state import TrainingState, apply_event
from napari_sleap_train.widgets.run_text import ProgressView, progress_view


def test_progress_follows_a_run_from_start_to_predictions():
    state = TrainingState()
    assert progress_view(state) == ProgressView(False)
    state.begin()
    assert progress_view(state).visible and progress_view(state).maximum == 0  # busy while starting
    apply_event(state, ev.Started(models=["centroid"]))
    apply_event(state, ev.ModelStarted(model="centroid", epochs=3, batches_per_epoch=4, n_train=8, n_val=1))
    apply_event(state, ev.Status(model="centroid", stage="training"))
    assert progress_view(state).text == "first batch"  # traced before the first batch event
    apply_event(state, ev.Batch(model="centroid", epoch=0, batch=0, loss=1.0))
    assert progress_view(state) == ProgressView(True, 12, 1, "epoch 1/3")
    apply_event(state, ev.Epoch(model="centroid", epoch=0, train_loss=1.0, val_loss=1.0))
    apply_event(state, ev.Batch(model="centroid", epoch=1, batch=3, loss=0.5))
    assert progress_view(state) == ProgressView(True, 12, 8, "epoch 2/3")
    apply_event(state, ev.PredictProgress(done=5, total=20))
    assert progress_view(state) == ProgressView(True, 20, 5, "predicting 5/20 frames")
    apply_event(state, ev.Done(status="finished"))
    assert not progress_view(state).visible
