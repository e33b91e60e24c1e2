"""Every error jupyter-flows raises on purpose, in one place.

Messages name the bad value and what would have been accepted, so that a user
reading one line in a notebook knows what to change.
"""


class JupyterFlowsError(Exception):
    """Base class: catch this to catch anything jupyter-flows raises on purpose."""


class FlowDefinitionError(JupyterFlowsError, ValueError):
    """The flow's graph is not valid: a cycle, a duplicate parameter, a task outside a flow."""


class ParameterError(JupyterFlowsError, ValueError):
    """A parameter value is unknown, missing or of the wrong type."""


class NotPicklableError(JupyterFlowsError, TypeError):
    """A task or flow must cross a process boundary but cloudpickle cannot serialise it."""


class ExecutorError(JupyterFlowsError, ValueError):
    """An executor was configured with values it cannot use."""


class ConfigurationError(JupyterFlowsError, ValueError):
    """A setting (environment variable, run config, label) has an invalid value."""


class BackendError(JupyterFlowsError):
    """The backend cannot be reached, or refused a write."""


class BackendGoneError(BackendError):
    """The backend's database file was deleted or replaced under a running process: stop, do not retry."""


class FlowRunFinishedError(JupyterFlowsError):
    """A write for a flow run that already ended (it was taken for lost, or ended elsewhere): refused.

    Not a :class:`BackendError`: trying again cannot succeed, so a writer drops what it held.
    """


class NameTooLongError(JupyterFlowsError, ValueError):
    """A name is longer than the backend stores for its kind (see ``backend.names.NAME_LIMITS``)."""


class NotFoundError(JupyterFlowsError, LookupError):
    """A project, flow or flow run that was asked for does not exist."""


class StorageError(JupyterFlowsError):
    """A flow cannot be stored to, or loaded from, its storage."""


class NotebookError(JupyterFlowsError, ValueError):
    """A notebook is missing, unreadable, of an unsupported version or failed to run."""


class FlowRunActiveError(JupyterFlowsError):
    """A change that needs a flow run nobody is working on was asked of a Submitted or Running run."""


class FlowArchivedError(JupyterFlowsError, ValueError):
    """A run was asked of a flow version that a newer registration archived."""


class ScheduleError(JupyterFlowsError, ValueError):
    """A schedule, clock, cron expression, time zone or start time cannot be used."""


class TaskDefinitionError(JupyterFlowsError, ValueError, TypeError):
    """A task's options or its ``run()`` signature cannot be used (a string as ``tags``, ``*args``).

    Both a ValueError and a TypeError: Prefect 1 raises one or the other for
    these mistakes, and code written against it may catch either.
    """


class ContainerError(JupyterFlowsError):
    """A container platform (a Docker daemon, a Kubernetes cluster) cannot be reached or refused a request."""


class ImageBuildError(StorageError):
    """Building a flow's Docker image failed; ``step`` is the failing Dockerfile step, ``log`` its output."""

    def __init__(self, message: str, step: str | None = None, log: str = ""):
        super().__init__(message)
        self.step = step
        self.log = log

    def __reduce__(self):
        return type(self), (self.args[0], self.step, self.log)


class SecretError(JupyterFlowsError, ValueError):
    """A secret's name is not valid, or where secrets are kept is unsafe or unreadable (key, file mode)."""


class SecretNotFoundError(SecretError, LookupError):
    """No secret of this name in the environment, the secrets file or the backend; names the secret, never a value."""

    def __init__(self, name: str, message: str | None = None):
        super().__init__(message or f"secret {name!r} is not set")
        self.name = name

    def __reduce__(self):
        return (type(self), (self.name, str(self)))


class NotificationError(JupyterFlowsError, ValueError):
    """A notifier or a stored notification was given values it cannot use."""


class FlowRunDepthError(JupyterFlowsError):
    """A flow run would start a child run deeper than the limit (flows that start each other in a cycle)."""


class ResultError(JupyterFlowsError, ValueError):
    """A result cannot be written, read or located: names the location, the value or the template field."""


class RestartError(JupyterFlowsError, ValueError):
    """A flow run cannot be restarted (still running, already succeeded); says which and why."""


class ConcurrencyLimitError(JupyterFlowsError, ValueError):
    """A concurrency limit that cannot be set: a negative or non-integer limit, an empty tag; names the value."""
