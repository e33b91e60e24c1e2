"""Notifiers as state handlers: a real HTTP server gets webhooks, a real SMTP server gets emails."""

from __future__ import annotations

import logging

import pytest

from jupyter_flows import Flow, task
from jupyter_flows.engine.state import Failed, Success
from jupyter_flows.exceptions import NotificationError
from jupyter_flows.notifications import email_notifier, notifier_from_dict, slack_notifier, webhook_notifier


@task
def explode():
    raise RuntimeError("the disk is full")


@task
def fine():
    return 1


def test_a_failing_flow_posts_its_name_run_id_state_and_message_to_a_webhook(webhook_server):
    flow = Flow("nightly", tasks=[explode], state_handlers=[webhook_notifier(webhook_server.url())])

    state = flow.run(flow_run_id="0123456789abcdef")

    assert state.is_failed()
    assert len(webhook_server.received) == 1
    body = webhook_server.received[0]["body"]
    assert webhook_server.received[0]["content_type"] == "application/json"
    assert body["flow"] == "nightly" and body["flow_run_id"] == "0123456789abcdef"
    assert body["state"] == "Failed" and body["message"] == state.message and body["task"] is None


def test_only_states_keeps_a_successful_run_quiet(webhook_server):
    notifier = webhook_notifier(webhook_server.url(), only_states=[Failed])
    Flow("quiet", tasks=[fine], state_handlers=[notifier]).run()
    Flow("loud", tasks=[explode], state_handlers=[notifier]).run()

    assert [r["body"]["flow"] for r in webhook_server.received] == ["loud"]


def test_a_task_notifier_names_the_task_that_failed(webhook_server):
    @task(state_handlers=[webhook_notifier(webhook_server.url(), only_states=["Failed"])])
    def load():
        raise ValueError("bad row 7")

    Flow("etl", tasks=[load]).run()

    body = webhook_server.received[0]["body"]
    assert (body["flow"], body["task"], body["state"]) == ("etl", "load", "Failed")
    assert "bad row 7" in body["message"]


def test_the_link_to_the_run_uses_the_configured_server_url(webhook_server, monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_SERVER_URL", "http://lab.example:8888/")
    Flow("linked", tasks=[fine], state_handlers=[webhook_notifier(webhook_server.url())]).run(flow_run_id="r1")

    assert webhook_server.received[0]["body"]["url"] == "http://lab.example:8888/lab?flow-run=r1"


def test_a_webhook_answering_500_leaves_the_run_as_it_was_and_warns(webhook_server, caplog):
    webhook_server.status = 500
    flow = Flow("still-fine", tasks=[fine], state_handlers=[webhook_notifier(webhook_server.url())])

    with caplog.at_level(logging.WARNING, logger="jupyter_flows.flow_run"):
        state = flow.run()

    assert state.is_successful()
    assert len(webhook_server.received) == 1
    assert "webhook notification of still-fine" in caplog.text and "answered 500" in caplog.text


def test_a_webhook_that_times_out_leaves_the_run_as_it_was_and_warns(webhook_server, caplog):
    webhook_server.delay = 2
    flow = Flow("slow-hook", tasks=[fine], state_handlers=[webhook_notifier(webhook_server.url(), timeout=0.3)])

    with caplog.at_level(logging.WARNING, logger="jupyter_flows.flow_run"):
        state = flow.run()

    assert state.is_successful()
    assert "was not sent" in caplog.text and "timed out" in caplog.text


def test_slack_notifier_posts_slack_text_and_reads_its_url_from_a_secret(webhook_server, monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS__SECRETS__SLACK_WEBHOOK_URL", webhook_server.url("/services/T0/B0/xyz"))
    Flow("to-slack", tasks=[explode], state_handlers=[slack_notifier(only_states=[Failed])]).run()

    received = webhook_server.received[0]
    assert received["path"] == "/services/T0/B0/xyz"
    assert received["body"]["text"].startswith("Flow run to-slack (")
    assert "is Failed" in received["body"]["text"]
    fields = {f["title"]: f["value"] for f in received["body"]["attachments"][0]["fields"]}
    assert fields["state"] == "Failed"


def test_email_notifier_sends_an_email_through_a_local_smtp_server(smtp_server):
    notifier = email_notifier("ops@example.com", "127.0.0.1", smtp_server.port, smtp_type="INSECURE",
                              username_secret=None, only_states=[Failed])
    Flow("mailed", tasks=[explode], state_handlers=[notifier]).run()

    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["to"] == ["ops@example.com"]
    assert "Subject: mailed: Failed" in mail["content"]
    assert "the disk is full" in mail["content"] or "Some reference tasks failed" in mail["content"]


def test_an_smtp_server_that_refuses_leaves_the_run_as_it_was_and_warns(caplog):
    notifier = email_notifier("ops@example.com", "127.0.0.1", 1, smtp_type="INSECURE", username_secret=None)
    with caplog.at_level(logging.WARNING, logger="jupyter_flows.flow_run"):
        state = Flow("no-smtp", tasks=[fine], state_handlers=[notifier]).run()

    assert state.is_successful()
    assert "email notification of no-smtp" in caplog.text and "was not sent" in caplog.text


def test_email_login_needs_its_secrets_and_a_missing_one_is_named_in_the_warning(smtp_server, caplog):
    notifier = email_notifier("ops@example.com", "127.0.0.1", smtp_server.port, smtp_type="INSECURE")
    with caplog.at_level(logging.WARNING, logger="jupyter_flows.flow_run"):
        Flow("needs-login", tasks=[fine], state_handlers=[notifier]).run()

    assert "secret 'EMAIL_USERNAME' is not set" in caplog.text
    assert smtp_server.messages == []


@pytest.mark.parametrize("make, message", [
    (lambda: webhook_notifier("ftp://example.com"), "webhook url must be an http:// or https:// URL; got 'ftp"),
    (lambda: webhook_notifier("http://x", only_states=["Exploded"]), "only_states must name states"),
    (lambda: email_notifier("not-an-address", "smtp.example.com"), "email to must be one address"),
    (lambda: email_notifier("a@b.c", "smtp.example.com", smtp_type="TLS"), "unknown smtp_type 'TLS'; use one of: SSL"),
    (lambda: notifier_from_dict({"kind": "pager"}), "unknown notification kind 'pager'; known: webhook, slack, email"),
])
def test_bad_notifier_options_are_refused_naming_the_value(make, message):
    with pytest.raises(NotificationError, match=message.replace("(", r"\(").replace("?", r"\?")):
        make()


def test_a_notifier_survives_its_dict_form():
    notifier = email_notifier(["a@example.com", "b@example.com"], "smtp.example.com", 587, "STARTTLS",
                              only_states=[Failed, Success])

    again = notifier_from_dict(notifier.to_dict())

    assert again.to_dict() == notifier.to_dict()
    assert again.only_states == ("Failed", "Success")
