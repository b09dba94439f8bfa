"""Two-way binding between magicgui value widgets and :class:`PipelineState` keys.

A widget edit writes the converted value into the state; a state change
(one key, or :data:`~.state.ALL` after loading a configuration) writes it back
into the widget. A re-entrancy guard keeps the two directions from echoing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from magicgui.widgets.bases import ValueWidget

from .state import ALL, PipelineState


def _same(value: Any) -> Any:
    return value


@dataclass
class _Binding:
    widget: ValueWidget
    key: str
    to_widget: Callable[[Any], Any]
    from_widget: Callable[[Any], Any]


class Binder:
    """Keeps a set of widgets and state keys in sync.

    Parameters
    ----------
    state
        The settings object the widgets edit.
    """

    def __init__(self, state: PipelineState) -> None:
        self.state = state
        self._bindings: list[_Binding] = []
        self._updating = False
        self._closed = False
        state.changed.connect(self._on_state_changed)

    def bind(
        self,
        widget: ValueWidget,
        key: str,
        to_widget: Callable[[Any], Any] = _same,
        from_widget: Callable[[Any], Any] = _same,
    ) -> ValueWidget:
        """Bind ``widget`` to setting ``key``; returns the widget for chaining."""
        binding = _Binding(widget, key, to_widget, from_widget)
        self._bindings.append(binding)
        self._push(binding)
        widget.changed.connect(lambda value, b=binding: self._pull(b, value))
        return widget

    def disconnect(self) -> None:
        """Stop listening to the state (the widgets are going away); idempotent."""
        if self._closed:
            return
        self._closed = True  # also stops a change emission already in progress
        self.state.changed.disconnect(self._on_state_changed)
        self._bindings.clear()

    def _pull(self, binding: _Binding, value: Any) -> None:
        if self._closed or self._updating or not self.state.has(binding.key):
            return
        self._updating = True
        try:
            self.state.set(binding.key, binding.from_widget(value))
        finally:
            self._updating = False

    def _push(self, binding: _Binding) -> None:
        if not self.state.has(binding.key):
            return
        value = binding.to_widget(self.state.get(binding.key))
        if binding.widget.value == value:
            return
        was = self._updating
        self._updating = True
        try:
            binding.widget.value = value
        finally:
            self._updating = was

    def _on_state_changed(self, key: str) -> None:
        for binding in list(self._bindings):
            if self._closed:
                return
            if key == ALL or binding.key == key:
                if key == ALL and hasattr(binding.widget, "reset_choices"):
                    # choices may depend on the project (anchor part) or runs folder
                    was = self._updating
                    self._updating = True
                    try:
                        binding.widget.reset_choices()
                    finally:
                        self._updating = was
                self._push(binding)
