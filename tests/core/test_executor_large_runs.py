"""Large maps: each child still gets its value untouched, and the kept records stay out of the collector's way."""

import gc

import pytest

from jupyter_flows import Flow, task, triggers
from jupyter_flows.engine.collector import EVERY
from jupyter_flows.executors import LocalDaskExecutor, LocalExecutor


def _untouched(value):
    return value


@task
def echo(value):
    return value


@pytest.mark.parametrize("executor", [LocalExecutor(), LocalDaskExecutor(num_workers=2),
                                      LocalDaskExecutor("processes", num_workers=2)],
                         ids=["local", "threads", "processes"])
def test_mapped_children_get_tuples_and_strings_that_look_like_dask_tasks_unchanged(executor):
    values = [(_untouched, 1), ("echo", 0), "not-a-key", [(_untouched, 2)], None]
    with Flow("looks-like-dask") as flow:
        children = echo.map(values)

    state = flow.run(executor=executor)

    assert state.is_successful()
    assert state.result[children].result == values


@task(trigger=triggers.all_finished)
def finished_anyway(value):
    return value


@task
def numbers():
    return [1, 2, 3]


def test_a_mapped_child_with_a_custom_trigger_sees_its_element_as_a_success():
    with Flow("custom-trigger") as flow:
        children = finished_anyway.map(numbers)

    state = flow.run()

    assert [type(s).__name__ for s in state.result[children].map_states] == ["Success"] * 3
    assert state.result[children].result == [1, 2, 3]


@task
def freeze_count(index):
    # Counting walks the frozen objects: asked of a few children only.
    return gc.get_freeze_count() if index % 1000 == 0 else None


def _large_map() -> tuple:
    with Flow("large") as flow:
        counts = freeze_count.map(list(range(EVERY + EVERY // 2)))
    return flow, counts


def test_a_large_run_keeps_its_records_from_the_collector_and_gives_them_back_at_its_end():
    flow, counts = _large_map()
    assert gc.get_freeze_count() == 0

    state = flow.run()

    seen = [n for n in state.result[counts].result if n is not None]
    assert len(seen) == 15
    assert seen[0] > 0  # the planned wave was frozen before the first child ran
    assert all(n > 0 for n in seen)
    assert gc.get_freeze_count() == 0  # handed back: the run's records can be collected once dropped


def test_a_small_run_never_freezes():
    with Flow("small") as flow:
        counts = freeze_count.map(list(range(100)))

    state = flow.run()

    assert set(state.result[counts].result) == {0, None}


def test_objects_the_process_froze_itself_stay_frozen_after_a_large_run():
    flow, counts = _large_map()
    gc.freeze()
    frozen_before = gc.get_freeze_count()
    try:
        state = flow.run()
        assert state.is_successful()
        # Not unfrozen by the run, nor frozen more (a few frozen objects may have been freed meanwhile).
        assert 0 < gc.get_freeze_count() <= frozen_before
    finally:
        gc.unfreeze()
