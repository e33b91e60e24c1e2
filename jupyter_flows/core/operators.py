"""Operator tasks: what ``p + 1``, ``p > 3``, ``p & q`` or ``p.is_equal(4)`` build.

Each computes one Python expression from its two (or one) inputs when the
flow runs. ``==`` on tasks keeps comparing identity (tasks live in sets and
dicts), hence ``is_equal`` / ``is_not_equal``; ``&`` is ``and`` and
``or_()`` is ``or``, as in Prefect 1, while ``|`` orders two tasks.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

from .task import GetItem, Task

__all__ = [
    "Add", "And", "Div", "Equal", "FloorDiv", "GetItem", "GreaterThan", "GreaterThanOrEqual", "LessThan",
    "LessThanOrEqual", "Mod", "Mul", "Not", "NotEqual", "Or", "Pow", "Sub", "Xor",
]


class BinaryOperator(Task):
    """Computes ``_op(x, y)``; subclasses name the operation."""

    _op: Callable[[Any, Any], Any]

    def run(self, x: Any, y: Any) -> Any:
        return self._op(x, y)


class Add(BinaryOperator):
    """``x + y``"""

    _op = staticmethod(operator.add)


class Sub(BinaryOperator):
    """``x - y``"""

    _op = staticmethod(operator.sub)


class Mul(BinaryOperator):
    """``x * y``"""

    _op = staticmethod(operator.mul)


class Div(BinaryOperator):
    """``x / y``"""

    _op = staticmethod(operator.truediv)


class FloorDiv(BinaryOperator):
    """``x // y``"""

    _op = staticmethod(operator.floordiv)


class Mod(BinaryOperator):
    """``x % y``"""

    _op = staticmethod(operator.mod)


class Pow(BinaryOperator):
    """``x ** y``"""

    _op = staticmethod(operator.pow)


class Equal(BinaryOperator):
    """``x == y``"""

    _op = staticmethod(operator.eq)


class NotEqual(BinaryOperator):
    """``x != y``"""

    _op = staticmethod(operator.ne)


class GreaterThan(BinaryOperator):
    """``x > y``"""

    _op = staticmethod(operator.gt)


class GreaterThanOrEqual(BinaryOperator):
    """``x >= y``"""

    _op = staticmethod(operator.ge)


class LessThan(BinaryOperator):
    """``x < y``"""

    _op = staticmethod(operator.lt)


class LessThanOrEqual(BinaryOperator):
    """``x <= y``"""

    _op = staticmethod(operator.le)


class Xor(BinaryOperator):
    """``x ^ y`` (an addition: Prefect 1 has no ``^`` on tasks)."""

    _op = staticmethod(operator.xor)


class And(Task):
    """``x and y`` (what ``x & y`` builds, as in Prefect 1)."""

    def run(self, x: Any, y: Any) -> Any:
        return x and y


class Or(Task):
    """``x or y`` (what ``x.or_(y)`` builds)."""

    def run(self, x: Any, y: Any) -> Any:
        return x or y


class Not(Task):
    """``not x``"""

    def run(self, x: Any) -> bool:
        return not x
