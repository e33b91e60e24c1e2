"""Writers racing on one backend: what each race must leave behind, counted over many tries."""

from __future__ import annotations

import threading

from jupyter_flows.backend import FINISHED_STATES, Backend

from backend_helpers import register_plain_flow

TRIES = 100


def _race(*calls):
    """Run the calls at the same moment, one thread each; return their results (or exceptions)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def go(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # counted by the caller
            results[i] = exc

    threads = [threading.Thread(target=go, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_final_states_at_once_leave_the_first_one_and_only_it(backend):
    flow = register_plain_flow(backend)
    other = Backend(backend.url)  # a second writer with its own connections, like another process
    overwritten = []
    for _ in range(TRIES):
        run = backend.create_flow_run(flow["id"], parameters={"greeting": "hi"}, state="Running")
        _race(lambda: backend.set_flow_run_state(run["id"], "Success", "done"),
              lambda: other.set_flow_run_state(run["id"], "Failed", "lost"))
        after = backend.get_flow_run(run["id"])
        finals = [s["state"] for s in after["states"] if s["state"] in FINISHED_STATES]
        if finals != [after["state"]]:
            overwritten.append(finals)
    other.close()
    assert overwritten == []


def _register(backend, content_hash: str):
    return backend.register_flow("tutorial", "hello-flow", storage=None, run_config=None, executor=None,
                                 parameters=[], graph=None, labels=[], content_hash=content_hash)


def _writers(backend, count):
    """``count`` backends on the same database, each with its own connections, like processes."""
    return [Backend(backend.url) for _ in range(count)]


def test_twenty_registrations_of_one_unchanged_flow_at_once_store_one_version(backend, tutorial):
    writers = _writers(backend, 20)
    results = _race(*[lambda w=w: _register(w, "same") for w in writers])
    assert [r for r in results if isinstance(r, Exception)] == []
    stored = backend.list_flows("tutorial", include_archived=True)
    assert [(f["version"], f["version_group_id"]) for f in stored] == [(1, results[0]["version_group_id"])]
    assert sum(r["new_version"] for r in results) == 1
    for w in writers:
        w.close()


def test_twenty_registrations_of_changed_versions_at_once_number_them_one_to_twenty(backend, tutorial):
    writers = _writers(backend, 20)
    results = _race(*[lambda w=w, i=i: _register(w, f"hash-{i}") for i, w in enumerate(writers)])
    assert [r for r in results if isinstance(r, Exception)] == []
    stored = backend.list_flows("tutorial", include_archived=True)
    assert sorted(f["version"] for f in stored) == list(range(1, 21))
    assert len({f["version_group_id"] for f in stored}) == 1
    assert [f["version"] for f in stored if not f["archived"]] == [20]
    for w in writers:
        w.close()


def test_twenty_processes_creating_one_project_at_once_get_the_same_one(backend):
    writers = _writers(backend, 20)
    results = _race(*[lambda w=w: w.create_project("shared") for w in writers])
    assert [r for r in results if isinstance(r, Exception)] == []
    assert len({r["id"] for r in results}) == 1
    for w in writers:
        w.close()
