"""The configuration form: what is set in the widgets is what the flow and its runs get."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

from jupyter_flows import Flow, Parameter, context, task
from jupyter_flows.backend import Backend
from jupyter_flows.exceptions import ConfigurationError, ParameterError
from jupyter_flows.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor
from jupyter_flows.jupyter.widgets.config_form import ConfigForm
from jupyter_flows.redaction import looks_secret
from jupyter_flows.run_configs import LocalRun, UniversalRun


@task
def say_hello(name):
    import os

    greeting = os.environ.get("GREETING", "Hello")
    context.get("logger").info(f"{greeting}, {name}!")
    return f"{greeting}, {name}!"


@task
def settings(count, ratio, loud, label, options, anything):
    return {"count": count, "ratio": ratio, "loud": loud, "label": label, "options": options, "anything": anything}


@pytest.fixture
def hello_flow():
    with Flow("hello-flow") as flow:
        people = Parameter("people", default=["Arthur", "Ford", "Marvin"])
        say_hello.map(people)
    return flow


@pytest.fixture
def typed_flow():
    with Flow("typed") as flow:
        settings(Parameter("count", default=3), Parameter("ratio", default=0.5), Parameter("loud", default=False),
                 Parameter("label", default="x"), Parameter("options", default={"a": 1}),
                 Parameter("anything", required=True))
    return flow


def test_form_starts_from_the_flows_own_configuration(hello_flow):
    hello_flow.executor = LocalDaskExecutor(scheduler="processes", num_workers=2)
    hello_flow.run_config = LocalRun(env={"GREETING": "Hi"}, labels=["laptop"], working_dir="/tmp")
    form = hello_flow.configure()
    assert isinstance(form, widgets.VBox)
    assert form.executor() == hello_flow.executor
    assert form.run_config() == hello_flow.run_config
    assert form.parameters() == {"people": ["Arthur", "Ford", "Marvin"]}


def test_choosing_local_dask_threads_sets_the_flows_executor(hello_flow):
    form = ConfigForm(hello_flow)
    picker = form.executor_picker
    picker.kind.value = "LocalDaskExecutor"
    picker.scheduler.value = "threads"
    picker.num_workers.value = 4
    assert hello_flow.executor.to_dict() == {"type": "LocalDaskExecutor", "scheduler": "threads", "num_workers": 4}
    picker.scheduler.value = "processes"
    picker.num_workers.value = 0
    assert hello_flow.executor.to_dict() == {"type": "LocalDaskExecutor", "scheduler": "processes",
                                             "num_workers": None}


def test_only_the_chosen_executors_options_are_visible(hello_flow):
    picker = ConfigForm(hello_flow).executor_picker
    assert picker.local_dask_box.layout.display == "none" and picker.dask_box.layout.display == "none"
    picker.kind.value = "DaskExecutor"
    assert picker.dask_box.layout.display is None and picker.address.layout.display == "none"
    picker.dask_mode.value = "connect to a scheduler"
    assert picker.address.layout.display is None and picker.n_workers.layout.display == "none"


def test_dask_executor_with_a_temporary_cluster_of_n_workers(hello_flow):
    picker = ConfigForm(hello_flow).executor_picker
    picker.kind.value = "DaskExecutor"
    picker.n_workers.value = 2
    assert hello_flow.executor.to_dict()["cluster_kwargs"] == {"n_workers": 2}
    assert hello_flow.executor.address is None


def test_dask_executor_keeps_options_the_form_does_not_show(hello_flow):
    hello_flow.executor = DaskExecutor(cluster_kwargs={"n_workers": 1, "threads_per_worker": 2},
                                       adapt_kwargs={"maximum": 4})
    picker = ConfigForm(hello_flow).executor_picker
    picker.n_workers.value = 3
    assert hello_flow.executor.cluster_kwargs == {"n_workers": 3, "threads_per_worker": 2}
    assert hello_flow.executor.adapt_kwargs == {"maximum": 4}


def test_dask_executor_connecting_to_an_address(hello_flow):
    picker = ConfigForm(hello_flow).executor_picker
    picker.kind.value = "DaskExecutor"
    picker.dask_mode.value = "connect to a scheduler"
    picker.address.value = "tcp://127.0.0.1:8786"
    assert hello_flow.executor == DaskExecutor(address="tcp://127.0.0.1:8786")


def test_a_bad_dask_address_is_shown_and_the_flow_keeps_its_last_valid_executor(hello_flow):
    form = ConfigForm(hello_flow)
    picker = form.executor_picker
    picker.kind.value = "DaskExecutor"
    assert hello_flow.executor == DaskExecutor()
    picker.dask_mode.value = "connect to a scheduler"
    assert "give the address of the dask scheduler" in picker.error.value
    picker.address.value = "nonsense"
    assert "got 'nonsense'" in picker.error.value
    assert hello_flow.executor == DaskExecutor()
    picker.kind.value = "LocalExecutor"
    assert picker.error.value == "" and hello_flow.executor == LocalExecutor()


def test_env_rows_set_the_run_config_env(hello_flow):
    form = ConfigForm(hello_flow)
    row = form.env_editor.add_row()
    row.name.value = "GREETING"
    row.value.value = "Howdy"
    form.env_editor.add_row("CITY", "Magrathea")
    assert hello_flow.run_config.to_dict() == {"type": "UniversalRun", "env": {"GREETING": "Howdy",
                                                                               "CITY": "Magrathea"}, "labels": []}
    row.remove.click()
    assert hello_flow.run_config.env == {"CITY": "Magrathea"}


def test_a_bad_env_name_is_named_inline_and_the_flow_keeps_its_env(hello_flow):
    hello_flow.run_config = LocalRun(env={"GREETING": "Hello"})
    form = ConfigForm(hello_flow)
    row = form.env_editor.add_row("1ST_GREETING", "Hi")
    assert "invalid environment variable name '1ST_GREETING'" in form.env_editor.error.value
    assert hello_flow.run_config.env == {"GREETING": "Hello"}
    with pytest.raises(ConfigurationError, match="1ST_GREETING"):
        form.apply()
    row.name.value = "FIRST_GREETING"
    assert form.env_editor.error.value == ""
    assert hello_flow.run_config.env == {"GREETING": "Hello", "FIRST_GREETING": "Hi"}


def test_a_variable_set_twice_or_without_a_name_is_reported(hello_flow):
    form = ConfigForm(hello_flow)
    form.env_editor.add_row("GREETING", "a")
    form.env_editor.add_row("GREETING", "b")
    form.env_editor.add_row("", "orphan")
    problems = form.env_editor.problems()
    assert "environment variable 'GREETING' is set twice; keep one row" in problems
    assert any("no name" in p for p in problems)


def test_secret_looking_values_are_masked_and_unmasked_when_renamed(hello_flow):
    form = ConfigForm(hello_flow)
    row = form.env_editor.add_row("GREETING", "s3cr3t")
    assert isinstance(row.value, widgets.Text) and not isinstance(row.value, widgets.Password)
    row.name.value = "API_TOKEN"
    assert isinstance(row.value, widgets.Password) and row.value.value == "s3cr3t"
    assert hello_flow.run_config.env == {"API_TOKEN": "s3cr3t"}
    row.name.value = "GREETING"
    assert not isinstance(row.value, widgets.Password) and row.value.value == "s3cr3t"
    assert all(looks_secret(n) for n in ("DB_PASSWORD", "aws_secret_access_key", "GITHUB_TOKEN", "API_KEY"))
    assert not looks_secret("GREETING")


def test_labels_and_local_run_working_dir_set_the_run_config(hello_flow, tmp_path):
    form = ConfigForm(hello_flow)
    form.labels.value = ["gpu", "laptop"]
    assert hello_flow.run_config == UniversalRun(labels=["gpu", "laptop"])
    assert form.working_dir.layout.display == "none"
    form.run_config_kind.value = "LocalRun"
    form.working_dir.value = str(tmp_path)
    assert hello_flow.run_config.to_dict() == {"type": "LocalRun", "env": {}, "labels": ["gpu", "laptop"],
                                               "working_dir": str(tmp_path)}


def test_one_input_per_parameter_chosen_from_its_default(typed_flow):
    inputs = ConfigForm(typed_flow).parameter_inputs
    kinds = {name: type(inputs.widget(name)) for name in inputs.inputs}
    assert kinds == {"count": widgets.IntText, "ratio": widgets.FloatText, "loud": widgets.Checkbox,
                     "label": widgets.Text, "options": widgets.Textarea, "anything": widgets.Text}


def test_parameter_values_round_trip_into_the_run(typed_flow):
    form = ConfigForm(typed_flow)
    inputs = form.parameter_inputs
    inputs.widget("count").value = 7
    inputs.widget("ratio").value = 0.25
    inputs.widget("loud").value = True
    inputs.widget("label").value = "forty-two"
    inputs.widget("options").value = '{"b": [1, 2]}'
    inputs.widget("anything").value = "[1, 2, 3]"
    expected = {"count": 7, "ratio": 0.25, "loud": True, "label": "forty-two", "options": {"b": [1, 2]},
                "anything": [1, 2, 3]}
    assert form.parameters() == expected
    state = form.run_here()
    assert state.is_successful()
    assert state.result[typed_flow.get_tasks("settings")[0]].result == expected


def test_a_required_parameter_left_empty_is_reported(typed_flow):
    form = ConfigForm(typed_flow)
    with pytest.raises(ParameterError, match="parameter 'anything' is required"):
        form.parameters()
    form.run_button.click()
    assert "parameter 'anything' is required" in form.status.value
    assert form.last_state is None


def test_bad_json_in_a_list_parameter_shows_a_message_under_it(hello_flow):
    form = ConfigForm(hello_flow)
    people = form.parameter_inputs.widget("people")
    people.value = '["Arthur", '
    assert "is not valid JSON" in form.parameter_inputs.inputs["people"].error.value
    people.value = '{"name": "Arthur"}'
    assert "needs a JSON list ([...]), got dict" in form.parameter_inputs.inputs["people"].error.value
    people.value = '["Zaphod"]'
    assert form.parameter_inputs.inputs["people"].error.value == ""
    assert form.parameters() == {"people": ["Zaphod"]}


def test_run_here_runs_with_the_forms_executor_env_and_parameters(hello_flow, monkeypatch):
    monkeypatch.delenv("GREETING", raising=False)
    form = ConfigForm(hello_flow)
    form.executor_picker.kind.value = "LocalDaskExecutor"
    form.env_editor.add_row("GREETING", "Good evening")
    form.parameter_inputs.widget("people").value = '["Zaphod", "Trillian"]'
    form.run_button.click()
    assert form.last_state is not None and form.last_state.is_successful(), form.status.value
    view = form.run_view
    assert form.output.children == (view.widget,)
    assert view.state_name == "Success"
    assert view.progress()["say_hello"] == (2, 2)
    assert any("Good evening, Trillian!" in line for line in view.log_lines())
    assert "LocalDaskExecutor(scheduler='threads') ended <b>Success</b>" in form.status.value


def test_project_picker_lists_the_backends_projects_and_accepts_a_new_one(hello_flow):
    backend = Backend()
    backend.create_project("tutorial")
    backend.create_project("experiments")
    form = ConfigForm(hello_flow)
    assert form.project.options == ("experiments", "tutorial")
    form.register_button.click()
    assert "pick a project" in form.status.value
    form.project.value = "brand-new"
    form.register_button.click()
    assert "brand-new" in [p["name"] for p in backend.list_projects()]
    assert "brand-new" in form.project.options


def test_register_stores_what_the_form_set(hello_flow):
    form = ConfigForm(hello_flow, project_name="tutorial")
    form.executor_picker.kind.value = "LocalDaskExecutor"
    form.env_editor.add_row("GREETING", "Hello")
    form.labels.value = ["laptop"]
    form.register_button.click()
    assert form.last_flow_id, form.status.value
    registered = Backend().get_flow(form.last_flow_id)
    assert registered["executor"] == {"type": "LocalDaskExecutor", "scheduler": "threads", "num_workers": None}
    assert registered["run_config"] == {"type": "UniversalRun", "env": {"GREETING": "Hello"}, "labels": ["laptop"]}
    assert "laptop" in registered["labels"]
    assert f"version {registered['version']}" in form.status.value


def test_submit_registers_and_follows_the_agents_run(hello_flow, agent):
    form = ConfigForm(hello_flow, project_name="tutorial")
    form.env_editor.add_row("GREETING", "Ahoy")
    form.parameter_inputs.widget("people").value = '["Slartibartfast"]'
    form.submit_button.click()
    assert form.last_flow_run_id, form.status.value
    final = form.follower.wait(timeout=180)
    assert final["state"] == "Success", agent.output()
    assert final["parameters"] == {"people": ["Slartibartfast"]}
    assert form.run_view.state_name == "Success"
    assert any("Ahoy, Slartibartfast!" in line for line in form.run_view.log_lines())
