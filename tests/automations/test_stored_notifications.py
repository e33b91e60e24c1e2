"""Notifications stored with a registered flow (``jupyter-flows notify``), sent wherever its runs end."""

from __future__ import annotations

import pytest
from automation_helpers import jf, register_file, wait_for_state, wait_until

from jupyter_flows import Flow, task
from jupyter_flows.backend import Backend, BackendRecorder

FAILING_FLOW = '''
from jupyter_flows import Flow, task


@task
def load():
    raise RuntimeError("the warehouse is down")


with Flow("nightly-load") as flow:
    load()
'''


@pytest.mark.slow
def test_a_failing_run_through_an_agent_posts_one_webhook_and_sends_one_email(
        tmp_path, backend, webhook_server, smtp_server, agent):
    register_file(tmp_path, FAILING_FLOW)
    added_hook = jf("notify", "add", "nightly-load", "--on", "Failed", "--webhook", webhook_server.url("/t0k3n"))
    added_mail = jf("notify", "add", "nightly-load", "--on", "Failed", "--email", "ops@example.com",
                    "--smtp-server", "127.0.0.1", "--smtp-port", str(smtp_server.port), "--smtp-type", "INSECURE")
    assert added_hook.returncode == 0 and added_mail.returncode == 0, added_hook.stderr + added_mail.stderr
    assert "webhook to http://127.0.0.1:" in added_hook.stdout and "t0k3n" not in added_hook.stdout

    started = jf("run", "--name", "nightly-load", "--project", "automations")
    assert started.returncode == 0, started.stderr
    run = wait_for_state(backend, backend.list_flow_runs()[0]["id"])

    assert run["state"] == "Failed"
    wait_until(lambda: webhook_server.received and smtp_server.messages, what="the notifications")
    assert len(webhook_server.received) == 1 and len(smtp_server.messages) == 1
    body = webhook_server.received[0]["body"]
    assert (body["flow"], body["flow_run_id"], body["state"]) == ("nightly-load", run["id"], "Failed")
    assert smtp_server.messages[0]["to"] == ["ops@example.com"]
    assert run["id"][:8] in smtp_server.messages[0]["content"]


def test_stored_notifications_go_only_on_their_states_and_survive_a_new_version(backend, webhook_server):
    @task
    def fine():
        return 1

    backend.create_project("p")
    flow = Flow("kept", tasks=[fine])
    flow_id = flow.register(project_name="p")
    backend.add_notification(flow_id, "webhook", {"url": webhook_server.url()}, ["Failed"])
    backend.add_notification(flow_id, "webhook", {"url": webhook_server.url("/all")}, None)
    flow.add_task(task(lambda: 2, name="more"))
    new_id = flow.register(project_name="p")
    assert new_id != flow_id

    recorder = BackendRecorder(flow_id=new_id)
    assert flow.run(listeners=[recorder]).is_successful()

    assert [r["path"] for r in webhook_server.received] == ["/all"]
    assert webhook_server.received[0]["body"]["flow_run_id"] == recorder.flow_run_id


def test_a_webhook_that_fails_leaves_the_recorded_state_and_warns_in_the_run_log(backend, webhook_server):
    webhook_server.status = 500

    @task
    def fine():
        return 1

    backend.create_project("p")
    flow = Flow("unheard", tasks=[fine])
    flow_id = flow.register(project_name="p")
    backend.add_notification(flow_id, "webhook", {"url": webhook_server.url()}, None)

    recorder = BackendRecorder(flow_id=flow_id)
    flow.run(listeners=[recorder])

    assert Backend().get_flow_run(recorder.flow_run_id)["state"] == "Success"
    assert len(webhook_server.received) == 1


def test_notify_list_and_remove(backend, webhook_server):
    @task
    def fine():
        return 1

    backend.create_project("p")
    Flow("listed", tasks=[fine]).register(project_name="p")
    assert jf("notify", "add", "listed", "--slack", "https://hooks.slack.com/services/T/B/secret").returncode == 0

    listed = jf("notify", "list", "listed")
    assert "slack to https://hooks.slack.com/..." in listed.stdout and "on Success, Failed, Cancelled" in listed.stdout
    assert "secret" not in listed.stdout.replace("Notifications", "")
    removed = jf("notify", "remove", "listed", "1")
    assert removed.returncode == 0, removed.stderr
    assert "has no notifications" in jf("notify", "list", "listed").stdout


@pytest.mark.parametrize("args, message", [
    (("--webhook", "ftp://x"), "webhook url must be an http:// or https:// URL; got 'ftp://x'"),
    ((), "give exactly one of --webhook, --slack, --slack-secret or --email; got none"),
    (("--email", "a@b.c"), "--email needs --smtp-server HOST"),
    (("--on", "Exploded", "--webhook", "http://x"), "'Exploded' is not one of 'Success', 'Failed', 'Cancelled'"),
])
def test_notify_add_refuses_bad_input_naming_it(backend, args, message):
    result = jf("notify", "add", "anything", *args)
    assert result.returncode != 0
    assert message in result.stderr


def test_notify_add_to_an_unknown_flow_names_it(backend):
    result = jf("notify", "add", "ghost", "--webhook", "http://127.0.0.1:9/")
    assert result.returncode == 1
    assert "ghost" in result.stderr
