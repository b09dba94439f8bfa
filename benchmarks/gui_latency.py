"""Benchmark: napari event-loop latency while a real training runs in the background.

Run from the repository root::

    python -m benchmarks.gui_latency [--window-seconds 180] [--idle-seconds 10] [--quick]

What it does, the way a user would:

1. opens a real napari viewer (under the current X display; with no
   ``DISPLAY`` the benchmark re-runs itself under ``xvfb-run -a``) and the
   procedural sample project (a copy of the cached default sample in a
   temporary folder) with the plugin's reader;
2. docks Plugins > SLEAP Training, sets a small number of batches per epoch
   (so epoch events arrive during the window) and presses Run: the engine
   child trains the default top-down pipeline with TensorFlow;
3. meanwhile a ``QTimer`` probe (``--interval-ms``, default 10 ms) records
   the real time between its ticks with ``time.perf_counter``: a gap much
   longer than the interval is the event loop being busy (a frozen GUI).
   The probe runs for ``--idle-seconds`` before Run (the baseline), from Run
   to the first batch event (the child starting TensorFlow and preparing the
   data), and for ``--window-seconds`` of training after the first batch;
4. cancels the run and closes napari.

It prints, per phase, the p50 / p99 / max gap in ms, the share of gaps over
50 ms and the CPU the napari process used (a late tick with a busy process is
GUI work; with an idle one it is the training child starving it of cores),
and the number of batch and epoch events the widget received during
the training window (each one redraws the loss plot on the GUI thread).
``--quick``: 30 s training window, 4 s idle baseline. ``--stalls`` adds where
the GUI thread was while a tick was late (sampled Python stacks).
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make "benchmarks" importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: Set in the re-run under xvfb-run so it never re-runs itself again.
XVFB_MARK = "NAPARI_SLEAP_TRAIN_BENCH_XVFB"
#: A gap longer than this is a visible stutter.
STUTTER_MS = 50.0


# ------------------------------------------------------------------ the probe
@dataclass
class Probe:
    """Tick times of a repeating ``QTimer``, split into named phases.

    The timer asks for a tick every ``interval_ms``; while the event loop is
    busy (painting, handling events, Python code on the GUI thread) the tick
    comes late, so the gaps between ticks measure how long the GUI could not
    respond.
    """

    interval_ms: float
    phase: str | None = None
    ticks: dict[str, list[float]] = field(default_factory=dict)
    last_tick: float = 0.0

    def start(self) -> None:
        from qtpy.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(int(self.interval_ms))
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    cpu: dict[str, float] = field(default_factory=dict)
    wall: dict[str, float] = field(default_factory=dict)

    def begin(self, phase: str | None) -> None:
        """Record the following ticks under ``phase`` (``None``: record nothing).

        Also accumulates the CPU time of this process (every thread) and the
        wall time per phase, to tell a busy GUI thread from a starved one.
        """
        now, cpu = time.perf_counter(), time.process_time()
        if self.phase is not None:
            self.wall[self.phase] = self.wall.get(self.phase, 0.0) + now - self._since[0]
            self.cpu[self.phase] = self.cpu.get(self.phase, 0.0) + cpu - self._since[1]
        self._since = (now, cpu)
        self.phase = phase
        if phase is not None:
            # from the last tick on: a phase that starts with a long call counts its gap
            self.ticks.setdefault(phase, []).extend([self.last_tick] if self.last_tick else [])

    def cpu_share(self, phase: str) -> float | None:
        """CPU time of this process over wall time in ``phase`` (1.0 = one core busy)."""
        wall = self.wall.get(phase)
        return self.cpu[phase] / wall if wall else None

    def _tick(self) -> None:
        self.last_tick = time.perf_counter()
        if self.phase is not None:
            self.ticks[self.phase].append(self.last_tick)

    def gaps_ms(self, phase: str) -> np.ndarray:
        return np.diff(np.asarray(self.ticks.get(phase, []))) * 1000.0


def gap_figures(gaps_ms: np.ndarray) -> dict[str, float]:
    """p50 / p99 / max gap and the share of gaps over :data:`STUTTER_MS`."""
    if gaps_ms.size == 0:
        return {}
    return {
        "p50": float(np.percentile(gaps_ms, 50)),
        "p99": float(np.percentile(gaps_ms, 99)),
        "max": float(gaps_ms.max()),
        "over": float(np.mean(gaps_ms > STUTTER_MS)),
        "n": int(gaps_ms.size),
    }


def wait(seconds: float, until=None, poll_s: float = 0.05) -> bool:
    """Run the Qt event loop for ``seconds`` (or until ``until()`` is true); return ``until()``'s last value."""
    from qtpy.QtCore import QEventLoop, QTimer

    deadline = time.perf_counter() + seconds
    loop = QEventLoop()
    while time.perf_counter() < deadline:
        if until is not None and until():
            return True
        QTimer.singleShot(int(min(poll_s, max(deadline - time.perf_counter(), 0.0)) * 1000), loop.quit)
        loop.exec()
    return bool(until()) if until is not None else True


