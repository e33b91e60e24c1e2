"""The CLI's automation commands: ``notify add|list|remove`` and ``secret set|list|delete``.

Like the rest of the CLI they call the public API (the backend,
:mod:`jupyter_flows.notifications`, :mod:`jupyter_flows.secrets`) and only
format what they get back. No command ever prints a secret's value, and the
URLs of stored notifications are shown without their path (a webhook's path
is often its token).
"""

from __future__ import annotations

import sys

import click

from .terminal import local_time, print_table, safe

FINAL_STATES = ("Success", "Failed", "Cancelled")


def _backend():
    from .backend import Backend

    return Backend()


@click.group("notify")
def notify() -> None:
    """Tell someone when runs of a registered flow end: a webhook, Slack or an email."""


@notify.command("add")
@click.argument("name")
@click.option("--project", default=None, help="Project of the flow (needed when names clash).")
@click.option("--on", "on_states", multiple=True, type=click.Choice(FINAL_STATES),
              help="Final state to notify on (repeat it; default: every final state).")
@click.option("--webhook", metavar="URL", help="POST the run's flow, id, state and message as JSON to URL.")
@click.option("--slack", metavar="URL", help="Post to this Slack incoming-webhook URL.")
@click.option("--slack-secret", metavar="SECRET", help="Post to the Slack URL held by this secret.")
@click.option("--email", "emails", multiple=True, metavar="ADDRESS", help="Email this address (repeat it).")
@click.option("--smtp-server", metavar="HOST", help="SMTP server of --email.")
@click.option("--smtp-port", type=int, default=465, show_default=True, help="Port of the SMTP server.")
@click.option("--smtp-type", type=click.Choice(("SSL", "STARTTLS", "INSECURE")), default="SSL", show_default=True)
@click.option("--smtp-username-secret", metavar="SECRET", default=None,
              help="Secret holding the SMTP login (with --smtp-password-secret); none: no login.")
@click.option("--smtp-password-secret", metavar="SECRET", default="EMAIL_PASSWORD", show_default=True)
@click.option("--from", "from_addr", metavar="ADDRESS", default=None, help="Sender of --email.")
def notify_add(name: str, project: str | None, on_states: tuple, webhook: str | None, slack: str | None,
               slack_secret: str | None, emails: tuple, smtp_server: str | None, smtp_port: int, smtp_type: str,
               smtp_username_secret: str | None, smtp_password_secret: str, from_addr: str | None) -> None:
    """Notify when a run of flow NAME (any version) ends; stored with the flow, sent wherever it runs."""
    notifier = _notifier(list(on_states) or None, webhook, slack, slack_secret, emails, smtp_server, smtp_port,
                         smtp_type, smtp_username_secret, smtp_password_secret, from_addr)
    backend = _backend()
    flow = backend.get_flow_by_name(name, project_name=project)
    stored = notifier.to_dict()
    added = backend.add_notification(flow["id"], stored["kind"], stored["options"], stored["on_states"])
    click.echo(f"Added notification {added['id']} to flow {safe(name)!r}: {describe(added)}.")


def _notifier(on_states, webhook, slack, slack_secret, emails, smtp_server, smtp_port, smtp_type,
              username_secret, password_secret, from_addr):
    from .notifications import email_notifier, slack_notifier, webhook_notifier

    chosen = [flag for flag, value in (("--webhook", webhook), ("--slack", slack), ("--slack-secret", slack_secret),
                                       ("--email", emails)) if value]
    if len(chosen) != 1:
        raise click.UsageError(f"give exactly one of --webhook, --slack, --slack-secret or --email; "
                               f"got {', '.join(chosen) or 'none'}")
    if webhook:
        return webhook_notifier(webhook, only_states=on_states)
    if slack or slack_secret:
        return slack_notifier(slack, only_states=on_states, webhook_secret=slack_secret or "SLACK_WEBHOOK_URL")
    if not smtp_server:
        raise click.UsageError("--email needs --smtp-server HOST")
    return email_notifier(list(emails), smtp_server, smtp_port, smtp_type, username_secret, password_secret,
                          from_addr, only_states=on_states)


def describe(notification: dict) -> str:
    """``webhook to http://host on Failed``: what a stored notification does, without URL paths."""
    from .notifications import url_host

    options = notification["options"]
    kind = notification["kind"]
    if kind == "email":
        target = ", ".join(options.get("to") or [])
    elif options.get("url") or options.get("webhook_url"):
        target = url_host(options.get("url") or options["webhook_url"]) + "/..."
    else:
        target = f"the URL in secret {options.get('webhook_secret')}"
    on = ", ".join(notification["on_states"] or FINAL_STATES)
    return f"{kind} to {safe(target)} on {on}"


@notify.command("list")
@click.argument("name")
@click.option("--project", default=None, help="Project of the flow (needed when names clash).")
def notify_list(name: str, project: str | None) -> None:
    """List the notifications of flow NAME."""
    backend = _backend()
    flow = backend.get_flow_by_name(name, project_name=project)
    stored = backend.get_notifications(flow["id"])
    if not stored:
        click.echo(f"Flow {safe(name)!r} has no notifications.")
        return
    print_table(f"Notifications of {name}", ("Id", "Notification", "Added"),
                ((str(n["id"]), describe(n), local_time(n["created"])) for n in stored))


@notify.command("remove")
@click.argument("name")
@click.argument("notification_id", type=int)
@click.option("--project", default=None, help="Project of the flow (needed when names clash).")
def notify_remove(name: str, notification_id: int, project: str | None) -> None:
    """Remove notification NOTIFICATION_ID (see ``notify list``) of flow NAME."""
    backend = _backend()
    flow = backend.get_flow_by_name(name, project_name=project)
    backend.remove_notification(flow["id"], notification_id)
    click.echo(f"Removed notification {notification_id} of flow {safe(name)!r}.")


@click.group("secret")
def secret() -> None:
    """Secrets kept in the backend, encrypted; flows read them with Secret("NAME")."""


@secret.command("set")
@click.argument("name")
def secret_set(name: str) -> None:
    """Set secret NAME: typed at a hidden prompt, or read from stdin when piped."""
    from . import secrets

    secrets.check_name(name)
    if sys.stdin.isatty():
        value = click.prompt(f"Value of {name}", hide_input=True, confirmation_prompt=True)
    else:
        value = sys.stdin.read().rstrip("\r\n")
    secrets.set_secret(name, value)
    click.echo(f"Set secret {name}.")


@secret.command("list")
def secret_list() -> None:
    """List the names of the secrets in the backend (never their values)."""
    from . import secrets

    stored = secrets.list_secrets()
    if not stored:
        click.echo("No secrets in the backend.")
        return
    print_table("Secrets", ("Name", "Updated"), ((s["name"], local_time(s["updated"])) for s in stored))


@secret.command("delete")
@click.argument("name")
def secret_delete(name: str) -> None:
    """Delete secret NAME from the backend."""
    from . import secrets
    from .exceptions import SecretNotFoundError

    if not secrets.delete_secret(name):
        raise SecretNotFoundError(name, f"no secret {name!r} in the backend")
    click.echo(f"Deleted secret {name}.")
