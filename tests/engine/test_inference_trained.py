"""Predictor on models trained by our engine (a few epochs), end to end through the pipeline hook."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.config.model import (
    ModelKind,
    OptimizationConfig,
    PipelineConfig,
    PipelineKind,
    TrainingConfig,
    UNetConfig,
)
from napari_sleap_train.config.tracking import TrackerSettings
from napari_sleap_train.protocol.events import (
    Done,
    Error,
    Metrics,
    Predictions,
    PredictProgress,
    parse_event,
)
from napari_sleap_train.protocol.job import TrainJob

pytestmark = pytest.mark.slow


def make_project(folder, n_frames=24, size=96, seed=0):
    """Two animals per frame: a bright head blob and a dim tail blob; every 2nd frame labeled."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    frames = np.zeros((n_frames, size, size, 1), np.uint8)
    truth = []
    for i in range(n_frames):
        img = np.full((size, size), 25.0, np.float32)
        pts = []
        for a in range(2):
            c = np.array([rng.uniform(20, size - 20), (a + 0.5) * size / 2 + rng.uniform(-5, 5)])
            ang = rng.uniform(0, 2 * np.pi)
            d = np.array([np.cos(ang), np.sin(ang)]) * 8.0
            head, tail = c + d, c - d
            for p, amp in ((head, 210.0), (tail, 100.0)):
                img += amp * np.exp(-((xx - p[0]) ** 2 + (yy - p[1]) ** 2) / 10.0)
            pts.append(np.stack([head, tail]))
        frames[i, ..., 0] = np.clip(img, 0, 255).astype(np.uint8)
        truth.append(np.stack(pts))
    sio.save_video(frames, str(folder / "blobs.mp4"), fps=10, crf=1)
    video = sio.Video.from_filename(str(folder / "blobs.mp4"))
    skel = sio.Skeleton(["head", "tail"])
    lfs = [
        sio.LabeledFrame(
            video=video, frame_idx=i, instances=[sio.Instance.from_numpy(p, skeleton=skel) for p in truth[i]]
        )
        for i in range(0, n_frames, 2)
    ]
    labels = sio.Labels(labeled_frames=lfs, videos=[video], skeletons=[skel])
    labels.suggestions = [sio.SuggestionFrame(video=video, frame_idx=i) for i in (1, 3, 5)]
    path = folder / "blobs.slp"
    sio.save_slp(labels, str(path), verbose=False)
    return path, truth


def small(kind: ModelKind) -> TrainingConfig:
    cfg = TrainingConfig(
        kind=kind,
        model=UNetConfig(max_stride=8, output_stride=2, filters=8, filters_rate=1.5),
        optimization=OptimizationConfig(batch_size=4, epochs=12, batches_per_epoch=12, learning_rate=3e-3),
    )
    cfg.data.validation_fraction = 0.2
    cfg.head.sigma = 2.0
    if kind == ModelKind.CENTROID:
        cfg.data.input_scaling = 0.5
    return cfg


