"""The backend: where registered flows, their runs, task runs and logs are recorded.

``Backend`` is the one class that talks SQL (an embedded SQLite file by
default, created on first use); ``Client``, ``FlowView`` and ``FlowRunView``
are its Prefect-shaped front; ``BackendRecorder`` records a running flow run.
"""

from .backend import FINISHED_STATES, FLOW_RUN_STATES, Backend
from .client import Client, FlowRunView, FlowView, TaskRunView
from .recorder import BackendRecorder
from .register import register

__all__ = [
    "FINISHED_STATES", "FLOW_RUN_STATES", "Backend", "BackendRecorder", "Client", "FlowRunView",
    "FlowView", "TaskRunView", "register",
]
