"""Prefect 1 import paths work as written in its documentation."""

import subprocess
import sys
import textwrap


def test_prefect_1_import_paths_work_in_a_fresh_interpreter():
    code = textwrap.dedent("""
        import jupyter_flows.triggers
        import jupyter_flows.signals
        from jupyter_flows.triggers import all_successful
        from jupyter_flows.signals import FAIL, SKIP
        from jupyter_flows.tasks.core import Constant, Dict, FunctionTask, List, Set, Tuple
        from jupyter_flows.tasks.core.constants import Constant as C2
        from jupyter_flows.tasks.core.function import FunctionTask as F2
        from jupyter_flows.tasks.core.collections import List as L2
        from jupyter_flows.tasks.core.operators import Add, GetItem
        from jupyter_flows.core.edge import Edge
        from jupyter_flows.utilities.edges import flatten, mapped, unmapped
        from jupyter_flows.utilities.tasks import as_task, tags, task
        import jupyter_flows
        from jupyter_flows.engine import signals, triggers
        assert jupyter_flows.triggers is triggers and jupyter_flows.signals is signals
        assert all_successful is triggers.all_successful and FAIL is signals.FAIL
        assert (C2, F2, L2) == (Constant, FunctionTask, List)
        assert Edge is jupyter_flows.core.Edge and task is jupyter_flows.task and tags is jupyter_flows.tags
        assert (flatten, mapped, unmapped) == (jupyter_flows.flatten, jupyter_flows.mapped, jupyter_flows.unmapped)
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_as_task_wraps_values_and_collections_as_prefect_1_does():
    from jupyter_flows import Flow, task
    from jupyter_flows.tasks.core import Constant, List
    from jupyter_flows.utilities.tasks import as_task

    @task
    def one():
        return 1

    assert isinstance(as_task(5), Constant) and as_task(5).value == 5
    assert isinstance(as_task([1, 2]), Constant)
    with Flow("as_task") as flow:
        item = one()
        assert as_task(item) is item
        listed = as_task([item, 2])
    assert isinstance(listed, List)
    assert flow.run().result[listed].result == [1, 2]
