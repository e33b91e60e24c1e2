"""Warm starts: a run template forks a fresh process per run, keeps some ready, and is never left behind."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from jupyter_flows.agent.local import LocalAgent
from jupyter_flows.agent.warm import WarmPool
from jupyter_flows.exceptions import ConfigurationError
from jupyter_flows.run_configs import LocalRun

from agent_helpers import process_gone, register_file, run_cli, wait_for, wait_for_state, write_flow_file

#: Notes, one line per run, how the run's process looked from inside: its pid and command line, whether an
#: earlier run left something in the interpreter, its GREETING and its working directory.
PROBE_FLOW = '''
import builtins
import os

from jupyter_flows import Flow, Parameter, task


@task
def probe(path):
    leaked = hasattr(builtins, "_left_by_an_earlier_run")
    builtins._left_by_an_earlier_run = True
    with open("/proc/self/cmdline", "rb") as f:
        command = f.read().replace(b"\\0", b" ").decode()
    with open(path, "a") as f:
        f.write("|".join([str(os.getpid()), command, str(leaked), os.environ.get("GREETING", "-"), os.getcwd()]))
        f.write("\\n")


with Flow("probe-flow") as flow:
    probe(Parameter("path"))
'''


SLEEPY_FLOW = '''
import time

from jupyter_flows import Flow, task


@task
def nap():
    time.sleep(60)


with Flow("sleepy-flow") as flow:
    nap()
'''


@pytest.fixture
def probe_flow(backend, tmp_path) -> dict:
    return register_file(backend, write_flow_file(tmp_path, PROBE_FLOW, "probe_flow.py"))


def template_of(agent_pid: int) -> psutil.Process | None:
    """The agent's run template process, if it has one."""
    for process in psutil.Process(agent_pid).children():
        try:
            if "jupyter_flows.agent.template" in " ".join(process.cmdline()):
                return process
        except psutil.Error:  # ended (or a zombie not yet reaped) since the listing
            pass
    return None


def warm_processes(agent_pid: int) -> list[psutil.Process]:
    """The live children of the agent's run template: its ready run processes, while no run is in flight."""
    template = template_of(agent_pid)
    found = []
    for process in template.children() if template is not None else ():
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            pass
    return found


def has_open(process: psutil.Process, path: str) -> bool:
    """Whether ``process`` holds ``path`` open (a ready run process holds the SQLite backend open)."""
    try:
        return any(f.path == path for f in process.open_files())
    except psutil.Error:
        return False


def probe_lines(path) -> list[list[str]]:
    return [line.split("|") for line in path.read_text().splitlines()]


def run_probe(backend, flow, path, run_config=None) -> dict:
    run = backend.create_flow_run(flow["id"], parameters={"path": str(path)}, run_config=run_config)
    finished = wait_for_state(backend, run["id"], timeout=60)
    assert finished["state"] == "Success", finished["states"]
    return finished


def test_each_run_gets_a_fresh_warm_process_and_nothing_leaks_between_runs(backend, probe_flow, start_agent,
                                                                           tmp_path):
    agent = start_agent("--warm", "1")
    out = tmp_path / "probe.txt"
    for _ in range(3):
        wait_for(lambda: warm_processes(agent.pid), timeout=30, what="a warm run process")
        run_probe(backend, probe_flow, out)
    lines = probe_lines(out)
    assert len({pid for pid, *_ in lines}) == 3
    assert all("jupyter_flows.agent.template" in command for _, command, *_ in lines), agent.output()
    assert [leaked for _, _, leaked, *_ in lines] == ["False"] * 3


def test_run_config_env_and_working_dir_reach_a_run_in_a_warm_process(backend, probe_flow, start_agent, tmp_path):
    agent = start_agent("--warm", "1", "--env", "GREETING=from the agent")
    wait_for(lambda: warm_processes(agent.pid), timeout=30, what="a warm run process")
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    out = tmp_path / "probe.txt"
    run_probe(backend, probe_flow, out, LocalRun(env={"GREETING": "Hello"}, working_dir=str(workdir)))
    run_probe(backend, probe_flow, out)  # the next warm process has the agent's env, not the last run's
    (_, command, _, greeting, cwd), (_, _, _, agent_greeting, _) = probe_lines(out)
    assert "jupyter_flows.agent.template" in command
    assert (greeting, cwd) == ("Hello", str(workdir))
    assert agent_greeting == "from the agent"


