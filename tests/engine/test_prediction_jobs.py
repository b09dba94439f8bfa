"""Prediction jobs (``engine/prediction_jobs.py``) with SLEAP 1.4 models: outputs that cannot be written."""

from __future__ import annotations

import shutil

import pytest
import sleap_io as sio

from napari_sleap_train.engine.errors import PredictionError
from napari_sleap_train.engine.inference import load_predictor
from napari_sleap_train.engine.prediction_jobs import evaluate_frames, predict_job
from napari_sleap_train.protocol.events import Message, Metrics, PredictProgress
from napari_sleap_train.protocol.job import PredictJob

MODELS = "models/minimal_instance.UNet."


@pytest.fixture
def project(shared_data, tmp_path):
    path = tmp_path / "minimal_instance.slp"
    shutil.copy(shared_data / "minimal/minimal_instance.slp", path)
    (tmp_path / "centered_pair_low_quality.mp4").symlink_to(shared_data / "minimal/centered_pair_low_quality.mp4")
    return path


def _blocker(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file")
    return blocker


def test_unwritable_predictions_say_prediction_failed(shared_data, project, tmp_path):
    job = PredictJob(
        labels_path=str(project),
        model_dirs=[str(shared_data / (MODELS + k)) for k in ("centroid", "centered_instance")],
        frames=[(0, 1)],
        output_path=str(_blocker(tmp_path) / "out.slp"),
    )
    events = []
    with pytest.raises(PredictionError, match=r"^Prediction failed: .*not_a_folder is a file, not a folder"):
        predict_job(job, events.append)
    assert not any(isinstance(e, PredictProgress) for e in events)  # refused before predicting


def test_metrics_that_cannot_be_written_are_a_warning(shared_data, project, tmp_path):
    predictor = load_predictor([shared_data / (MODELS + k) for k in ("centroid", "centered_instance")])
    labels = sio.load_slp(str(project))
    events = []
    result = evaluate_frames(predictor, labels, [(0, 0)], events.append, [_blocker(tmp_path) / "run"], "pipeline")
    assert result.n_matched == 2
    (warning,) = [e for e in events if isinstance(e, Message)]
    assert warning.level == "warning" and "metrics were not saved" in warning.text
    (metrics,) = [e for e in events if isinstance(e, Metrics)]
    assert metrics.path == ""
