"""The JSON the API answers with, shaped from the backend's dicts for the JupyterLab panel.

Nothing here decides anything about flows or runs: it picks fields, names the
kind of storage, run config and executor, lists a flow's versions, says where a
run's output notebook is relative to the server's root directory, and masks the
values of secret-looking env names (``redaction``) in every run config it shows.
"""

from __future__ import annotations

from pathlib import Path

from ...backend import FINISHED_STATES
from ...redaction import mask_run_config


def flow_summary(flow: dict, versions: list[dict]) -> dict:
    """A flow version with its parameters (defaults included), kinds and all versions of its group."""
    return {
        "id": flow["id"],
        "name": flow["name"],
        "project_name": flow["project_name"],
        "version": flow["version"],
        "version_group_id": flow["version_group_id"],
        "archived": flow["archived"],
        "parameters": flow["parameters"],
        "storage_kind": _kind(flow["storage"]),
        "run_config_kind": _kind(flow["run_config"]),
        "executor_kind": _kind(flow["executor"]),
        "labels": flow["labels"],
        "created": flow["created"],
        "versions": [
            {"id": v["id"], "version": v["version"], "archived": v["archived"], "created": v["created"]}
            for v in sorted(versions, key=lambda v: v["version"], reverse=True)
        ],
    }


def flow_summaries(flows: list[dict], include_archived: bool) -> list[dict]:
    """One summary per flow version to show, from a listing that includes archived versions."""
    groups: dict[str, list[dict]] = {}
    for flow in flows:
        groups.setdefault(flow["version_group_id"], []).append(flow)
    return [flow_summary(flow, groups[flow["version_group_id"]])
            for flow in flows if include_archived or not flow["archived"]]


AGENT_FIELDS = ("id", "host", "labels", "last_seen", "runs_in_flight", "live")


def agents(records: list[dict], server_id: str | None = None) -> list[dict]:
    """The agents as the Lab shows them; ``managed``: started by this server (``server_id``)."""
    return [{**{field: record[field] for field in AGENT_FIELDS},
             "managed": server_id is not None and record["managed_by"] == server_id} for record in records]


def flow_run(run: dict, reasons: dict[str, str | None] | None = None) -> dict:
    """A flow run as the backend gives it, its run config's secret-looking env values masked.

    ``waiting_reason`` says why a Scheduled run is not picked up (``reasons``); null otherwise.
    """
    return {**run, "run_config": mask_run_config(run["run_config"]),
            "waiting_reason": (reasons or {}).get(run["id"])}


def flow_run_page(runs: list[dict], limit: int, offset: int, reasons: dict[str, str | None]) -> dict:
    """A page of runs from a listing asked for ``limit + 1`` of them (the extra one says a next page exists)."""
    return {"flow_runs": [flow_run(run, reasons) for run in runs[:limit]], "limit": limit, "offset": offset,
            "has_more": len(runs) > limit}


def flow_run_detail(run: dict, task_runs: list[dict], root_dir: str | Path, reasons: dict[str, str | None]) -> dict:
    """A run with its task runs, and its output notebook relative to the root when it lies under it."""
    return {**flow_run(run, reasons), "task_runs": task_runs,
            "output_notebook": relative_to_root(run.get("output_path"), root_dir),
            "finished": run["state"] in FINISHED_STATES}


def relative_to_root(path: str | None, root_dir: str | Path) -> str | None:
    """``path`` as a JupyterLab path (relative, with ``/``) if it is under ``root_dir``, else None."""
    if not path:
        return None
    root = Path(root_dir).expanduser().resolve()
    target = Path(path).expanduser().resolve()
    if not target.is_relative_to(root):
        return None
    return target.relative_to(root).as_posix()


def log_page(logs: list[dict], after: int | None, limit: int) -> dict:
    """A page of log lines from a read of ``limit + 1``, and the id to pass as ``after`` next time.

    ``last_id`` stays ``after`` when there is nothing new; ``has_more`` says
    that lines after this page exist already (fetch again at once).
    """
    page = logs[:limit]
    return {"logs": page, "last_id": page[-1]["id"] if page else after, "has_more": len(logs) > limit}


def _kind(config: dict | None) -> str | None:
    return (config or {}).get("type")