def test_a_run_that_sets_pythonpath_gets_a_cold_process(backend, probe_flow, start_agent, tmp_path):
    agent = start_agent("--warm", "1")
    wait_for(lambda: warm_processes(agent.pid), timeout=30, what="a warm run process")
    out = tmp_path / "probe.txt"
    run_probe(backend, probe_flow, out, LocalRun(env={"PYTHONPATH": str(tmp_path)}))
    [(_, command, *_)] = probe_lines(out)
    assert "jupyter_flows.agent.execute" in command


def test_the_pool_refills_after_a_run_takes_its_process(backend, probe_flow, start_agent, tmp_path):
    agent = start_agent("--warm", "2")
    first = wait_for(lambda: len(warm_processes(agent.pid)) == 2 and warm_processes(agent.pid), timeout=30,
                     what="two warm run processes")
    run_probe(backend, probe_flow, tmp_path / "probe.txt")
    refilled = wait_for(lambda: len(warm_processes(agent.pid)) == 2 and warm_processes(agent.pid), timeout=30,
                        what="the pool refilled")
    assert len({p.pid for p in first} & {p.pid for p in refilled}) == 1


def test_a_warm_process_that_died_while_idle_is_replaced_not_given_a_run(backend, probe_flow, start_agent,
                                                                         tmp_path):
    agent = start_agent("--warm", "1")
    [victim] = wait_for(lambda: warm_processes(agent.pid), timeout=30, what="a warm run process")
    victim.kill()
    wait_for(lambda: [p for p in warm_processes(agent.pid) if p.pid != victim.pid], timeout=30,
             what="a new warm run process")
    out = tmp_path / "probe.txt"
    run_probe(backend, probe_flow, out)
    [(pid, *_)] = probe_lines(out)
    assert int(pid) != victim.pid
    assert "exited with code -9 while it waited for a run; replacing it" in agent.output()


def test_killing_the_agent_leaves_no_warm_process_behind(backend, start_agent):
    agent = start_agent("--warm", "2")
    warm = wait_for(lambda: len(warm_processes(agent.pid)) == 2 and warm_processes(agent.pid), timeout=30,
                    what="two warm run processes")
    template = template_of(agent.pid)
    os.kill(agent.pid, signal.SIGKILL)
    agent.process.wait()
    wait_for(lambda: all(process_gone(p.pid) for p in [template, *warm]), timeout=10,
             what="the template and its warm processes gone")


def test_killing_the_agent_during_a_run_leaves_no_process_behind(backend, start_agent, tmp_path):
    flow = register_file(backend, write_flow_file(tmp_path, SLEEPY_FLOW, "sleepy_flow.py"))
    agent = start_agent("--warm", "1")
    wait_for(lambda: warm_processes(agent.pid), timeout=30, what="a warm run process")
    run = backend.create_flow_run(flow["id"])
    wait_for_state(backend, run["id"], states=("Running",), timeout=30)
    template = template_of(agent.pid)
    everything = [template, *template.children(recursive=True)]
    assert len(everything) >= 3  # the template, the run's process, a process ready for the next run
    os.kill(agent.pid, signal.SIGKILL)
    agent.process.wait()
    wait_for(lambda: all(process_gone(p.pid) for p in everything), timeout=10,
             what="the template, the run's process and the ready process gone")


def test_a_dead_template_is_replaced_and_runs_go_on(backend, probe_flow, start_agent, tmp_path):
    agent = start_agent("--warm", "1")
    wait_for(lambda: warm_processes(agent.pid), timeout=30, what="a warm run process")
    first = template_of(agent.pid)
    first.kill()
    second = wait_for(lambda: (t := template_of(agent.pid)) is not None and t.pid != first.pid and t, timeout=30,
                      what="a new run template")
    out = tmp_path / "probe.txt"
    run_probe(backend, probe_flow, out)
    [(pid, command, *_)] = probe_lines(out)
    assert "jupyter_flows.agent.template" in command
    assert int(pid) in {p.pid for p in second.children()} or process_gone(int(pid))
    assert f"run template {first.pid} exited with code -9" in agent.output()


