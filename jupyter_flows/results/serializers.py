"""How a result's value becomes bytes and back: cloudpickle (the default) or JSON.

Names as in Prefect 1 (``PickleSerializer``, ``JSONSerializer``), so a result
configured there reads the same here.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import cloudpickle

from ..exceptions import ResultError


class Serializer:
    """Turns a value into bytes (``serialize``) and back (``deserialize``)."""

    def serialize(self, value: Any) -> bytes:
        raise NotImplementedError

    def deserialize(self, data: bytes) -> Any:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


#: Values the standard pickler writes exactly as cloudpickle does (nothing in them is pickled by reference).
_PLAIN = frozenset({int, float, complex, str, bytes, bool, type(None)})
#: Lists, tuples and dicts of plain values up to this length are checked and take the same fast path.
_PLAIN_CONTAINER_ITEMS = 64


class PickleSerializer(Serializer):
    """cloudpickle: any picklable value, including functions and classes defined in a notebook.

    Plain values (numbers, strings, bytes, None, and short lists, tuples and
    dicts of them) go through the standard pickler's C code: the same bytes,
    without cloudpickle's per-call set-up (4 µs, most of a checkpoint of a small result).
    """

    def serialize(self, value: Any) -> bytes:
        if _is_plain(value):
            return pickle.dumps(value, cloudpickle.DEFAULT_PROTOCOL)
        try:
            return cloudpickle.dumps(value)
        except Exception as exc:  # noqa: BLE001 - pickling raises TypeError, PicklingError, anything
            raise ResultError(f"the result {_short(value)} of type {type(value).__name__} cannot be pickled "
                              f"({type(exc).__name__}: {exc}); return a picklable value, turn checkpointing "
                              "off for this task (checkpoint=False), or use a serializer that can write it") from None

    def deserialize(self, data: bytes) -> Any:
        return cloudpickle.loads(data)


class JSONSerializer(Serializer):
    """JSON: readable by any tool, for values made of dicts, lists, strings, numbers, booleans and None."""

    def serialize(self, value: Any) -> bytes:
        try:
            return json.dumps(value).encode()
        except (TypeError, ValueError) as exc:
            raise ResultError(f"the result {_short(value)} cannot be written as JSON ({exc}); "
                              "use PickleSerializer() for other values") from None

    def deserialize(self, data: bytes) -> Any:
        return json.loads(data)


def _is_plain(value: Any) -> bool:
    kind = type(value)
    if kind in _PLAIN:
        return True
    if (kind is list or kind is tuple) and len(value) <= _PLAIN_CONTAINER_ITEMS:
        return all(type(item) in _PLAIN for item in value)
    if kind is dict and len(value) <= _PLAIN_CONTAINER_ITEMS:
        return all(type(key) in _PLAIN and type(item) in _PLAIN for key, item in value.items())
    return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
