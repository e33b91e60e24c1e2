"""Pack files: a mapped task's children share a few checkpoint files, and a pack that is not whole never lies."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from agent_helpers import register_file, write_flow_file

from jupyter_flows import Flow, task
from jupyter_flows.agent.execute import execute_flow_run
from jupyter_flows.backend import Client
from jupyter_flows.engine.events import RunListener
from jupyter_flows.exceptions import ResultError
from jupyter_flows.executors import LocalDaskExecutor
from jupyter_flows.results import JSONSerializer, LocalResult
from jupyter_flows.results.packs import PackWriter, flush_packs


class ChildLocations(RunListener):
    """Hears where each child's result went, as the backend's recorder does."""

    def __init__(self):
        self.locations: list[tuple[int, str]] = []

    def task_run_finished(self, run):
        if run.map_index is not None:
            self.locations.append((run.map_index, run.location))


def _squares(result, n=100):
    @task(checkpoint=True)
    def square(i):
        return i * i

    with Flow("packed", result=result) as flow:
        squares = square.map(list(range(n)))
    return flow, squares


def test_the_children_of_a_map_share_a_few_pack_files_and_each_reads_back(tmp_path):
    flow, _ = _squares(LocalResult(tmp_path), n=300)
    assert flow.run().is_successful()
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert 1 <= len(files) <= 10 and all(path.suffix == ".jfpack" for path in files)
    # what a run records for each child: the pack's path and the child's key
    recorded = ChildLocations()
    assert flow.run(listeners=[recorded]).is_successful()
    children = dict(recorded.locations)
    assert len(children) == 300 and all(".jfpack#" in location for location in children.values())
    reader = LocalResult(tmp_path)
    assert [reader.read(children[i]) for i in (0, 151, 299)] == [0, 151 * 151, 299 * 299]
    assert reader.read_many([children[i] for i in range(300)]) == [i * i for i in range(300)]


def test_a_location_template_with_map_index_keeps_one_file_per_child(tmp_path):
    flow, _ = _squares(LocalResult(tmp_path, location="{task_name}/{map_index}.pkl"), n=5)
    assert flow.run().is_successful()
    assert sorted(path.name for path in (tmp_path / "square").iterdir()) == [f"{i}.pkl" for i in range(5)]


def test_a_pack_cut_short_or_damaged_yields_no_value(tmp_path):
    result = LocalResult(tmp_path, serializer=JSONSerializer())
    writer = PackWriter(result, "run/square")
    locations = [writer.add(str(i), result.serializer.serialize(i * 10)) for i in range(50)]
    writer.flush()
    assert result.read_many(locations) == [i * 10 for i in range(50)]
    pack = tmp_path / locations[0].rsplit("#", 1)[0]
    whole = pack.read_bytes()

    pack.write_bytes(whole[:-7])  # the writer died in the middle of it (on a file system without rename)
    values = result.read_many(locations)
    assert all(isinstance(value, ResultError) and "cut short or damaged" in str(value) for value in values)

    damaged = bytearray(whole)
    damaged[len(whole) // 2] ^= 0x01
    pack.write_bytes(bytes(damaged))
    with pytest.raises(ResultError, match="cut short or damaged"):
        result.read(locations[25])

    pack.unlink()
    with pytest.raises(ResultError, match=r"no result at .*\.jfpack \(deleted\?\)"):
        result.read(locations[3])


def test_a_result_directory_that_is_not_writable_fails_the_first_child_saying_why(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who may write anywhere")
        flow, squares = _squares(LocalResult(locked), n=3)
        state = flow.run()
        children = state.result[squares].map_states
        assert all(child.is_failed() for child in children)
        assert "could not be checkpointed: cannot write the result to" in children[0].message
        assert "make the result directory writable" in children[0].message
    finally:
        locked.chmod(0o700)


def test_a_result_directory_that_is_a_file_fails_every_child_saying_why(tmp_path):
    occupied = tmp_path / "occupied"
    occupied.write_text("a file where the results should go")
    flow, squares = _squares(LocalResult(occupied), n=3)
    children = flow.run().result[squares].map_states
    assert all(child.is_failed() for child in children)
    assert all("could not be checkpointed: cannot write the result to" in child.message for child in children)


def test_worker_processes_write_their_own_packs_and_every_child_reads_back(tmp_path):
    recorded = ChildLocations()
    flow, _ = _squares(LocalResult(tmp_path), n=200)
    state = flow.run(executor=LocalDaskExecutor(scheduler="processes", num_workers=2), listeners=[recorded])
    assert state.is_successful()
    locations = recorded.locations
    assert len({location.rsplit("#", 1)[0] for _, location in locations}) <= 20  # a few per worker process
    values = LocalResult(tmp_path).read_many([location for _, location in sorted(locations)])
    assert values == [i * i for i in range(200)]


#: 600 children, then a reduce whose process dies once the first 500 children's rows are in the backend.
DYING_FLOW = '''
import os
import time
from pathlib import Path

from jupyter_flows import Flow, context, task
from jupyter_flows.backend import Backend
from jupyter_flows.results import packs

WORKDIR = Path({workdir!r})


@task
def square(i):
    packs.PACK_SECONDS = 600  # in the run's process: no timer writes the open pack before it dies
    with open(WORKDIR / "executions.log", "a") as log:
        log.write(f"{{i}}\\n")
    return i * i


@task
def total(values):
    if not (WORKDIR / "fixed").exists():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the recorder's first batch of rows is written by its thread
            rows = Backend(create=False).get_task_runs(context.flow_run_id)
            if sum(row["state"] == "Success" for row in rows) >= 500:
                break
            time.sleep(0.05)
        os._exit(3)  # the run's process dies with most checkpoints still in memory
    return sum(values)


with Flow("dying") as flow:
    total(square.map(list(range(600))))
'''


def test_children_whose_pack_was_not_written_when_the_process_died_rerun_on_restart(tmp_path, backend):
    flow = register_file(backend, write_flow_file(tmp_path, DYING_FLOW.format(workdir=str(tmp_path)), "dying.py"))
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    code = "import sys; from jupyter_flows.agent.execute import execute_flow_run; execute_flow_run(sys.argv[1])"
    died = subprocess.run([sys.executable, "-c", code, run_id], capture_output=True, text=True, timeout=120,
                          check=False)
    assert died.returncode == 3, died.stderr
    recorded = {row["map_index"]: row for row in backend.get_task_runs(run_id) if row["task_name"] == "square"}
    assert len(recorded) >= 500 and recorded[0]["result_location"].endswith(".jfpack#0")
    backend.set_flow_run_state(run_id, "Failed", "its process died")
    (tmp_path / "fixed").touch()

    Client(backend=backend).restart_flow_run(run_id)
    assert execute_flow_run(run_id, backend) == "Success"
    rerun = (tmp_path / "executions.log").read_text().split()[600:]
    # the children's pack died with the process: all run again, those recorded as Success included
    assert sorted(map(int, rerun)) == list(range(600))
    reduce = next(row for row in backend.get_task_runs(run_id) if row["task_name"] == "total")
    assert LocalResult().read(reduce["result_location"]) == sum(i * i for i in range(600))
    logs = [entry["message"] for entry in backend.get_logs(run_id)]
    assert any("Task 'square[1]' runs again: no result at" in line and "(deleted?)" in line for line in logs)


def test_flush_packs_writes_what_a_run_left_open(tmp_path):
    result = LocalResult(tmp_path)
    from jupyter_flows.results.packs import pack_writer

    writer, new = pack_writer(("a-run", "slug"), result, lambda: "a-run/slug")
    assert new
    location = writer.add("0", result.serializer.serialize("kept"))
    assert not (tmp_path / location.rsplit("#", 1)[0]).exists()
    flush_packs()
    assert result.read(location) == "kept"
    assert pack_writer(("a-run", "slug"), result, lambda: "a-run/slug")[1]  # a finished run's writer is gone
    flush_packs()


def test_dask_workers_write_their_packs_before_the_run_ends(tmp_path):
    from jupyter_flows.executors import DaskExecutor

    recorded = ChildLocations()
    flow, _ = _squares(LocalResult(tmp_path), n=100)
    executor = DaskExecutor(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1})
    assert flow.run(executor=executor, listeners=[recorded]).is_successful()
    values = LocalResult(tmp_path).read_many([location for _, location in sorted(recorded.locations)])
    assert values == [i * i for i in range(100)]


def test_packs_on_a_second_file_system_through_fsspec(tmp_path):
    from jupyter_flows.results import FSSpecResult

    elsewhere = tmp_path / "other-mount"
    recorded = ChildLocations()
    flow, _ = _squares(FSSpecResult(f"file://{elsewhere}"), n=50)
    assert flow.run(listeners=[recorded]).is_successful()
    assert {path.suffix for path in elsewhere.rglob("*") if path.is_file()} == {".jfpack"}
    values = FSSpecResult(f"file://{elsewhere}").read_many([location for _, location in sorted(recorded.locations)])
    assert values == [i * i for i in range(50)]
