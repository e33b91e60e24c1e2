"""The %%flow and %flow magics, driven through a real IPython shell."""

from __future__ import annotations

import os

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from jupyter_flows import Flow
from jupyter_flows.backend import Backend
from jupyter_flows.exceptions import ParameterError
from jupyter_flows.executors import DaskExecutor, LocalDaskExecutor
from jupyter_flows.jupyter.magics import flow_identifier
from jupyter_flows.run_configs import LocalRun

from jupyter_helpers import HELLO_FLOW_CELL, HELLO_TASK, run


def test_flow_cell_binds_the_flow_to_an_identifier_made_from_its_name(hello):
    flow = hello.user_ns["hello_flow"]
    assert isinstance(flow, Flow) and flow.name == "hello-flow"
    assert sorted(t.name for t in flow.tasks) == ["people", "say_hello"]


def test_names_assigned_in_a_flow_cell_stay_defined_as_after_a_with_block(hello):
    people = hello.user_ns["people"]
    assert people in hello.user_ns["hello_flow"].tasks


def test_flow_cell_binds_to_the_variable_given_with_as(ip):
    run(ip, HELLO_TASK)
    run(ip, "%%flow hello-flow --as greeter\nsay_hello('Trillian')\n")
    assert ip.user_ns["greeter"].name == "hello-flow"
    assert "hello_flow" not in ip.user_ns


def test_rerunning_a_flow_cell_replaces_the_flow_and_never_duplicates_tasks(hello):
    first = hello.user_ns["hello_flow"]
    run(hello, HELLO_FLOW_CELL)
    run(hello, HELLO_FLOW_CELL)
    second = hello.user_ns["hello_flow"]
    assert second is not first
    assert len(second.tasks) == 2 and len(second.edges) == 1


def test_flow_cell_options_set_the_executor_and_a_local_run_config(ip):
    run(ip, HELLO_TASK)
    run(ip, "%%flow hello-flow --executor threads --workers 3 --env GREETING=Howdy --label laptop\n"
            "say_hello('Arthur')\n")
    flow = ip.user_ns["hello_flow"]
    assert flow.executor == LocalDaskExecutor(scheduler="threads", num_workers=3)
    assert flow.run_config == LocalRun(env={"GREETING": "Howdy"}, labels=["laptop"])


def test_flow_cell_with_a_dask_address_makes_a_dask_executor_connecting_there(ip):
    run(ip, HELLO_TASK)
    run(ip, "%%flow hello-flow --executor dask:tcp://127.0.0.1:8786\nsay_hello('Arthur')\n")
    assert ip.user_ns["hello_flow"].executor == DaskExecutor(address="tcp://127.0.0.1:8786")


def test_flow_cell_that_raises_shows_the_error_and_keeps_the_previous_flow(hello, capsys):
    before = hello.user_ns["hello_flow"]
    result = hello.run_cell("%%flow hello-flow\nsay_hello('Arthur')\n1 / 0\n")
    assert not result.success
    assert isinstance(result.error_in_exec, UsageError)
    assert "ZeroDivisionError" in str(result.error_in_exec)
    assert hello.user_ns["hello_flow"] is before
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_flow_cell_rejects_a_bad_environment_variable_name_in_one_line(ip):
    run(ip, HELLO_TASK)
    with pytest.raises(UsageError, match="invalid environment variable name '1BAD'"):
        ip.run_cell_magic("flow", "hello-flow --env 1BAD=x", "say_hello('Arthur')\n")


def test_flow_run_returns_the_final_state_and_parses_parameters_as_json(hello):
    run(hello, """state = %flow run hello-flow --param 'people=["Zaphod", "Trillian"]'""")
    state = hello.user_ns["state"]
    assert state.is_successful()
    flow = hello.user_ns["hello_flow"]
    mapped = state.result[flow.get_tasks("say_hello")[0]]
    assert mapped.result == ["Hello, Zaphod!", "Hello, Trillian!"]


def test_flow_run_json_without_spaces_needs_no_quotes(hello):
    state = hello.run_line_magic("flow", 'run hello-flow --param people=["Zaphod","Trillian"]')
    flow = hello.user_ns["hello_flow"]
    assert state.result[flow.get_tasks("say_hello")[0]].result == ["Hello, Zaphod!", "Hello, Trillian!"]


def test_flow_run_parameter_that_is_not_json_is_a_string(ip):
    run(ip, HELLO_TASK)
    run(ip, "%%flow single\nname = Parameter('name', default='Arthur')\nsay_hello(name)\n")
    state = ip.run_line_magic("flow", "run single --param 'name=Ford Prefect'")
    flow = ip.user_ns["single"]
    assert state.result[flow.get_tasks("say_hello")[0]].result == "Hello, Ford Prefect!"