def test_a_template_that_cannot_start_is_started_again_later_and_later(tmp_path):
    shadow = tmp_path / "broken" / "jupyter_flows"  # a broken installation first on the path: no template starts
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('a broken installation')\n")
    pool = WarmPool(1, {**os.environ, "PYTHONPATH": str(shadow.parent)})
    started: list[int] = []
    deadline = time.monotonic() + 4
    try:
        while time.monotonic() < deadline:  # an agent's loop turning 20 times a second
            pool.refill()
            if pool.template is not None and pool.template.process.pid not in started:
                started.append(pool.template.process.pid)
            if pool.template is None:
                assert pool.take("run-id", {}, {}, None, tmp_path / "log") is None  # the run starts cold
            time.sleep(0.05)
    finally:
        pool.close()
    assert 2 <= len(started) <= 3  # at once, after 1 s, after 2 more: not one per turn of the loop


def test_a_run_succeeds_after_the_server_closed_the_connection_its_process_opened_ahead(
        postgres_server, monkeypatch, tmp_path, start_agent):
    from sqlalchemy import create_engine, text

    from jupyter_flows.backend import Backend

    url = postgres_server.new_database()
    monkeypatch.setenv("JUPYTER_FLOWS_BACKEND_URL", url)
    backend = Backend()
    flow = register_file(backend, write_flow_file(tmp_path, PROBE_FLOW, "probe_flow.py"))
    agent = start_agent("--warm", "1")
    [ready] = wait_for(lambda: warm_processes(agent.pid), timeout=30, what="a warm run process")
    backend.close()
    admin = create_engine(url)
    with admin.connect() as conn:  # as a server restart or an idle timeout would
        wait_for(lambda: conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                           "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                                           "AND state = 'idle' AND query NOT LIKE 'LISTEN%'")).all(),
                 timeout=30, what="the ready process's connection closed by the server")
    admin.dispose()
    backend = Backend()
    out = tmp_path / "probe.txt"
    run_probe(backend, flow, out)
    [(pid, *_)] = probe_lines(out)
    assert int(pid) == ready.pid
    backend.close()


def test_runs_created_together_each_get_their_own_process(backend, probe_flow, start_agent, tmp_path):
    agent = start_agent("--warm", "1", "--concurrency", "3")
    wait_for(lambda: warm_processes(agent.pid), timeout=30, what="a warm run process")
    out = tmp_path / "probe.txt"
    runs = [backend.create_flow_run(probe_flow["id"], parameters={"path": str(out)}) for _ in range(8)]
    finals = [wait_for_state(backend, run["id"], timeout=120) for run in runs]
    assert [f["state"] for f in finals] == ["Success"] * 8
    lines = probe_lines(out)
    assert len({pid for pid, *_ in lines}) == 8
    assert [leaked for _, _, leaked, *_ in lines] == ["False"] * 8


def test_stopping_the_agent_stops_its_warm_processes(backend, start_agent):
    agent = start_agent("--warm", "1")
    database = os.path.realpath(backend.engine.url.database)
    warm = wait_for(lambda: [p for p in warm_processes(agent.pid) if has_open(p, database)], timeout=30,
                    what="a warm run process connected to the backend (ready)")
    time.sleep(0.5)  # ten turns of the agent's loop: it has read the template's "ready" line
    assert agent.stop() == 0
    assert all(process_gone(p.pid) for p in warm)
    assert "stopping its run template and 1 ready run process(es), holding" in agent.output()


def test_warm_zero_keeps_no_warm_process_and_runs_still_run(backend, probe_flow, start_agent, tmp_path):
    agent = start_agent("--warm", "0")
    out = tmp_path / "probe.txt"
    run_probe(backend, probe_flow, out)
    assert warm_processes(agent.pid) == []
    [(_, command, *_)] = probe_lines(out)
    assert "jupyter_flows.agent.execute" in command


def test_a_negative_warm_count_is_refused_naming_the_value(backend):
    with pytest.raises(ConfigurationError, match=r"warm must be a whole number >= 0 .* got -1"):
        LocalAgent(backend, warm=-1)
    result = run_cli("agent", "local", "start", "--warm", "-1")
    assert result.returncode == 2
    assert "--warm" in result.stderr and "-1" in result.stderr


