"""The run context as Prefect 1 documents it: values a user sets reach every task, on every executor."""

import datetime
import sys

import cloudpickle
import pytest

import jupyter_flows
from jupyter_flows import Flow, context, task
from jupyter_flows.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor

cloudpickle.register_pickle_by_value(sys.modules[__name__])

KEYS = ("answer", "who", "flow_run_name", "task_full_name", "today", "yesterday", "tomorrow",
        "today_nodash", "yesterday_nodash", "tomorrow_nodash")


@task
def read_context():
    return {key: jupyter_flows.context.get(key) for key in KEYS}


@task
def full_name(x):
    return jupyter_flows.context.task_full_name


def context_flow():
    with Flow("context everywhere") as flow:
        reader = read_context()
        names = full_name.map([1, 2, 3])
    return flow, reader, names


EXECUTORS = {
    "local": LocalExecutor,
    "threads": lambda: LocalDaskExecutor(scheduler="threads", num_workers=2),
    "processes": lambda: LocalDaskExecutor(scheduler="processes", num_workers=2),
    "dask": lambda: DaskExecutor(cluster_kwargs={"n_workers": 1, "threads_per_worker": 2}),
}


@pytest.mark.parametrize("executor", EXECUTORS.values(), ids=EXECUTORS.keys())
def test_values_from_a_with_block_and_from_flow_run_reach_tasks_on_every_executor(executor):
    flow, reader, names = context_flow()
    with context(answer=42):
        state = flow.run(executor=executor(), context={"who": "Arthur"})
    seen = state.result[reader].result
    assert (seen["answer"], seen["who"]) == (42, "Arthur")
    assert seen["task_full_name"] == "read_context"
    assert state.result[names].result == ["full_name[0]", "full_name[1]", "full_name[2]"]


def test_dates_are_the_run_start_in_utc_with_nodash_forms_and_the_run_has_a_name():
    flow, reader, _ = context_flow()
    state = flow.run()
    seen = state.result[reader].result
    today = datetime.datetime.now(datetime.timezone.utc).date()
    assert seen["today"] == today.isoformat()
    assert seen["yesterday"] == (today - datetime.timedelta(days=1)).isoformat()
    assert seen["tomorrow"] == (today + datetime.timedelta(days=1)).isoformat()
    assert seen["today_nodash"] == today.strftime("%Y%m%d")
    assert seen["tomorrow_nodash"] == (today + datetime.timedelta(days=1)).strftime("%Y%m%d")
    assert seen["flow_run_name"]


def test_a_given_date_backfills_today_and_its_neighbours():
    @task
    def dates():
        return (context.date, context.scheduled_start_time, context.today, context.yesterday_nodash)

    with Flow("backfill") as flow:
        result = dates()
    start = datetime.datetime(2020, 3, 1, 6, 0, tzinfo=datetime.timezone.utc)
    date, scheduled, today, yesterday = flow.run(context={"date": start}).result[result].result
    assert date == start
    assert scheduled.tzinfo is not None
    assert (today, yesterday) == ("2020-03-01", "20200229")


def test_assignment_update_and_setdefault_inside_a_with_block_end_with_it():
    with context(a=1):
        context.a = 2
        context.update(b=3)
        assert context.setdefault("c", 4) == 4
        assert context.setdefault("a", 5) == 2
        assert (context.a, context.b, context.c) == (2, 3, 4)
    assert "a" not in context and "b" not in context and "c" not in context


def test_assignment_outside_a_block_lasts_in_this_thread_and_is_seen_by_the_next_run():
    flow, reader, _ = context_flow()
    try:
        context.answer = 6 * 7
        assert flow.run().result[reader].result["answer"] == 42
    finally:
        del context.answer
    assert "answer" not in context


def test_a_task_can_set_context_values_for_itself():
    @task
    def sets():
        context.update(mine=1)
        context.setdefault("mine", 2)
        return context.mine

    with Flow("own values") as flow:
        result = sets()
    assert flow.run().result[result].result == 1
    assert "mine" not in context


@task
def write_run_name(path):
    with open(path, "w") as f:
        f.write(jupyter_flows.context.flow_run_name)


def test_a_run_executed_from_the_backend_sees_its_run_name(backend, tmp_path):
    from jupyter_flows.agent.execute import execute_flow_run

    target = tmp_path / "name.txt"
    with Flow("named run") as flow:
        write_run_name(str(target))
    backend.create_project("parity")
    run = backend.create_flow_run(flow_id=flow.register(project_name="parity"), run_name="a-good-name")
    assert execute_flow_run(run["id"], backend=backend) == "Success"
    assert target.read_text() == "a-good-name"


def test_a_flow_run_inside_a_task_gets_its_own_run_name_and_dates_but_the_caller_values():
    with Flow("inner") as inner:
        reader = read_context()

    @task
    def run_inner():
        return inner.run().result[reader].result

    with Flow("outer") as outer:
        result = run_inner()
    with context(answer=42):
        state = outer.run(context={"flow_run_name": "outer-name", "date": datetime.datetime(2000, 1, 1)})
    seen = state.result[result].result
    assert seen["answer"] == 42
    assert seen["flow_run_name"] != "outer-name"
    assert seen["today"] != "2000-01-01"
    assert seen["task_full_name"] == "read_context"
