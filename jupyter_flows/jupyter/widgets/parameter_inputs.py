"""One input per flow Parameter, chosen from the type of its default value."""

from __future__ import annotations

import html
import json
from typing import Any

import ipywidgets as widgets

from ...exceptions import ParameterError
from ...params import parse_value

_STYLE = {"description_width": "10em"}


class _Input:
    """A parameter's widget and how to read a value back from it."""

    def __init__(self, parameter):
        self.parameter = parameter
        self.error = widgets.HTML()
        self.widget = self._make(parameter.default)
        self.box = widgets.VBox([self.widget, self.error])

    def _make(self, default: Any):
        name = self.parameter.name
        if isinstance(default, bool):
            return widgets.Checkbox(value=default, description=name, style=_STYLE, indent=True)
        if isinstance(default, int):
            return widgets.IntText(value=default, description=name, style=_STYLE)
        if isinstance(default, float):
            return widgets.FloatText(value=default, description=name, style=_STYLE)
        if isinstance(default, (list, tuple, dict)):
            self.kind = dict if isinstance(default, dict) else list
            return widgets.Textarea(value=json.dumps(default), description=name, style=_STYLE,
                                    layout=widgets.Layout(width="40em"),
                                    placeholder="a JSON object" if self.kind is dict else "a JSON list")
        if isinstance(default, str):
            return widgets.Text(value=default, description=name, style=_STYLE)
        self.initial_text = "" if default is None else json.dumps(default, default=repr)
        placeholder = "required: JSON or text" if self.parameter.required else "JSON or text"
        return widgets.Text(value=self.initial_text, description=name, style=_STYLE, placeholder=placeholder)

    def value(self) -> Any:
        """The value to run with; raises :class:`ParameterError` (and shows it) when the input is bad."""
        try:
            value = self._read()
        except ParameterError as exc:
            self.error.value = f'<span style="color:#dc3545">{html.escape(str(exc), quote=False)}</span>'
            raise
        self.error.value = ""
        return value

    def _read(self) -> Any:
        widget, name, default = self.widget, self.parameter.name, self.parameter.default
        if isinstance(widget, widgets.Textarea):
            try:
                value = json.loads(widget.value)
            except ValueError as exc:
                raise ParameterError(f"parameter {name!r}: {widget.value!r:.40} is not valid JSON ({exc})") from None
            if not isinstance(value, self.kind):
                expected = "object ({...})" if self.kind is dict else "list ([...])"
                raise ParameterError(f"parameter {name!r} needs a JSON {expected}, got {type(value).__name__} "
                                     f"{widget.value!r:.40}")
            return value
        if isinstance(widget, widgets.Text) and not isinstance(default, str):
            text = widget.value.strip()
            if not text and self.parameter.required:
                raise ParameterError(f"parameter {name!r} is required: give it a value (JSON or text)")
            if text == self.initial_text:
                return default
            return parse_value(text)
        return widget.value


class ParameterInputs(widgets.VBox):
    """Inputs for every Parameter of a flow; ``values()`` gives the run's parameters."""

    def __init__(self, flow, **kwargs):
        self.inputs = {p.name: _Input(p) for p in sorted(flow.parameters(), key=lambda p: p.name)}
        empty = [] if self.inputs else [widgets.HTML("<i>This flow has no parameters.</i>")]
        super().__init__([*empty, *(i.box for i in self.inputs.values())], **kwargs)

    def widget(self, name: str):
        """The input widget of parameter ``name`` (to set it from code or a test)."""
        try:
            return self.inputs[name].widget
        except KeyError:
            known = ", ".join(self.inputs) or "none"
            raise ParameterError(f"no parameter named {name!r}; parameters: {known}") from None

    def values(self) -> dict[str, Any]:
        """``{name: value}`` for every parameter; raises :class:`ParameterError` on the first bad one."""
        values, first_error = {}, None
        for name, parameter_input in self.inputs.items():
            try:
                values[name] = parameter_input.value()
            except ParameterError as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        return values

    def on_change(self, callback) -> None:
        for parameter_input in self.inputs.values():
            parameter_input.widget.observe(lambda change: callback(), "value")
