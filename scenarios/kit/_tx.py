"""Transactions of legs, and the exact bytes their co-signers sign.

A scenario step is a transaction ``Tx[Leg(machine, object, expected_version,
transition, payload), ...]``, applied all or nothing. Two body shapes carry it:

- ``<contract>.<transition>`` — one leg, the machine implied by the transition:
  ``{"object", "version", "payload", "cosigs"?}`` (what most steps are);
- ``<contract>.tx`` — any legs, on any machines of the contract:
  ``{"legs": [{"machine", "object", "version", "transition", "payload"}], "cosigs"?}``
  (delivery versus payment, a batch, a novation).

Every co-signer signs the same message, covering the whole transaction:

    riskshare/scenario-tx/v1 \\0 CBOR{chain, contract, legs}

``chain`` binds it to one consortium, each leg's ``version`` to one step of its
object (a version is consumed once, so a signature cannot be replayed), and each
payload to exactly the values applied. An operator's approval to co-sign names the
SHA-256 of this message (:func:`tx_digest`): the approval is for one transaction,
never for "any payload on this object for an hour". A one-leg body and a ``.tx`` body
with the same leg have the same message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import ContractError, State, Value, consortium_info, encode
from scenarios.kit._parties import MAX_MEMBERS

__all__ = [
    "MAX_LEGS",
    "TX_DOMAIN",
    "Leg",
    "chain_id",
    "cosign",
    "parse_step_body",
    "parse_tx_body",
    "tx_digest",
    "tx_message",
]

TX_DOMAIN = "scenario-tx"
# Bounds what one transaction asks of every replica.
MAX_LEGS = 16
_STEP_KEYS = frozenset({"object", "version", "payload", "cosigs"})
_LEG_KEYS = frozenset({"machine", "object", "version", "transition", "payload"})


def chain_id(state: State) -> bytes:
    """The chain a signature is bound to (empty before genesis, as in pure simulations)."""
    info = consortium_info(state)
    chain = None if info is None else info.get("chain_id")
    return chain if isinstance(chain, bytes) else b""


@dataclass(frozen=True, slots=True)
class Leg:
    """One object's step within a transaction."""

    machine: str
    object: str
    version: int
    transition: str
    payload: Mapping[str, Any]

    def to_row(self) -> dict[str, Value]:
        return {
            "machine": self.machine,
            "object": self.object,
            "version": self.version,
            "transition": self.transition,
            "payload": dict(self.payload),
        }

    @classmethod
    def from_row(cls, row: Any) -> Leg:
        if not isinstance(row, Mapping) or set(row) != _LEG_KEYS:
            raise ContractError(f"a leg is exactly {sorted(_LEG_KEYS)}")
        machine, transition = row["machine"], row["transition"]
        if not isinstance(machine, str) or not isinstance(transition, str):
            raise ContractError("a leg names its machine and transition")
        object_id, version, payload = _object_version_payload(row)
        return cls(machine, object_id, version, transition, payload)


def _object_version_payload(body: Mapping[str, Any]) -> tuple[str, int, Mapping[str, Any]]:
    object_id = body.get("object")
    version = body.get("version")
    payload = body.get("payload", {})
    if not isinstance(object_id, str) or not 0 < len(object_id) <= 200:
        raise ContractError("object must be an object id")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ContractError("version must be a non-negative integer")
    if not isinstance(payload, Mapping):
        raise ContractError("payload must be a map")
    return object_id, version, payload


def _cosigs(body: Mapping[str, Any], legs: int) -> dict[str, bytes]:
    cosigs = body.get("cosigs", {})
    # A structural bound only: the engine then admits a co-signature only from a party
    # to one of the legs' objects, so the real limit follows their party sets.
    limit = legs * MAX_MEMBERS
    if not isinstance(cosigs, Mapping) or len(cosigs) > limit:
        raise ContractError(f"cosigs must map at most {limit} members to signatures")
    for member_id, signature in cosigs.items():
        if not isinstance(member_id, str) or not isinstance(signature, bytes):
            raise ContractError("cosigs must map member ids to signature bytes")
    return dict(cosigs)


def parse_step_body(
    body: Mapping[str, Any],
) -> tuple[str, int, Mapping[str, Any], dict[str, bytes]]:
    """Split a one-leg body ``{object, version, payload, cosigs?}``; refuse anything else."""
    unknown = sorted(set(body) - _STEP_KEYS)
    if unknown:
        raise ContractError(f"unknown body fields: {unknown}")
    object_id, version, payload = _object_version_payload(body)
    return object_id, version, payload, _cosigs(body, 1)


def parse_tx_body(body: Mapping[str, Any]) -> tuple[list[Leg], dict[str, bytes]]:
    """Split a ``.tx`` body ``{legs, cosigs?}``; refuse anything else."""
    unknown = sorted(set(body) - {"legs", "cosigs"})
    if unknown:
        raise ContractError(f"unknown body fields: {unknown}")
    legs = body.get("legs")
    if not isinstance(legs, list) or not 1 <= len(legs) <= MAX_LEGS:
        raise ContractError(f"legs must be a list of 1 to {MAX_LEGS} legs")
    parsed = [Leg.from_row(leg) for leg in legs]
    return parsed, _cosigs(body, len(parsed))


def tx_message(chain: bytes, contract: str, legs: Sequence[Leg]) -> bytes:
    """The exact bytes every co-signer of this transaction signs."""
    return encode(
        TX_DOMAIN,
        1,
        {"chain": chain, "contract": contract, "legs": [leg.to_row() for leg in legs]},
    )


def tx_digest(message: bytes) -> bytes:
    """SHA-256 of a transaction's message: what an approval names, and what a person
    compares on two screens."""
    return hashlib.sha256(message).digest()


def cosign(key: Ed25519PrivateKey, chain: bytes, contract: str, legs: Sequence[Leg]) -> bytes:
    """Sign a transaction as a co-signer (client side; the key never leaves its gateway)."""
    return key.sign(tx_message(chain, contract, legs))
