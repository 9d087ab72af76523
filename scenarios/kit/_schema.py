"""Declarative payload schemas: a transaction body has exactly one meaning or is refused.

Payloads are signed (by the submitter, and by co-signers over the digest of the whole
transaction), so a field the contract does not know must never ride along unchecked:
an unknown field, a missing required field, a wrong type or an out-of-range value
refuses the transaction. Every bound is explicit (lengths, counts, magnitudes), so a
hostile body cannot make a replica do unbounded work. Checks raise
:class:`ledger.ContractError`.

Each field also says how people give it (``scenarios.kit._types`` has the richer
ones): ``parse`` reads the text typed after ``--set FIELD=`` or a typed option,
``from_json`` reads a ``--payload`` file (bytes as hex), ``option`` and ``help`` name
and describe the command-line option, and ``default_attr`` fills a field the operator
left out from the object's attribute of that name (a redemption pays the face). This
is what lets one generated command line serve every scenario.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from ledger import ContractError

__all__ = [
    "ID_PATTERN",
    "Bool",
    "Bytes",
    "Date",
    "Enum",
    "Field",
    "Int",
    "ListOf",
    "MapOf",
    "Record",
    "Schema",
    "Str",
]

# Object and member ids: readable, no separators the kit uses to derive child ids.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class Field(Protocol):
    """One payload field: ``check`` returns the value or raises ``ContractError``."""

    @property
    def required(self) -> bool: ...

    @property
    def option(self) -> str: ...

    @property
    def help(self) -> str: ...

    @property
    def default_attr(self) -> str: ...

    def check(self, name: str, value: Any) -> Any: ...

    def parse(self, name: str, text: str) -> Any: ...

    def from_json(self, name: str, value: Any) -> Any: ...

    def example(self) -> str: ...


def _bad(name: str, what: str) -> ContractError:
    return ContractError(f"{name} must be {what}")


@dataclass(frozen=True, slots=True)
class _Meta:
    """The command-line metadata every field carries (keyword-only, all optional)."""

    required: bool = field(default=True, kw_only=True)
    option: str = field(default="", kw_only=True)
    help: str = field(default="", kw_only=True)
    default_attr: str = field(default="", kw_only=True)

    def from_json(self, name: str, value: Any) -> Any:
        return value


@dataclass(frozen=True, slots=True)
class Int(_Meta):
    lo: int = 0
    hi: int = (1 << 63) - 1

    def check(self, name: str, value: Any) -> int:
        # bool is an int subclass in Python; a flag must never pass as an amount.
        if not isinstance(value, int) or isinstance(value, bool):
            raise _bad(name, "an integer")
        if not self.lo <= value <= self.hi:
            raise _bad(name, f"between {self.lo} and {self.hi}")
        return value

    def parse(self, name: str, text: str) -> int:
        try:
            return int(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise _bad(name, "an integer") from None

    def example(self) -> str:
        return str(max(self.lo, min(self.hi, 100)))


@dataclass(frozen=True, slots=True)
class Bool(_Meta):
    def check(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise _bad(name, "true or false")
        return value

    def parse(self, name: str, text: str) -> bool:
        lowered = text.strip().lower()
        if lowered not in {"true", "false", "yes", "no", "1", "0"}:
            raise _bad(name, "true or false")
        return lowered in {"true", "yes", "1"}

    def example(self) -> str:
        return "true"


@dataclass(frozen=True, slots=True)
class Str(_Meta):
    pattern: re.Pattern[str] = ID_PATTERN

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or self.pattern.fullmatch(value) is None:
            raise ContractError(f"{name} must match {self.pattern.pattern}")
        return value

    def parse(self, name: str, text: str) -> str:
        return text

    def example(self) -> str:
        return "ID-1"


@dataclass(frozen=True, slots=True)
class Enum(_Meta):
    choices: frozenset[str] = frozenset()

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise _bad(name, f"one of {sorted(self.choices)}")
        return value

    def parse(self, name: str, text: str) -> str:
        return text

    def example(self) -> str:
        return sorted(self.choices)[0] if self.choices else "x"


@dataclass(frozen=True, slots=True)
class Bytes(_Meta):
    size: int | None = None
    max_size: int = 64

    def check(self, name: str, value: Any) -> bytes:
        if not isinstance(value, bytes):
            raise _bad(name, "bytes")
        if self.size is not None and len(value) != self.size:
            raise _bad(name, f"exactly {self.size} bytes")
        if len(value) > self.max_size:
            raise _bad(name, f"at most {self.max_size} bytes")
        return value

    def parse(self, name: str, text: str) -> bytes:
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise _bad(name, "hex") from None

    def from_json(self, name: str, value: Any) -> Any:
        return self.parse(name, value) if isinstance(value, str) else value

    def example(self) -> str:
        return "0a1b"


@dataclass(frozen=True, slots=True)
class Date(_Meta):
    """A calendar date as ISO ``YYYY-MM-DD`` text (the form stored in state)."""

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or len(value) != 10:
            raise _bad(name, "a date YYYY-MM-DD")
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise _bad(name, "a date YYYY-MM-DD") from None
        if parsed.isoformat() != value:
            raise _bad(name, "a date YYYY-MM-DD")
        return value

    def parse(self, name: str, text: str) -> str:
        return text.strip()

    def example(self) -> str:
        return "2025-06-30"


@dataclass(frozen=True, slots=True)
class ListOf(_Meta):
    item: Field = field(default_factory=lambda: Int())
    min_len: int = 0
    max_len: int = 16
    unique: bool = False

    def check(self, name: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise _bad(name, "a list")
        if not self.min_len <= len(value) <= self.max_len:
            raise ContractError(f"{name} must hold {self.min_len} to {self.max_len} items")
        items = [self.item.check(f"{name}[{i}]", v) for i, v in enumerate(value)]
        if self.unique and len({repr(v) for v in items}) != len(items):
            raise ContractError(f"{name} must not repeat an item")
        return items

    def parse(self, name: str, text: str) -> list[Any]:
        if text.lstrip().startswith("["):
            parsed: list[Any] = self.from_json(name, _json(name, text))
            return parsed
        return [self.item.parse(name, part) for part in text.split(";") if part]

    def from_json(self, name: str, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [self.item.from_json(f"{name}[{i}]", v) for i, v in enumerate(value)]

    def example(self) -> str:
        return f"{self.item.example()};{self.item.example()}"


@dataclass(frozen=True, slots=True)
class MapOf(_Meta):
    """A map from keys (ids, codes) to values of one type."""

    value: Field = field(default_factory=lambda: Int())
    max_len: int = 64
    key: re.Pattern[str] = _KEY

    def check(self, name: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping) or len(value) > self.max_len:
            raise _bad(name, f"a map of at most {self.max_len} entries")
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or self.key.fullmatch(key) is None:
                raise _bad(f"{name} key", f"text matching {self.key.pattern}")
            out[key] = self.value.check(f"{name}[{key}]", item)
        return out

    def parse(self, name: str, text: str) -> Any:
        if text.lstrip().startswith("{"):
            return self.from_json(name, _json(name, text))
        out: dict[str, Any] = {}
        for part in filter(None, text.split(";")):
            key, sep, item = part.partition(":")
            if not sep:
                raise _bad(name, "KEY:VALUE;KEY:VALUE or a JSON map")
            out[key] = self.value.parse(f"{name}[{key}]", item)
        return out

    def from_json(self, name: str, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        return {k: self.value.from_json(f"{name}[{k}]", v) for k, v in value.items()}

    def example(self) -> str:
        return f"a:{self.value.example()};b:{self.value.example()}"


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

    def from_json(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """A payload read from JSON (bytes as hex), not yet checked."""
        out: dict[str, Any] = {}
        for name, value in payload.items():
            spec = self.fields.get(name)
            out[name] = value if spec is None else spec.from_json(name, value)
        return out


@dataclass(frozen=True, slots=True)
class Record(_Meta):
    """A nested map with its own fixed fields (a document's lines, a tranche)."""

    schema: Schema = field(default_factory=Schema)

    def check(self, name: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise _bad(name, "a record")
        try:
            return self.schema.check(value)
        except ContractError as exc:
            raise ContractError(f"{name}: {exc.reason}") from None

    def parse(self, name: str, text: str) -> Any:
        return self.from_json(name, _json(name, text))

    def from_json(self, name: str, value: Any) -> Any:
        return self.schema.from_json(value) if isinstance(value, Mapping) else value

    def example(self) -> str:
        inner = ", ".join(f'"{k}": ...' for k in self.schema.fields)
        return "{" + inner + "}"


def _json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise _bad(name, "valid JSON") from None
