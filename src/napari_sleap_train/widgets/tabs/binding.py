"""Two-way binding between magicgui value widgets and fields of evented settings.

A binding joins a widget to one field's signal, e.g.
``session.model(kind).optimization.events.batch_size``: a widget edit sets that
field of the object the signal belongs to (after ``from_widget``), and the
field's signal writes the new value back into the widget (through
``to_widget``). A re-entrancy guard keeps the two directions from echoing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from magicgui.widgets.bases import ValueWidget
from psygnal import SignalInstance


def _same(value: Any) -> Any:
    return value


@dataclass(eq=False)
class _Binding:
    binder: Binder
    widget: ValueWidget
    owner: Any
    name: str
    signal: SignalInstance
    to_widget: Callable[[Any], Any]
    from_widget: Callable[[Any], Any]

    def on_field(self, *_: Any) -> None:
        # A bound method, so psygnal holds it weakly: the settings outlive the
        # dock (psygnal keeps their signal groups in a module-level map), and a
        # strong slot would keep every widget, and the viewer, alive with them.
        self.binder.push(self)


def _owner(signal: SignalInstance) -> Any:
    """The settings object a field signal of an evented dataclass belongs to."""
    group = signal.instance
    owner = getattr(group, "instance", None)
    if owner is None or not hasattr(owner, signal.name):
        raise TypeError(f"{signal!r} is not the signal of a field of an evented dataclass")
    return owner


def _show(widget: ValueWidget, value: Any) -> None:
    try:
        widget.value = value
    except ValueError:
        # a choice the widget does not list yet (an anchor part of a project being opened)
        if not hasattr(widget, "reset_choices"):
            raise
        widget.reset_choices()
        try:
            widget.value = value
        except ValueError:
            pass  # not a choice here: the session corrects it when the project is attached


class Binder:
    """Keeps a set of widgets and settings fields in sync (one per tab)."""

    def __init__(self) -> None:
        self._bindings: list[_Binding] = []
        self._updating = False
        self._closed = False

    def bind(
        self,
        widget: ValueWidget,
        field_signal: SignalInstance,
        to_widget: Callable[[Any], Any] = _same,
        from_widget: Callable[[Any], Any] = _same,
    ) -> ValueWidget:
        """Bind ``widget`` to the field whose signal is ``field_signal``; returns the widget."""
        binding = _Binding(self, widget, _owner(field_signal), field_signal.name, field_signal, to_widget, from_widget)
        self._bindings.append(binding)
        self.push(binding)
        field_signal.connect(binding.on_field)
        widget.changed.connect(lambda value, b=binding: self._pull(b, value))
        return widget

    def refresh(self, widget: ValueWidget) -> None:
        """Re-read the choices of ``widget`` (they may depend on the project) and its value."""
        for binding in self._bindings:
            if binding.widget is widget:
                was = self._updating
                self._updating = True
                try:
                    widget.reset_choices()
                finally:
                    self._updating = was
                self.push(binding)

    def disconnect(self) -> None:
        """Stop listening to the settings (the widgets are going away); idempotent."""
        if self._closed:
            return
        self._closed = True  # also stops a change emission already in progress
        for binding in self._bindings:
            binding.signal.disconnect(binding.on_field)
        self._bindings.clear()

    def _pull(self, binding: _Binding, value: Any) -> None:
        if self._closed or self._updating:
            return
        self._updating = True
        try:
            setattr(binding.owner, binding.name, binding.from_widget(value))
        finally:
            self._updating = False

    def push(self, binding: _Binding) -> None:
        """Write the field's value into its widget."""
        if self._closed:
            return
        value = binding.to_widget(getattr(binding.owner, binding.name))
        if binding.widget.value == value:
            return
        was = self._updating
        self._updating = True
        try:
            _show(binding.widget, value)
        finally:
            self._updating = was
