"""A flow as JSON (parameters, graph) and its content hash, stable across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from jupyter_flows import Flow, Parameter, flatten, task, unmapped
from jupyter_flows.backend import serialize

from backend_helpers import build_hello_flow

FLOW_SCRIPT = '''
import threading
from jupyter_flows import Flow, Parameter, task, unmapped

@task(tags={"io", "net", "slow", "db"}, max_retries=2, retry_delay=1)
def fetch(url, options):
    return [url, sorted(options)]

@task
def report(rows):
    return len(rows)  # BODY

with Flow("etl") as flow:
    urls = Parameter("urls", default=["a", "b"])
    rows = fetch.map(urls, unmapped({"x", "y", "z", "w"}))
    report(rows)
'''

HASH_OF_SCRIPT = (
    "import runpy, sys\nfrom jupyter_flows.backend.serialize import flow_hash\n"
    "print(flow_hash(runpy.run_path(sys.argv[1])['flow']))"
)


def _hash_in_new_process(path, seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    result = subprocess.run([sys.executable, "-c", HASH_OF_SCRIPT, str(path)], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_parameters_are_listed_with_defaults_and_required():
    class Opaque:
        def __repr__(self):
            return "<Opaque>"

    flow = Flow("p", tasks=[Parameter("people", default=["Arthur", "Ford"]), Parameter("when", required=True),
                            Parameter("thing", default=Opaque())])
    assert serialize.parameters_to_json(flow) == [
        {"name": "people", "default": ["Arthur", "Ford"], "required": False},
        {"name": "thing", "default": "<Opaque>", "required": False},
        {"name": "when", "default": None, "required": True},
    ]


def test_graph_lists_tasks_in_run_order_with_kinds_and_mapped_edges():
    flow = build_hello_flow()
    assert serialize.graph_to_json(flow) == {
        "tasks": [
            {"slug": "people", "name": "people", "mapped": False, "kind": "parameter"},
            {"slug": "say_hello-1", "name": "say_hello", "mapped": True, "kind": "task"},
        ],
        "edges": [{"upstream": "people", "downstream": "say_hello-1", "key": "name", "mapped": True,
                   "flattened": False}],
    }


def test_graph_shows_constants_and_flattened_edges():
    @task
    def nested():
        return [[1], [2, 3]]

    @task
    def add(x, y):
        return x + y

    with Flow("flat") as flow:
        add.map(flatten(nested()), unmapped(10))
        add.map([1, 2], y=1)
    graph = serialize.graph_to_json(flow)
    kinds = {t["kind"] for t in graph["tasks"]}
    assert kinds == {"task", "constant"}
    assert any(e["flattened"] for e in graph["edges"])


def test_the_hash_of_an_unchanged_flow_is_the_same_in_other_processes(tmp_path):
    path = tmp_path / "etl.py"
    path.write_text(FLOW_SCRIPT)
    hashes = {_hash_in_new_process(path, seed) for seed in ("1", "2")}
    assert len(hashes) == 1


def test_a_changed_task_body_changes_the_hash(tmp_path):
    path = tmp_path / "etl.py"
    path.write_text(FLOW_SCRIPT)
    before = _hash_in_new_process(path, "1")
    path.write_text(FLOW_SCRIPT.replace("return len(rows)  # BODY", "return len(rows) + 1  # BODY"))
    assert _hash_in_new_process(path, "1") != before


@pytest.mark.parametrize("change", [
    lambda f: setattr(next(t for t in f.tasks if t.name == "say_hello"), "max_retries", 3),
    lambda f: setattr(next(t for t in f.tasks if t.name == "people"), "default", ["Zaphod"]),
    lambda f: f.add_task(Parameter("extra", default=1)),
])
def test_changed_options_defaults_or_tasks_change_the_hash(change):
    flow = build_hello_flow()
    before = serialize.flow_hash(flow)
    change(flow)
    assert serialize.flow_hash(flow) != before


def test_rebuilding_the_same_flow_in_this_process_gives_the_same_hash():
    assert serialize.flow_hash(build_hello_flow()) == serialize.flow_hash(build_hello_flow())


def test_a_function_without_source_is_hashed_by_its_code(tmp_path):
    code = textwrap.dedent('''
        from jupyter_flows import Flow, task
        from jupyter_flows.backend.serialize import flow_hash
        ns = {}
        exec("def double(x):\\n    return x * FACTOR\\n", ns)
        with Flow("generated") as flow:
            task(ns["double"])(3)
        print(flow_hash(flow))
    ''')
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    changed = subprocess.run([sys.executable, "-c", code.replace("x * FACTOR", "x * FACTOR + 1")],
                             capture_output=True, text=True, timeout=120)
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout != changed.stdout


def test_registration_hash_covers_run_config_but_not_the_storage_location():
    base = dict(storage={"type": "Local", "flows": {"f": "/a.flow"}}, run_config={"env": {"G": "Hi"}},
                executor={"type": "LocalExecutor"}, labels=["vm"])
    first = serialize.registration_hash("h", **base)
    moved = serialize.registration_hash("h", **{**base, "storage": {"type": "Local", "flows": {"f": "/b.flow"}}})
    other_env = serialize.registration_hash("h", **{**base, "run_config": {"env": {"G": "Howdy"}}})
    assert first == moved != other_env
