"""The flow-configuration tutorial's code, with `prefect` renamed, runs as written."""

import os
import time

import jupyter_flows
from jupyter_flows import Flow, Parameter, task
from jupyter_flows.engine.events import RunListener
from jupyter_flows.executors import LocalDaskExecutor
from jupyter_flows.run_configs import LocalRun


class LogCollector(RunListener):
    def __init__(self):
        self.messages = []

    def log(self, entry):
        self.messages.append(entry.message)


def build_hello_flow(sleep: float = 0.0) -> Flow:
    @task
    def say_hello(name):
        time.sleep(sleep)
        greeting = os.environ.get("GREETING")
        logger = jupyter_flows.context.get("logger")
        logger.info(f"{greeting}, {name}!")

    with Flow("hello-flow") as flow:
        people = Parameter("people", default=["Arthur", "Ford", "Marvin"])
        say_hello.map(people)
    flow.run_config = LocalRun(env={"GREETING": "Hello"})
    return flow


def test_hello_flow_greets_everyone_with_the_greeting_from_the_environment(monkeypatch):
    monkeypatch.setenv("GREETING", "Hello")
    flow = build_hello_flow()
    collector = LogCollector()

    state = flow.run(listeners=[collector])

    assert state.is_successful()
    assert [m for m in collector.messages if m.startswith("Hello")] == [
        "Hello, Arthur!", "Hello, Ford!", "Hello, Marvin!"
    ]


def test_hello_flow_logs_reach_the_console(monkeypatch, capsys):
    monkeypatch.setenv("GREETING", "Hello")
    build_hello_flow().run()
    out = capsys.readouterr().out
    assert "say_hello[1] | Hello, Ford!" in out
    assert "Flow run SUCCESS" in out


def test_parallel_hello_flow_overlaps_the_sleeping_tasks(monkeypatch):
    monkeypatch.setenv("GREETING", "Hello")
    flow = build_hello_flow(sleep=0.5)
    flow.executor = LocalDaskExecutor(num_workers=3)

    started = time.perf_counter()
    state = flow.run()
    elapsed = time.perf_counter() - started

    assert state.is_successful()
    assert elapsed < 1.4, f"three 0.5 s tasks on three threads took {elapsed:.2f} s"


def test_people_can_be_given_at_run_time_by_keyword_or_dict(monkeypatch):
    monkeypatch.setenv("GREETING", "Hi")
    flow = build_hello_flow()
    for kwargs in ({"people": ["Zaphod"]}, {"parameters": {"people": ["Zaphod"]}}):
        collector = LogCollector()
        assert flow.run(listeners=[collector], **kwargs).is_successful()
        assert "Hi, Zaphod!" in collector.messages
