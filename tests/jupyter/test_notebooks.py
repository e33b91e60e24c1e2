"""The magics in real kernels: the notebooks/magics-*.ipynb tutorials, and the widget's message rate.

The notebooks run top to bottom with nbclient in a fresh kernel that
inherits this test's JUPYTER_FLOWS_HOME; the checks read what a reader would
see: the outputs, and the widget state nbclient saves in the notebook.
"""

from __future__ import annotations

import queue
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

pytestmark = pytest.mark.slow


def execute(name: str):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def outputs(nb, starts_with: str) -> list[dict]:
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts_with))
    return cell.outputs


def data(nb, starts_with: str, mime: str) -> list:
    return [o["data"][mime] for o in outputs(nb, starts_with) if mime in o.get("data", {})]


def widget_models(nb) -> list[tuple[str, dict]]:
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return [(model["model_name"], model["state"]) for model in state.values()]


def widget_values(nb) -> list[tuple[str, object]]:
    return [(name, state.get("value")) for name, state in widget_models(nb)]


def dropdown_choices(nb) -> list[str]:
    """The label a dropdown shows (selection widgets save their index and labels, not the value)."""
    return [state["_options_labels"][state["index"]] for name, state in widget_models(nb)
            if name == "DropdownModel" and state.get("index") is not None]


def test_magics_hello_flow_notebook_runs_configures_registers_and_lists():
    nb = execute("magics-hello-flow.ipynb")
    assert "LocalDaskExecutor(scheduler='threads'" in data(nb, "hello_flow.executor", "text/plain")[0]
    assert "<svg" in data(nb, "hello_flow.visualize()", "image/svg+xml")[0]
    assert data(nb, "state = %flow run", WIDGET_VIEW), "the live run widget is shown"
    assert "<Success" in data(nb, "state = %flow run", "text/plain")[-1]
    assert not [o for o in outputs(nb, "state = %flow run") if o["output_type"] == "stream"], \
        "the widget shows the log lines; the cell output does not repeat them"
    assert data(nb, "state.result", "text/plain") == ["['Howdy, Zaphod!', 'Howdy, Trillian!']"]
    assert "#dc3545" not in data(nb, "hello_flow.visualize(flow_state", "image/svg+xml")[0]
    assert data(nb, "%flow config", WIDGET_VIEW), "the configuration form is shown"
    assert any(c.startswith("LocalDaskExecutor") for c in dropdown_choices(nb))  # the flow's executor
    values = widget_values(nb)
    assert ("ComboboxModel", "tutorial") in values
    logs = [v for kind, v in values if kind == "HTMLModel" and isinstance(v, str) and "Howdy, Trillian!" in v]
    assert logs and "Flow run SUCCESS" in logs[0]
    assert "version 1 in project 'tutorial'" in "".join(o.get("text", "") for o in outputs(nb, "%flow register"))
    table = data(nb, "%flow list", "text/html")
    assert len(table) == 1 and "<td style='text-align:left;white-space:pre-wrap'>hello-flow</td>" in table[0]


def test_magics_agent_notebook_submits_follows_and_reads_logs():
    nb = execute("magics-agent.ipynb")
    assert data(nb, "run_id = %flow submit", WIDGET_VIEW)
    assert "<Success" in data(nb, "from jupyter_flows.backend import FlowRunView", "text/plain")[0]
    runs = data(nb, "%flow runs", "text/html")[0]
    assert "hello-flow" in runs and "Success" in runs
    logs = data(nb, "%flow logs", "text/html")[0]
    assert "Hello, Zaphod!" in logs and "Hello, Arthur!" in logs
    # The widget's later updates come from the follower thread after the submit cell ended; nbclient
    # records widget state per cell, so they are checked on the view itself in test_magics.py, and
    # on the kernel's message stream below.


def test_the_follower_keeps_updating_the_widget_after_the_submit_cell_ended(jupyter_flows_home):
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        for code in ["%load_ext jupyter_flows",
                     "import threading\nfrom jupyter_flows.agent.local import LocalAgent\n"
                     "agent = LocalAgent(poll_interval=0.2)\nthreading.Thread(target=agent.start, daemon=True).start()",
                     "from jupyter_flows import Parameter, context, task\n@task\ndef say_hello(name):\n"
                     "    context.get('logger').info(f'Hello, {name}!')",
                     "%%flow hello-flow\nsay_hello.map(Parameter('people', default=['Arthur', 'Zaphod']))",
                     "%flow register hello-flow --project tutorial"]:
            _execute(client, code)
        _execute(client, "run_id = %flow submit hello-flow")
        deadline = time.monotonic() + 180
        seen = False
        while not seen and time.monotonic() < deadline:
            try:
                message = client.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            value = message["content"].get("data", {}).get("state", {}).get("value") \
                if message["msg_type"] == "comm_msg" else None
            seen = isinstance(value, str) and "Hello, Zaphod!" in value
        _execute(client, "agent.stop()")
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert seen, "the log line of the agent's run reached the front end after the cell ended"


BIG_MAP = '''
import time
from jupyter_flows import context, task

@task
def nap(i):
    time.sleep(0.0004)
    context.get("logger").info(f"child {i}")
    return i
'''


def _execute(client, code: str, timeout: float = 240) -> list[dict]:
    client.execute(code)
    messages = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = client.get_iopub_msg(timeout=timeout)
        messages.append(message)
        if (message["msg_type"] == "status" and message["content"]["execution_state"] == "idle"
                and message["parent_header"].get("msg_type") == "execute_request"):
            return messages
    raise TimeoutError(code)


def test_ten_thousand_children_in_a_kernel_send_a_few_widget_updates_per_second():
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        _execute(client, "%load_ext jupyter_flows")
        _execute(client, BIG_MAP)
        _execute(client, "%%flow big-map\nnap.map(list(range(10_000)))")
        started = time.monotonic()
        messages = _execute(client, "state = %flow run big-map --executor threads --workers 2\nstate")
        elapsed = time.monotonic() - started
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    kinds = [m["msg_type"] for m in messages]
    updates = sum(1 for m in messages if m["msg_type"] == "comm_msg" and m["content"]["data"]["method"] == "update")
    results = [m["content"]["data"]["text/plain"] for m in messages if m["msg_type"] == "execute_result"]
    assert results and "<Success" in results[0], kinds
    assert "error" not in kinds
    # ~6 widgets change per redraw, at most one redraw per 0.25 s plus the first and last
    assert updates <= 6 * (elapsed / 0.25 + 3), (updates, elapsed)
    assert updates < 1000
