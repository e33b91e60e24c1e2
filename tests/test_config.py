"""Settings are checked when they are read: a bad value names its variable and what would be accepted."""

from __future__ import annotations

import pytest

from jupyter_flows import config
from jupyter_flows.exceptions import ConfigurationError


@pytest.mark.parametrize("value", ["0", "-1", "abc", "", "nan", "inf"])
def test_heartbeat_interval_that_would_spin_or_does_not_parse_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", value)

    with pytest.raises(ConfigurationError) as error:
        config.heartbeat_interval()

    message = str(error.value)
    assert f"JUPYTER_FLOWS_HEARTBEAT_INTERVAL={value!r}" in message
    assert "a number > 0" in message


@pytest.mark.parametrize("value", ["0", "-0.5", "fast"])
def test_agent_poll_interval_must_be_a_positive_number(monkeypatch, value):
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", value)

    with pytest.raises(ConfigurationError, match=f"JUPYTER_FLOWS_AGENT_POLL_INTERVAL={value!r}"):
        config.agent_poll_interval()


def test_intervals_accept_positive_numbers_and_have_defaults(monkeypatch):
    monkeypatch.delenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", raising=False)
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", " 0.05 ")

    assert config.heartbeat_interval() == 5.0
    assert config.agent_poll_interval() == 0.05


def test_log_level_lists_the_accepted_names(monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_LOG_LEVEL", "loud")

    with pytest.raises(ConfigurationError) as error:
        config.log_level()

    assert "JUPYTER_FLOWS_LOG_LEVEL='loud'" in str(error.value)
    assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in str(error.value)


def test_log_level_is_case_insensitive_and_knows_warn(monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_LOG_LEVEL", "debug")
    assert config.log_level() == "DEBUG"
    monkeypatch.setenv("JUPYTER_FLOWS_LOG_LEVEL", "warn")
    assert config.log_level() == "WARNING"


def test_empty_home_is_refused_rather_than_read_as_the_current_directory(monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_HOME", "")

    with pytest.raises(ConfigurationError, match="JUPYTER_FLOWS_HOME='' is empty"):
        config.runs_dir()


def test_check_reads_a_given_environment_and_reports_its_bad_setting():
    good = {"JUPYTER_FLOWS_HEARTBEAT_INTERVAL": "2", "JUPYTER_FLOWS_LOG_LEVEL": "ERROR"}
    config.check(good)

    with pytest.raises(ConfigurationError, match="JUPYTER_FLOWS_HEARTBEAT_INTERVAL='-1'"):
        config.check({**good, "JUPYTER_FLOWS_HEARTBEAT_INTERVAL": "-1"})


def test_check_of_this_process_passes_with_the_defaults(monkeypatch):
    for name in ("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", "JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "JUPYTER_FLOWS_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)

    config.check()


def test_a_bad_log_level_does_not_break_importing_but_warns_and_uses_info():
    import os
    import subprocess
    import sys

    code = "import logging, jupyter_flows; print(logging.getLogger('jupyter_flows.flow_run').level)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "JUPYTER_FLOWS_LOG_LEVEL": "loud"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "20"
    assert "JUPYTER_FLOWS_LOG_LEVEL='loud' is not a log level" in result.stderr
