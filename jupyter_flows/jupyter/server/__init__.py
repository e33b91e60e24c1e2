"""The jupyter_server extension: a JSON REST API over the backend under ``/jupyter-flows/api/``.

The JupyterLab extension (labextension/) is its client. Enabled by the
``jupyter_server_config.d/jupyter_flows.json`` switch the wheel installs, or
by ``jupyter server extension enable jupyter_flows``.
"""

from __future__ import annotations

from .handlers import setup_handlers


def _load_jupyter_server_extension(server_app) -> None:
    from ...backend import Backend

    backend = Backend()
    setup_handlers(server_app.web_app, backend)
    server_app.log.info("jupyter-flows API at /jupyter-flows/api/, backend %r", backend)
    _start_scheduler(server_app, backend)


def _start_scheduler(server_app, backend) -> None:
    """With ``JUPYTER_FLOWS_SERVER_SCHEDULER=1``, the scheduler service in a thread of the server."""
    from ... import config

    if not config.server_scheduler():
        return
    from ...agent.scheduler import Scheduler

    server_app.web_app.settings["jupyter_flows_scheduler"] = Scheduler(backend).start_in_thread()
    server_app.log.info("jupyter-flows scheduler started in the server")


def _unload_jupyter_server_extension(server_app) -> None:
    scheduler = server_app.web_app.settings.get("jupyter_flows_scheduler")
    if scheduler is not None:
        scheduler.stop()
