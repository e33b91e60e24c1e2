"""What the CLI prints is safe: no secrets, no terminal escapes from user text, exact JSON, bounded memory.

Every command runs the installed ``jupyter-flows`` script in a subprocess
against the test's own SQLite backend (its home comes through the environment).
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import subprocess
import sys

import pytest
from cli_helpers import SCRIPT, jf, jf_on_terminal, write_flow_file
from rich.console import Console

from jupyter_flows.cli import follow_flow_run
from jupyter_flows.run_configs import LocalRun, UniversalRun
from jupyter_flows.terminal import EscapingFormatter, safe

SECRET_FLOW = '''
from jupyter_flows import Flow, task
from jupyter_flows.run_configs import LocalRun


@task
def nothing():
    return None


with Flow("secret-flow") as flow:
    nothing()

flow.run_config = LocalRun(env={"API_TOKEN": "tok-1234567", "DB_PASSWORD": "pw-7654321", "GREETING": "Hello"})
'''

EVIL_NAME = "evil\x1b[2Jflow\r\n[red]x"
EVIL_MESSAGE = "value \x1b[31mred\x1b[0m\nINFO    forged | line"

EVIL_FLOW = f'''
import jupyter_flows
from jupyter_flows import Flow, task


@task(name={"shout" + chr(27) + "[5m"!r})
def shout():
    jupyter_flows.context.get("logger").info({EVIL_MESSAGE!r})


with Flow({EVIL_NAME!r}) as flow:
    shout()
'''


@pytest.fixture
def project(backend):
    backend.create_project("tests")
    return "tests"


def register_file(tmp_path, code: str, project: str) -> None:
    result = jf("register", "--project", project, "-p", write_flow_file(tmp_path, code))
    assert result.returncode == 0, result.stderr


# -- secrets -------------------------------------------------------------------------------------


def test_get_flows_json_and_table_never_show_secret_env_values(tmp_path, project):
    register_file(tmp_path, SECRET_FLOW, project)

    listed = jf("get", "flows", "--json")
    table = jf("get", "flows", "--all-versions")

    for output in (listed.stdout, table.stdout):
        assert "tok-1234567" not in output and "pw-7654321" not in output
    env = json.loads(listed.stdout)[0]["run_config"]["env"]
    assert env == {"API_TOKEN": "********", "DB_PASSWORD": "********", "GREETING": "Hello"}


def test_a_flow_runs_own_run_config_is_masked_in_get_flow_runs_json(tmp_path, project, backend):
    register_file(tmp_path, SECRET_FLOW, project)
    flow = backend.get_flow_by_name("secret-flow")
    backend.create_flow_run(flow["id"], run_config=UniversalRun(env={"SERVICE_KEY": "key-99887766", "N": "3"}))

    output = jf("get", "flow-runs", "--json").stdout

    assert "key-99887766" not in output
    assert json.loads(output)[0]["run_config"]["env"] == {"SERVICE_KEY": "********", "N": "3"}


def test_run_config_reprs_and_env_errors_do_not_show_secret_values():
    shown = repr(LocalRun(env={"API_TOKEN": "tok-1234567", "GREETING": "Hello"}))
    universal = repr(UniversalRun(env={"AWS_SECRET_ACCESS_KEY": "aws-555"}))

    assert "tok-1234567" not in shown and "'GREETING': 'Hello'" in shown
    assert "aws-555" not in universal
    with pytest.raises(ValueError) as refused:
        LocalRun(env=["API_TOKEN=tok-1234567"])
    assert "tok-1234567" not in str(refused.value) and "list" in str(refused.value)


# -- terminal escapes ----------------------------------------------------------------------------


def test_names_and_log_messages_with_escapes_and_newlines_print_as_visible_escapes(tmp_path, project, backend):
    register_file(tmp_path, EVIL_FLOW, project)
    executed = jf("run", "--name", EVIL_NAME, "--execute")
    run_id = backend.list_flow_runs()[0]["id"]

    outputs = {"run --execute": executed.stdout + executed.stderr,
               "get flows": jf("get", "flows").stdout, "get flow-runs": jf("get", "flow-runs").stdout,
               "get logs": jf("get", "logs", run_id).stdout, "get task-runs": jf("get", "task-runs", run_id).stdout}

    assert executed.returncode == 0, executed.stderr
    for command, output in outputs.items():
        assert "\x1b" not in output and "\r" not in output, command
        assert "forged" not in output or "\\nINFO    forged" in output, command
    assert "evil\\x1b[2Jflow\\r\\n[red]x" in outputs["get flows"]
    assert "shout\\x1b[5m | value \\x1b[31mred\\x1b[0m\\nINFO    forged | line" in outputs["get logs"]
    assert [line for line in outputs["get logs"].splitlines() if "forged" in line][0].startswith("[")


def test_on_a_terminal_log_lines_keep_only_the_clis_own_styles(tmp_path, project, backend):
    register_file(tmp_path, EVIL_FLOW, project)
    assert jf("run", "--name", EVIL_NAME, "--execute").returncode == 0
    run_id = backend.list_flow_runs()[0]["id"]

    written = jf_on_terminal("get", "logs", run_id)

    assert b"\x1b[2J" not in written and b"\x1b[31mred" not in written and b"\x1b[5m" not in written
    assert b"\\x1b[31mred\\x1b[0m\\nINFO    forged" in written
    assert b"\x1b[" in written  # the CLI's own styles (dim times, bold task names) are still there


def test_an_error_message_naming_a_bad_value_stays_one_escaped_line(project):
    result = jf("run", "--name", "no\nsuch\x1b[2Jflow")

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "\x1b" not in result.stderr
    assert "no\\nsuch\\x1b[2Jflow" in result.stderr


def test_agent_log_formatter_escapes_messages_and_keeps_the_format():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(EscapingFormatter(logging.Formatter("%(levelname)s %(message)s")))
    logger = logging.getLogger("jupyter_flows.tests.escaping")
    logger.addHandler(handler)
    try:
        logger.warning("flow run %s ended %s", "name\x1b[2J\nINFO forged", "Success")
    finally:
        logger.removeHandler(handler)

    assert stream.getvalue() == "WARNING flow run name\\x1b[2J\\nINFO forged ended Success\n"


def test_safe_shows_every_c0_and_c1_control_character_and_keeps_other_text():
    controls = "".join(map(chr, range(0x20))) + "\x7f" + "".join(map(chr, range(0x80, 0xa0)))

    shown = safe(f"é [bold]ok[/] {controls}\u2028")

    assert shown.startswith("é [bold]ok[/] \\x00\\x01")
    assert "\\t\\n\\x0b\\x0c\\r" in shown and "\\x1b" in shown and "\\x7f\\x80" in shown and "\\x9f" in shown
    assert shown.endswith("\\u2028")
    assert all(char.isprintable() for char in shown)


# -- JSON ------------------------------------------------------------------------------------------


def test_json_output_is_exact_json_with_the_original_text(tmp_path, project, backend):
    register_file(tmp_path, EVIL_FLOW, project)
    assert jf("run", "--name", EVIL_NAME, "--execute").returncode == 0
    run_id = backend.list_flow_runs()[0]["id"]

    flows = json.loads(jf("get", "flows", "--json").stdout)
    logs = json.loads(jf("get", "logs", run_id, "--json").stdout)

    assert flows[0]["name"] == EVIL_NAME
    assert EVIL_MESSAGE in [entry["message"] for entry in logs]


def test_json_times_are_iso_8601_in_utc_everywhere(tmp_path, project, backend):
    register_file(tmp_path, SECRET_FLOW, project)
    assert jf("run", "--name", "secret-flow", "--execute").returncode == 0
    run = backend.list_flow_runs()[0]

    listings = {
        "projects": json.loads(jf("get", "projects", "--json").stdout)[0],
        "flows": json.loads(jf("get", "flows", "--json").stdout)[0],
        "flow-runs": json.loads(jf("get", "flow-runs", "--json").stdout)[0],
        "logs": json.loads(jf("get", "logs", run["id"], "--json").stdout)[0],
        "task-runs": json.loads(jf("get", "task-runs", run["id"], "--json").stdout)[0],
    }

    fields = {"projects": ["created"], "flows": ["created"], "flow-runs": ["created", "start_time", "end_time"],
              "logs": ["timestamp"], "task-runs": ["start_time", "end_time"]}
    for kind, names in fields.items():
        for name in names:
            text = listings[kind][name]
            parsed = datetime.datetime.fromisoformat(text)
            assert parsed.utcoffset() == datetime.timedelta(0) and text.endswith("+00:00"), (kind, name, text)
    assert datetime.datetime.fromisoformat(listings["flow-runs"]["end_time"]).timestamp() == pytest.approx(
        run["end_time"], abs=1e-5)


# -- logs at scale ---------------------------------------------------------------------------------


def peak_rss_mb(*args: str) -> tuple[float, int]:
    """Peak resident memory (MB) of ``jupyter-flows ARGS`` run alone in a fresh parent, and its stdout lines."""
    measure = ("import resource, subprocess, sys\n"
               "out = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, check=True).stdout\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, out.count(b'\\n'))\n")
    printed = subprocess.run([sys.executable, "-c", measure, SCRIPT, *args], capture_output=True, text=True,
                             check=True, timeout=120).stdout.split()
    return float(printed[0]), int(printed[1])


@pytest.fixture
def big_and_small_runs(tmp_path, project, backend):
    register_file(tmp_path, SECRET_FLOW, project)
    flow_id = backend.get_flow_by_name("secret-flow")["id"]
    small, big = (backend.create_flow_run(flow_id)["id"] for _ in range(2))
    backend.write_logs(small, [{"message": f"line {i} " + "x" * 400, "timestamp": 1.0 + i} for i in range(100)])
    for start in range(0, 100_000, 20_000):
        backend.write_logs(big, [{"message": f"line {i} " + "x" * 400, "timestamp": 1.0 + i}
                                 for i in range(start, start + 20_000)])
    return small, big


def test_get_logs_of_a_long_run_streams_in_constant_memory(big_and_small_runs):
    small, big = big_and_small_runs

    small_mb, small_lines = peak_rss_mb("get", "logs", small)
    big_mb, big_lines = peak_rss_mb("get", "logs", big)
    json_mb, _ = peak_rss_mb("get", "logs", big, "--json")

    assert (small_lines, big_lines) == (100, 100_000)
    # 100,000 lines of 400 characters are 40 MB of text; read in pages, they add little.
    assert big_mb - small_mb < 25, (small_mb, big_mb)
    assert json_mb - small_mb < 25, (small_mb, json_mb)


def test_get_logs_limit_and_tail_print_the_first_and_last_lines(big_and_small_runs):
    small, big = big_and_small_runs

    first = jf("get", "logs", big, "--limit", "3").stdout.splitlines()
    last = json.loads(jf("get", "logs", big, "--tail", "2", "--json").stdout)
    both = jf("get", "logs", small, "--limit", "1", "--tail", "1")

    assert [line.split()[4] for line in first] == ["0", "1", "2"]
    assert [entry["message"].split()[1] for entry in last] == ["99998", "99999"]
    assert both.returncode == 2 and "--limit" in both.stderr and "--tail" in both.stderr


def test_following_a_run_whose_name_looks_like_rich_markup_prints_it_as_text(tmp_path, project, backend, capsys):
    register_file(tmp_path, SECRET_FLOW, project)
    run = backend.create_flow_run(backend.get_flow_by_name("secret-flow")["id"], run_name="nightly[/] [bold]x")
    backend.cancel_flow_run(run["id"])

    final = follow_flow_run(backend, run["id"], console=Console(file=io.StringIO(), width=200))

    assert final["state"] == "Cancelled"
    assert "'nightly[/] [bold]x' ended Cancelled" in capsys.readouterr().out
