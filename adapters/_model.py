"""The values the adapter pipeline passes between its stages.

Rules kept here:

- An *entry* is what the index holds: one normalised identifier of one id type on one
  list type, with the attributes its label and evidence commitment carry. Its identity
  is :class:`EntryKey`; two source rows naming the same key are the same entry.
- A *source row* is one accepted row of one source, identified by ``source_key`` (the
  mapping's key column, or the entry key itself when the mapping names none). Several
  rows may hold one entry; the entry is listed while any active, unexpired row holds it.
- Times are integer seconds since the Unix epoch, UTC; ``expires_at`` ``None`` means the
  entry does not expire on its own.
- List types and the id types each accepts are a registry (DESIGN §7; on a live network
  the ledger's ``gov.list_types`` is the authority, and the gateway passes it in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

import psi

__all__ = [
    "LAUNCH_LIST_TYPES",
    "EntryKey",
    "ListEntry",
    "ListTypePolicy",
    "Reject",
    "SourceRow",
]


@dataclass(frozen=True, slots=True)
class ListTypePolicy:
    """What one list type accepts and how long an entry stays without an explicit expiry."""

    id_types: frozenset[str]
    retention_days: int | None


#: The launch policies, from psi's one definition of the launch list types.
LAUNCH_LIST_TYPES: Mapping[str, ListTypePolicy] = MappingProxyType(
    {
        name: ListTypePolicy(frozenset(t.id_types), t.retention_days)
        for name, t in psi.LAUNCH_LIST_TYPES.items()
    }
)


class EntryKey(NamedTuple):
    list_type: str
    id_type: str
    value: str


class ListEntry(NamedTuple):
    """One entry as the index and its evidence commitment see it.

    Immutable like the frozen dataclasses elsewhere, but a named tuple: a sync builds one
    per entry on its hot path, and tuples build several times faster. It never leaves
    the process; the index and the commitment encode their own bytes from it.
    """

    key: EntryKey
    reason_code: int | None
    listed_at: int
    expires_at: int | None
    evidence_ref: str | None

    def expired(self, now: int) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class SourceRow(NamedTuple):
    """One accepted source row after normalisation.

    ``listed_at`` is ``None`` when the source does not say; the planner then keeps the
    time the row was first seen. A named tuple, not a frozen dataclass, because one is
    built for every row read and tuples build several times faster; it is never signed,
    hashed or sent.
    """

    source_key: str
    row: int
    key: EntryKey
    reason_code: int | None
    listed_at: int | None
    expires_at: int | None
    evidence_ref: str | None
    delisted: bool
    watermark: object = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Reject:
    """One row that did not make it, as the error report shows it (value masked).

    ``counts`` is false for rows that are reported but are not errors of the data:
    blank rows and duplicates. Only counted rejects weigh against the reject share.
    """

    row: int
    line: int | None
    column: str
    masked_value: str
    reason: str
    detail: str
    source_key: str | None = None
    counts: bool = True
