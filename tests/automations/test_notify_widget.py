"""The notifications section of the configuration form: set without code, stored when the flow is registered."""

from __future__ import annotations

from jupyter_flows import Flow, task
from jupyter_flows.backend import BackendRecorder
from jupyter_flows.jupyter.widgets.config_form import ConfigForm
from jupyter_flows.notifications import webhook_notifier


@task
def explode():
    raise RuntimeError("boom")


def test_a_webhook_set_in_the_form_is_stored_at_registration_and_posts_when_a_run_fails(backend, webhook_server):
    flow = Flow("formed", tasks=[explode])
    form = ConfigForm(flow, project_name="p")
    form.notify_editor.kind.value = "webhook"
    form.notify_editor.url.value = webhook_server.url("/from-the-form")

    flow_id = form.register()
    form.register()  # registering again stores nothing twice

    [stored] = backend.get_notifications(flow_id)
    assert (stored["kind"], stored["on_states"]) == ("webhook", ["Failed"])
    flow.run(listeners=[BackendRecorder(flow_id=flow_id)])
    assert [r["path"] for r in webhook_server.received] == ["/from-the-form"]


def test_a_bad_value_in_the_form_is_shown_and_leaves_the_flow_as_it_was():
    flow = Flow("formed", tasks=[explode])
    form = ConfigForm(flow)
    form.notify_editor.kind.value = "webhook"
    form.notify_editor.url.value = "http://hooks.example/ok"
    good = flow.notifications

    form.notify_editor.url.value = "hooks.example/no-scheme"

    assert flow.notifications == good
    assert "webhook url must be an http:// or https:// URL" in form.notify_editor.message.value


def test_the_form_keeps_notifiers_set_in_code_and_hides_urls():
    flow = Flow("formed", tasks=[explode])
    in_code = webhook_notifier("http://hooks.example/code")
    flow.notifications = [in_code]
    form = ConfigForm(flow)

    form.notify_editor.kind.value = "email"
    form.notify_editor.addresses.value = "ops@example.com"
    form.notify_editor.smtp_server.value = "smtp.example.com"
    form.notify_editor.kind.value = "none"

    assert flow.notifications == [in_code]
    assert form.notify_editor.url.__class__.__name__ == "Password"
