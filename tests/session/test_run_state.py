"""apply_event: every event type updates the pure-Python TrainingState (no Qt)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from napari_sleap_train.protocol import events as ev
from napari_sleap_train.session.run_state import (
    GrowableArray,
    RunStatus,
    TrainingState,
    apply_event,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> TrainingState:
    s = TrainingState(clock=clock)
    s.begin()
    return s


def record(state: TrainingState) -> list[tuple[str, tuple]]:
    """Collect every signal emission of ``state`` as (name, args)."""
    seen: list[tuple[str, tuple]] = []
    for name in (
        "changed",
        "batch_added",
        "epoch_added",
        "model_started",
        "reset",
        "error",
        "message",
        "predictions_ready",
        "metrics_added",
        "finished",
    ):
        getattr(state, name).connect(lambda *args, _n=name: seen.append((_n, args)))
    return seen


def start_model(state: TrainingState, model: str = "centroid", epochs: int = 10, bpe: int = 4) -> None:
    apply_event(
        state,
        ev.ModelStarted(
            model=model,
            run_dir=f"/runs/x.{model}",
            epochs=epochs,
            batches_per_epoch=bpe,
            n_train=18,
            n_val=2,
            patience=5,
        ),
    )


def epoch(
    state: TrainingState,
    i: int,
    train: float,
    val: float,
    best: int,
    best_val: float,
    wait: int = 0,
    eta: float | None = None,
    model: str = "centroid",
) -> None:
    apply_event(
        state,
        ev.Epoch(
            model=model,
            epoch=i,
            train_loss=train,
            val_loss=val,
            learning_rate=1e-4,
            elapsed=2.0 * (i + 1),
            epoch_time=2.0,
            best_epoch=best,
            best_val_loss=best_val,
            epochs_without_improvement=wait,
            patience=5,
            eta=eta,
        ),
    )


def test_begin_resets_and_marks_starting(clock: FakeClock) -> None:
    s = TrainingState(clock=clock)
    assert s.status is RunStatus.IDLE and not s.is_running
    seen = record(s)
    s.begin()
    assert s.status is RunStatus.STARTING and s.is_running
    assert [n for n, _ in seen] == ["reset", "changed"]
    assert s.started_at == clock.now


def test_started_sets_hardware_and_models(state: TrainingState) -> None:
    seen = record(state)
    apply_event(
        state,
        ev.Started(
            pid=42,
            hardware="cpu",
            description="CPU (2 cores), no GPU found",
            tensorflow_version="2.21",
            models=["centroid", "centered_instance"],
        ),
    )
    assert state.hardware == "CPU (2 cores), no GPU found"
    assert state.models == ["centroid", "centered_instance"]
    assert state.pid == 42 and state.tensorflow_version == "2.21"
    assert ("changed", ()) in seen


def test_status_sets_stage_and_predicting(state: TrainingState) -> None:
    apply_event(state, ev.Status(model="centroid", stage="loading labels", detail="20 frames"))
    assert (state.stage, state.stage_detail, state.model) == ("loading labels", "20 frames", "centroid")
    assert state.status is RunStatus.STARTING
    apply_event(state, ev.Status(stage="predicting"))
    assert state.status is RunStatus.PREDICTING


def test_model_started_creates_history_and_resets_counters(state: TrainingState) -> None:
    apply_event(state, ev.Started(models=["centroid", "centered_instance"]))
    seen = record(state)
    start_model(state, "centroid", epochs=10, bpe=4)
    assert state.status is RunStatus.TRAINING
    assert state.model == "centroid" and state.model_position == (1, 2)
    assert (state.epochs, state.batches_per_epoch, state.patience) == (10, 4, 5)
    assert state.run_dirs == ["/runs/x.centroid"]
    assert ("model_started", ("centroid",)) in seen
    epoch(state, 0, 1.0, 0.9, best=0, best_val=0.9)
    start_model(state, "centered_instance", epochs=7, bpe=3)
    assert state.model_position == (2, 2)
    assert state.best_epoch is None and state.epoch is None and state.last_val_loss is None
    assert state.history.n_epochs == 0
    # the first model's history is kept (the plot can show it)
    assert state.histories["centroid"].n_epochs == 1
    assert state.run_dirs == ["/runs/x.centroid", "/runs/x.centered_instance"]


def test_batch_points_at_fractional_epochs(state: TrainingState) -> None:
    start_model(state, bpe=4)
    seen = record(state)
    for e in range(2):
        for b in range(4):
            apply_event(state, ev.Batch(model="centroid", epoch=e, batch=b, loss=1.0 / (1 + b), elapsed=0.5))
    h = state.history
    np.testing.assert_allclose(h.batch_x.data, [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0])
    np.testing.assert_allclose(h.batch_loss.data[:4], [1.0, 0.5, 1 / 3, 0.25])
    assert (state.current_epoch, state.batch, state.last_batch_loss) == (1, 3, 0.25)
    assert sum(1 for n, _ in seen if n == "batch_added") == 8


def test_batch_with_unknown_epoch_length_stays_inside_epoch(state: TrainingState) -> None:
    start_model(state, bpe=0)
    for b in range(3):
        apply_event(state, ev.Batch(model="centroid", epoch=0, batch=b, loss=1.0))
    xs = state.history.batch_x.data
    assert np.all(xs > 0) and np.all(xs <= 1.0)


def test_batch_before_model_started_creates_history(state: TrainingState) -> None:
    apply_event(state, ev.Batch(model="single_instance", epoch=0, batch=0, loss=2.0))
    assert state.model == "single_instance"
    assert len(state.histories["single_instance"].batch_x) == 1
    assert state.status is RunStatus.TRAINING


def test_epoch_updates_best_plateau_and_eta(state: TrainingState, clock: FakeClock) -> None:
    start_model(state)
    seen = record(state)
    epoch(state, 0, 1.0, 0.8, best=0, best_val=0.8, wait=0, eta=18.0)
    epoch(state, 1, 0.7, 0.5, best=1, best_val=0.5, wait=0, eta=16.0)
    epoch(state, 2, 0.6, 0.55, best=1, best_val=0.5, wait=1, eta=14.0)
    assert state.epoch == 2 and state.current_epoch == 3
    assert (state.best_epoch, state.best_val_loss) == (1, 0.5)
    assert state.epochs_without_improvement == 1 and state.patience == 5
    assert (state.last_train_loss, state.last_val_loss, state.learning_rate) == (0.6, 0.55, 1e-4)
    h = state.history
    np.testing.assert_allclose(h.epoch_x, [1, 2, 3])
    np.testing.assert_allclose(h.val_loss.data, [0.8, 0.5, 0.55])
    assert h.best_x == 2.0
    assert state.eta_now() == 14.0
    clock.now += 4.0
    assert state.eta_now() == 10.0
    clock.now += 100.0
    assert state.eta_now() == 0.0
    assert sum(1 for n, _ in seen if n == "epoch_added") == 3


def test_epoch_without_best_fields_tracks_minimum(state: TrainingState) -> None:
    start_model(state)
    for i, val in enumerate([0.9, 0.4, 0.6]):
        apply_event(state, ev.Epoch(model="centroid", epoch=i, train_loss=1.0, val_loss=val))
    assert (state.best_epoch, state.best_val_loss) == (1, 0.4)


def test_checkpoint_records_best_model_path(state: TrainingState) -> None:
    start_model(state)
    apply_event(state, ev.Checkpoint(model="centroid", epoch=3, path="/runs/x.centroid/best_model.keras"))
    assert state.checkpoints == {"centroid": "/runs/x.centroid/best_model.keras"}


def test_model_finished_records_reason_and_best(state: TrainingState) -> None:
    start_model(state)
    epoch(state, 0, 1.0, 0.8, best=0, best_val=0.8, eta=10.0)
    apply_event(
        state,
        ev.ModelFinished(
            model="centroid",
            run_dir="/runs/x.centroid",
            reason="early_stopping",
            best_epoch=0,
            best_val_loss=0.8,
            epochs_trained=1,
        ),
    )
    assert state.finish_reasons == {"centroid": "early_stopping"}
    assert state.best_epoch == 0 and state.eta_now() is None


def test_predict_progress_and_predictions(state: TrainingState) -> None:
    seen = record(state)
    apply_event(state, ev.PredictProgress(done=3, total=20))
    assert state.status is RunStatus.PREDICTING
    assert (state.predict_done, state.predict_total) == (3, 20)
    p = ev.Predictions(path="/runs/predictions.slp", n_frames=20, n_instances=40)
    apply_event(state, p)
    assert state.predictions is p and state.predictions_path == "/runs/predictions.slp"
    assert ("predictions_ready", (p,)) in seen


def test_metrics_are_kept_per_model(state: TrainingState) -> None:
    seen = record(state)
    m = ev.Metrics(model="centered_instance", values={"oks_map": 0.71, "dist_p90": 3.2}, path="/m.json")
    apply_event(state, m)
    assert state.metrics == {"centered_instance": {"oks_map": 0.71, "dist_p90": 3.2}}
    assert state.metrics_paths == {"centered_instance": "/m.json"}
    assert ("metrics_added", (m,)) in seen


def test_message_is_logged(state: TrainingState) -> None:
    seen = record(state)
    m = ev.Message(text="few labeled frames", level="warning")
    apply_event(state, m)
    assert state.messages == [m]
    assert ("message", (m,)) in seen


def test_error_then_done_failed(state: TrainingState, clock: FakeClock) -> None:
    seen = record(state)
    err = ev.Error(message="Out of memory", kind="oom", hint="Lower the batch size")
    apply_event(state, err)
    assert state.last_error is err and state.is_running  # Done decides the end
    clock.now += 7.0
    apply_event(state, ev.Done(status="failed"))
    assert state.status is RunStatus.FAILED and not state.is_running
    assert state.elapsed() == 7.0
    clock.now += 50.0
    assert state.elapsed() == 7.0  # frozen at the end
    names = [n for n, _ in seen]
    assert names.index("error") < names.index("finished")


@pytest.mark.parametrize(
    "status, expected",
    [
        ("finished", RunStatus.FINISHED),
        ("stopped", RunStatus.STOPPED),
        ("cancelled", RunStatus.CANCELLED),
        ("failed", RunStatus.FAILED),
        ("weird", RunStatus.FAILED),
    ],
)
def test_done_maps_status(state: TrainingState, status: str, expected: RunStatus) -> None:
    start_model(state)
    apply_event(state, ev.Done(status=status, run_dirs=["/runs/x.centroid"], predictions_path="/p.slp"))
    assert state.status is expected and state.status.is_final
    assert state.done is not None and state.predictions_path == "/p.slp"


def test_done_cancelled_forgets_removed_run_dirs(state: TrainingState) -> None:
    start_model(state)
    apply_event(state, ev.Done(status="cancelled", run_dirs=[]))
    assert state.run_dirs == []


def test_fail_from_parent_side(state: TrainingState) -> None:
    state.fail("The engine could not start", hint="Reinstall the plugin")
    assert state.status is RunStatus.FAILED
    assert state.last_error is not None and state.last_error.hint == "Reinstall the plugin"


def test_unknown_event_is_ignored(state: TrainingState) -> None:
    apply_event(state, ev.Event())
    assert state.status is RunStatus.STARTING


def test_every_event_type_has_a_handler() -> None:
    from napari_sleap_train.session.run_state import _HANDLERS

    assert set(ev.EVENT_TYPES.values()) <= set(_HANDLERS)


def test_growable_array_grows_and_clears() -> None:
    a = GrowableArray(2)
    for i in range(1000):
        a.append(i)
    assert len(a) == 1000 and a.data[-1] == 999 and a.data.sum() == sum(range(1000))
    a.clear()
    assert len(a) == 0 and a.data.size == 0


def test_nan_losses_do_not_break_best(state: TrainingState) -> None:
    start_model(state)
    apply_event(state, ev.Epoch(model="centroid", epoch=0, train_loss=math.nan, val_loss=math.nan))
    assert state.best_epoch is None and state.best_val_loss is None


def test_batches_end_earlier_stages(state: TrainingState) -> None:
    start_model(state)
    apply_event(state, ev.Status(model="centroid", stage="training", detail="first batch (the graph is traced once)"))
    assert state.stage_detail
    apply_event(state, ev.Batch(model="centroid", epoch=0, batch=0, loss=1.0))
    assert (state.stage, state.stage_detail) == ("training", "")
    apply_event(state, ev.Status(model="centered_instance", stage="compiling"))
    assert state.stage == "compiling"
    apply_event(state, ev.Epoch(model="centroid", epoch=0, train_loss=1.0, val_loss=1.0))
    assert state.stage == "training"