class StallSampler(threading.Thread):
    """While the probe's tick is overdue, sample what the GUI thread runs.

    Every ``every_ms`` it looks at the probe; when the last tick is more than
    ``late_ms`` old (in the phase of interest) it records the GUI thread's
    Python stack (``sys._current_frames``). The stacks seen most often are
    where the event loop was stuck; a stack ending in the event loop itself
    means C++ work (painting) or a starved process.
    """

    def __init__(self, phase: str | tuple[str, ...], late_ms: float = 30.0, every_ms: float = 2.0) -> None:
        super().__init__(daemon=True, name="stall-sampler")
        self.probe: Probe | None = None
        self.phases = (phase,) if isinstance(phase, str) else tuple(phase)
        self.late_s, self.every_s = late_ms / 1000, every_ms / 1000
        self.main_id = threading.main_thread().ident
        self.stacks: collections.Counter = collections.Counter()
        self.running = True

    def watch(self, probe: Probe) -> None:
        """Start sampling against ``probe``'s ticks."""
        self.probe = probe
        self.start()

    def run(self) -> None:
        while self.running:
            time.sleep(self.every_s)
            if self.probe.phase not in self.phases or not self.probe.last_tick:
                continue
            if time.perf_counter() - self.probe.last_tick > self.late_s:
                frame = sys._current_frames().get(self.main_id)
                self.stacks[_stack_text(frame)] += 1

    def report(self, top: int = 8) -> str:
        total = sum(self.stacks.values())
        lines = [
            f"stall samples ({self.every_s * 1000:g} ms apart while a tick was over "
            f"{self.late_s * 1000:g} ms late): {total}"
        ]
        for stack, n in self.stacks.most_common(top):
            lines.append(f"  {100 * n / max(total, 1):5.1f} %  {stack}")
        return "\n".join(lines)


def _stack_text(frame, depth: int = int(os.environ.get("GUI_LATENCY_STACK_DEPTH", "7"))) -> str:
    """The innermost ``depth`` frames, outermost first, as ``file:function`` items."""
    names = []
    while frame is not None and len(names) < depth:
        code = frame.f_code
        names.append(f"{Path(code.co_filename).stem}:{code.co_name}")
        frame = frame.f_back
    return " > ".join(reversed(names))


# --------------------------------------------------------------- the session
def sample_copy(into: Path) -> Path:
    """A copy of the cached default sample project in ``into`` (runs are written next to it)."""
    from napari_sleap_train.sample import default_sample_project

    cached = default_sample_project()
    target = into / "sample"
    shutil.copytree(cached.folder, target)
    return target / cached.labels_path.name


