"""Local storage: the flow pickled to a file on this machine, or the script that builds it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest

from jupyter_flows import Flow, Parameter, config, task
from jupyter_flows.backend import Backend, FlowView
from jupyter_flows.backend.serialize import flow_hash
from jupyter_flows.exceptions import NotPicklableError, StorageError
from jupyter_flows.storage import Local, storage_from_dict


def build_flow(name: str = "hello-flow") -> Flow:
    @task
    def greet(person):
        return f"Hello, {person}!"

    with Flow(name) as flow:
        greet.map(Parameter("people", default=["Arthur", "Ford"]))
    return flow


def test_a_flow_is_pickled_under_the_flows_dir_by_name_and_content_hash():
    flow = build_flow()
    storage = Local()
    location = storage.add_flow(flow)
    assert location == str(config.flows_dir() / "hello-flow" / f"{flow_hash(flow)}.flow")
    assert os.path.isfile(location)
    loaded = storage.get_flow(location)
    state = loaded.run()
    assert state.is_successful()
    [greetings] = [s for t, s in state.result.items() if t.name == "greet"]
    assert greetings.result == ["Hello, Arthur!", "Hello, Ford!"]


def test_storing_an_unchanged_flow_again_rewrites_the_same_file():
    storage = Local()
    first = storage.add_flow(build_flow())
    assert storage.add_flow(build_flow()) == first
    assert len(os.listdir(os.path.dirname(first))) == 1


def test_a_given_directory_is_used(tmp_path):
    location = Local(directory=tmp_path / "kept").add_flow(build_flow())
    assert location.startswith(str(tmp_path / "kept" / "hello-flow"))


@pytest.mark.parametrize("name, folder", [
    ("../../etc/passwd", "etc-passwd"),
    ("/absolute/path", "absolute-path"),
    ("Hello Flow: v2!", "hello-flow-v2"),
    ("..", "flow"),
    ("日本語", "flow"),
])
def test_flow_names_cannot_steer_the_file_outside_the_directory(tmp_path, name, folder):
    location = Local(directory=tmp_path).add_flow(build_flow(name))
    assert os.path.dirname(location) == str(tmp_path / folder)


def test_the_host_name_is_a_label_unless_default_labels_are_off():
    assert Local(labels=["shared"]).labels == ["shared", socket.gethostname()]
    assert Local(labels=["shared"], add_default_labels=False).labels == ["shared"]


def test_local_round_trips_through_its_dict_keeping_the_host_that_wrote_it():
    storage = Local(labels=["a"])
    location = storage.add_flow(build_flow())
    data = storage.to_dict()
    assert data["type"] == "Local" and data["flows"] == {"hello-flow": location}
    data["labels"] = ["a", "the-writing-host"]
    rebuilt = storage_from_dict(data)
    assert isinstance(rebuilt, Local) and rebuilt.to_dict() == data
    assert rebuilt.labels == ["a", "the-writing-host"]
    assert rebuilt.get_flow().name == "hello-flow"


def test_a_stored_flow_loads_in_another_process(tmp_path):
    storage = Local()
    storage.add_flow(build_flow())
    code = ("import json, sys\nfrom jupyter_flows.storage import storage_from_dict\n"
            "flow = storage_from_dict(json.loads(sys.argv[1])).get_flow()\n"
            "print(flow.run().is_successful())")
    import json

    result = subprocess.run([sys.executable, "-c", code, json.dumps(storage.to_dict())], capture_output=True,
                            text=True, timeout=120, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_a_task_using_a_lock_is_named_when_the_flow_cannot_be_pickled():
    lock = threading.Lock()

    @task
    def guarded(x):
        with lock:
            return x

    with Flow("locked-flow") as flow:
        guarded(1)
    with pytest.raises(NotPicklableError) as error:
        Local().add_flow(flow)
    message = str(error.value)
    assert "flow 'locked-flow' cannot be pickled" in message
    assert "task 'guarded' uses closure variable 'lock'" in message and "lock" in message
    assert not (config.flows_dir() / "locked-flow").exists() or not os.listdir(config.flows_dir() / "locked-flow")


def test_an_unpicklable_argument_is_named():
    @task
    def send(connection):
        return connection.fileno()

    with socket.socket() as connection:
        with Flow("sender") as flow:
            send(connection)
        with pytest.raises(NotPicklableError, match=r"task 'send' is given argument 'connection' = <socket.socket"):
            Local().add_flow(flow)


def test_register_fails_before_recording_a_flow_that_cannot_be_pickled(jupyter_flows_home):
    lock = threading.Lock()

    @task
    def guarded():
        return lock.locked()

    with Flow("locked-flow") as flow:
        guarded()
    Backend().create_project("tutorial")
    with pytest.raises(NotPicklableError, match="task 'guarded'"):
        flow.register(project_name="tutorial")
    assert Backend().list_flows(include_archived=True) == []


def test_a_deleted_flow_file_is_named_when_loading():
    storage = Local()
    location = storage.add_flow(build_flow())
    os.remove(location)
    with pytest.raises(StorageError, match=r"the stored file of flow 'hello-flow' is missing: '.*\.flow' was written "
                                           "when the flow was registered"):
        storage.get_flow(location)


def test_a_registered_flow_whose_file_was_deleted_fails_to_load_naming_the_file(jupyter_flows_home):
    Backend().create_project("tutorial")
    flow_id = build_flow().register(project_name="tutorial")
    view = FlowView.from_flow_id(flow_id)
    os.remove(view.location)
    with pytest.raises(StorageError, match=f"is missing: '{view.location}'"):
        view.load_flow()


def test_a_damaged_flow_file_is_an_error_naming_it():
    storage = Local()
    location = storage.add_flow(build_flow())
    with open(location, "wb") as handle:
        handle.write(b"not a pickle")
    with pytest.raises(StorageError, match=f"stored flow '{location}' cannot be unpickled here"):
        storage.get_flow(location)


def test_get_flow_without_location_needs_exactly_one_flow():
    with pytest.raises(StorageError, match="holds 0 flows; say which with get_flow"):
        Local().get_flow()


SCRIPT = '''
from jupyter_flows import Flow, Parameter, task

@task
def shout(word):
    return word.upper()

with Flow("script-flow") as flow:
    shout(Parameter("word", default="hello"))

# Run as a script this registers the flow; loaded by a storage it must not (the project does not exist).
flow.register(project_name="not-a-project")
'''


def test_stored_as_script_runs_the_file_without_registering_again(tmp_path, jupyter_flows_home):
    path = tmp_path / "script_flow.py"
    path.write_text(SCRIPT)
    storage = Local(stored_as_script=True, path=path)
    flow = Flow("script-flow", tasks=[Parameter("word", default="x")])
    assert storage.add_flow(flow) == str(path)
    loaded = storage.get_flow(str(path))
    assert loaded.name == "script-flow" and loaded.run().is_successful()
    assert not config.flows_dir().exists()  # nothing pickled
    assert Backend().list_flows(include_archived=True) == []


def test_stored_as_script_needs_a_path_that_exists(tmp_path):
    with pytest.raises(StorageError, match=r"Local\(stored_as_script=True\) needs path="):
        Local(stored_as_script=True)
    with pytest.raises(StorageError, match="flow script '.*missing.py' does not exist"):
        Local(stored_as_script=True, path=tmp_path / "missing.py").add_flow(build_flow())
