"""How the agent builds a flow run's process: environment layers, import paths, working directory."""

import os
import subprocess
import sys

import pytest

from jupyter_flows.agent.launch import build_env, check_working_dir, terminate
from jupyter_flows.exceptions import ConfigurationError


def test_run_config_env_wins_over_agent_env_which_wins_over_the_agents_own_environment():
    env = build_env({"GREETING": "Hi", "HOME": "/home/arthur"}, {"GREETING": "Howdy", "TEA": "none"},
                    {"GREETING": "Hello"})

    assert env == {"GREETING": "Hello", "HOME": "/home/arthur", "TEA": "none"}


def test_agent_env_is_used_when_the_run_config_sets_nothing():
    assert build_env({"GREETING": "Hi"}, {"GREETING": "Howdy"}, {})["GREETING"] == "Howdy"


def test_import_paths_go_in_front_of_the_existing_pythonpath(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"

    env = build_env({"PYTHONPATH": "/existing"}, import_paths=[first, second])

    assert env["PYTHONPATH"].split(os.pathsep) == [str(first), str(second), "/existing"]


def test_the_agents_backend_url_wins_over_any_layer():
    env = build_env({"JUPYTER_FLOWS_BACKEND_URL": "sqlite:///other.db"}, {},
                    {"JUPYTER_FLOWS_BACKEND_URL": "sqlite:///run.db"}, backend_url="sqlite:///agent.db")

    assert env["JUPYTER_FLOWS_BACKEND_URL"] == "sqlite:///agent.db"


def test_working_dir_that_does_not_exist_is_an_error_naming_it(tmp_path):
    with pytest.raises(ConfigurationError, match="nowhere.*does not exist"):
        check_working_dir(str(tmp_path / "nowhere"))


def test_working_dir_that_is_a_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("")
    with pytest.raises(ConfigurationError, match="file.txt.*not a directory"):
        check_working_dir(str(path))


def test_no_working_dir_means_the_agents_own():
    assert check_working_dir(None) is None


def test_a_process_group_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                               "print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, start_new_session=True)
    assert process.stdout.readline().strip() == b"ready"

    code = terminate(process, grace=0.5)

    assert code == -9
