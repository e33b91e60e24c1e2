"""The notifications section of ``flow.configure()``: who is told when a run of the flow ends.

A webhook, Slack or an email, on the chosen final states. Every change is
checked as it is made by the notifier itself (:mod:`jupyter_flows.notifications`):
a valid one becomes the flow's ``notifications`` entry at once, stored with
the flow when it is registered; an invalid one is shown with the reason and
leaves the flow as it was. URLs are typed in password fields (a webhook's
URL is often its token), and email logins are secrets, never typed here.
"""

from __future__ import annotations

import html
from typing import Callable

import ipywidgets as widgets

from ...exceptions import JupyterFlowsError
from ...notifications import FINAL_STATES, Notifier, email_notifier, slack_notifier, webhook_notifier

KINDS = ("none", "webhook", "slack", "email")
_STYLE = {"description_width": "8em"}


class NotifyEditor(widgets.VBox):
    """Edits the notifier this form adds to ``flow.notifications`` (notifiers set in code are kept)."""

    def __init__(self, flow):
        self.flow = flow
        self._mine: Notifier | None = None
        self._callbacks: list[Callable[[], None]] = []
        self.kind = widgets.Dropdown(options=KINDS, value="none", description="Notify by", style=_STYLE)
        self.url = widgets.Password(description="URL", placeholder="https://...", style=_STYLE)
        self.addresses = widgets.Text(description="To", placeholder="ops@example.com, me@example.com", style=_STYLE)
        self.smtp_server = widgets.Text(description="SMTP server", placeholder="smtp.example.com", style=_STYLE)
        self.smtp_port = widgets.BoundedIntText(value=465, min=1, max=65535, description="SMTP port", style=_STYLE)
        self.smtp_type = widgets.Dropdown(options=("SSL", "STARTTLS", "INSECURE"), description="SMTP type",
                                          style=_STYLE)
        self.states = {state: widgets.Checkbox(value=state == "Failed", description=state, indent=False,
                                               layout=widgets.Layout(width="auto"))
                       for state in FINAL_STATES}
        self.message = widgets.HTML()
        self.email_box = widgets.VBox([self.addresses, self.smtp_server, self.smtp_port, self.smtp_type])
        super().__init__([self.kind, self.url, self.email_box,
                          widgets.HBox([widgets.HTML("<small>on</small>"), *self.states.values()]), self.message])
        self.add_class("jupyter-flows-notify")
        for control in (self.kind, self.url, self.addresses, self.smtp_server, self.smtp_port, self.smtp_type,
                        *self.states.values()):
            control.observe(lambda change: self._apply(), "value")
        self._show_fields()

    def on_change(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def notifier(self) -> Notifier | None:
        """The notifier the section describes (None for "none"); raises a JupyterFlowsError naming a bad value."""
        kind = self.kind.value
        on = [state for state, box in self.states.items() if box.value] or None
        if kind == "none":
            return None
        if kind == "webhook":
            return webhook_notifier(self.url.value.strip(), only_states=on)
        if kind == "slack":  # no URL: the secret SLACK_WEBHOOK_URL, read where the run goes
            return slack_notifier(self.url.value.strip() or None, only_states=on)
        addresses = [a.strip() for a in self.addresses.value.split(",") if a.strip()]
        return email_notifier(addresses, self.smtp_server.value.strip(), self.smtp_port.value, self.smtp_type.value,
                              only_states=on)

    def _apply(self) -> None:
        self._show_fields()
        try:
            notifier = self.notifier()
        except JupyterFlowsError as exc:
            self.message.value = f'<span style="color:#dc3545">{html.escape(str(exc), quote=False)}</span>'
            return
        kept = [n for n in self.flow.notifications if n is not self._mine]
        self.flow.notifications = kept + ([notifier] if notifier is not None else [])
        self._mine = notifier
        self.message.value = "" if notifier is None else \
            f"<small>stored with the flow when it is registered: {html.escape(notifier.kind)}</small>"
        for callback in self._callbacks:
            callback()

    def _show_fields(self) -> None:
        kind = self.kind.value
        self.url.layout.display = None if kind in ("webhook", "slack") else "none"
        self.url.placeholder = "(the secret SLACK_WEBHOOK_URL)" if kind == "slack" else "https://..."
        self.email_box.layout.display = None if kind == "email" else "none"
