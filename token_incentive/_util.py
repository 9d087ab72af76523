"""Small helpers the credits handlers share: typed body fields and the feedback window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from ledger import ContractError
from token_incentive._params import CreditParams

__all__ = ["field", "window_open"]

T = TypeVar("T")


def field(body: Mapping[str, Any], name: str, kind: type[T]) -> T:
    """``body[name]`` if it has type ``kind`` (a bool is never an int here); else refuse."""
    value = body.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ContractError(f"body field {name!r} must be {kind.__name__}")
    return value


def window_open(receipt: Mapping[str, Any], now: int, p: CreditParams) -> bool:
    """Feedback, disputes and refunds on a receipt are accepted until its window closes:
    ``feedback_window_ms`` after the block that recorded it."""
    return bool(now < receipt["time"] + p.feedback_window_ms)
