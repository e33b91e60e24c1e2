"""What a running task can learn from the context, and where its log lines go."""

import datetime
import logging

import jupyter_flows
from jupyter_flows import Flow, Parameter, context, task
from jupyter_flows.engine.events import RunListener


class Logs(RunListener):
    def __init__(self):
        self.entries = []

    def log(self, entry):
        self.entries.append(entry)


def test_a_task_sees_its_flow_run_in_the_context():
    @task
    def introspect(x):
        return {key: context.get(key) for key in
                ("flow_name", "flow_run_id", "parameters", "task_name", "map_index", "today")}

    with Flow("introspection") as flow:
        seen = introspect.map(Parameter("xs", default=[10, 20]))
    state = flow.run(flow_run_id="run-1234")
    first, second = state.result[seen].result
    assert first["flow_name"] == "introspection"
    assert first["flow_run_id"] == "run-1234"
    assert first["parameters"] == {"xs": [10, 20]}
    assert first["task_name"] == "introspect"
    assert (first["map_index"], second["map_index"]) == (0, 1)
    assert first["today"] == datetime.date.today().isoformat()


def test_context_attributes_and_errors_are_friendly_outside_a_run():
    assert context.get("flow_name") is None
    assert context.get("flow_name", "none") == "none"
    try:
        context.flow_name
    except AttributeError as error:
        assert "flow_name" in str(error)
    with context(flow_name="manual"):
        assert context.flow_name == "manual"
    assert "flow_name" not in context


def test_log_records_carry_flow_task_map_index_and_run_id():
    @task
    def speak(name):
        jupyter_flows.context.get("logger").warning("hello %s", name)

    logs = Logs()
    with Flow("talk") as flow:
        speak.map(["a", "b"])
    flow.run(listeners=[logs], flow_run_id="abc")
    task_lines = [e for e in logs.entries if e.task_name == "speak"]
    assert [(e.message, e.map_index, e.level) for e in task_lines] == [
        ("hello a", 0, logging.WARNING), ("hello b", 1, logging.WARNING)
    ]
    assert task_lines[0].to_dict()["level"] == "WARNING"
    assert task_lines[0].task_slug == "speak-1"


def test_the_task_logger_outside_a_run_prints_to_the_console(capsys):
    jupyter_flows.context.get("logger").info("not in a flow")
    assert "not in a flow" in capsys.readouterr().out


def test_the_flow_runner_logs_the_start_and_the_end_of_a_run():
    logs = Logs()
    with Flow("bookends") as flow:
        task(lambda: 1)()
    flow.run(listeners=[logs])
    messages = [e.message for e in logs.entries]
    assert messages[0].startswith("Beginning flow run")
    assert messages[-1] == "Flow run SUCCESS: All reference tasks succeeded."
