"""Scenario transactions at the gateway: building them, previewing them, approving them.

The decisions here are the kit's (``scenarios.kit.Engine``); this module only turns
requests into transactions and keeps the operator's approvals:

- :func:`legs_of` reads a request (one leg as ``kind``/``object``/``version``/
  ``payload``, or ``<contract>.tx`` and its CBOR legs) into the legs the ledger will
  apply, taking an object's version from the local replica when the request says -1.
- :func:`preview` runs a transaction on a replica without keeping it, as a given
  member at the next height: every rule must hold; only signatures may be missing.
- :class:`Approvals` keeps, in ``<data_dir>/scenarios.sqlite``, the digests of the
  transactions the member's operator approved co-signing (``riskshare <scenario>
  authorize``). An approval names one exact transaction — its legs, versions and
  payloads, bound to this chain — and lapses after its time to live; a gateway asked to
  co-sign anything else refuses, naming both digests when the same step was approved
  with another payload.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gateway._errors import PermissionDeniedError
from gateway._scenario_store import open_scenarios_db
from ledger import ContractError, State, TxContext, decode, encode, get_member
from scenarios import ScenarioError, engine_for
from scenarios.kit import Engine, Leg, Outcome, chain_id, tx_digest, tx_message

__all__ = [
    "LEGS_DOMAIN",
    "PAYLOAD_DOMAIN",
    "Approvals",
    "Built",
    "decode_legs",
    "decode_payload",
    "encode_legs",
    "encode_payload",
    "legs_of",
    "preview",
]

PAYLOAD_DOMAIN = "scenario-step-payload"
LEGS_DOMAIN = "scenario-legs"


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    return encode(PAYLOAD_DOMAIN, 1, dict(payload))


def decode_payload(data: bytes) -> dict[str, Any]:
    value = decode(PAYLOAD_DOMAIN, 1, data)
    if not isinstance(value, dict):
        raise ContractError("a step payload is a map")
    return value


def encode_legs(legs: list[Leg]) -> bytes:
    return encode(LEGS_DOMAIN, 1, [leg.to_row() for leg in legs])


def decode_legs(data: bytes) -> list[Leg]:
    """Legs as a request carries them; a version of -1 means "as on your replica"."""
    value = decode(LEGS_DOMAIN, 1, data)
    if not isinstance(value, list) or not value:
        raise ContractError("a transaction is a non-empty list of legs")
    legs = []
    for row in value:
        if not isinstance(row, dict):
            raise ContractError("a leg is a map")
        unresolved = row.get("version") == -1
        leg = Leg.from_row({**row, "version": 0} if unresolved else row)
        legs.append(replace(leg, version=-1) if unresolved else leg)
    return legs


@dataclass(frozen=True, slots=True)
class Built:
    """A transaction as the ledger will apply it, and what its co-signers sign."""

    engine: Engine
    kind: str
    legs: list[Leg]
    message: bytes

    @property
    def digest(self) -> bytes:
        return tx_digest(self.message)

    @property
    def single(self) -> bool:
        return not self.kind.endswith(".tx")

    def body(self, cosigs: Mapping[str, bytes]) -> dict[str, Any]:
        if self.single:
            (leg,) = self.legs
            body: dict[str, Any] = {
                "object": leg.object,
                "version": leg.version,
                "payload": dict(leg.payload),
            }
        else:
            body = {"legs": [leg.to_row() for leg in self.legs]}
        if cosigs:
            body["cosigs"] = dict(cosigs)
        return body


def _engine(kind: str) -> Engine:
    contract = kind.partition(".")[0]
    try:
        return engine_for(contract)
    except ScenarioError as exc:
        raise ContractError(str(exc)) from None


def legs_of(
    state: State, kind: str, object_id: str, version: int, payload: bytes, tx: bytes
) -> Built:
    """The transaction a request names, its versions resolved on ``state``."""
    engine = _engine(kind)
    contract, _, name = kind.partition(".")
    if name == "tx":
        legs = decode_legs(tx)
    else:
        if tx:
            raise ContractError(f"{kind} is one leg; send several as {contract}.tx")
        engine.machine_of(name)
        legs = [engine.leg(name, object_id, version, decode_payload(payload))]
    resolved = []
    for leg in legs:
        if leg.version < 0:
            current = engine.machine(leg.machine).get(state, leg.object)
            leg = replace(leg, version=0 if current is None else current.version)
        resolved.append(leg)
    return Built(engine, kind, resolved, tx_message(chain_id(state), contract, resolved))


def preview(
    built: Built,
    state: State,
    member: str,
    height: int,
    now: int,
    cosigs: Mapping[str, bytes] | None = None,
) -> Outcome:
    """Run ``built`` on ``state`` as ``member`` at ``height`` without keeping it."""
    found = get_member(state, member)
    role = "" if found is None else found.role
    ctx = TxContext(b"\0" * 32, built.kind, member, role, 0, now, {}, height, now)
    return built.engine.run(state, ctx, built.legs, cosigs or {}, strict=False, single=built.single)


class Approvals:
    """An operator's approvals to co-sign, by transaction digest, in ``scenarios.sqlite``.

    Written by the admin side, read by every worker. The kind and first object are kept
    beside the digest only to say, when a co-signature is refused, that the same step
    was approved with another payload.
    """

    def __init__(self, data_dir: Path) -> None:
        self._conn = open_scenarios_db(data_dir)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS tx_approvals ("
            "digest BLOB PRIMARY KEY, kind TEXT NOT NULL, object TEXT NOT NULL, "
            "expires_ms INTEGER NOT NULL)"
        )
        self._conn.commit()
        self._lock = threading.Lock()

    def authorise(self, digest: bytes, kind: str, object_id: str, expires_ms: int) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO tx_approvals (digest, kind, object, expires_ms) "
                "VALUES (?, ?, ?, ?)",
                (digest, kind, object_id, expires_ms),
            )

    def require(self, member: str, built: Built, now_ms: int) -> None:
        """Refuse unless the operator approved exactly this transaction, in time."""
        first = built.legs[0].object
        with self._lock:
            row = self._conn.execute(
                "SELECT expires_ms FROM tx_approvals WHERE digest = ?", (built.digest,)
            ).fetchone()
            others = self._conn.execute(
                "SELECT digest FROM tx_approvals WHERE kind = ? AND object = ? "
                "AND expires_ms >= ? AND digest != ?",
                (built.kind, first, now_ms, built.digest),
            ).fetchall()
        if row is not None and row[0] >= now_ms:
            return
        asked = built.digest.hex()[:16]
        if others:
            approved = ", ".join(bytes(d[0]).hex()[:16] for d in others)
            raise PermissionDeniedError(
                f"{member} authorised {built.kind} on {first} for another transaction "
                f"(digest {approved}), not this one (digest {asked}): the payload or "
                "version differs from what was approved"
            )
        raise PermissionDeniedError(
            f"{member} has not authorised {built.kind} on {first} (digest {asked})"
        )

    def forget(self, contract: str, object_id: str) -> None:
        """Drop every approval of ``contract``'s steps on ``object_id`` (its private state
        is purged: nothing of it, its id included, is kept)."""
        with self._lock, self._conn:
            self._conn.execute(
                "DELETE FROM tx_approvals WHERE object = ? AND substr(kind, 1, ?) = ?",
                (object_id, len(contract) + 1, f"{contract}."),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
