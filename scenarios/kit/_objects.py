"""The values a scenario keeps on the ledger: versioned objects and their events.

An object is ``Obj{id, type, state, version, parties, sets, data_hash, attrs}``:

- ``parties`` maps a role to the one member who holds it (``holder → bank-a``);
- ``sets`` maps a role to a :class:`PartySet` when several members hold it together
  (``lenders``), with their weights and the quorum a signature of the role needs;
- ``attrs`` holds integers, text, bytes, lists and maps (never floats), including the
  object's versioned rule parameters under ``rules`` (``_catalogue``).

An :class:`Event` is written for every object a transaction creates or changes, keyed
``<id>@<version>`` so each object's history reads in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ledger import Value
from scenarios.kit._parties import PartySet

__all__ = ["Event", "Obj", "account"]


def account(obj: Obj) -> str:
    """The holdings account an object carries amounts in (``certificate:C1.2``).

    Member accounts are member ids; ``:`` never occurs in one, so the two cannot meet.
    """
    return f"{obj.type}:{obj.id}"


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
    sets: Mapping[str, PartySet] = field(default_factory=dict)

    def party(self, role: str) -> str | None:
        return self.parties.get(role)

    def party_set(self, role: str) -> PartySet | None:
        """The members holding ``role`` (a single member is a set of one)."""
        if role in self.sets:
            return self.sets[role]
        member = self.parties.get(role)
        return None if member is None else PartySet.of(member)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.parties) | frozenset(self.sets)

    def members(self) -> frozenset[str]:
        """Every member holding any role on the object."""
        out = set(self.parties.values())
        for party_set in self.sets.values():
            out.update(party_set.members)
        return frozenset(out)

    def holds(self, member: str, roles: frozenset[str]) -> bool:
        for role in roles:
            found = self.party_set(role)
            if found is not None and member in found.members:
                return True
        return False

    def evolve(
        self,
        *,
        state: str | None = None,
        parties: Mapping[str, str | None] | None = None,
        attrs: Mapping[str, Any] | None = None,
        sets: Mapping[str, PartySet | None] | None = None,
    ) -> Obj:
        """A copy with ``state`` replaced and the mappings merged (None deletes)."""
        return replace(
            self,
            state=self.state if state is None else state,
            parties=_merge(self.parties, parties),
            attrs=_merge(self.attrs, attrs),
            sets=_merge(self.sets, sets),
        )

    def to_row(self) -> dict[str, Value]:
        return {
            "id": self.id,
            "type": self.type,
            "state": self.state,
            "version": self.version,
            "parties": dict(self.parties),
            "sets": {role: s.to_row() for role, s in self.sets.items()},
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
            sets={role: PartySet.from_row(s) for role, s in row.get("sets", {}).items()},
        )


def _merge(base: Mapping[str, Any], changes: Mapping[str, Any] | None) -> dict[str, Any]:
    out = dict(base)
    for key, value in (changes or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class Event:
    """One object's change in one transaction: what, by whom, when, at which height."""

    tx_id: bytes
    object_id: str
    transition: str
    version_before: int
    version_after: int
    signers: tuple[str, ...]
    ts: int
    payload_hash: bytes
    review: tuple[str, ...] = ()
    height: int = 0
    # The transition applied to this object when it is a consequence of another
    # (``transition`` then names the step the members took: a split's child says
    # ``split``, and ``leg`` the child's own transition).
    leg: str = ""

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
            "height": self.height,
            "leg": self.leg,
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
            height=row.get("height", 0),
            leg=row.get("leg", ""),
        )
