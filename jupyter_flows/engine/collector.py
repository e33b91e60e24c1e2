"""Keeps Python's garbage collector from rescanning the task runs a large flow run holds.

A flow run keeps every finished task run (its record and state) until it ends,
and the planned graph for as long as a wave runs: all of it is live by
construction, yet Python's full collections scan every tracked object again
each time the heap has grown by a quarter. On a 1,000,000-way map that
rescanning took as long as the task runs themselves (17.5 against 9.5 µs per
task with collections off, on a loaded 2-core machine).

So a run that holds many records moves what exists into the collector's
permanent generation (``gc.freeze()``, which costs the same whatever the heap's
size) after planning a large wave and each time another ``EVERY`` task runs
have finished, and hands it all back (``gc.unfreeze()``) when it ends:
whatever became garbage meanwhile is collected as usual from then on, and
young garbage is still collected during the run. Runs smaller than ``EVERY``
never freeze, and a process that froze objects itself (a server that
freezes before forking) is left alone.
"""

from __future__ import annotations

import gc
import math

#: Finished task runs between two freezes, and the smallest wave worth freezing.
EVERY = 10_000


class FrozenRecords:
    """The freezes of one flow run: :meth:`freeze` as records pile up, :meth:`release` at the end."""

    __slots__ = ("_owner", "_frozen")

    def __init__(self):
        # Not ours to manage when collection is off or someone else has frozen objects.
        self._owner = gc.isenabled() and gc.get_freeze_count() == 0
        self._frozen = False

    def freeze(self, kept: int) -> float:
        """Freeze the heap as it is, ``kept`` task runs being held; the count at which to freeze again."""
        if not self._owner:
            return math.inf
        gc.freeze()
        self._frozen = True
        return kept + EVERY

    def release(self) -> None:
        """Give frozen objects back to the collector (the run has ended, its records may go)."""
        if self._frozen:
            self._frozen = False
            gc.unfreeze()
