"""Module and Script storage: the flow comes from an importable module, or from a .py file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from jupyter_flows import Flow, Parameter
from jupyter_flows.exceptions import StorageError
from jupyter_flows.storage import Local, Module, Script, storage_from_dict

TWO_FLOWS = '''
from jupyter_flows import Flow, Parameter, task

@task
def add(x, y):
    return x + y

with Flow("adder") as adder:
    add(Parameter("x", default=1), 2)

with Flow("other") as other:
    add(1, Parameter("y", default=2))

if __name__ == "__main__":
    raise SystemExit("the main block must not run when the flow is loaded")
'''

ONE_FLOW = '''
from jupyter_flows import Flow, Parameter, task

@task
def half(x):
    return x / 2

with Flow("halver") as my_flow:
    half(Parameter("x", default=4))
'''


@pytest.fixture
def package(tmp_path, monkeypatch):
    """An importable package ``myflows`` with a module of two flows and one of one flow."""
    root = tmp_path / "src"
    (root / "myflows").mkdir(parents=True)
    (root / "myflows" / "__init__.py").write_text("")
    (root / "myflows" / "two.py").write_text(TWO_FLOWS)
    (root / "myflows" / "one.py").write_text(ONE_FLOW)
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in [m for m in sys.modules if m.startswith("myflows")]:
        del sys.modules[name]


def _only_result(state):
    [value] = [s.result for t, s in state.result.items() if not isinstance(t, Parameter)]
    return value


def test_module_storage_loads_the_flow_with_the_registered_name(package):
    storage = Module("myflows.two")
    assert storage.add_flow(Flow("other", tasks=[Parameter("y")])) == "myflows.two"
    flow = storage.get_flow("myflows.two")
    assert flow.name == "other"
    assert _only_result(flow.run()) == 3


def test_module_storage_takes_the_only_flow_of_a_module(package):
    flow = Module("myflows.one").get_flow()
    assert flow.name == "halver" and _only_result(flow.run()) == 2


def test_module_storage_lists_the_flows_it_found_when_the_name_is_ambiguous(package):
    with pytest.raises(StorageError, match="module 'myflows.two' does not define exactly one flow; "
                                           "flows it defines: 'adder', 'other'"):
        Module("myflows.two").get_flow()
    storage = Module("myflows.one")
    storage.add_flow(Flow("renamed", tasks=[Parameter("x")]))
    with pytest.raises(StorageError, match="does not define a flow named 'renamed'; flows it defines: 'halver'"):
        storage.get_flow()


@pytest.mark.parametrize("bad", ["", "my-flows", "../x", "a..b", None])
def test_module_storage_needs_a_dotted_module_name(bad):
    with pytest.raises(StorageError, match="needs a dotted module name"):
        Module(bad)


def test_a_module_that_cannot_be_imported_is_named(package):
    with pytest.raises(StorageError, match="cannot import module 'myflows.missing'.*PYTHONPATH"):
        Module("myflows.missing").get_flow()


def test_module_storage_round_trips_and_loads_in_another_process(package):
    storage = Module("myflows.two", labels=["team"])
    storage.add_flow(Flow("adder", tasks=[Parameter("x")]))
    data = storage.to_dict()
    assert storage_from_dict(data).to_dict() == data
    code = ("import json, sys\nfrom jupyter_flows.storage import storage_from_dict\n"
            "print(storage_from_dict(json.loads(sys.argv[1])).get_flow().name)")
    env = {**os.environ, "PYTHONPATH": str(package)}
    result = subprocess.run([sys.executable, "-c", code, json.dumps(data)], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "adder"


def test_script_storage_runs_the_file_and_picks_the_flow_by_name(tmp_path):
    path = tmp_path / "two.py"
    path.write_text(TWO_FLOWS)
    storage = Script(path)
    assert storage.add_flow(Flow("adder", tasks=[Parameter("x")])) == str(path)
    flow = storage.get_flow(str(path))
    assert flow.name == "adder" and _only_result(flow.run()) == 3


def test_script_storage_round_trips(tmp_path):
    path = tmp_path / "one.py"
    path.write_text(ONE_FLOW)
    storage = Script(path, labels=["x"])
    storage.add_flow(Flow("halver", tasks=[Parameter("x")]))
    rebuilt = storage_from_dict(storage.to_dict())
    assert isinstance(rebuilt, Script) and rebuilt.to_dict() == storage.to_dict()
    assert rebuilt.get_flow().name == "halver"


def test_a_missing_script_is_named_at_registration_and_at_load(tmp_path):
    storage = Script(tmp_path / "gone.py")
    with pytest.raises(StorageError, match="flow script '.*gone.py' does not exist"):
        storage.add_flow(Flow("f", tasks=[Parameter("x")]))
    with pytest.raises(StorageError, match="flow script '.*gone.py' does not exist"):
        storage.get_flow()


def test_a_script_that_fails_is_reported_with_its_error(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import no_such_module_here\n")
    with pytest.raises(StorageError, match="flow script '.*broken.py' failed while building its flow: "
                                           "ModuleNotFoundError: No module named 'no_such_module_here'"):
        Script(path).get_flow()


def test_unknown_storage_types_list_the_known_ones():
    with pytest.raises(StorageError, match="unknown storage type 'S3'; known: .*Local, Module, .*Script"):
        storage_from_dict({"type": "S3"})


def test_every_storage_kind_says_where_its_flows_are(tmp_path):
    path = tmp_path / "one.py"
    path.write_text(ONE_FLOW)
    for storage in (Local(), Module("myflows.one"), Script(path), Local(stored_as_script=True, path=path)):
        assert storage.output_path("run-id") is None
        assert storage.to_dict()["type"] == type(storage).__name__