def test_flow_run_env_is_set_for_the_run_only(hello, magics, monkeypatch):
    monkeypatch.delenv("GREETING", raising=False)
    state = hello.run_line_magic("flow", "run hello-flow --env GREETING=Howdy")
    assert state.is_successful()
    assert "GREETING" not in os.environ
    assert any("Howdy, Arthur!" in line for line in magics.last_view.log_lines())


def test_flow_run_uses_the_run_config_env_and_restores_the_kernel_env(hello, magics, monkeypatch):
    monkeypatch.setenv("GREETING", "Hi from the kernel")
    hello.user_ns["hello_flow"].run_config = LocalRun(env={"GREETING": "Good morning"})
    hello.run_line_magic("flow", "run hello-flow")
    assert any("Good morning, Ford!" in line for line in magics.last_view.log_lines())
    assert os.environ["GREETING"] == "Hi from the kernel"


def test_flow_run_executor_option_overrides_the_flows_executor_for_that_run(hello, magics):
    state = hello.run_line_magic("flow", "run hello-flow --executor threads --workers 2")
    assert state.is_successful()
    assert hello.user_ns["hello_flow"].executor is None
    assert magics.last_view.progress()["say_hello"] == (3, 3)


def test_flow_run_finds_a_flow_defined_with_a_plain_with_block(ip):
    run(ip, HELLO_TASK)
    run(ip, "from jupyter_flows import Flow\nwith Flow('plain-flow') as flow:\n    say_hello('Marvin')\n")
    assert ip.run_line_magic("flow", "run plain-flow").is_successful()


def test_unknown_flow_name_lists_the_flows_defined_in_the_namespace(hello):
    with pytest.raises(UsageError, match=r"no flow named 'nope' .*flows defined here: hello-flow \(hello_flow\)"):
        hello.run_line_magic("flow", "run nope")


def test_errors_are_one_line_usage_errors_unless_debug(hello):
    with pytest.raises(UsageError, match="ParameterError: flow 'hello-flow' has no parameter named 'crowd'"):
        hello.run_line_magic("flow", "run hello-flow --param crowd=1")
    with pytest.raises(ParameterError):
        hello.run_line_magic("flow", "run hello-flow --param crowd=1 --debug")


def test_unknown_executor_is_explained(hello):
    with pytest.raises(UsageError, match="unknown executor 'gpu'; use one of local, threads, processes, dask"):
        hello.run_line_magic("flow", "run hello-flow --executor gpu")


def test_unknown_command_lists_the_commands(ip):
    with pytest.raises(UsageError, match="unknown %flow command 'launch'; commands: run, register"):
        ip.run_line_magic("flow", "launch hello-flow")


def test_help_prints_usage_for_the_magic_and_for_each_command(ip, capsys):
    ip.run_line_magic("flow", "--help")
    assert "%flow run NAME" in capsys.readouterr().out
    ip.run_line_magic("flow", "run --help")
    assert "--param" in capsys.readouterr().out
    ip.run_cell_magic("flow", "--help", "pass\n")
    assert "--executor" in capsys.readouterr().out


def test_flow_identifier_makes_valid_python_names():
    assert flow_identifier("hello-flow") == "hello_flow"
    assert flow_identifier("2 fast") == "_2_fast"
    assert flow_identifier("class") == "class_"


def test_register_prints_the_flow_id_and_version(hello, capsys):
    hello.run_line_magic("flow", "register hello-flow --project tutorial")
    out = capsys.readouterr().out
    registered = Backend().get_flow_by_name("hello-flow", project_name="tutorial")
    assert f"version 1 in project 'tutorial' (flow id {registered['id']})" in out
    assert registered["run_config"]["type"] == "UniversalRun"


def test_registering_a_changed_flow_makes_a_new_version(hello, capsys):
    hello.run_line_magic("flow", "register hello-flow --project tutorial")
    hello.user_ns["hello_flow"].run_config = LocalRun(env={"GREETING": "Hello"})
    hello.run_line_magic("flow", "register hello-flow --project tutorial --label laptop")
    assert "version 2 in project 'tutorial'" in capsys.readouterr().out
    registered = Backend().get_flow_by_name("hello-flow", project_name="tutorial")
    assert registered["run_config"]["env"] == {"GREETING": "Hello"}
    assert "laptop" in registered["labels"]


