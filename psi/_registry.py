"""List types, identifier types and the PRF input every tag is computed from.

Rules this module keeps:

- A registry is data: which identifier types each list type admits, the normaliser
  version, and the normalised *shape* of each identifier type. The defaults are DESIGN
  §7's; a consortium's genesis may carry its own, passed in as a ``Registry``.
- ``psi`` does not normalise (check digits, prefixes, full-width folding live in
  ``adapters``, which imports ``psi``). It refuses anything not already in normalised
  shape, so two members can never tag the same person differently by accident.
- The PRF input is ``list_type | id_type | normalised_value | normaliser_version``, each
  field framed with a two-byte length after a versioned domain tag, so no two distinct
  tuples encode to the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from psi._errors import IdentifierError, UnknownTypeError

__all__ = [
    "DEFAULT_REGISTRY",
    "DEFAULT_SHAPES",
    "LAUNCH_ID_TYPES",
    "LAUNCH_LIST_TYPES",
    "NORMALISER_VERSION",
    "PRF_INPUT_DOMAIN",
    "IdType",
    "ListType",
    "Registry",
    "encode_prf_input",
    "prf_input",
]

NORMALISER_VERSION = "v1"
PRF_INPUT_DOMAIN = b"riskshare/psi/prf-input/v1"


@dataclass(frozen=True, slots=True)
class IdType:
    """One identifier type: its normalised shape (a regular expression) and what it is."""

    shape: str
    description: str


@dataclass(frozen=True, slots=True)
class ListType:
    """One list type: the identifier types it admits and its default retention.

    ``retention_days`` counts from listing when a source sends no expiry of its own.
    """

    id_types: tuple[str, ...]
    retention_days: int


#: DESIGN §7's identifier types under normaliser v1 (``adapters`` enforces the same rules).
#: This table and ``LAUNCH_LIST_TYPES`` are the one definition: the ledger's genesis
#: defaults, the adapters' policies and the consortium spec are all built from them.
LAUNCH_ID_TYPES: Mapping[str, IdType] = MappingProxyType(
    {
        "cn_id": IdType(r"\d{17}[\dX]", "PRC resident identity card number (18 digits)"),
        "phone": IdType(r"1[3-9]\d{9}", "mainland mobile number"),
        "bank_card": IdType(r"\d{12,19}", "bank card number (Luhn)"),
        "account": IdType(r"[0-9A-Z]{3,12}\|\d{6,34}", "bank_code|account digits"),
        "device": IdType(r"[0-9a-f]{8,128}", "device fingerprint, lower-case hex"),
    }
)

_YEAR = 365
#: DESIGN §7's launch list types. Five years counts one leap day (5 x 365 + 1). For
#: ``high_risk_account`` "closure + 2 years" is the source's own expiry (it knows the
#: closure date); an entry sent without one is kept two years from listing.
LAUNCH_LIST_TYPES: Mapping[str, ListType] = MappingProxyType(
    {
        "transaction_fraud": ListType(
            ("cn_id", "phone", "bank_card", "account", "device"), 5 * _YEAR + 1
        ),
        "high_risk_account": ListType(("account", "bank_card"), 2 * _YEAR),
        "marketing_abuse": ListType(("phone", "device", "cn_id"), 2 * _YEAR),
    }
)

DEFAULT_SHAPES: Mapping[str, str] = MappingProxyType(
    {name: t.shape for name, t in LAUNCH_ID_TYPES.items()}
)

_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)


@dataclass(frozen=True, slots=True)
class Registry:
    """Which identifier types each list type admits, their shapes, and the normaliser version."""

    list_types: Mapping[str, frozenset[str]]
    shapes: Mapping[str, str] = field(default_factory=lambda: DEFAULT_SHAPES)
    normaliser_version: str = NORMALISER_VERSION
    _compiled: Mapping[str, re.Pattern[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in (*self.list_types, *self.shapes):
            if not _NAME.fullmatch(name):
                raise UnknownTypeError(f"type name {name!r} is not lower_snake_case ASCII")
        for list_type, id_types in self.list_types.items():
            missing = set(id_types) - set(self.shapes)
            if missing:
                raise UnknownTypeError(f"{list_type} admits id types with no shape: {missing}")
        compiled = {k: re.compile(v, re.ASCII) for k, v in self.shapes.items()}
        object.__setattr__(self, "list_types", MappingProxyType(dict(self.list_types)))
        object.__setattr__(self, "_compiled", MappingProxyType(compiled))

    @classmethod
    def from_mapping(
        cls,
        list_types: Mapping[str, list[str] | tuple[str, ...] | frozenset[str]],
        shapes: Mapping[str, str] | None = None,
        normaliser_version: str = NORMALISER_VERSION,
    ) -> Registry:
        """Build a registry from plain data, as a genesis document carries it."""
        return cls(
            list_types={k: frozenset(v) for k, v in list_types.items()},
            shapes=MappingProxyType(dict(shapes if shapes is not None else DEFAULT_SHAPES)),
            normaliser_version=normaliser_version,
        )

    def check_list_type(self, list_type: str) -> None:
        """Raise ``UnknownTypeError`` unless ``list_type`` is registered."""
        if list_type not in self.list_types:
            known = ", ".join(sorted(self.list_types))
            raise UnknownTypeError(f"unknown list type {list_type!r} (known: {known})")

    def check(self, list_type: str, id_type: str, value: str) -> None:
        """Raise unless ``value`` is a normalised ``id_type`` admitted by ``list_type``.

        The message names the types but never the value: errors reach logs.
        """
        self.checker(list_type)(id_type, value)

    def checker(self, list_type: str) -> Callable[[str, str], None]:
        """``check`` for one list type, with the list lookup done once (for bulk input)."""
        self.check_list_type(list_type)
        allowed = self.list_types[list_type]
        patterns = {t: self._compiled[t].fullmatch for t in allowed}

        def check(id_type: str, value: str) -> None:
            match = patterns.get(id_type)
            if match is None:
                raise UnknownTypeError(
                    f"identifier type {id_type!r} is not admitted by list type {list_type!r} "
                    f"(admitted: {', '.join(sorted(allowed))})"
                )
            if not isinstance(value, str) or not match(value):
                raise IdentifierError(
                    f"{id_type} value is not normalised (normaliser {self.normaliser_version} "
                    f"shape {self.shapes[id_type]}); normalise it with adapters first"
                )

        return check


DEFAULT_REGISTRY = Registry.from_mapping({k: t.id_types for k, t in LAUNCH_LIST_TYPES.items()})


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def encode_prf_input(list_type: str, id_type: str, value: str, normaliser_version: str) -> bytes:
    """The PRF input encoding, without checks (``prf_input`` checks first)."""
    return b"".join(
        (
            PRF_INPUT_DOMAIN,
            _field(list_type.encode("utf-8")),
            _field(id_type.encode("utf-8")),
            _field(value.encode("utf-8")),
            _field(normaliser_version.encode("utf-8")),
        )
    )


def prf_input(
    list_type: str, id_type: str, value: str, registry: Registry = DEFAULT_REGISTRY
) -> bytes:
    """The OPRF input of one identifier, after checking its list type, id type and shape."""
    registry.check(list_type, id_type, value)
    return encode_prf_input(list_type, id_type, value, registry.normaliser_version)
