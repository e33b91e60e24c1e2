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
