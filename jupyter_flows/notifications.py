"""Notifiers: tell someone when a run ends (a webhook, Slack, an email), usable as state handlers.

Each factory returns a :class:`Notifier`, a callable ``(obj, old_state,
new_state)`` that goes in ``state_handlers=[...]`` of a task or flow::

    with Flow("nightly", state_handlers=[slack_notifier(only_states=[Failed])]) as flow:
        ...

The same notifiers can be stored with a registered flow, without code
(``jupyter-flows notify add NAME --on Failed --webhook URL``, or the
configuration widget): :func:`notifier_from_dict` rebuilds them, and the
backend recorder sends them when a recorded run of the flow ends, wherever it
runs (see :func:`notify_run_finished`).

A notification never changes a run: a webhook that times out or answers an
error, or an SMTP server that refuses, is a warning in the run's log. Every
message goes through :func:`jupyter_flows.redaction.mask_secrets`, and
credentials come from secrets (:mod:`jupyter_flows.secrets`), so that no
password is stored with the flow.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from typing import Any, Iterable

from . import config, redaction, secrets
from .engine.context import context
from .exceptions import NotificationError

log = logging.getLogger("jupyter_flows.flow_run")

#: The states a notifier is sent on when ``only_states`` is not given: the ends of a run.
FINAL_STATES = ("Success", "Failed", "Cancelled")
SMTP_TYPES = ("SSL", "STARTTLS", "INSECURE")

__all__ = ["Notifier", "webhook_notifier", "slack_notifier", "email_notifier", "notifier_from_dict",
           "notify_run_finished", "FINAL_STATES"]


def _state_names(only_states: Iterable | None) -> tuple[str, ...] | None:
    """State classes (``[Failed]``) or names (``["Failed"]``) as names; None stays None (final states)."""
    if only_states is None:
        return None
    if isinstance(only_states, (str, type)):
        only_states = [only_states]
    names = tuple(s if isinstance(s, str) else getattr(s, "__name__", None) for s in only_states)
    from .engine import state as states

    unknown = [n for n in names if not (isinstance(n, str) and isinstance(getattr(states, n, None), type))]
    if unknown or not names:
        raise NotificationError(f"only_states must name states, such as ['Failed'] or [Failed]; "
                                f"got {list(only_states)!r}")
    return names


class Notifier:
    """Sends one message per matching state change; ``only_states`` (default: the end of a run) picks them.

    A state matches a name when its class or one of its bases has that name,
    so ``only_states=["Failed"]`` also matches ``TimedOut``.
    """

    kind = "notifier"

    def __init__(self, only_states: Iterable | None = None):
        self.only_states = _state_names(only_states)

    def wanted(self, state_names: Iterable[str]) -> bool:
        names = set(state_names)
        return bool(names & set(self.only_states or FINAL_STATES))

    def __call__(self, obj, old_state, new_state):
        """As a state handler: notify of ``new_state`` if wanted; the state is never changed."""
        names = [cls.__name__ for cls in type(new_state).__mro__]
        if self.wanted(names):
            task_name = obj.name if not hasattr(obj, "tasks") else None
            flow_name = context.get("flow_name") or (obj.name if task_name is None else None)
            self.notify(flow_name, context.get("flow_run_id"), type(new_state).__name__, new_state.message,
                        task_name)
        return None

    def notify(self, flow_name: str | None, flow_run_id: str | None, state: str, message: str | None,
               task_name: str | None = None) -> bool:
        """Send now; returns whether it went (a failure is a warning, never an error)."""
        event = {"flow": flow_name, "flow_run_id": flow_run_id, "task": task_name, "state": state,
                 "message": redaction.mask_secrets(message), "url": run_url(flow_run_id)}
        try:
            self.send(event)
        except Exception as exc:  # noqa: BLE001 - a notification must never change the run
            log.warning("%s notification of %s run %s (%s) was not sent: %s", self.kind, flow_name, flow_run_id,
                        state, redaction.mask_secrets(str(exc)))
            return False
        return True

    def send(self, event: dict) -> None:
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"kind": self.kind, "options": self.options(), "on_states": list(self.only_states or []) or None}

    def options(self) -> dict:
        raise NotImplementedError


def run_url(flow_run_id: str | None) -> str | None:
    """A link that opens the run's view in JupyterLab on the configured server (``JUPYTER_FLOWS_SERVER_URL``)."""
    server = config.server_url()
    if not server or not flow_run_id:
        return None
    return f"{server.rstrip('/')}/lab?flow-run={urllib.parse.quote(flow_run_id)}"


