"""The *Weights* rows of a model tab: train from scratch, start from, resume or use a run.

Bound to ``session.reuse[kind]`` (:class:`~napari_sleap_train.session.reuse.ModelReuse`).
Picking a run to start from takes its network settings into the tab (the
weights need them); picking one to resume takes all its settings. The line
below says in plain words what Run will do with the model, or why the choice
does not fit (another skeleton, another network, nothing to resume), checked
as the job builder checks it.
"""

from __future__ import annotations

from pathlib import Path

from magicgui.widgets import ComboBox, Container, Label, PushButton
from napari.utils.notifications import show_error

from napari_sleap_train.config.model import ModelKind
from napari_sleap_train.config.profiles import list_trained_runs
from napari_sleap_train.config.runs import RunError, read_run
from napari_sleap_train.session.reuse import (
    REUSE_LABELS,
    Reuse,
    describe_reuse,
    take_run_settings,
)
from napari_sleap_train.session.settings import TrainingSession

from . import tooltips as tips
from .sections import choose_folder, compact_combo, fixed_width, wrap

NO_RUN = ""


class ReuseControls(Container):
    """How one model uses a trained run (a few rows at the top of its tab)."""

    def __init__(self, kind: ModelKind, session: TrainingSession) -> None:
        super().__init__(labels=True, name="reuse")
        self.margins = (0, 0, 0, 0)
        self.kind = kind
        self.session = session
        self.choice = session.reuse[kind]
        self._extra: list[str] = []  # folders added with "Folder..." (e.g. SLEAP 1.4 models)
        self._updating = False
        self.how = ComboBox(
            choices=[(text, how) for how, text in REUSE_LABELS.items()],
            value=self.choice.how,
            label="Weights",
            tooltip=tips.WEIGHTS,
            name="how",
        )
        self.run = ComboBox(choices=self._run_choices(), value=NO_RUN, tooltip=tips.WEIGHTS_RUN, name="run")
        self.browse = PushButton(text="Folder…", tooltip=tips.WEIGHTS_FOLDER)
        fixed_width(self.browse)  # the run's name gets the room
        run_row = Container(widgets=[self.run, self.browse], layout="horizontal", labels=False, label="Run")
        run_row.margins = (0, 0, 0, 0)
        self.info = Label(value="", label="")
        wrap(self.info)
        for combo in (self.how, self.run):
            compact_combo(combo, 10)
        self.extend([self.how, run_row, self.info])
        self.run_row = run_row
        self.how.changed.connect(self._on_how)
        self.run.changed.connect(self._on_run)
        self.browse.changed.connect(lambda *_: self._browse())
        self.refresh()

    # -- choices ---------------------------------------------------------------
    def _run_choices(self) -> list[tuple[str, str]]:
        runs = [str(p) for p in list_trained_runs(Path(self.session.pipeline.runs_folder).expanduser(), self.kind)]
        extra = [f for f in self._extra if f not in runs]
        current = self.choice.run
        if current and current not in runs and current not in extra:
            extra.append(current)
        return [("(pick a trained run)", NO_RUN)] + [(Path(f).name, f) for f in runs + extra]

    def refresh_runs(self) -> None:
        """Re-list the trained runs (a run finished, the runs folder changed)."""
        self._updating = True
        try:
            self.run.choices = ()
            self.run.choices = self._run_choices()
            self.run.value = self.choice.run or NO_RUN
        finally:
            self._updating = False
        self.refresh()

    def add_folder(self, folder: str | Path) -> None:
        """Offer ``folder`` (a run of ours or a SLEAP 1.4 model folder) and pick it."""
        folder = str(Path(folder).expanduser().resolve())
        try:
            run = read_run(folder)
        except RunError as exc:
            show_error(f"{exc}.")
            return
        if run.kind is not self.kind:
            show_error(f"{run.folder.name} is a {run.kind.value} model, not {self.kind.value}.")
            return
        if folder not in self._extra:
            self._extra.append(folder)
        self.refresh_runs()
        self.run.value = folder

    def _browse(self) -> None:
        folder = choose_folder(self, "Trained model folder (ours or SLEAP's)", self.session.pipeline.runs_folder)
        if folder:
            self.add_folder(folder)

    # -- reactions -------------------------------------------------------------
    def _on_how(self, how: Reuse) -> None:
        if self._updating:
            return
        self.choice.how = Reuse(how)
        self._take_settings()
        self.refresh()

    def _on_run(self, run: str) -> None:
        if self._updating:
            return
        self.choice.run = run or None
        if run and self.choice.how is Reuse.SCRATCH:
            self._updating = True
            try:  # picking a run means using it: start from it unless another way was chosen
                self.how.value = Reuse.INIT_FROM
            finally:
                self._updating = False
            self.choice.how = Reuse.INIT_FROM
        self._take_settings()
        self.refresh()

    def _take_settings(self) -> None:
        """What the chosen run brings into the tab's settings (its network; all of them to resume)."""
        if not self.choice.active or self.choice.how not in (Reuse.INIT_FROM, Reuse.RESUME):
            return
        try:
            cfg = take_run_settings(self.session.model(self.kind), self.choice.how, self.choice.run)
        except RunError:
            return  # the info line says why
        self.session.load_model(self.kind, cfg)

    def refresh(self) -> None:
        """Update the explanation (and what is enabled) from the choice."""
        self.run_row.enabled = self.choice.how is not Reuse.SCRATCH
        self.run.tooltip = f"{self.choice.run}\n\n{tips.WEIGHTS_RUN}" if self.choice.run else tips.WEIGHTS_RUN
        project = self.session.project
        nodes = list(project.node_names) if project is not None else None
        fits, text = describe_reuse(self.choice, self.session.trained_model(self.kind), nodes)
        self.info.value = text if fits else f"⚠ {text}"
        self.info.native.setStyleSheet("" if fits else "color: #e0a030;")

    @property
    def trains(self) -> bool:
        """The model is trained by Run (not used as it is)."""
        return not (self.choice.active and self.choice.how is Reuse.USE)