def measure(
    window_s: float,
    idle_s: float,
    interval_ms: float,
    batches_per_epoch: int,
    startup_limit_s: float = 300.0,
    stalls: StallSampler | None = None,
) -> dict:
    """Open napari with the sample, train, probe the event loop; return the figures."""
    import napari

    from napari_sleap_train.session.run_state import RunStatus

    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="gui_latency.") as tmp:
        slp = sample_copy(Path(tmp))
        t0 = time.perf_counter()
        viewer = napari.Viewer(title="gui_latency benchmark")
        viewer.open(str(slp), plugin="napari-sleap-train")
        _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
        wait(1.0)  # first paint of the canvas and the dock
        figures["napari + sample + dock opened (s)"] = time.perf_counter() - t0
        if dock.project is None:
            raise RuntimeError("the SLEAP Training dock did not find the opened sample project")
        for kind in dock.session.model_kinds:
            opt = dock.session.model(kind).optimization
            opt.batches_per_epoch = batches_per_epoch
            opt.min_batches_per_epoch = 1
            opt.epochs = 1000  # the window ends the run, not the epochs
        state = dock.run_panel.state
        counts = {"batch": 0, "epoch": 0}
        state.batch_added.connect(lambda *_: counts.__setitem__("batch", counts["batch"] + 1))
        state.epoch_added.connect(lambda *_: counts.__setitem__("epoch", counts["epoch"] + 1))

        probe = Probe(interval_ms)
        probe.start()
        if stalls is not None:
            stalls.watch(probe)
        try:
            probe.begin("idle")
            wait(idle_s)

            probe.begin("startup")
            t_run = time.perf_counter()
            dock.run_panel.run_button.click()
            got_batch = wait(startup_limit_s, until=lambda: counts["batch"] > 0 or state.status.is_final)
            figures["Run to first batch event (s)"] = time.perf_counter() - t_run
            if not got_batch or counts["batch"] == 0:
                error = state.last_error.message if state.last_error else state.status.value
                raise RuntimeError(f"no batch event within {startup_limit_s:.0f} s of Run: {error}")

            probe.begin("training")
            before = dict(counts)
            t_window = time.perf_counter()
            wait(window_s, until=lambda: state.status.is_final)
            window = time.perf_counter() - t_window
            probe.begin(None)
            figures["training window (s)"] = window
            figures["batch events in window"] = counts["batch"] - before["batch"]
            figures["epoch events in window"] = counts["epoch"] - before["epoch"]
            figures["model trained in window"] = state.model
            if state.status.is_final:
                figures["note"] = f"the run ended early ({state.status.value})"
        finally:
            probe.begin(None)
            probe.stop()
            if stalls is not None:
                stalls.running = False
            if dock.run_panel.controller.is_running:
                dock.run_panel.cancel_button.click()
                wait(60.0, until=lambda: not dock.run_panel.controller.is_running)
            dock.run_panel.controller.wait(30)
            cancelled = state.status is RunStatus.CANCELLED
            viewer.close()
        figures["run cancelled cleanly"] = "yes" if cancelled else f"no ({state.status.value})"
    for phase in ("idle", "startup", "training"):
        figures[phase] = gap_figures(probe.gaps_ms(phase))
        if figures[phase]:
            figures[phase]["cpu"] = probe.cpu_share(phase)
    return figures


def write_whole_video_predictions(slp: Path, out: Path) -> int:
    """Predictions on every frame of the project's first video (its first labeled poses, jittered)."""
    import sleap_io as sio

    labels = sio.load_slp(str(slp), open_videos=False)
    video, skeleton = labels.videos[0], labels.skeletons[0]
    poses = [inst.numpy() for inst in next(lf for lf in labels.labeled_frames if lf.user_instances).user_instances]
    n = int(video.backend_metadata.get("shape", [0])[0]) if getattr(video, "backend_metadata", None) else 0
    n = n or max(lf.frame_idx for lf in labels.labeled_frames) + 1
    rng = np.random.default_rng(0)
    frames = []
    for fi in range(n):
        insts = [
            sio.PredictedInstance.from_numpy(
                pose + rng.normal(0, 1, pose.shape), skeleton=skeleton, point_scores=np.full(len(pose), 0.9), score=0.9
            )
            for pose in poses
        ]
        frames.append(sio.LabeledFrame(video=video, frame_idx=fi, instances=insts))
    sio.save_slp(sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton]), str(out), verbose=False)
    return n


class GcPauses:
    """Python's full (generation 2) garbage collections from now on, with their lengths.

    A full collection holds the interpreter (every thread) for as long as it
    walks all objects: in a napari process about 0.2 s, whichever thread set it off.
    """

    def __init__(self) -> None:
        self.lengths: list[float] = []
        self._start = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.lengths.append(time.perf_counter() - self._start)

    def summary(self) -> str:
        gc.callbacks.remove(self._on_gc)
        if not self.lengths:
            return "none"
        return f"{len(self.lengths)} (longest {1000 * max(self.lengths):.0f} ms)"


