"""The JSON the API answers with, shaped from the backend's dicts for the JupyterLab panel.

Nothing here decides anything about flows or runs: it picks fields, names the
kind of storage, run config and executor, lists a flow's versions, and says
where a run's output notebook is relative to the server's root directory.
"""

from __future__ import annotations

from pathlib import Path

from ...backend import FINISHED_STATES


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


def flow_run_detail(run: dict, task_runs: list[dict], root_dir: str | Path) -> dict:
    """A run with its task runs, and its output notebook relative to the root when it lies under it."""
    return {**run, "task_runs": task_runs, "output_notebook": relative_to_root(run.get("output_path"), root_dir),
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


def log_page(logs: list[dict], after: int | None) -> dict:
    """Log lines and the id to pass as ``after`` next time (unchanged when there is nothing new)."""
    return {"logs": logs, "last_id": logs[-1]["id"] if logs else after}


def _kind(config: dict | None) -> str | None:
    return (config or {}).get("type")
