"""Shared benchmark harness: interleaved repeats, medians with spread, time bounds, JSON and --compare.

A benchmark describes rows (one workload and size, jupyter-flows against a
peer) and hands them to :func:`run_rows`. Each row runs ``ours`` and
``peer`` alternately (A, B, A, B...) in this process, so load from other
processes hits both sides alike; it reports the median time per task of
each side and the median of the per-pair ratios with their range (the
spread). Every row gets at least ``MIN_REPEATS`` pairs, so that its range
means something, and its ``repeats`` while its time budget lasts; a row of
short runs goes on up to ``MAX_REPEATS`` pairs until it has spent
``STEADY_SHARE`` of its budget, for a steadier median. A side predicted to need
more than the budget for those pairs is skipped with a note instead of
stalling the whole run; the prediction comes from the same side's previous,
smaller size, scaled by the growth it showed.

``--json out.json`` writes the rows; ``--compare old.json`` prints each
row's ratio beside the earlier one and flags the rows that got slower
beyond both runs' spread.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

#: Pairs every row runs whatever its budget says (fewer only when the row asks for fewer).
MIN_REPEATS = 3
#: A quick row goes on past its ``repeats`` until it has spent this share of its budget (at most
#: ``MAX_REPEATS`` pairs): on a shared machine the median of five pairs of short runs still jumps.
STEADY_SHARE = 0.1
MAX_REPEATS = 25

#: What the harness reads the time from; its own tests give it a clock that only their workloads
#: move, so that its decisions (skip, stop, cut a budget) are checked whatever the machine's load.
clock: Callable[[], float] = time.perf_counter


@dataclass
class Row:
    """One line of a table: ``ours`` and ``peer`` each do ``tasks`` task runs of ``workload``."""

    workload: str
    tasks: int
    ours: Callable[[], object]
    peer_name: str
    peer: Optional[Callable[[], object]]
    repeats: int = 5
    budget_s: float = 60.0  # the most a row may spend on its timed runs
    notes: list = field(default_factory=list)


@dataclass
class Growth:
    """Per-side memory of the last size measured, to predict the next one."""

    sizes: dict = field(default_factory=dict)  # side name -> list of (tasks, median seconds)

    def predict(self, side: str, tasks: int) -> float | None:
        seen = self.sizes.get(side) or []
        if not seen:
            return None
        (n1, t1), exponent = seen[-1], 1.0
        if len(seen) > 1:
            n0, t0 = seen[-2]
            if n1 > n0 and t0 > 0 and t1 > 0:
                exponent = max(1.0, math.log(t1 / t0) / math.log(n1 / n0))
        return t1 * (tasks / n1) ** exponent

    def record(self, side: str, tasks: int, seconds: float) -> None:
        self.sizes.setdefault(side, []).append((tasks, seconds))


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    started = clock()
    fn()
    return clock() - started


def spread(values: list[float]) -> tuple[float, float]:
    return (min(values), max(values)) if values else (float("nan"), float("nan"))


def measure_row(row: Row, growth: Growth, warm: bool = True, steady_share: float = STEADY_SHARE) -> dict:
    """Time one row, interleaved; a side predicted to overrun the budget is left out with a note."""
    sides = {"ours": row.ours, "peer": row.peer}
    least = min(MIN_REPEATS, row.repeats)
    active = {}
    for side, fn in sides.items():
        if fn is None:
            continue
        key = f"{row.workload}|{row.peer_name}|{side}"
        predicted = growth.predict(key, row.tasks)
        if predicted is not None and predicted * least > row.budget_s:  # its least repeats would not fit
            row.notes.append(f"{side} skipped: predicted {predicted:.0f} s per run, {least} runs over the "
                             f"row's budget of {row.budget_s:.0f} s")
            continue
        active[side] = (fn, key)
        if warm and (predicted is None or predicted < 2):  # imports and pools; a long run needs no warm-up
            fn()
    times: dict = {side: [] for side in active}
    started = clock()
    for done in range(1, max(row.repeats, MAX_REPEATS) + 1):
        for side, (fn, _) in active.items():
            times[side].append(timed(fn))
        spent = clock() - started
        overrun = spent / done * (done + 1) > row.budget_s  # the next pair would pass the budget
        if done >= row.repeats:
            if overrun or spent >= row.budget_s * steady_share:
                break
        elif done >= least and overrun:
            row.notes.append(f"{done} of {row.repeats} repeats within the row's budget of {row.budget_s:.0f} s")
            break
    for side, (_, key) in active.items():
        growth.record(key, row.tasks, statistics.median(times[side]))
    return summarize(row, times)


def summarize(row: Row, times: dict) -> dict:
    out = {"workload": row.workload, "tasks": row.tasks, "peer": row.peer_name, "repeats": 0,
           "ours_us": None, "ours_us_range": None, "peer_us": None, "peer_us_range": None,
           "ratio": None, "ratio_range": None, "notes": list(row.notes)}
    per_task = {side: [t / row.tasks * 1e6 for t in values] for side, values in times.items()}
    for side, values in per_task.items():
        out[f"{side}_us"] = statistics.median(values)
        out[f"{side}_us_range"] = spread(values)
        out["repeats"] = len(values)
    if "ours" in per_task and "peer" in per_task:
        ratios = [a / b for a, b in zip(per_task["ours"], per_task["peer"])]
        out["ratio"] = statistics.median(ratios)
        out["ratio_range"] = spread(ratios)
    return out


def fmt_us(value: float | None, span) -> str:
    if value is None:
        return "-"
    digits = 1 if value < 100 else 0
    return f"{value:.{digits}f} ({span[0]:.{digits}f}–{span[1]:.{digits}f})"


def markdown_row(result: dict) -> str:
    ratio = "-" if result["ratio"] is None else (
        f"{result['ratio']:.2f} ({result['ratio_range'][0]:.2f}–{result['ratio_range'][1]:.2f})")
    notes = "; ".join(result["notes"])
    return (f"| {result['workload']} | {result['tasks']:,} | {fmt_us(result['ours_us'], result['ours_us_range'])} | "
            f"{result['peer']} | {fmt_us(result['peer_us'], result['peer_us_range'])} | {ratio} | "
            f"{result['repeats']} | {notes} |")


HEADER = ("| workload | tasks | jupyter-flows µs/task (range) | peer | peer µs/task (range) | "
          "ratio, median of pairs (range) | repeats | notes |\n|---|---:|---:|---|---:|---:|---:|---|")


def run_rows(rows: Iterable[Row], growth: Growth | None = None, time_limit_s: float | None = None) -> list[dict]:
    """Measure and print each row as it finishes (rows may be a generator that holds a cluster).

    With ``time_limit_s``, no row's budget reaches past that many seconds from now, so the
    whole table keeps its stated running time on a slower or busier machine: the rows
    then get fewer repeats (never under ``MIN_REPEATS``), or a slow side is skipped with a note.
    """
    growth = growth or Growth()
    ends = None if time_limit_s is None else clock() + time_limit_s
    results = []
    print(HEADER, flush=True)
    for row in rows:
        if ends is not None and ends - clock() < row.budget_s:
            left = max(ends - clock(), 0.0)
            row.notes.append(f"budget cut from {row.budget_s:.0f} to {left:.0f} s by the run's time limit")
            row.budget_s = left
        result = measure_row(row, growth)
        results.append(result)
        print(markdown_row(result), flush=True)
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--compare", type=Path, help="compare the ratios with an earlier --json file")


def environment() -> dict:
    import os

    import dask

    return {"python": platform.python_version(), "dask": dask.__version__, "cores": os.cpu_count(),
            "load_average": list(os.getloadavg()), "argv": sys.argv[1:],
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def write_json(path: Path, results: list[dict], extra: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"environment": environment(), "rows": results, **(extra or {})}, indent=2))


def compare(old_path: Path, results: list[dict], tolerance: float = 0.10) -> list[str]:
    """Lines saying how each row's ratio moved since ``old_path``; a regression is marked REGRESSION.

    A row regressed when its median ratio rose by more than ``tolerance`` and its
    whole range now lies above the earlier median: noise that overlaps is not flagged.
    """
    old = {(r["workload"], r["tasks"], r["peer"]): r for r in json.loads(old_path.read_text())["rows"]}
    lines = ["| workload | tasks | peer | old ratio | new ratio | change |", "|---|---:|---|---:|---:|---|"]
    for row in results:
        before = old.get((row["workload"], row["tasks"], row["peer"]))
        if before is None or before.get("ratio") is None or row["ratio"] is None:
            continue
        change = row["ratio"] / before["ratio"] - 1
        worse = change > tolerance and row["ratio_range"][0] > before["ratio"]
        verdict = f"{change:+.0%}" + (" REGRESSION" if worse else "")
        lines.append(f"| {row['workload']} | {row['tasks']:,} | {row['peer']} | {before['ratio']:.2f} | "
                     f"{row['ratio']:.2f} | {verdict} |")
    return lines
