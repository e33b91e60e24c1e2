"""The scheduler's settings: its interval, and whether the Jupyter server runs one."""

import pytest

from jupyter_flows import config
from jupyter_flows.exceptions import ConfigurationError


def test_the_scheduler_interval_defaults_to_five_seconds_and_refuses_zero():
    assert config.scheduler_interval({}) == 5
    with pytest.raises(ConfigurationError, match="JUPYTER_FLOWS_SCHEDULER_INTERVAL='0' is not a valid number"):
        config.scheduler_interval({"JUPYTER_FLOWS_SCHEDULER_INTERVAL": "0"})


def test_the_server_scheduler_is_off_unless_asked_for_and_a_bad_value_is_named():
    assert config.server_scheduler({}) is False
    assert config.server_scheduler({"JUPYTER_FLOWS_SERVER_SCHEDULER": "1"}) is True
    with pytest.raises(ConfigurationError, match="JUPYTER_FLOWS_SERVER_SCHEDULER='sometimes' is not a yes or no"):
        config.check({"JUPYTER_FLOWS_SERVER_SCHEDULER": "sometimes"})