# -- warm kernels -------------------------------------------------------------------------------------

PROBE_CELL = '''
import os, psutil
kernel = psutil.Process(os.getpid())
with open(path, "a") as f:
    f.write("|".join([str(kernel.create_time()), " ".join(kernel.parent().cmdline()), os.environ.get("GREETING", "-"),
                      os.getcwd(), str("_left_by_an_earlier_run" in globals()), str(os.getpid())]) + "\\n")
_left_by_an_earlier_run = True
'''


@pytest.fixture
def notebook_flow(backend, tmp_path) -> dict:
    import nbformat

    from jupyter_flows import Flow
    from jupyter_flows.storage import Notebook

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell('path = ""', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(PROBE_CELL)]
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, str(path))
    backend.create_project("tests")
    return backend.get_flow(Flow("notebook-probe", storage=Notebook(path)).register(project_name="tests"))


def test_a_notebook_run_gets_a_kernel_started_ahead_with_the_runs_env_and_cwd(backend, notebook_flow, start_agent,
                                                                            tmp_path):
    agent = start_agent("--warm", "1")
    out = tmp_path / "kernels.txt"
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    run_config = LocalRun(env={"GREETING": "Hello"}, working_dir=str(workdir))
    run_probe(backend, notebook_flow, out, run_config)  # teaches the agent which kernel to start ahead
    wait_for(lambda: [p for p in warm_processes(agent.pid) if p.children()], timeout=60,
             what="a warm run process with a kernel")
    created = run_probe(backend, notebook_flow, out, run_config)["created"]
    lines = probe_lines(out)
    started, parent, greeting, cwd, leaked, _ = lines[-1]
    assert float(started) < created, "the kernel was started before the run was created"
    assert "jupyter_flows.agent.template" in parent
    assert (greeting, cwd) == ("Hello", str(workdir))
    assert [line[4] for line in lines] == ["False"] * 2


def test_a_warm_kernel_that_died_while_idle_is_not_given_to_the_run(backend, notebook_flow, start_agent, tmp_path):
    agent = start_agent("--warm", "1")
    out = tmp_path / "kernels.txt"
    run_probe(backend, notebook_flow, out)  # the agent now starts python3 kernels ahead
    warm = wait_for(lambda: [p for p in warm_processes(agent.pid) if p.children()], timeout=60,
                    what="a warm run process with a kernel")
    kernels = warm[0].children()
    for kernel in kernels:
        kernel.kill()
    run_probe(backend, notebook_flow, out)
    assert int(probe_lines(out)[-1][5]) not in {k.pid for k in kernels}


def test_a_notebook_run_whose_kernel_is_not_installed_fails_clearly(backend, tmp_path, start_agent):
    import nbformat

    from jupyter_flows import Flow
    from jupyter_flows.storage import Notebook

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "no-such-kernel", "display_name": "None",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("1")]
    path = tmp_path / "missing.ipynb"
    nbformat.write(nb, str(path))
    backend.create_project("tests")
    with pytest.warns(UserWarning, match="no-such-kernel"):
        flow_id = Flow("missing-kernel", storage=Notebook(path, allow_missing_kernel=True)).register(
            project_name="tests")
    start_agent("--warm", "1")
    run = backend.create_flow_run(flow_id)
    final = wait_for_state(backend, run["id"], timeout=60)
    assert final["state"] == "Failed"
    [task_run] = backend.get_task_runs(run["id"])
    assert "no-such-kernel" in task_run["message"] and "python3" in task_run["message"]


def test_killing_the_agent_leaves_no_warm_kernel_behind(backend, notebook_flow, start_agent, tmp_path):
    agent = start_agent("--warm", "1")
    run_probe(backend, notebook_flow, tmp_path / "kernels.txt")  # the agent now starts kernels ahead
    [warm] = wait_for(lambda: [p for p in warm_processes(agent.pid) if p.children()], timeout=60,
                      what="a warm run process with a kernel")
    kernels = warm.children(recursive=True)
    os.kill(agent.pid, signal.SIGKILL)
    agent.process.wait()
    wait_for(lambda: all(process_gone(p.pid) for p in [warm, *kernels]), timeout=20,
             what="the warm process and its kernel gone")
