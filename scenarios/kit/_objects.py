"""The values a scenario keeps on the ledger: versioned objects and their events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ledger import Value

__all__ = ["Event", "Obj"]


@dataclass(frozen=True, slots=True)
class Obj:
    """A versioned object. Treat the mappings as read-only; use :meth:`evolve`."""

    id: str
    type: str
    state: str
    version: int
    parties: Mapping[str, str]
    data_hash: bytes
    attrs: Mapping[str, Any]

    def party(self, role: str) -> str | None:
        return self.parties.get(role)

    def evolve(
        self,
        *,
        state: str | None = None,
        parties: Mapping[str, str | None] | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> Obj:
        """A copy with ``state`` replaced and ``parties``/``attrs`` merged (None deletes)."""
        new_parties = dict(self.parties)
        for role, member in (parties or {}).items():
            if member is None:
                new_parties.pop(role, None)
            else:
                new_parties[role] = member
        new_attrs = dict(self.attrs)
        for key, value in (attrs or {}).items():
            if value is None:
                new_attrs.pop(key, None)
            else:
                new_attrs[key] = value
        return replace(
            self,
            state=self.state if state is None else state,
            parties=new_parties,
            attrs=new_attrs,
        )

    def to_row(self) -> dict[str, Value]:
        return {
            "id": self.id,
            "type": self.type,
            "state": self.state,
            "version": self.version,
            "parties": dict(self.parties),
            "data_hash": self.data_hash,
            "attrs": dict(self.attrs),
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Obj:
        return cls(
            id=row["id"],
            type=row["type"],
            state=row["state"],
            version=row["version"],
            parties=dict(row["parties"]),
            data_hash=row["data_hash"],
            attrs=dict(row["attrs"]),
        )


@dataclass(frozen=True, slots=True)
class Event:
    tx_id: bytes
    object_id: str
    transition: str
    version_before: int
    version_after: int
    signers: tuple[str, ...]
    ts: int
    payload_hash: bytes
    review: tuple[str, ...] = ()

    def to_row(self) -> dict[str, Value]:
        return {
            "tx_id": self.tx_id,
            "object_id": self.object_id,
            "transition": self.transition,
            "version_before": self.version_before,
            "version_after": self.version_after,
            "signers": list(self.signers),
            "ts": self.ts,
            "payload_hash": self.payload_hash,
            "review": list(self.review),
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Event:
        return cls(
            tx_id=row["tx_id"],
            object_id=row["object_id"],
            transition=row["transition"],
            version_before=row["version_before"],
            version_after=row["version_after"],
            signers=tuple(row["signers"]),
            ts=row["ts"],
            payload_hash=row["payload_hash"],
            review=tuple(row["review"]),
        )