def measure_merge(n_frames: int, interval_ms: float, idle_s: float = 2.0, stalls: StallSampler | None = None) -> dict:
    """Probe the event loop while the dock brings in a whole-video predictions file (no training).

    First, as when a run starts predicting, the empty predictions layers are inserted (phase
    ``prepare``). Then the file is read and merged into a snapshot of the project in a worker
    thread, which also builds the layer tables
    (:class:`~napari_sleap_train.widgets.prediction_loader.PredictionLoader`); the GUI thread
    applies the merge and sets the layers' data (phase ``merge``). Before it, the labels layer's
    opacity changes once per turn (phase ``repaint``): what any visible change costs, the floor
    of the merge's turns that show something. Last, the frames are stepped
    through at 30 per second (phase ``frames``), as a user reviewing them.
    """
    import napari

    from napari_sleap_train.sample.project import write_sample_project

    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="gui_latency_merge.") as tmp:
        sample = write_sample_project(Path(tmp) / "sample", seed=0, n_frames=n_frames, n_labeled=20, n_suggested=5)
        predictions = Path(tmp) / "whole_video.predictions.slp"
        figures["predicted frames"] = write_whole_video_predictions(sample.labels_path, predictions)
        viewer = napari.Viewer(title="gui_latency merge benchmark")
        viewer.open(str(sample.labels_path), plugin="napari-sleap-train")
        _, dock = viewer.window.add_plugin_dock_widget("napari-sleap-train", "SLEAP Training")
        wait(1.0)
        loader = dock.run_panel.loader
        shown: list = []
        probe = Probe(interval_ms)
        probe.start()
        if stalls is not None:
            stalls.watch(probe)
        try:
            # what the dock does when a run starts predicting: the (empty) predictions layers go in
            probe.begin("prepare")
            t0 = time.perf_counter()
            prepared: list = []
            loader.prepare(dock.project, then=lambda: prepared.append(time.perf_counter()))
            wait(60.0, until=lambda: bool(prepared))
            figures["predictions layers inserted (s)"] = prepared[0] - t0 if prepared else float("nan")
            wait(0.5)
            # a fresh process owes Python a full garbage collection (all of napari's start-up
            # objects): pay it here, as a session that ran a while has; the merge's own count below
            probe.begin(None)
            gc.collect()
            wait(0.5)
            probe.begin("idle")
            wait(idle_s)
            # the floor of any visible change: one trivial layer change per turn, each a repaint
            probe.begin("repaint")
            labels = next(la for la in viewer.layers if la.metadata.get("sleap_role") == "labels")
            for i in range(10):
                labels.opacity = 0.99 if i % 2 == 0 else 1.0
                wait(0.2)
            labels.opacity = 1.0
            probe.begin(None)
            wait(0.3)
            pauses = GcPauses()
            probe.begin("merge")
            t0 = time.perf_counter()
            loader.load(predictions, dock.project, shown.append, lambda msg: shown.append(msg))
            wait(300.0, until=lambda: not loader.busy)
            figures["read + merge + layers (s)"] = time.perf_counter() - t0
            wait(0.5)
            probe.begin(None)
            figures["full garbage collections while merging"] = pauses.summary()
            # then the user plays through the video at 30 frames/s (the predictions layer's
            # window moves with the frame: see io/prediction_window.py)
            probe.begin("frames")
            frames = range(min(n_frames, 300))  # one frame after the other, as napari plays a video
            for frame in frames:
                viewer.dims.set_current_step(0, frame)
                wait(1 / 30)
            probe.begin(None)
            figures["frames stepped through"] = len(frames)
        finally:
            probe.stop()
            if stalls is not None:
                stalls.running = False
            viewer.close()
        figures["merged"] = shown[0].summary if shown and not isinstance(shown[0], str) else str(shown)
    for phase in ("prepare", "idle", "repaint", "merge", "frames"):
        figures[phase] = gap_figures(probe.gaps_ms(phase))
    return figures


