"""The operator tasks ``p + 1`` or ``p > 3`` build (see :mod:`jupyter_flows.core.operators`)."""

from ...core.operators import (
    Add, And, Div, Equal, FloorDiv, GetItem, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual, Mod,
    Mul, Not, NotEqual, Or, Pow, Sub, Xor,
)

__all__ = [
    "Add", "And", "Div", "Equal", "FloorDiv", "GetItem", "GreaterThan", "GreaterThanOrEqual", "LessThan",
    "LessThanOrEqual", "Mod", "Mul", "Not", "NotEqual", "Or", "Pow", "Sub", "Xor",
]
