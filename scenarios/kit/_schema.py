"""Declarative payload schemas: a transaction body has exactly one meaning or is refused.

Payloads are signed (by the submitter, and by co-signers over a digest of them), so a
field the contract does not know must never ride along unchecked: an unknown field, a
missing required field, a wrong type or an out-of-range value refuses the transaction.
Every bound is explicit (lengths, counts, magnitudes), so a hostile body cannot make a
replica do unbounded work. Checks raise :class:`ledger.ContractError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from ledger import ContractError

__all__ = [
    "ID_PATTERN",
    "Bytes",
    "Date",
    "Enum",
    "Field",
    "Int",
    "ListOf",
    "Schema",
    "Str",
]

# Object and member ids: readable, no separators the kit uses to derive child ids.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Field(Protocol):
    """One payload field: ``check`` returns the value or raises ``ContractError``."""

    @property
    def required(self) -> bool: ...

    def check(self, name: str, value: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Int:
    lo: int = 0
    hi: int = (1 << 63) - 1
    required: bool = True

    def check(self, name: str, value: Any) -> int:
        # bool is an int subclass in Python; a flag must never pass as an amount.
        if not isinstance(value, int) or isinstance(value, bool):
            raise ContractError(f"{name} must be an integer")
        if not self.lo <= value <= self.hi:
            raise ContractError(f"{name} must be between {self.lo} and {self.hi}")
        return value


@dataclass(frozen=True, slots=True)
class Str:
    pattern: re.Pattern[str] = ID_PATTERN
    required: bool = True

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or self.pattern.fullmatch(value) is None:
            raise ContractError(f"{name} must match {self.pattern.pattern}")
        return value


@dataclass(frozen=True, slots=True)
class Enum:
    choices: frozenset[str] = frozenset()
    required: bool = True

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise ContractError(f"{name} must be one of {sorted(self.choices)}")
        return value


@dataclass(frozen=True, slots=True)
class Bytes:
    size: int | None = None
    max_size: int = 64
    required: bool = True

    def check(self, name: str, value: Any) -> bytes:
        if not isinstance(value, bytes):
            raise ContractError(f"{name} must be bytes")
        if self.size is not None and len(value) != self.size:
            raise ContractError(f"{name} must be exactly {self.size} bytes")
        if len(value) > self.max_size:
            raise ContractError(f"{name} must be at most {self.max_size} bytes")
        return value


@dataclass(frozen=True, slots=True)
class Date:
    """A calendar date as ISO ``YYYY-MM-DD`` text (the form stored in state)."""

    required: bool = True

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or len(value) != 10:
            raise ContractError(f"{name} must be a date YYYY-MM-DD")
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise ContractError(f"{name} must be a date YYYY-MM-DD") from None
        if parsed.isoformat() != value:
            raise ContractError(f"{name} must be a date YYYY-MM-DD")
        return value


@dataclass(frozen=True, slots=True)
class ListOf:
    item: Field = field(default_factory=lambda: Int())
    min_len: int = 0
    max_len: int = 16
    unique: bool = False
    required: bool = True

    def check(self, name: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ContractError(f"{name} must be a list")
        if not self.min_len <= len(value) <= self.max_len:
            raise ContractError(f"{name} must hold {self.min_len} to {self.max_len} items")
        items = [self.item.check(f"{name}[{i}]", v) for i, v in enumerate(value)]
        if self.unique and len({repr(v) for v in items}) != len(items):
            raise ContractError(f"{name} must not repeat an item")
        return items


@dataclass(frozen=True, slots=True)
class Schema:
    """The fields a payload may carry; anything else refuses the transaction."""

    fields: Mapping[str, Field] = field(default_factory=dict)

    def check(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, Mapping):
            raise ContractError("payload must be a map")
        unknown = sorted(set(payload) - set(self.fields))
        if unknown:
            raise ContractError(f"unknown payload fields: {unknown}")
        out: dict[str, Any] = {}
        for name, spec in self.fields.items():
            if name not in payload:
                if spec.required:
                    raise ContractError(f"payload field {name!r} is required")
                continue
            out[name] = spec.check(name, payload[name])
        return out
