"""The live run widget as a run listener, and fed from the backend by the follower."""

from __future__ import annotations

import threading
import time

import pytest

from jupyter_flows import Flow, Parameter, context, task
from jupyter_flows.agent.execute import execute_flow_run
from jupyter_flows.backend import Backend
from jupyter_flows.executors import LocalDaskExecutor
from jupyter_flows.jupyter.widgets.follower import follow
from jupyter_flows.jupyter.widgets.run_view import RunView


@task
def say_hello(name):
    context.get("logger").info(f"Hello, {name}!")
    return name


@task
def nap(i):
    time.sleep(0.0004)
    context.get("logger").info(f"child {i}")
    return i


@task
def total(values):
    return sum(values)


@task
def fails_on_odd(i):
    if i % 2:
        raise ValueError(f"odd number {i}")
    return i


@pytest.fixture
def hello_flow():
    with Flow("hello-flow") as flow:
        say_hello.map(Parameter("people", default=["Arthur", "Ford", "Marvin"]))
    return flow


def test_view_shows_progress_per_task_counts_and_success(hello_flow):
    view = RunView()
    state = hello_flow.run(listeners=[view])
    assert state.is_successful()
    assert view.state_name == "Success" and view.finished.is_set()
    assert view.progress() == {"people": (1, 1), "say_hello": (3, 3)}
    assert view.counts_by_state() == {"Success": 4}
    bars = {p.name: p.bar for p in view._tasks.values()}
    assert (bars["say_hello"].value, bars["say_hello"].max, bars["say_hello"].bar_style) == (3, 3, "success")
    assert "Mapped · 3/3" in view._tasks["say_hello-1"].label.value
    assert "Success" in view.header.value and "hello-flow" in view.header.value
    assert "Flow run" in view.summary.value and "4 task runs" in view.summary.value


def test_log_panel_streams_the_runs_log_lines_and_keeps_the_last_n(hello_flow):
    view = RunView(max_log_lines=3)
    hello_flow.run(listeners=[view])
    lines = view.log_lines()
    assert len(lines) == 3
    assert "say_hello[2] | Hello, Marvin!" in lines[1]
    assert "Flow run SUCCESS" in lines[-1]
    assert "earlier lines" in view.log_panel.value and "Hello, Marvin!" in view.log_panel.value


def test_summary_lists_failed_tasks_with_their_messages():
    with Flow("odd") as flow:
        fails_on_odd.map([0, 1, 2, 3])
    view = RunView()
    state = flow.run(listeners=[view])
    assert state.is_failed() and view.state_name == "Failed"
    assert view.counts_by_state() == {"Success": 3, "Failed": 2}
    assert view.progress()["fails_on_odd"] == (4, 4)
    summary = view.summary.value
    assert "2 failed" in summary and "fails_on_odd[1]" in summary and "ValueError: odd number 3" in summary
    assert [p.bar.bar_style for p in view._tasks.values() if p.name == "fails_on_odd"] == ["danger"]


def test_ten_thousand_mapped_children_redraw_only_a_few_times_per_second():
    with Flow("big-map") as flow:
        total(nap.map(list(range(10_000))))
    view = RunView(interval=0.25)
    started = time.monotonic()
    state = flow.run(executor=LocalDaskExecutor(scheduler="threads", num_workers=2), listeners=[view])
    elapsed = time.monotonic() - started
    assert state.is_successful()
    assert view.progress()["nap"] == (10_000, 10_000)
    assert view.counts_by_state()["Success"] == 10_002
    # begin and end always draw; in between, at most one redraw per interval
    assert view.renders <= elapsed / 0.25 + 3, (view.renders, elapsed)
    assert len(view.log_lines()) == 100


def test_elapsed_time_moves_while_a_long_task_runs():
    @task
    def slow():
        time.sleep(1.6)

    with Flow("slow") as flow:
        slow()
    view = RunView(interval=0.1)
    seen = []
    sampler = threading.Thread(target=lambda: [seen.append(view.header.value) or time.sleep(0.3) for _ in range(5)])
    thread = threading.Thread(target=flow.run, kwargs={"listeners": [view]})
    thread.start()
    time.sleep(0.2)
    sampler.start()
    sampler.join()
    thread.join()
    assert len({h for h in seen if "Running" in h}) >= 2, seen


def test_follower_feeds_the_view_from_the_backend_until_the_run_ends(hello_flow):
    backend = Backend()
    backend.create_project("tutorial")
    flow_id = hello_flow.register(project_name="tutorial")
    run_id = backend.create_flow_run(flow_id=flow_id, parameters={"people": ["Zaphod", "Trillian"]})["id"]
    view = RunView()
    follower = follow(run_id, view=view, backend=backend, poll=0.05)
    assert view.state_name == "Scheduled" and "waiting for an agent" in view.header.value
    assert set(view.progress()) == {"people", "say_hello"}
    # the one function that executes a registered run in this process, as an agent's child does
    assert execute_flow_run(run_id, backend=backend) == "Success"
    final = follower.wait(timeout=30)
    assert final["state"] == "Success"
    assert view.state_name == "Success" and view.finished.is_set()
    assert view.progress() == {"people": (1, 1), "say_hello": (2, 2)}
    assert any("say_hello[1] | Hello, Trillian!" in line for line in view.log_lines())


def test_follower_shows_failed_task_runs_from_the_backend():
    with Flow("odd") as flow:
        fails_on_odd.map(Parameter("numbers", default=[1, 2]))
    backend = Backend()
    backend.create_project("tutorial")
    run_id = backend.create_flow_run(flow_id=flow.register(project_name="tutorial"))["id"]
    view = RunView()
    follower = follow(run_id, view=view, backend=backend, poll=0.05)
    execute_flow_run(run_id, backend=backend)
    follower.wait(timeout=30)
    assert view.state_name == "Failed"
    assert view.progress()["fails_on_odd"] == (2, 2)
    assert "ValueError: odd number 1" in view.summary.value
