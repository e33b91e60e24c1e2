"""Executor options Prefect 1 has, and clear errors for executors, parameters and run configs of the wrong kind."""

import logging

import pytest

import jupyter_flows
from jupyter_flows import Flow, task
from jupyter_flows.exceptions import ConfigurationError, ExecutorError, ParameterError
from jupyter_flows.executors import DaskExecutor, LocalDaskExecutor, executor_from_dict
from jupyter_flows.run_configs import LocalRun, UniversalRun, run_config_from_dict


@task
def where():
    import threading

    return threading.current_thread().name


@pytest.mark.parametrize("name", ["synchronous", "sync"])
def test_the_synchronous_scheduler_runs_tasks_in_the_calling_thread(name):
    import threading

    executor = LocalDaskExecutor(scheduler=name)
    assert executor.scheduler == "synchronous"
    with Flow("sync") as flow:
        result = where()
    assert flow.run(executor=executor).result[result].result == threading.current_thread().name
    assert executor_from_dict(executor.to_dict()) == executor


def test_an_unknown_scheduler_names_the_accepted_ones():
    with pytest.raises(ExecutorError, match="unknown LocalDaskExecutor scheduler 'fast'; choose one of: "
                                            "threads, processes, synchronous"):
        LocalDaskExecutor(scheduler="fast")


def test_a_dotted_cluster_class_is_imported_and_debug_is_kept():
    from distributed import LocalCluster

    executor = DaskExecutor(cluster_class="distributed.LocalCluster", debug=True,
                            cluster_kwargs={"n_workers": 1, "threads_per_worker": 1})
    assert executor.cluster_class is LocalCluster
    assert executor_from_dict(executor.to_dict()) == executor
    with Flow("dotted") as flow:
        result = where()
    assert flow.run(executor=executor).result[result].is_successful()


def test_a_cluster_class_that_cannot_be_imported_or_called_is_a_clear_error():
    with pytest.raises(ExecutorError, match="cannot import cluster_class 'distributed.NoSuchCluster'"):
        DaskExecutor(cluster_class="distributed.NoSuchCluster")
    with pytest.raises(ExecutorError, match="cluster_class must be a class or its dotted name.*got 42"):
        DaskExecutor(cluster_class=42)
    with pytest.raises(ExecutorError, match="debug must be True or False, got 'yes'"):
        DaskExecutor(debug="yes")


def test_a_flow_executor_that_is_not_an_executor_is_refused_with_a_hint():
    flow = Flow("strings")
    with pytest.raises(ExecutorError, match="executor must be an executor, got str 'threads'.*"
                                            "LocalDaskExecutor\\(scheduler='threads'\\)"):
        flow.executor = "threads"
    with pytest.raises(ExecutorError, match="flow.run\\(executor=...\\) must be an executor, got int 42"):
        flow.run(executor=42)
    with pytest.raises(ExecutorError, match="got str 'threads'"):
        Flow("at creation", executor="threads")
    flow.executor = LocalDaskExecutor()
    assert flow.executor == LocalDaskExecutor()


def test_parameters_that_are_not_a_dict_are_a_parameter_error():
    with Flow("params") as flow:
        where()
    with pytest.raises(ParameterError, match="flow.run\\(parameters=...\\) takes a dict of name: value, got str 'x'"):
        flow.run(parameters="x")


def test_context_and_task_states_of_the_wrong_kind_are_refused():
    with Flow("run arguments") as flow:
        result = where()
    with pytest.raises(ConfigurationError, match="context=...\\) takes a dict"):
        flow.run(context=["a"])
    with pytest.raises(ConfigurationError, match="task_states must map tasks of flow 'run arguments' to states"):
        flow.run(task_states={result: "Success"})


def test_an_unknown_run_config_option_names_the_accepted_ones():
    with pytest.raises(ConfigurationError,
                       match="LocalRun has no option 'foo'; its options are: env, working_dir, labels"):
        LocalRun(foo=1)
    with pytest.raises(ConfigurationError, match="LocalRun has no option 'foo'"):
        run_config_from_dict({"type": "LocalRun", "foo": 1})
    with pytest.raises(ConfigurationError, match="UniversalRun has no option 'working_dir'"):
        UniversalRun(working_dir="/tmp")


def test_an_unknown_stored_executor_option_names_the_accepted_ones():
    with pytest.raises(ExecutorError, match="LocalDaskExecutor has no option 'workers'; its options are: "
                                            "scheduler, num_workers"):
        executor_from_dict({"type": "LocalDaskExecutor", "workers": 2})


class _Records(logging.Handler):
    """A handler of the test's own on the root logger: what a user's ``logging.basicConfig`` would see."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_task_log_records_reach_the_root_logger_once(capsys):
    @task
    def chatty():
        jupyter_flows.context.logger.info("hello from the task")

    with Flow("logging") as flow:
        chatty()
    root = logging.getLogger()
    handler, level = _Records(), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        flow.run()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    records = [r for r in handler.records if r.getMessage() == "hello from the task"]
    assert len(records) == 1
    assert records[0].name == "jupyter_flows.task"
    assert records[0].task_name == "chatty"
    assert capsys.readouterr().out.count("hello from the task") == 1


def test_a_file_handler_on_the_root_logger_receives_task_lines(tmp_path):
    @task
    def chatty():
        jupyter_flows.context.logger.warning("written to the file")

    handler = logging.FileHandler(tmp_path / "run.log")
    logging.getLogger().addHandler(handler)
    try:
        with Flow("file logging") as flow:
            chatty()
        flow.run()
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    assert "written to the file" in (tmp_path / "run.log").read_text()


def test_the_executor_form_shows_and_keeps_the_synchronous_scheduler_and_debug():
    from jupyter_flows.jupyter.widgets.executor_picker import ExecutorPicker

    picker = ExecutorPicker(LocalDaskExecutor(scheduler="sync"))
    assert picker.executor() == LocalDaskExecutor(scheduler="synchronous")
    picker = ExecutorPicker(DaskExecutor(debug=True))
    assert picker.executor().debug is True