def summary(event: dict) -> str:
    """One line a person reads: ``Flow run nightly (1a2b3c4d) is Failed: <message>``."""
    what = f"Task {event['task']} of flow run" if event.get("task") else "Flow run"
    run = (event.get("flow_run_id") or "")[:8]
    line = f"{what} {event.get('flow')} ({run}) is {event['state']}"
    if event.get("message"):
        line += f": {event['message']}"
    if event.get("url"):
        line += f" {event['url']}"
    return line


def _check_url(url: Any, what: str) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise NotificationError(f"{what} must be an http:// or https:// URL; got {url!r:.80}")
    return url


def post_json(url: str, body: dict, timeout: float) -> None:
    """POST ``body`` as JSON; an answer other than 2xx is an error naming the status."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise NotificationError(f"{url_host(url)} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NotificationError(f"cannot reach {url_host(url)}: {reason}") from None


def url_host(url: str) -> str:
    """The scheme and host of a URL: webhook paths often hold a token, and are not shown."""
    return "/".join(url.split("/")[:3])


class WebhookNotifier(Notifier):
    kind = "webhook"

    def __init__(self, url: str, only_states: Iterable | None = None, timeout: float = 10.0):
        super().__init__(only_states)
        self.url = _check_url(url, "webhook url")
        self.timeout = timeout

    def send(self, event: dict) -> None:
        post_json(self.url, event, self.timeout)

    def options(self) -> dict:
        return {"url": self.url, "timeout": self.timeout}


class SlackNotifier(Notifier):
    """Slack's incoming-webhook format; the URL defaults to the secret ``SLACK_WEBHOOK_URL``, read when sending."""

    kind = "slack"

    def __init__(self, webhook_url: str | None = None, only_states: Iterable | None = None,
                 webhook_secret: str = "SLACK_WEBHOOK_URL", timeout: float = 10.0):
        super().__init__(only_states)
        self.webhook_url = _check_url(webhook_url, "slack webhook_url") if webhook_url is not None else None
        self.webhook_secret = secrets.check_name(webhook_secret)
        self.timeout = timeout

    def send(self, event: dict) -> None:
        url = self.webhook_url or _check_url(secrets.get(self.webhook_secret), f"secret {self.webhook_secret}")
        color = {"Success": "#28a745", "Failed": "#dc3545"}.get(event["state"], "#6c757d")
        body = {"text": summary(event), "attachments": [{"color": color, "fields": [
            {"title": key.replace("_", " "), "value": str(event[key]), "short": key != "message"}
            for key in ("flow", "flow_run_id", "task", "state", "message", "url") if event.get(key)]}]}
        post_json(url, body, self.timeout)

    def options(self) -> dict:
        return {"webhook_url": self.webhook_url, "webhook_secret": self.webhook_secret, "timeout": self.timeout}


