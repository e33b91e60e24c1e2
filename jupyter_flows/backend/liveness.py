"""Seeing a silent run for what it is, from any process that reads it.

A run's agent normally fails a run whose process went silent; when the agent
is gone too, nobody would, and the run would stay Submitted or Running for
every reader (``run --watch``, the Jupyter server) until another agent starts.
So a reader settles it itself, with the agents' own compare-and-set
(:meth:`Backend.fail_stale_runs`, on the database's clock): a run that beat
meanwhile, or whose agent is alive, is left alone.
"""

from __future__ import annotations

import time

from .. import config

#: A run this many heartbeat intervals silent is lost (as agents judge it).
SILENT_AFTER_HEARTBEATS = 2

_LIVE_STATES = ("Submitted", "Running")


def settled(backend, run: dict) -> dict:
    """``run`` as it really is: failed as lost when it went silent and its agent is gone, else unchanged.

    Only a run that looks silent by this host's clock costs a write; the
    write itself decides by the database's clock.
    """
    if run.get("state") not in _LIVE_STATES:
        return run
    silence = SILENT_AFTER_HEARTBEATS * config.heartbeat_interval()
    last_sign = run.get("heartbeat") or run.get("start_time") or run.get("created")
    if last_sign is not None and time.time() - last_sign < silence:
        return run
    for lost in backend.fail_stale_runs(silence):
        if lost["id"] == run["id"]:
            return lost
    return run
