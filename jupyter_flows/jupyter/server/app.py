"""The server extension as a jupyter_server ``ExtensionApp``: its settings, and services on the server's lifecycle.

Configured like any Jupyter application, in ``jupyter_server_config.py`` or on
the command line::

    c.JupyterFlows.agent = "auto"            # "always", or "off" (then the panel's Start button starts one)
    c.JupyterFlows.agent_labels = ["gpu"]
    c.JupyterFlows.agent_env = {"GREETING": "Hello"}
    c.JupyterFlows.agent_concurrency = 4

The backend, the managed agent (``managed_agent``) and, with
``JUPYTER_FLOWS_SERVER_SCHEDULER=1``, the scheduler service start in
``initialize_settings`` and stop in ``stop_extension``.
"""

from __future__ import annotations

import asyncio

from jupyter_server.extension.application import ExtensionApp
from traitlets import Dict, Enum, Float, Integer, List, Unicode

from .managed_agent import MODES, ManagedAgent


class JupyterFlows(ExtensionApp):
    """The jupyter-flows REST API under ``/jupyter-flows/api/`` and the agent the server manages."""

    name = "jupyter_flows"

    agent = Enum(MODES, default_value="auto", config=True,
                 help="The agent this server manages: 'auto' starts one when no live agent serves the backend, "
                      "'always' starts one, 'off' starts one only when a user asks (the panel's Start button).")
    agent_labels = List(Unicode(), config=True, help="Labels of the managed agent (the host name is added).")
    agent_env = Dict(value_trait=Unicode(), config=True, help="Environment variables of the managed agent, which every run it starts inherits "
                              "(a run config's env wins).")
    agent_concurrency = Integer(None, allow_none=True, min=1, config=True,
                                help="How many runs the managed agent runs at once at most (8 per CPU core by default).")
    agent_restart_delay = Float(1.0, min=0.05, config=True,
                                help="Seconds before restarting a managed agent that died; doubled after each crash "
                                     "in a row, up to agent_max_restart_delay.")
    agent_max_restart_delay = Float(60.0, min=0.05, config=True, help="The longest wait before a restart.")

    def initialize_settings(self) -> None:
        from ...backend import Backend

        self.backend = Backend()
        self.managed_agent = ManagedAgent(self.backend, mode=self.agent, labels=self.agent_labels,
                                          env=self.agent_env, concurrency=self.agent_concurrency,
                                          restart_delay=self.agent_restart_delay,
                                          max_restart_delay=self.agent_max_restart_delay).start_watching()
        self.scheduler = _start_scheduler(self.backend)
        self.settings["jupyter_flows_managed_agent"] = self.managed_agent
        self.log.info("jupyter-flows API at /jupyter-flows/api/, backend %r, managed agent %r",
                      self.backend, self.agent)

    def initialize_handlers(self) -> None:
        from .handlers import setup_handlers

        setup_handlers(self.serverapp.web_app, self.backend)

    async def stop_extension(self) -> None:
        """Stop the managed agent (its runs are cancelled, as when any agent stops) and the scheduler."""
        await asyncio.to_thread(self.managed_agent.stop)
        if self.scheduler is not None:
            self.scheduler.stop()


def _start_scheduler(backend):
    """With ``JUPYTER_FLOWS_SERVER_SCHEDULER=1``, the scheduler service in a thread of the server."""
    from ... import config

    if not config.server_scheduler():
        return None
    from ...agent.scheduler import Scheduler

    return Scheduler(backend).start_in_thread()