def report(figures: dict, interval_ms: float) -> str:
    """``label: value`` lines (read by ``python -m benchmarks``)."""
    titles = {
        "prepare": "while inserting the predictions layers",
        "idle": "idle",
        "startup": "Run to first batch",
        "training": "while training",
        "merge": "while merging predictions",
        "frames": "while stepping through the predicted frames",
        "repaint": "one layer change per turn (a canvas repaint each)",
    }
    lines = [f"probe timer interval: {interval_ms:g} ms"]
    for key, value in figures.items():
        if key in titles:
            continue
        lines.append(f"{key}: {value:.1f}" if isinstance(value, float) else f"{key}: {value}")
    if figures.get("training window (s)"):
        lines.append(
            f"batch events per second: {figures['batch events in window'] / figures['training window (s)']:.2f}"
        )
    for key, title in titles.items():
        g = figures.get(key) or {}
        if not g:
            lines.append(f"{title}: no ticks recorded")
            continue
        lines.append(f"{title} gap p50: {g['p50']:.1f} ms")
        lines.append(f"{title} gap p99: {g['p99']:.1f} ms")
        lines.append(f"{title} gap max: {g['max']:.1f} ms")
        lines.append(f"{title} gaps over {STUTTER_MS:g} ms: {100 * g['over']:.2f} % of {g['n']}")
        if g.get("cpu") is not None:
            lines.append(f"{title} napari process CPU: {100 * g['cpu']:.0f} % of one core")
    return "\n".join(lines)


# --------------------------------------------------------------- entry point
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--window-seconds", type=float, default=180.0, help="training window to probe (default 180)")
    p.add_argument("--idle-seconds", type=float, default=10.0, help="idle baseline before Run (default 10)")
    p.add_argument("--interval-ms", type=float, default=10.0, help="probe timer interval (default 10)")
    p.add_argument(
        "--batches-per-epoch",
        type=int,
        default=20,
        help="batches per epoch, so epoch events arrive in the window (default 20)",
    )
    p.add_argument("--quick", action="store_true", help="30 s window, 4 s idle baseline")
    p.add_argument(
        "--merge-frames",
        type=int,
        default=None,
        metavar="N",
        help="instead of training: probe while the dock reads and merges predictions on every frame "
        "of an N-frame sample video (e.g. 1500)",
    )
    p.add_argument(
        "--stalls",
        action="store_true",
        help="also print where the GUI thread was when a tick was late (sampled stacks)",
    )
    return p


def _needs_xvfb() -> bool:
    return (
        not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and sys.platform.startswith("linux")
        and not os.environ.get(XVFB_MARK)
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if _needs_xvfb():
        xvfb = shutil.which("xvfb-run")
        if xvfb is None:
            print("no DISPLAY and no xvfb-run: cannot open napari", file=sys.stderr)
            return 2
        os.environ[XVFB_MARK] = "1"
        root = str(Path(__file__).resolve().parents[1])
        os.chdir(root)
        sys.stdout.flush()
        os.execv(
            xvfb, [xvfb, "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-m", "benchmarks.gui_latency", *argv]
        )
    if args.quick:
        args.window_seconds, args.idle_seconds = 30.0, 4.0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print(
        f"display {os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')}"
        f"{' (xvfb-run)' if os.environ.get(XVFB_MARK) else ''}",
        flush=True,
    )
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    if args.merge_frames:
        stalls = StallSampler("merge") if args.stalls else None
        print(report(measure_merge(args.merge_frames, args.interval_ms, stalls=stalls), args.interval_ms), flush=True)
        if stalls is not None:
            print(stalls.report(), flush=True)
        return 0
    stalls = StallSampler("training") if args.stalls else None
    figures = measure(args.window_seconds, args.idle_seconds, args.interval_ms, args.batches_per_epoch, stalls=stalls)
    print(report(figures, args.interval_ms), flush=True)
    if stalls is not None:
        print(stalls.report(), flush=True)
    if "tensorflow" in sys.modules:  # the hard rule, checked where it matters most
        print("error: TensorFlow was imported into the napari process", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
