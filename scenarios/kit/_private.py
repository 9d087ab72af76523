"""Confidential objects: the parties hold the state, the ledger holds a commitment.

A scenario declares a machine confidential (:class:`Confidential`). Its objects never
reach the shared ledger; each step is a ``<contract>.private`` transaction holding only:

- ``hid`` — a keyed hash of the object id (HMAC-SHA256 under a key the creator draws
  and shares with the parties only), so nobody else can test guesses of the id;
- ``version`` — the object's new version;
- ``commitment`` — HMAC-SHA256, keyed by a fresh random salt, over the new private
  state (the object row): hiding (the salt is never on the ledger) and binding;
- at creation, the party set's member ids, weights and quorum, and the observers the
  object names (a regulator): who endorses, and who may receive the state;
- ``endorsements`` — each endorsing party's signature over
  ``riskshare/scenario-private/v1 \\0 CBOR{chain, contract, hid, version, commitment}``.

What every replica checks (:func:`private_handler`), and nothing else: the submitter is
a party; at creation every party endorses; afterwards the endorsements come from the
party set fixed at creation and reach its quorum; the version is exactly the next one
(a version is consumed once: no double spend).

What the parties check: each party's gateway runs the transition itself on the private
state it holds (:func:`run_private`, the same engine on an overlay with the private
object put in), builds the new state with the proposed salt, and endorses only when it
reaches the very commitment proposed, as a Fabric endorser does. A party or observer
receiving the new state checks it against the commitment on its own replica
(:func:`verify_record`) before keeping it; one that missed it fetches it from another
party and checks it the same way. After the declared retention the state is deleted;
the commitments stay, and the chain still verifies, because no replica ever needed the
state to apply a block.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac

from ledger import (
    ContractError,
    Handler,
    State,
    TxContext,
    Value,
    decode,
    encode,
    get_member,
    require_member_signature,
)
from scenarios.kit._feed import write_private_feed
from scenarios.kit._objects import Obj
from scenarios.kit._parties import ALL, PartySet, Quorum
from scenarios.kit._tx import chain_id

__all__ = [
    "ENDORSE_DOMAIN",
    "RECORD_DOMAIN",
    "Confidential",
    "PrivateRecord",
    "PrivateRow",
    "commitment",
    "endorsement_message",
    "object_hid",
    "private_handler",
    "private_row",
    "private_rows",
    "private_tables",
    "verify_record",
]

ENDORSE_DOMAIN = "scenario-private"
RECORD_DOMAIN = "scenario-private-record"
_STATE_DOMAIN = "scenario-private-state"
_ID_DOMAIN = "scenario-private-id"


@dataclass(frozen=True, slots=True)
class Confidential:
    """A machine whose objects only their parties (and named observers) hold.

    ``quorum`` is the endorsement policy of the party set (every role's members but the
    observers', one member one vote), fixed at creation; ``retention_days`` how long a
    member keeps the private state after the object's last step.
    """

    retention_days: int
    observer_roles: frozenset[str] = frozenset()
    quorum: Quorum = ALL


def private_tables(contract: str) -> frozenset[str]:
    return frozenset({f"{contract}.private", f"{contract}.private.log"})


def _mac(key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(data)
    return mac.finalize()


def object_hid(contract: str, type_: str, object_id: str, key: bytes) -> bytes:
    """The keyed hash an object is known by on the shared ledger."""
    return _mac(key, encode(_ID_DOMAIN, 1, {"contract": contract, "type": type_, "id": object_id}))


@dataclass(frozen=True, slots=True)
class PrivateRecord:
    """What the parties hold: the object, its id key, and the salt of its commitment."""

    contract: str
    obj: Obj
    key: bytes = field(repr=False)
    salt: bytes = field(repr=False)
    log: tuple[Mapping[str, Any], ...] = ()

    @property
    def hid(self) -> bytes:
        return object_hid(self.contract, self.obj.type, self.obj.id, self.key)

    @property
    def version(self) -> int:
        return self.obj.version

    def to_bytes(self) -> bytes:
        return encode(
            RECORD_DOMAIN,
            1,
            {
                "contract": self.contract,
                "object": self.obj.to_row(),
                "key": self.key,
                "salt": self.salt,
                "log": [dict(entry) for entry in self.log],
            },
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> PrivateRecord:
        try:
            row = decode(RECORD_DOMAIN, 1, data)
            assert isinstance(row, dict)
            record = cls(
                row["contract"],
                Obj.from_row(row["object"]),
                row["key"],
                row["salt"],
                tuple(row["log"]),
            )
        except Exception:
            raise ContractError("a private record that does not decode") from None
        if len(record.key) != 32 or len(record.salt) != 32:
            raise ContractError("a private record's key and salt are 32 bytes")
        return record


def commitment(record: PrivateRecord) -> bytes:
    """The salted commitment to a record's object, as the ledger keeps it."""
    data = encode(_STATE_DOMAIN, 1, {"contract": record.contract, "object": record.obj.to_row()})
    return _mac(record.salt, data)


def endorsement_message(
    chain: bytes, contract: str, hid: bytes, version: int, committed: bytes
) -> bytes:
    return encode(
        ENDORSE_DOMAIN,
        1,
        {
            "chain": chain,
            "contract": contract,
            "hid": hid,
            "version": version,
            "commitment": committed,
        },
    )


@dataclass(frozen=True, slots=True)
class PrivateRow:
    """What the shared ledger knows of a confidential object."""

    hid: bytes
    party: PartySet
    observers: tuple[str, ...]
    version: int
    commitment: bytes
    height: int
    at: int

    def may_hold(self, member: str) -> bool:
        return member in self.party.members or member in self.observers

    def commitment_at(self, state: State, contract: str, version: int) -> bytes | None:
        if version == self.version:
            return self.commitment
        row = state.get(f"{contract}.private.log", f"{self.hid.hex()}@{version:010d}")
        return row["commitment"] if isinstance(row, dict) else None


def private_row(state: State, contract: str, hid: bytes) -> PrivateRow | None:
    row = state.get(f"{contract}.private", hid.hex())
    if not isinstance(row, dict):
        return None
    return PrivateRow(
        hid,
        PartySet(tuple(row["members"]), tuple(row["weights"]), Quorum.from_row(row["quorum"])),
        tuple(row["observers"]),
        row["version"],
        row["commitment"],
        row["height"],
        row["at"],
    )


def private_rows(state: State, contract: str) -> list[PrivateRow]:
    out = []
    for key, _ in state.scan(f"{contract}.private"):
        found = private_row(state, contract, bytes.fromhex(key))
        if found is not None:
            out.append(found)
    return out


def verify_record(state: State, record: PrivateRecord, version: int | None = None) -> PrivateRow:
    """Check a received record against the commitment on the shared ledger; raise if
    it does not match (then it is not kept)."""
    row = private_row(state, record.contract, record.hid)
    if row is None:
        raise ContractError("no confidential object with this keyed id on the ledger")
    expected = row.commitment_at(
        state, record.contract, record.version if version is None else version
    )
    if expected is None or commitment(record) != expected:
        raise ContractError(
            f"the private state of version {record.version} does not match its commitment"
        )
    return row


# The ledger's contract ------------------------------------------------------------------


def _bytes32(value: Any, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ContractError(f"{what} must be 32 bytes")
    return value


def _ids(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
        raise ContractError(f"{what} must be a list of member ids")
    if len(set(value)) != len(value):
        raise ContractError(f"{what} names a member twice")
    return list(value)


def _creation(state: State, body: Mapping[str, Any]) -> tuple[PartySet, list[str]]:
    party = PartySet(
        tuple(_ids(body.get("members"), "members")),
        tuple(body.get("weights") or ()),
        Quorum.from_row(body.get("quorum")),
    )
    observers = _ids(body.get("observers", []), "observers")
    if set(observers) & set(party.members):
        raise ContractError("an observer is not also a party")
    for member_id in [*party.members, *observers]:
        member = get_member(state, member_id)
        if member is None or not member.active:
            raise ContractError(f"{member_id!r} is not an active member")
    return party, observers


_CREATE_KEYS = frozenset(
    {"hid", "version", "commitment", "endorsements", "members", "weights", "quorum", "observers"}
)
_UPDATE_KEYS = frozenset({"hid", "version", "commitment", "endorsements"})


def private_handler(contract: str) -> Handler:
    """``<contract>.private``: a commitment to a confidential object's next version."""
    table, log = f"{contract}.private", f"{contract}.private.log"

    def handle(state: State, ctx: TxContext) -> None:
        body = ctx.body
        hid = _bytes32(body.get("hid"), "hid")
        committed = _bytes32(body.get("commitment"), "commitment")
        version = body.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ContractError("version must be a positive integer")
        endorsements = body.get("endorsements")
        if not isinstance(endorsements, Mapping) or not all(
            isinstance(m, str) and isinstance(s, bytes) for m, s in endorsements.items()
        ):
            raise ContractError("endorsements must map member ids to signatures")
        current = private_row(state, contract, hid)
        if current is None:
            if version != 1 or set(body) != _CREATE_KEYS:
                raise ContractError(
                    f"a new confidential object is version 1 with {sorted(_CREATE_KEYS)}"
                )
            party, observers = _creation(state, body)
        else:
            if set(body) != _UPDATE_KEYS:
                raise ContractError(f"a confidential step is exactly {sorted(_UPDATE_KEYS)}")
            if version != current.version + 1:
                raise ContractError(
                    f"stale step: the confidential object is at version {current.version}, "
                    f"not {version - 1}"
                )
            party, observers = current.party, list(current.observers)
        if ctx.member not in party.members:
            raise ContractError("only a party submits a confidential object's step")
        if len(endorsements) > len(party.members):
            raise ContractError("more endorsements than parties")
        message = endorsement_message(chain_id(state), contract, hid, version, committed)
        for member_id, signature in sorted(endorsements.items()):
            if member_id not in party.members:
                raise ContractError(f"{member_id!r} is not a party to this confidential object")
            require_member_signature(state, member_id, message, signature)
        needed = PartySet(party.members, party.weights, ALL) if current is None else party
        if not needed.reached(endorsements):
            raise ContractError(
                f"quorum not reached: the confidential step needs {needed.describe(endorsements)}"
            )
        row: dict[str, Value] = {
            "members": list(party.members),
            "weights": list(party.weights),
            "quorum": party.quorum.to_row(),
            "observers": observers,
            "version": version,
            "commitment": committed,
            "height": ctx.height,
            "at": ctx.block_time,
        }
        state.put(table, hid.hex(), row)
        state.put(
            log,
            f"{hid.hex()}@{version:010d}",
            {
                "commitment": committed,
                "height": ctx.height,
                "at": ctx.block_time,
                "endorsers": sorted(endorsements),
            },
        )
        write_private_feed(
            state, f"{contract}.feed", ctx, hid.hex(), version, [*party.members, *observers]
        )

    handle.__name__ = f"{contract}_private"
    return handle
