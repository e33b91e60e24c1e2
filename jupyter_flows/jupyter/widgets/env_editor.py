"""An editable table of environment variables, checked as a run config checks them."""

from __future__ import annotations

import html

import ipywidgets as widgets

from ...exceptions import ConfigurationError
from ...redaction import looks_secret
from ...run_configs import validate_env



class _EnvRow(widgets.HBox):
    def __init__(self, editor: "EnvEditor", name: str = "", value: str = ""):
        self.editor = editor
        self.name = widgets.Text(value=name, placeholder="NAME", layout=widgets.Layout(width="14em"))
        self.name.add_class("jupyter-flows-env-name")
        self.value = self._value_widget(name, value)
        self.remove = widgets.Button(icon="trash", tooltip="remove this variable", layout=widgets.Layout(width="3em"))
        self.remove.on_click(lambda _: editor.remove_row(self))
        self.name.observe(self._name_changed, "value")
        super().__init__([self.name, self.value, self.remove])

    def _value_widget(self, name: str, value: str):
        kind = widgets.Password if looks_secret(name) else widgets.Text
        field = kind(value=value, placeholder="value", layout=widgets.Layout(width="20em"))
        field.add_class("jupyter-flows-env-value")
        field.observe(lambda change: self.editor.changed(), "value")
        return field

    def _name_changed(self, change) -> None:
        secret = looks_secret(change["new"])
        if secret != isinstance(self.value, widgets.Password):
            self.value = self._value_widget(change["new"], self.value.value)
            self.children = [self.name, self.value, self.remove]
        self.editor.changed()


class EnvEditor(widgets.VBox):
    """Rows of NAME / value with add and remove; ``env()`` returns the checked dict.

    A row with neither name nor value is ignored (a freshly added one). Bad
    names are reported inline, naming the name, with the rule they break.
    """

    def __init__(self, env: dict[str, str] | None = None, **kwargs):
        self.rows_box = widgets.VBox()
        self.add = widgets.Button(description="Add variable", icon="plus", layout=widgets.Layout(width="12em"))
        self.add.on_click(lambda _: self.add_row())
        self.error = widgets.HTML()
        self._callbacks: list = []
        super().__init__([widgets.HTML("<b>Environment variables</b>"), self.rows_box, self.add, self.error],
                         **kwargs)
        self.set_env(env or {})

    @property
    def rows(self) -> list[_EnvRow]:
        return list(self.rows_box.children)

    def set_env(self, env: dict[str, str]) -> None:
        self.rows_box.children = [_EnvRow(self, name, value) for name, value in env.items()]
        self.changed()

    def add_row(self, name: str = "", value: str = "") -> _EnvRow:
        row = _EnvRow(self, name, value)
        self.rows_box.children = [*self.rows_box.children, row]
        self.changed()
        return row

    def remove_row(self, row: _EnvRow) -> None:
        self.rows_box.children = [r for r in self.rows_box.children if r is not row]
        self.changed()

    def on_change(self, callback) -> None:
        self._callbacks.append(callback)

    def changed(self) -> None:
        self.check()
        for callback in self._callbacks:
            callback()

    def problems(self) -> list[str]:
        """What is wrong with the table, one message per bad row (empty when all is well)."""
        problems, seen = [], set()
        for row in self.rows:
            name, value = row.name.value.strip(), row.value.value
            if not name and not value:
                continue
            if not name:
                problems.append("a variable has a value but no name: give it a NAME (e.g. GREETING)")
                continue
            try:
                validate_env({name: value})
            except ConfigurationError as exc:
                problems.append(str(exc))
                continue
            if name in seen:
                problems.append(f"environment variable {name!r} is set twice; keep one row")
            seen.add(name)
        return problems

    def check(self) -> list[str]:
        problems = self.problems()
        self.error.value = "".join(f'<div style="color:#dc3545">{html.escape(p, quote=False)}</div>' for p in problems)
        return problems

    def env(self) -> dict[str, str]:
        """The variables as a dict; raises :class:`ConfigurationError` naming the first bad row."""
        problems = self.check()
        if problems:
            raise ConfigurationError(problems[0])
        return validate_env({row.name.value.strip(): row.value.value for row in self.rows
                             if row.name.value.strip()})
