"""Results: where task return values are kept, so that a run can be restarted or a task cached.

``LocalResult`` writes files on this machine, ``FSSpecResult`` anywhere fsspec
reaches by URL; ``PickleSerializer`` (the default) and ``JSONSerializer`` say
how a value becomes bytes. See :mod:`jupyter_flows.results.base` for location templates,
and :mod:`jupyter_flows.results.packs` for how a mapped task's children share files.
"""

from .base import DEFAULT_LOCATION, Result
from .fsspec_result import FSSpecResult
from .local import LocalResult
from .serializers import JSONSerializer, PickleSerializer, Serializer

__all__ = ["DEFAULT_LOCATION", "FSSpecResult", "JSONSerializer", "LocalResult", "PickleSerializer", "Result",
           "Serializer"]
