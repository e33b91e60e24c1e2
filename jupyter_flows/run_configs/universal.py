"""UniversalRun: runs on any agent."""

from .base import RunConfig


class UniversalRun(RunConfig):
    """The default: any agent whose labels cover the run's labels may run it.

    >>> UniversalRun(env={"GREETING": "Hello"}, labels=["gpu"])
    UniversalRun(env={'GREETING': 'Hello'}, labels=['gpu'])
    """
