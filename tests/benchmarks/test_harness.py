"""The benchmark harness: interleaved repeats with medians and spread, time bounds, JSON and --compare."""

import json
import time

from benchmarks import harness


def sleeper(seconds: float, calls: list, name: str):
    def run():
        calls.append(name)
        time.sleep(seconds)
    return run


def test_a_row_alternates_its_sides_and_reports_medians_with_their_range():
    calls = []
    row = harness.Row("nap", 10, sleeper(0.02, calls, "ours"), "peer", sleeper(0.01, calls, "peer"), repeats=3)

    result = harness.measure_row(row, harness.Growth(), steady_share=0)

    assert calls == ["ours", "peer"] * 4  # a warm-up, then three interleaved pairs
    assert result["repeats"] == 3
    assert result["ours_us_range"][0] <= result["ours_us"] <= result["ours_us_range"][1]
    assert result["ours_us"] >= 2000  # 20 ms over 10 tasks
    assert result["ratio_range"][0] <= result["ratio"] <= result["ratio_range"][1]
    assert 1.2 < result["ratio"] < 2.5


def test_a_peer_predicted_to_overrun_its_budget_is_skipped_with_a_note_instead_of_stalling():
    growth = harness.Growth()
    calls = []
    small = harness.Row("grows", 10, sleeper(0.001, calls, "ours"), "slow peer", sleeper(0.05, calls, "peer"),
                        repeats=1, budget_s=5)
    harness.measure_row(small, growth)
    calls.clear()
    big = harness.Row("grows", 1000, sleeper(0.001, calls, "ours"), "slow peer", sleeper(0.05, calls, "peer"),
                      repeats=2, budget_s=4)

    started = time.perf_counter()
    result = harness.measure_row(big, growth)

    assert time.perf_counter() - started < 1
    assert "peer" not in calls
    assert result["peer_us"] is None and result["ratio"] is None
    assert result["ours_us"] is not None
    assert result["notes"][0].startswith("peer skipped: predicted ")
    assert result["notes"][0].endswith(" s per run, 2 runs over the row's budget of 4 s")


def test_a_row_runs_at_least_three_pairs_even_past_its_budget_so_that_it_has_a_spread():
    calls = []
    row = harness.Row("slow", 1, sleeper(0.3, calls, "ours"), "peer", sleeper(0.3, calls, "peer"),
                      repeats=5, budget_s=0.5)

    result = harness.measure_row(row, harness.Growth(), warm=False)

    assert result["repeats"] == harness.MIN_REPEATS == 3
    assert calls == ["ours", "peer"] * 3
    assert result["notes"] == ["3 of 5 repeats within the row's budget of 0 s"]


def test_the_run_time_limit_cuts_the_budgets_of_the_rows_that_would_pass_it():
    calls = []
    rows = [harness.Row(f"row {i}", 1, sleeper(0.05, calls, "ours"), "peer", sleeper(0.05, calls, "peer"),
                        repeats=10, budget_s=60) for i in range(2)]

    started = time.perf_counter()
    results = harness.run_rows(rows, time_limit_s=1.0)

    assert time.perf_counter() - started < 5  # not the 2 x 60 s the rows asked for
    assert all(3 <= r["repeats"] < 10 for r in results)
    assert results[0]["notes"][0] == "budget cut from 60 to 1 s by the run's time limit"


def test_a_row_stops_repeating_when_the_next_round_would_overrun_its_budget():
    calls = []
    row = harness.Row("long", 1, sleeper(0.1, calls, "ours"), "peer", sleeper(0.1, calls, "peer"),
                      repeats=10, budget_s=1.0)

    started = time.perf_counter()
    result = harness.measure_row(row, harness.Growth(), warm=False)

    assert time.perf_counter() - started < 1.5  # the budget, give or take one round on a busy machine
    assert 1 <= result["repeats"] < 10
    assert result["notes"] == [f"{result['repeats']} of 10 repeats within the row's budget of 1 s"]


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


def test_a_row_of_short_runs_goes_on_past_its_repeats_for_a_steadier_median():
    calls = []
    row = harness.Row("short", 1, sleeper(0.01, calls, "ours"), "peer", sleeper(0.01, calls, "peer"),
                      repeats=3, budget_s=3)

    result = harness.measure_row(row, harness.Growth(), warm=False)  # goes on until 0.3 s, 10% of the budget

    assert 3 < result["repeats"] <= harness.MAX_REPEATS
    assert calls == ["ours", "peer"] * result["repeats"]
    assert result["notes"] == []
