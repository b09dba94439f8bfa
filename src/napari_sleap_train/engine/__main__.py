"""Child-process entry: ``python -m napari_sleap_train.engine JOB.json [--parent]``.

Runs a training or prediction job written by
:func:`napari_sleap_train.protocol.job.save_job`, writing JSON-line events to
stdout and reading commands from stdin. ``--parent`` (set by the runner) means
stdin closing is the parent going away, which *stops* the run keeping every
model trained so far (only an explicit ``cancel`` command deletes anything). Exit code 0
when the job finished, was stopped or cancelled; 1 when it failed; 2 when the
job file is unusable.
"""

from __future__ import annotations

import argparse
import os
import sys

from napari_sleap_train.config.serialize import ConfigError
from napari_sleap_train.engine.channel import Channel
from napari_sleap_train.protocol.events import Done, Error
from napari_sleap_train.protocol.job import TrainJob, load_job

#: niceness added to the child: on a laptop the trainer takes every core, and napari
#: (same machine, normal priority) must still get the CPU the moment it needs it
NICE_ENV = "NAPARI_SLEAP_TRAIN_NICE"
DEFAULT_NICE = 10


def lower_priority() -> int:
    """Run below normal priority so the GUI stays responsive; returns the increment used.

    Training speed is unchanged when nothing else wants the CPU. ``NAPARI_SLEAP_TRAIN_NICE=0``
    turns it off (e.g. on a dedicated cluster node).
    """
    try:
        increment = int(os.environ.get(NICE_ENV, DEFAULT_NICE))
    except ValueError:
        increment = DEFAULT_NICE
    if increment <= 0 or not hasattr(os, "nice"):
        return 0
    try:
        os.nice(increment)
    except OSError:
        return 0
    return increment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m napari_sleap_train.engine")
    parser.add_argument("job", help="job file (JSON) written by the runner or `napari-sleap-train export-job`")
    parser.add_argument(
        "--parent", action="store_true", help="stop (keeping the trained models) when stdin closes (set by the runner)"
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    lower_priority()
    channel = Channel.from_stdio()
    channel.start_reader(sys.stdin, stop_on_eof=args.parent)
    try:
        job = load_job(args.job)
    except ConfigError as exc:
        channel.emit(Error(message=str(exc), kind="config", hint="check the job file"))
        channel.emit(Done(status="failed"))
        channel.close()
        return 2

    from napari_sleap_train.engine.pipeline import run_predict_job, run_train_job

    if isinstance(job, TrainJob):
        status = run_train_job(job, channel)
    else:
        status = run_predict_job(job, channel)
    channel.close()
    return 1 if status == "failed" else 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    # Skip interpreter teardown: TensorFlow's thread pools can take seconds to
    # wind down, and every event has been flushed already.
    os._exit(code)
