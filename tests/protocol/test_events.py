"""The JSON-line protocol between the training child and napari."""

import math

from napari_sleap_train.protocol import events as ev


def test_every_event_round_trips():
    samples = [
        ev.Started(pid=12, hardware="cpu", device_names=["CPU:0"], description="CPU: 2 cores"),
        ev.Status(model="centroid", stage="compiling"),
        ev.ModelStarted(model="centroid", run_dir="/r", epochs=3, crop_size=None),
        ev.Batch(model="centroid", epoch=1, batch=7, loss=0.25, elapsed=3.5),
        ev.Epoch(model="centroid", epoch=1, train_loss=0.3, val_loss=0.2, eta=12.0),
        ev.Checkpoint(model="centroid", epoch=1, path="/r/best_model.keras"),
        ev.ModelFinished(model="centroid", reason="early_stopping", best_epoch=1),
        ev.PredictProgress(done=3, total=10),
        ev.Predictions(path="/p.slp", n_frames=0, explanation="all suggested frames are labeled"),
        ev.Metrics(model="pipeline", values={"mAP": 0.8, "per_node": {"head": 1.5}}),
        ev.Message(text="hello", level="warning"),
        ev.Error(message="Out of memory", kind="oom", hint="lower the batch size"),
        ev.Done(status="stopped", run_dirs=["/r"], predictions_path=None),
    ]
    assert {type(s) for s in samples} == set(ev.EVENT_TYPES.values())
    for sample in samples:
        line = sample.to_json()
        assert "\n" not in line
        back = ev.parse_event(line)
        assert type(back) is type(sample)
        assert back.to_json() == line  # NaN defaults compare unequal, JSON does not


def test_nan_losses_survive():
    line = ev.Epoch(model="m", epoch=0).to_json()
    back = ev.parse_event(line)
    assert math.isnan(back.train_loss) and math.isnan(back.val_loss)


def test_stray_output_becomes_a_message_not_a_crash():
    for junk in ["2026-11-25 W tensorflow: blah", '{"type": "unknown"}', "[1, 2]", ""]:
        out = ev.parse_event(junk)
        assert isinstance(out, ev.Message)


def test_unknown_fields_from_a_newer_child_are_ignored():
    out = ev.parse_event('{"type": "batch", "loss": 1.0, "gpu_util": 0.5}')
    assert out == ev.Batch(loss=1.0)


def test_commands_round_trip():
    for cmd in [ev.StopCommand(), ev.CancelCommand(), ev.SetLRCommand(learning_rate=3e-4)]:
        assert ev.parse_command(cmd.to_json()) == cmd
    assert ev.parse_command("garbage") is None
    assert ev.parse_command('{"type": "reboot"}') is None