class Recorder:
    """A Channel that keeps the events (what the pipeline and predict_job talk to)."""

    def __init__(self):
        from napari_sleap_train.engine.channel import Channel

        self.buffer = io.StringIO()
        self.channel = Channel(self.buffer)

    def events(self):
        return [parse_event(line) for line in self.buffer.getvalue().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from napari_sleap_train.engine.pipeline import run_train_job

    folder = tmp_path_factory.mktemp("blobs")
    path, truth = make_project(folder)
    models = {k: small(k) for k in PipelineKind.TOP_DOWN.model_kinds}
    pipeline = PipelineConfig(
        kind=PipelineKind.TOP_DOWN,
        models=models,
        anchor_part="head",
        device="cpu",
        tracking=TrackerSettings(tracker="flow", max_tracks=1),
    )
    job = TrainJob(
        labels_path=str(path),
        pipeline=pipeline,
        runs_folder=str(folder / "models"),
        predict_frames=[(0, 1), (0, 3), (0, 5), (0, 2)],
        predictions_path=str(folder / "predictions" / "blobs.new.predictions.slp"),
    )
    rec = Recorder()
    status = run_train_job(job, rec.channel)
    events = rec.events()
    errors = [e for e in events if isinstance(e, Error)]
    assert status == "finished", errors[0].traceback if errors else status
    return path, truth, events


def test_pipeline_hook_writes_merged_predictions(trained):
    path, _, events = trained
    done = events[-1]
    assert isinstance(done, Done) and done.predictions_path
    (pred_event,) = [e for e in events if isinstance(e, Predictions)]
    assert pred_event.path == done.predictions_path and pred_event.n_frames == 4
    progress = [e for e in events if isinstance(e, PredictProgress)]
    assert progress and progress[-1].done == progress[-1].total == 4
    # validation frames evaluated by the pipeline (metrics.json in the run folders), and
    # frame 2 of the predicted frames is labeled: evaluated next to the predictions
    metrics = {Path(e.path).name: e for e in events if isinstance(e, Metrics)}
    assert set(metrics) == {"metrics.json", "blobs.new.predictions.metrics.json"}
    assert metrics["blobs.new.predictions.metrics.json"].values["n_frames"] == 1
    assert Path(metrics["metrics.json"].path).parent.name.endswith("centroid")
    for run_dir in done.run_dirs:
        assert (Path(run_dir) / "metrics.json").is_file()

    project = sio.load_slp(str(path))
    merged = sio.load_slp(done.predictions_path)
    by_frame = {lf.frame_idx: lf for lf in merged.labeled_frames}
    # every user instance is still there, unchanged
    for lf in project.labeled_frames:
        got = by_frame[lf.frame_idx].user_instances
        assert [i.numpy().tolist() for i in got] == [i.numpy().tolist() for i in lf.user_instances]
    for fi in (1, 3, 5):
        assert by_frame[fi].predicted_instances, f"nothing predicted on frame {fi}"
    # the pipeline's tracker ran before the predictions were written: one track, never more
    assert pred_event.n_tracks == 1 and "on 1 track(s)" in pred_event.tracking
    assert not [e for e in events if "simple tracker" in str(getattr(e, "text", ""))]  # flow read the video
    predicted = [i for lf in merged.labeled_frames for i in lf.predicted_instances]
    assert {i.track.name for i in predicted if i.track is not None} == {"track_0"}
    assert all(sum(i.track is not None for i in lf.predicted_instances) <= 1 for lf in merged.labeled_frames)


def test_predictions_are_accurate_after_short_training(trained):
    from napari_sleap_train.engine.inference import load_predictor

    path, truth, events = trained
    run_dirs = events[-1].run_dirs
    predictor = load_predictor(run_dirs, max_instances=2)
    assert predictor.centroid.source == predictor.centered.source == "keras"
    labels = sio.load_slp(str(path))
    frames = [(0, i) for i in range(1, 24, 2)]  # never seen in training
    predicted = predictor.predict(labels, frames)
    errors = []
    for lf in predicted.labeled_frames:
        gt = truth[lf.frame_idx]
        for inst in lf.predicted_instances:
            p = inst.numpy()
            errors.append(np.nanmin(np.linalg.norm(gt - p[None], axis=-1).mean(axis=-1)))
    assert len(predicted.labeled_frames) >= 10
    assert np.median(errors) < 3.0, errors


def test_evaluate_runs_writes_metrics_json(trained):
    from napari_sleap_train.engine.prediction_jobs import evaluate_runs

    path, _, events = trained
    run_dirs = events[-1].run_dirs
    rec = Recorder()
    values = evaluate_runs(run_dirs, path, rec.channel)
    (metrics,) = [e for e in rec.events() if isinstance(e, Metrics)]
    assert metrics.values == json.loads(json.dumps(values))
    for d in run_dirs:
        data = json.loads((Path(d) / "metrics.json").read_text())
        assert data["n_frames"] >= 1 and data["node_names"] == ["head", "tail"]