class EmailNotifier(Notifier):
    """An email through ``smtp_server``; the login (if any) comes from two secrets, read when sending."""

    kind = "email"

    def __init__(self, to: str | Iterable[str], smtp_server: str, smtp_port: int = 465, smtp_type: str = "SSL",
                 username_secret: str | None = "EMAIL_USERNAME", password_secret: str = "EMAIL_PASSWORD",
                 from_addr: str | None = None, only_states: Iterable | None = None, timeout: float = 10.0):
        super().__init__(only_states)
        self.to = [to] if isinstance(to, str) else list(to)
        if not self.to or not all(isinstance(a, str) and "@" in a for a in self.to):
            raise NotificationError(f"email to must be one address or a list of them, such as 'me@example.com'; "
                                    f"got {to!r:.80}")
        if smtp_type not in SMTP_TYPES:
            raise NotificationError(f"unknown smtp_type {smtp_type!r}; use one of: {', '.join(SMTP_TYPES)}")
        if not isinstance(smtp_port, int) or not 0 < smtp_port < 65536:
            raise NotificationError(f"smtp_port must be a port number (1 to 65535); got {smtp_port!r}")
        self.smtp_server, self.smtp_port, self.smtp_type = smtp_server, smtp_port, smtp_type
        self.username_secret = secrets.check_name(username_secret) if username_secret else None
        self.password_secret = secrets.check_name(password_secret)
        self.from_addr = from_addr
        self.timeout = timeout

    def send(self, event: dict) -> None:
        username = secrets.get(self.username_secret) if self.username_secret else None
        message = EmailMessage()
        message["Subject"] = f"{event.get('flow')}: {event['state']}"
        message["From"] = self.from_addr or username or "jupyter-flows@localhost"
        message["To"] = ", ".join(self.to)
        message.set_content(summary(event) + "\n\n" + json.dumps(event, indent=2))
        with self._connect() as smtp:
            if username:
                smtp.login(username, secrets.get(self.password_secret))
            smtp.send_message(message)

    def _connect(self) -> smtplib.SMTP:
        if self.smtp_type == "SSL":
            return smtplib.SMTP_SSL(self.smtp_server, self.smtp_port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        smtp = smtplib.SMTP(self.smtp_server, self.smtp_port, timeout=self.timeout)
        if self.smtp_type == "STARTTLS":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def options(self) -> dict:
        return {"to": self.to, "smtp_server": self.smtp_server, "smtp_port": self.smtp_port,
                "smtp_type": self.smtp_type, "username_secret": self.username_secret,
                "password_secret": self.password_secret, "from_addr": self.from_addr, "timeout": self.timeout}


def webhook_notifier(url: str, only_states: Iterable | None = None, timeout: float = 10.0) -> WebhookNotifier:
    """POST ``{"flow", "flow_run_id", "task", "state", "message", "url"}`` as JSON to ``url``."""
    return WebhookNotifier(url, only_states, timeout)


def slack_notifier(webhook_url: str | None = None, only_states: Iterable | None = None,
                   webhook_secret: str = "SLACK_WEBHOOK_URL", timeout: float = 10.0) -> SlackNotifier:
    """Post to a Slack incoming webhook (``webhook_url``, else the secret ``SLACK_WEBHOOK_URL``)."""
    return SlackNotifier(webhook_url, only_states, webhook_secret, timeout)


def email_notifier(to: str | Iterable[str], smtp_server: str, smtp_port: int = 465, smtp_type: str = "SSL",
                   username_secret: str | None = "EMAIL_USERNAME", password_secret: str = "EMAIL_PASSWORD",
                   from_addr: str | None = None, only_states: Iterable | None = None,
                   timeout: float = 10.0) -> EmailNotifier:
    """Email ``to`` with smtplib; ``smtp_type`` is SSL, STARTTLS or INSECURE (a local relay).

    The login is the secrets ``username_secret`` and ``password_secret``;
    ``username_secret=None`` sends without logging in.
    """
    return EmailNotifier(to, smtp_server, smtp_port, smtp_type, username_secret, password_secret, from_addr,
                         only_states, timeout)


_KINDS = {"webhook": WebhookNotifier, "slack": SlackNotifier, "email": EmailNotifier}


def notifier_from_dict(stored: dict) -> Notifier:
    """The notifier a :meth:`Notifier.to_dict` (or a stored notification row) describes."""
    kind = stored.get("kind")
    if kind not in _KINDS:
        raise NotificationError(f"unknown notification kind {kind!r}; known: {', '.join(_KINDS)}")
    options = dict(stored.get("options") or {})
    try:
        return _KINDS[kind](only_states=stored.get("on_states"), **options)
    except TypeError as exc:
        raise NotificationError(f"bad options for a {kind} notification: {exc}") from None


def notify_run_finished(stored: list[dict], flow_name: str, flow_run_id: str, state: str,
                        message: str | None) -> int:
    """Send a flow's stored notifications for a run that ended ``state``; returns how many went."""
    sent = 0
    for row in stored:
        try:
            notifier = notifier_from_dict(row)
        except NotificationError as exc:
            log.warning("notification %s of flow %s is not valid: %s", row.get("id"), flow_name, exc)
            continue
        if notifier.wanted([state]):
            sent += notifier.notify(flow_name, flow_run_id, state, message)
    return sent
