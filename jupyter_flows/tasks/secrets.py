"""``Secret``: a task whose result is a secret's value (Prefect 1's ``PrefectSecret``).

Only the secret's *name* is part of the flow: the value is fetched when the
task runs (see :func:`jupyter_flows.secrets.get`), so it is never in the
registered flow, and from then on the run's logs and states mask it.
"""

from __future__ import annotations

from typing import Any

from .. import secrets
from ..core.task import Task


class Secret(Task):
    """The value of secret ``name``, fetched when the task runs.

    A secret that is not set fails the task run with a message naming the
    secret and where it was looked for (never a value). Other keywords are
    task options; the task's name defaults to the secret's.

    >>> with Flow("report") as flow:
    ...     password = Secret("DB_PASSWORD")
    ...     rows = query(password)
    """

    #: A child run does not keep this task's result for its parent (see jupyter_flows.tasks.flows).
    keeps_result = False

    def __init__(self, name: str | None = None, **task_kwargs: Any):
        if name is not None:
            secrets.check_name(name)
        task_kwargs.setdefault("name", name)
        super().__init__(**task_kwargs)
        self.secret_name = name

    def run(self, name: str | None = None) -> str:
        """``name`` given here (e.g. from a parameter) wins over the one given to the task."""
        name = name if name is not None else self.secret_name
        if name is None:
            raise ValueError("Secret needs a name: Secret('DB_PASSWORD'), or a name passed when it is called")
        return secrets.get(name)