def test_list_shows_registered_flows_as_an_html_table(hello, html_display):
    hello.run_line_magic("flow", "register hello-flow --project tutorial")
    with capture_output() as captured:
        hello.run_line_magic("flow", "list")
    page = captured.outputs[0].data["text/html"]
    assert "<table" in page and "hello-flow" in page and "tutorial" in page
    assert "hello-flow" in captured.outputs[0].data["text/plain"]


def test_list_in_a_terminal_is_a_text_table(hello):
    hello.run_line_magic("flow", "register hello-flow --project tutorial")
    with capture_output() as captured:
        hello.run_line_magic("flow", "list")
    assert list(captured.outputs[0].data) == ["text/plain"]
    text = captured.outputs[0].data["text/plain"]
    assert "Registered flows" in text and "hello-flow" in text and "tutorial" in text


def test_list_of_an_unknown_project_is_a_one_line_error(hello):
    with pytest.raises(UsageError, match="NotFoundError"):
        hello.run_line_magic("flow", "list --project nowhere")


def test_runs_and_logs_tables_show_a_submitted_run_after_the_agent_ran_it(hello, agent, magics, html_display):
    hello.run_line_magic("flow", "register hello-flow --project tutorial")
    run_id = hello.run_line_magic("flow", "submit hello-flow --param people=[\"Zaphod\"]")
    final = magics.last_follower.wait(timeout=180)
    assert final["state"] == "Success", agent.output()
    with capture_output() as captured:
        hello.run_line_magic("flow", "runs hello-flow")
        hello.run_line_magic("flow", f"logs {run_id}")
    runs_html, logs_html = (o.data["text/html"] for o in captured.outputs)
    assert run_id in runs_html and "Success" in runs_html
    assert "Hello, Zaphod!" in logs_html


def test_submit_follows_the_agents_run_in_the_live_widget_without_blocking(hello, agent, magics):
    hello.user_ns["hello_flow"].run_config = LocalRun(env={"GREETING": "Bonjour"})
    hello.run_line_magic("flow", "register hello-flow --project tutorial")
    run_id = hello.run_line_magic("flow", "submit hello-flow")
    # the magic returned while the run is still waiting for the agent or running
    assert not magics.last_follower.done.is_set()
    final = magics.last_follower.wait(timeout=180)
    assert final["id"] == run_id and final["state"] == "Success", agent.output()
    view = magics.last_view
    assert view.state_name == "Success"
    assert view.progress()["say_hello"] == (3, 3)
    assert any("Bonjour, Marvin!" in line for line in view.log_lines())


def test_submit_of_an_unregistered_flow_says_so(hello):
    with pytest.raises(UsageError, match="no flow named 'hello-flow'.*Register it first: %flow register hello-flow"):
        hello.run_line_magic("flow", "submit hello-flow")


def test_config_shows_the_form_of_the_named_flow(hello, magics):
    hello.run_line_magic("flow", "config hello-flow --project tutorial")
    assert magics.last_form.flow is hello.user_ns["hello_flow"]
    assert magics.last_form.project.value == "tutorial"


def _write_parameterised_notebook(path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    parameters = new_code_cell('name = "World"\ntimes = 2')
    parameters.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[parameters, new_code_cell('print(f"Hello, {name}!" * times)')],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, path)


def test_notebook_register_makes_the_notebook_a_flow_with_its_parameters(ip, tmp_path, capsys):
    _write_parameterised_notebook(tmp_path / "greet.ipynb")
    ip.run_line_magic("flow", f"notebook register {tmp_path / 'greet.ipynb'} --project notebooks")
    assert "Registered flow 'greet' version 1 in project 'notebooks'" in capsys.readouterr().out
    registered = Backend().get_flow_by_name("greet", project_name="notebooks")
    assert registered["storage"]["type"] == "Notebook"
    assert sorted(p["name"] for p in registered["parameters"]) == ["name", "times"]


def test_notebook_register_takes_a_name(ip, tmp_path):
    _write_parameterised_notebook(tmp_path / "greet.ipynb")
    ip.run_line_magic("flow", f"notebook register {tmp_path / 'greet.ipynb'} --project notebooks --name greeter")
    assert Backend().get_flow_by_name("greeter", project_name="notebooks")["version"] == 1


def test_notebook_register_of_a_missing_notebook_is_one_line(ip, tmp_path):
    with pytest.raises(UsageError, match="NotebookError: .*missing.ipynb"):
        ip.run_line_magic("flow", f"notebook register {tmp_path / 'missing.ipynb'} --project notebooks")
