"""Secrets: read from the environment, an owner-only file or the backend (encrypted), and never shown."""

from __future__ import annotations

import json
import os
import stat

import pytest
from automation_helpers import jf, register_file, wait_for_state

from jupyter_flows import Flow, task
from jupyter_flows import context as flow_context
from jupyter_flows import secrets
from jupyter_flows.backend import BackendRecorder
from jupyter_flows.exceptions import SecretError, SecretNotFoundError
from jupyter_flows.tasks.secrets import Secret

VALUE = "s3cr3t-Pa55word"


def test_a_secret_comes_from_its_environment_variable(monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS__SECRETS__DB_PASSWORD", VALUE)
    assert secrets.get("DB_PASSWORD") == VALUE


def test_a_secret_comes_from_the_owner_only_secrets_file(jupyter_flows_home):
    path = jupyter_flows_home / "secrets.json"
    path.write_text(json.dumps({"API_TOKEN": VALUE}))
    path.chmod(0o600)
    assert secrets.get("API_TOKEN") == VALUE


def test_a_secrets_file_others_may_read_is_refused_with_the_fix(jupyter_flows_home):
    path = jupyter_flows_home / "secrets.json"
    path.write_text(json.dumps({"API_TOKEN": VALUE}))
    path.chmod(0o644)
    with pytest.raises(SecretError, match=r"may be read by others \(mode -rw-r--r--\); make it owner-only: chmod 600"):
        secrets.get("API_TOKEN")


def test_the_environment_wins_over_the_file(jupyter_flows_home, monkeypatch):
    path = jupyter_flows_home / "secrets.json"
    path.write_text(json.dumps({"API_TOKEN": "from-the-file"}))
    path.chmod(0o600)
    monkeypatch.setenv("JUPYTER_FLOWS__SECRETS__API_TOKEN", "from-the-env")
    assert secrets.get("API_TOKEN") == "from-the-env"


def test_secret_set_stores_it_encrypted_with_a_key_outside_the_database(backend, jupyter_flows_home):
    result = jf("secret", "set", "DB_PASSWORD", input=VALUE + "\n")
    assert result.returncode == 0, result.stderr
    assert VALUE not in result.stdout + result.stderr

    assert secrets.get("DB_PASSWORD") == VALUE
    key = jupyter_flows_home / "secrets.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert VALUE.encode() not in (jupyter_flows_home / "backend.db").read_bytes()
    assert backend.get_secret_token("DB_PASSWORD") != VALUE
    listed = jf("secret", "list")
    assert "DB_PASSWORD" in listed.stdout and VALUE not in listed.stdout


def test_a_backend_secret_needs_its_key(backend, jupyter_flows_home, monkeypatch):
    secrets.set_secret("DB_PASSWORD", VALUE)
    (jupyter_flows_home / "secrets.key").unlink()
    with pytest.raises(SecretError, match="no secrets key: set JUPYTER_FLOWS_SECRETS_KEY or put the key in"):
        secrets.get("DB_PASSWORD")
    from cryptography.fernet import Fernet

    monkeypatch.setenv("JUPYTER_FLOWS_SECRETS_KEY", Fernet.generate_key().decode())
    with pytest.raises(SecretError, match="was encrypted with another key than JUPYTER_FLOWS_SECRETS_KEY"):
        secrets.get("DB_PASSWORD")


def test_secret_delete_removes_it_and_an_unknown_one_is_named(backend):
    secrets.set_secret("OLD_TOKEN", VALUE)
    assert jf("secret", "delete", "OLD_TOKEN").returncode == 0
    assert secrets.list_secrets() == []
    gone = jf("secret", "delete", "OLD_TOKEN")
    assert gone.returncode == 1 and "no secret 'OLD_TOKEN' in the backend" in gone.stderr


def test_a_missing_secret_error_names_the_secret_and_crosses_processes(backend):
    import pickle

    with pytest.raises(SecretNotFoundError) as info:
        secrets.get("NOWHERE_TOKEN")
    again = pickle.loads(pickle.dumps(info.value))
    assert again.name == "NOWHERE_TOKEN" and str(again) == str(info.value)


@pytest.mark.parametrize("name", ["", "1ABC", "has space", "x" * 201, None])
def test_bad_secret_names_are_refused_naming_them(name):
    with pytest.raises(SecretError, match="is not a secret name; use letters, digits"):
        secrets.get(name)


def test_a_missing_secret_fails_the_task_naming_the_secret(backend):
    state = Flow("needs-secret", tasks=[Secret("NOWHERE_TOKEN")]).run()

    assert state.is_failed()
    message = list(state.result.values())[0].message
    assert "secret 'NOWHERE_TOKEN' is not set" in message and "JUPYTER_FLOWS__SECRETS__NOWHERE_TOKEN" in message


@task(log_stdout=True)
def leak(password):
    flow_context.get("logger").info(f"connecting with {password}")
    print(f"printed {password}")
    raise RuntimeError(f"login refused for password {password}")


def test_a_secret_value_is_masked_in_recorded_logs_task_states_and_the_console(backend, monkeypatch, capsys):
    monkeypatch.setenv("JUPYTER_FLOWS__SECRETS__DB_PASSWORD", VALUE)
    with Flow("leaky") as flow:
        leak(Secret("DB_PASSWORD"))
    backend.create_project("p")
    flow_id = flow.register(project_name="p")

    recorder = BackendRecorder(flow_id=flow_id)
    flow.run(listeners=[recorder])

    recorded = json.dumps([backend.get_logs(recorder.flow_run_id), backend.get_task_runs(recorder.flow_run_id),
                           backend.get_flow_run(recorder.flow_run_id)])
    assert "connecting with ********" in recorded and "login refused for password ********" in recorded
    assert "printed ********" in recorded
    assert VALUE not in recorded
    assert VALUE not in capsys.readouterr().out


def test_the_registered_flow_holds_the_secret_name_not_its_value(backend, monkeypatch, jupyter_flows_home):
    monkeypatch.setenv("JUPYTER_FLOWS__SECRETS__DB_PASSWORD", VALUE)
    with Flow("stored") as flow:
        leak(Secret("DB_PASSWORD"))
    backend.create_project("p")
    flow.register(project_name="p")
    flow.run()

    stored = [p.read_bytes() for p in jupyter_flows_home.rglob("*") if p.is_file() and p.name != "backend.db"]
    assert stored and not any(VALUE.encode() in data for data in stored)
    assert VALUE.encode() not in (jupyter_flows_home / "backend.db").read_bytes()


SECRET_FLOW = '''
from jupyter_flows import Flow, context, task
from jupyter_flows.tasks.secrets import Secret


@task(log_stdout=True)
def use(password):
    context.get("logger").info("using %s", password)
    print("printed", password)
    raise ValueError("refused: " + password)


with Flow("uses-a-secret") as flow:
    use(Secret("WAREHOUSE_PASSWORD"))
'''


@pytest.mark.slow
def test_a_secret_given_to_a_task_on_an_agent_never_shows_in_any_log_or_output(
        tmp_path, backend, jupyter_flows_home, agent):
    assert jf("secret", "set", "WAREHOUSE_PASSWORD", input=VALUE).returncode == 0
    register_file(tmp_path, SECRET_FLOW)

    watched = jf("run", "--name", "uses-a-secret", "--watch")
    run = wait_for_state(backend, backend.list_flow_runs()[0]["id"])

    assert run["state"] == "Failed"
    logs = jf("get", "logs", run["id"])
    task_runs = jf("get", "task-runs", run["id"])
    assert "using ********" in logs.stdout and "refused: ********" in task_runs.stdout + logs.stdout
    outputs = [watched.stdout, watched.stderr, logs.stdout, task_runs.stdout, json.dumps(run)]
    outputs += [p.read_text(errors="replace") for p in (jupyter_flows_home / "runs").rglob("*.log")]
    assert not [text for text in outputs if VALUE in text]
    assert os.path.exists(jupyter_flows_home / "runs")
