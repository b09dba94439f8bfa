"""Mixed precision and XLA, forced on, through the real child process on CPU.

On a GPU workstation ``precision="auto"`` / ``xla="auto"`` pick these; here the
same code path (Keras ``mixed_float16`` with loss scaling, ``jit_compile``)
runs on CPU, and the model trained in float16 must still predict (in float32).
"""

from __future__ import annotations

import math

import pytest
import sleap_io as sio

from napari_sleap_train.config.model import PipelineKind, Precision, Switch
from napari_sleap_train.protocol.events import (
    Batch,
    Done,
    Epoch,
    Error,
    Message,
    Predictions,
)
from napari_sleap_train.runner.process import EngineProcess
from tests.runner.tiny_project import make_tiny_project, tiny_job


@pytest.fixture(scope="module")
def tiny_slp(tmp_path_factory):
    return make_tiny_project(tmp_path_factory.mktemp("tiny"), n_frames=8)


def _train(tmp_path, tiny_slp, precision, xla):
    job = tiny_job(tiny_slp, tmp_path / "runs", kind=PipelineKind.SINGLE_INSTANCE, epochs=2, batches=3)
    job.pipeline.precision = precision
    job.pipeline.xla = xla
    job.predict_frames = [(0, 1), (0, 2)]
    job.predictions_path = str(tmp_path / "predictions.slp")
    proc = EngineProcess(work_dir=tmp_path / "work")
    proc.start(job)
    events = list(proc.events())
    errors = [e for e in events if isinstance(e, Error)]
    assert not errors, errors[0].message + errors[0].traceback
    return events


def test_mixed_precision_and_xla_train_and_predict(tmp_path, tiny_slp):
    events = _train(tmp_path, tiny_slp, Precision.MIXED, Switch.ON)
    said = [e.text for e in events if isinstance(e, Message)]
    line = next(t for t in said if t.startswith("Computation:"))
    assert "mixed precision (float16), XLA on" in line
    assert "usually slower" in line  # forced on a CPU: the user is told it will not pay off here
    losses = [e.loss for e in events if isinstance(e, Batch)]
    assert losses and all(math.isfinite(loss) and loss < 1e3 for loss in losses)  # loss scaling works
    assert len([e for e in events if isinstance(e, Epoch)]) == 2
    done = events[-1]
    assert isinstance(done, Done) and done.status == "finished"
    # the float16-trained model was loaded for prediction (in float32) and ran on both frames
    (predictions,) = [e for e in events if isinstance(e, Predictions)]
    assert predictions.path == done.predictions_path and predictions.n_frames == 2
    assert sio.load_slp(done.predictions_path).labeled_frames


def test_auto_on_a_cpu_is_float32_without_xla(tmp_path, tiny_slp):
    events = _train(tmp_path, tiny_slp, Precision.AUTO, Switch.AUTO)
    line = next(e.text for e in events if isinstance(e, Message) and e.text.startswith("Computation:"))
    assert line == "Computation: float32, XLA off."
