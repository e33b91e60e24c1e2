"""The benchmark harness: interleaved repeats with medians and spread, time bounds, JSON and --compare.

The harness decides by the time its rows take (skip a side, stop repeating, cut a budget). These
tests give it a clock that only their workloads move, so each decision is checked exactly, and
quickly, however busy the machine is.
"""

import json

import pytest

from benchmarks import harness


class WorkloadClock:
    """Seconds that pass only when a workload says it took them."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def workload(self, seconds: float, calls: list, name: str):
        def run():
            calls.append(name)
            self.now += seconds
        return run


@pytest.fixture
def clock(monkeypatch) -> WorkloadClock:
    fake = WorkloadClock()
    monkeypatch.setattr(harness, "clock", fake)
    return fake


def test_a_row_alternates_its_sides_and_reports_medians_with_their_range(clock):
    calls = []
    row = harness.Row("nap", 10, clock.workload(0.02, calls, "ours"), "peer", clock.workload(0.01, calls, "peer"),
                      repeats=3)

    result = harness.measure_row(row, harness.Growth(), steady_share=0)

    assert calls == ["ours", "peer"] * 4  # a warm-up, then three interleaved pairs
    assert result["repeats"] == 3
    assert result["ours_us"] == pytest.approx(2000)  # 20 ms over 10 tasks
    assert result["ours_us_range"] == pytest.approx([2000, 2000])
    assert result["peer_us"] == pytest.approx(1000)
    assert result["ratio"] == pytest.approx(2.0) and result["ratio_range"] == pytest.approx([2.0, 2.0])


def test_a_peer_predicted_to_overrun_its_budget_is_skipped_with_a_note_instead_of_stalling(clock):
    growth = harness.Growth()
    calls = []
    small = harness.Row("grows", 10, clock.workload(0.001, calls, "ours"), "slow peer",
                        clock.workload(0.05, calls, "peer"), repeats=1, budget_s=5)
    harness.measure_row(small, growth)
    calls.clear()
    big = harness.Row("grows", 1000, clock.workload(0.001, calls, "ours"), "slow peer",
                      clock.workload(0.05, calls, "peer"), repeats=2, budget_s=4)

    result = harness.measure_row(big, growth)

    assert "peer" not in calls  # predicted 5 s a run (0.05 s at 10 tasks, times 100): never started
    assert result["peer_us"] is None and result["ratio"] is None
    assert result["ours_us"] is not None
    assert result["notes"] == ["peer skipped: predicted 5 s per run, 2 runs over the row's budget of 4 s"]


def test_a_row_runs_at_least_three_pairs_even_past_its_budget_so_that_it_has_a_spread(clock):
    calls = []
    row = harness.Row("slow", 1, clock.workload(0.3, calls, "ours"), "peer", clock.workload(0.3, calls, "peer"),
                      repeats=5, budget_s=0.5)

    result = harness.measure_row(row, harness.Growth(), warm=False)

    assert result["repeats"] == harness.MIN_REPEATS == 3
    assert calls == ["ours", "peer"] * 3
    assert result["notes"] == ["3 of 5 repeats within the row's budget of 0 s"]


def test_the_run_time_limit_cuts_the_budgets_of_the_rows_that_would_pass_it(clock):
    calls = []
    rows = [harness.Row(f"row {i}", 1, clock.workload(0.05, calls, "ours"), "peer",
                        clock.workload(0.05, calls, "peer"), repeats=10, budget_s=60) for i in range(2)]

    results = harness.run_rows(rows, time_limit_s=0.55)

    assert [r["repeats"] for r in results] == [5, 3]  # 0.5 s of pairs fit the first; the second gets its least
    assert results[0]["notes"][0] == "budget cut from 60 to 1 s by the run's time limit"
    assert results[1]["notes"][0] == "budget cut from 60 to 0 s by the run's time limit"
    assert clock.now == pytest.approx(1.0)  # warm-ups included; not the 2 x 60 s the rows asked for


def test_a_row_stops_repeating_when_the_next_round_would_overrun_its_budget(clock):
    calls = []
    row = harness.Row("long", 1, clock.workload(0.1, calls, "ours"), "peer", clock.workload(0.1, calls, "peer"),
                      repeats=10, budget_s=1.0)

    result = harness.measure_row(row, harness.Growth(), warm=False)

    assert result["repeats"] == 5  # five pairs of 0.2 s fill the budget; a sixth would pass it
    assert clock.now == pytest.approx(1.0)
    assert result["notes"] == ["5 of 10 repeats within the row's budget of 1 s"]


def test_a_row_of_short_runs_goes_on_past_its_repeats_for_a_steadier_median(clock):
    calls = []
    row = harness.Row("short", 1, clock.workload(0.01, calls, "ours"), "peer", clock.workload(0.01, calls, "peer"),
                      repeats=3, budget_s=3)

    result = harness.measure_row(row, harness.Growth(), warm=False)

    assert result["repeats"] == 15  # pairs of 0.02 s until 0.3 s, a tenth of the budget, was spent
    assert calls == ["ours", "peer"] * 15
    assert result["notes"] == []


def test_a_row_of_short_runs_stops_at_the_most_pairs_it_may_run(clock):
    calls = []
    row = harness.Row("tiny", 1, clock.workload(0.001, calls, "ours"), "peer", clock.workload(0.001, calls, "peer"),
                      repeats=3, budget_s=60)

    result = harness.measure_row(row, harness.Growth(), warm=False)

    assert result["repeats"] == harness.MAX_REPEATS


def _row(ratio, low, high):
    return {"workload": "map", "tasks": 10, "peer": "dask", "ratio": ratio, "ratio_range": [low, high]}


def test_compare_marks_a_row_that_got_slower_beyond_the_spread_as_a_regression(tmp_path):
    old = tmp_path / "old.json"
    harness.write_json(old, [_row(1.0, 0.95, 1.05)])

    worse = harness.compare(old, [_row(1.5, 1.4, 1.6)])
    noisy = harness.compare(old, [_row(1.2, 0.9, 1.4)])

    assert worse[-1] == "| map | 10 | dask | 1.00 | 1.50 | +50% REGRESSION |"
    assert noisy[-1] == "| map | 10 | dask | 1.00 | 1.20 | +20% |"


def test_results_are_written_as_json_with_the_machine_they_ran_on(tmp_path):
    path = tmp_path / "out" / "bench.json"

    harness.write_json(path, [_row(1.0, 0.9, 1.1)], {"total_s": 12.5})

    data = json.loads(path.read_text())
    assert data["rows"][0]["ratio"] == 1.0
    assert data["total_s"] == 12.5
    assert data["environment"]["cores"] >= 1 and "dask" in data["environment"]
