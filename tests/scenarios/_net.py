"""A ledger stand-in for scenario tests: members with real keys, real contracts.

It applies transactions the way the validator does (role check, then the contract's
handler) straight onto a :class:`ledger.MemoryState`, without an outer overlay, so a
test that a refused step changes nothing checks the scenario kit's own guarantee.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import event

from ledger import (
    MEMBERS,
    PARAMS,
    Contract,
    ContractError,
    ContractRegistry,
    Member,
    MemoryState,
    TxContext,
)
from psi import KeyPair, derive_key_pair, key_id
from scenarios.kit import FPREG, MS_PER_DAY, Leg, Machine, cosign, registry_member
from token_incentive import (
    QueryReceipt,
    QueryRequest,
    credits_contract,
    default_params,
    sign_receipt,
    sign_request,
)

CONSORTIUM = "scenario-tests"
CHAIN = hashlib.sha256(CONSORTIUM.encode()).digest()


def key_for(member_id: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(member_id.encode()).digest())


def _no_refunds(state: Any, check: Any) -> None:
    raise AssertionError("scenario tests claim no refunds")


def ms(day: str) -> int:
    """Noon UTC of ``day`` in milliseconds: well inside the calendar day."""
    return (date.fromisoformat(day) - date(1970, 1, 1)).days * MS_PER_DAY + MS_PER_DAY // 2


class Net:
    def __init__(self, members: Mapping[str, str], contracts: Iterable[Contract]) -> None:
        self.state = MemoryState()
        # The credits contract records the registry's fingerprint evaluations.
        self.registry = ContractRegistry([credits_contract(_no_refunds), FPREG, *contracts])
        self.keys = {m: key_for(m) for m in members}
        self.seq: dict[str, int] = {}
        self.height = 0
        self.now = ms("2025-01-06")
        self.state.put(
            "gov.consortium",
            "info",
            {"name": CONSORTIUM, "chain_id": CHAIN, "genesis_time": self.now},
        )
        for name, value in default_params().items():
            self.state.put(PARAMS, name, value)
        for member_id, role in members.items():
            self.add_member(member_id, role)
        if "observer" not in members.values():
            self.add_member("registry", "observer")
        # The registry role (the first observer) commits its fingerprint OPRF key.
        self.fp_registry = registry_member(self.state)
        self.oprf_key: KeyPair = derive_key_pair(bytes(32), b"scenario-tests fingerprint key")
        self.submit(self.fp_registry, "fpreg.set_key", {"public_key": self.oprf_key.public})
        self._requests = 0

    def add_member(self, member_id: str, role: str, status: str = "active") -> None:
        key = self.keys.setdefault(member_id, key_for(member_id))
        public = key.public_key().public_bytes_raw()
        row = Member(member_id, member_id.title(), role, status, public, b"\0" * 32, "", 0)
        self.state.put(MEMBERS, member_id, row.to_row())

    def at(self, day: str) -> None:
        self.now = ms(day)

    def submit(self, member: str, kind: str, body: Mapping[str, Any]) -> bytes:
        row = self.state.get(MEMBERS, member)
        assert isinstance(row, dict)
        allowed = self.registry.allowed_roles(kind)
        if allowed is not None and row["role"] not in allowed:
            raise ContractError(f"role {row['role']} may not submit {kind}")
        seq = self.seq.get(member, 0) + 1
        self.height += 1
        tx_id = hashlib.sha256(f"{member}/{seq}/{kind}".encode()).digest()
        ctx = TxContext(
            tx_id, kind, member, row["role"], seq, self.now, body, self.height, self.now
        )
        self.registry.apply(self.state, ctx)
        self.seq[member] = seq
        return tx_id

    def fp_receipt(self, member: str, items: int, family: str = "invoice") -> str:
        """Record a two-party-signed evaluation of ``items`` fingerprints for ``member``.

        The contract cannot see the OPRF itself (it only checks signatures, binding and
        freshness), so unit tests sign a request over a stand-in digest; the full OPRF
        flow is exercised in ``test_fingerprints``.
        """
        return self.receipt(member, self.fp_registry, items, "fingerprint", family)

    def receipt(self, member: str, responder: str, items: int, list_type: str, id_type: str) -> str:
        """Record ``responder``'s signed answer to ``member``'s query of ``items``
        identifiers on its ``list_type`` list (a ``credits.receipt``); its id."""
        fingerprint = list_type == "fingerprint"
        self._requests += 1
        request = QueryRequest(
            request_id=self._requests.to_bytes(16, "big"),
            querier=member,
            responder=responder,
            list_type=list_type,
            id_type=id_type,
            item_count=items,
            purpose_code="fingerprint" if fingerprint else "fraud_check",
            legal_basis="financing-registry" if fingerprint else "contract",
            consent_ref=None,
            blinded_digest=hashlib.sha256(b"blinded%d" % self._requests).digest(),
            seq=self._requests,
            time=self.now,
            normaliser_version="doc-v1",
            key_id=key_id(self.oprf_key.public).hex(),
        )
        signed = sign_request(request, self.keys[member])
        answer = QueryReceipt(signed.digest, hashlib.sha256(signed.data).digest(), self.now)
        receipt = sign_receipt(answer, self.keys[responder])
        body = {
            "request": signed.data,
            "request_sig": signed.signature,
            "receipt": receipt.data,
            "receipt_sig": receipt.signature,
        }
        self.submit(responder, "credits.receipt", body)
        return signed.receipt_id

    def fingerprints(
        self, member: str, exact: Iterable[bytes], similar: Iterable[bytes] = ()
    ) -> dict[str, Any]:
        """A ``Fingerprints`` payload value backed by a recorded evaluation of ``member``'s."""
        exact, similar = list(exact), list(similar)
        receipt = self.fp_receipt(member, len(exact) + len(similar))
        return {"exact": exact, "similar": similar, "receipt": receipt}

    def body(
        self,
        machine: Machine,
        kind: str,
        object_id: str,
        payload: Mapping[str, Any],
        cosigners: Iterable[str] = (),
        version: int | None = None,
    ) -> dict[str, Any]:
        if version is None:
            obj = machine.get(self.state, object_id)
            version = 0 if obj is None else obj.version
        body: dict[str, Any] = {"object": object_id, "version": version, "payload": dict(payload)}
        leg = Leg(machine.type, object_id, version, kind.partition(".")[2], dict(payload))
        sigs = {m: cosign(self.keys[m], CHAIN, machine.contract, [leg]) for m in cosigners}
        if sigs:
            body["cosigs"] = sigs
        return body

    def leg(
        self,
        machine: Machine,
        transition: str,
        object_id: str,
        payload: Mapping[str, Any] | None = None,
        version: int | None = None,
    ) -> Leg:
        """A leg built on the object's current version (0 for a new object)."""
        if version is None:
            obj = machine.get(self.state, object_id)
            version = 0 if obj is None else obj.version
        return Leg(machine.type, object_id, version, transition, dict(payload or {}))

    def tx(
        self,
        contract: str,
        member: str,
        legs: Iterable[Leg],
        cosigners: Iterable[str] = (),
    ) -> bytes:
        """A multi-leg transaction ``<contract>.tx``, co-signed by ``cosigners``."""
        legs = list(legs)
        body: dict[str, Any] = {"legs": [leg.to_row() for leg in legs]}
        sigs = {m: cosign(self.keys[m], CHAIN, contract, legs) for m in cosigners}
        if sigs:
            body["cosigs"] = sigs
        return self.submit(member, f"{contract}.tx", body)

    def step(
        self,
        machine: Machine,
        member: str,
        name: str,
        object_id: str,
        payload: Mapping[str, Any] | None = None,
        cosigners: Iterable[str] = (),
        version: int | None = None,
    ) -> bytes:
        kind = machine.kind(name)
        body = self.body(machine, kind, object_id, payload or {}, cosigners, version)
        return self.submit(member, kind, body)

    def attempt(
        self,
        expected: bool,
        machine: Machine,
        member: str,
        name: str,
        object_id: str,
        payload: Any,
        cosigners: Iterable[str] = (),
    ) -> bool:
        """For a property test: take a step the model ``expected`` to apply or refuse, and
        fail if the contract judged otherwise or a refusal changed anything; whether it
        applied (a hypothesis event either way)."""
        before = self.snapshot()
        try:
            self.step(machine, member, name, object_id, payload, cosigners)
        except ContractError as exc:
            assert self.state.tables() == before, f"refused {name} changed state"
            assert not expected, f"{name} by {member} on {object_id} refused: {exc.reason}"
            event(f"refused {name}")
            return False
        assert expected, f"{name} by {member} on {object_id} applied but the spec refuses it"
        event(f"applied {name}")
        return True

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self.state.tables())

    def refused(self, match: str, fn: Any, *args: Any, **kwargs: Any) -> ContractError:
        """Call ``fn``; it must raise ContractError matching ``match`` and change nothing."""
        before = self.snapshot()
        with pytest.raises(ContractError, match=match) as info:
            fn(*args, **kwargs)
        assert self.snapshot() == before
        return info.value
