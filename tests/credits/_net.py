"""A consortium in memory for the credits tests: real keys, real contract, real state.

Transactions go through :class:`ledger.ContractRegistry` on an :class:`ledger.Overlay`
over a :class:`ledger.MemoryState`, with the role check the validator applies and the
body round-tripped through the canonical codec, so handlers see exactly what they would
see on a replica. The governance and publication tables are written directly, as the
``gov`` and ``pub`` contracts would leave them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import (
    ContractError,
    ContractRegistry,
    Member,
    MemoryState,
    Overlay,
    TxContext,
    Value,
    decode,
    encode,
)
from token_incentive import (
    QueryReceipt,
    QueryRequest,
    ResponseCheck,
    ResponseVerifier,
    SignedRequest,
    blinded_digest,
    compute_settlement,
    credits_contract,
    default_params,
    params_from_state,
    receipt_body,
    response_digest,
    sign_receipt,
    sign_request,
)
from token_incentive._book import epoch_bounds, get_account, last_settled, schedule, totals

T0 = 1_750_000_000_000
DAY = 86_400_000

LIST_TYPES: dict[str, list[str]] = {
    "transaction_fraud": ["cn_id", "phone", "bank_card", "account", "device"],
    "high_risk_account": ["account", "bank_card"],
    "marketing_abuse": ["phone", "device", "cn_id"],
}
FIRST_ID = {lt: ids[0] for lt, ids in LIST_TYPES.items()}


def key_of(member: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(member.encode()).digest())


def never_called(state: Any, check: ResponseCheck) -> None:
    raise AssertionError("no refund claim in this test reaches proof verification")


class Net:
    def __init__(
        self,
        members: Sequence[str] = ("alpha", "bravo", "charlie"),
        observers: Sequence[str] = ("obs",),
        overrides: Mapping[str, Value] | None = None,
        verifier: ResponseVerifier = never_called,
        t0: int = T0,
    ) -> None:
        self.state = MemoryState()
        self.t0 = t0
        self.members = list(members)
        self.observers = list(observers)
        for name, role in [
            *((m, "member") for m in members),
            *((o, "observer") for o in observers),
        ]:
            row = Member(
                id=name,
                name=name.title(),
                role=role,
                status="active",
                signing_key=key_of(name).public_key().public_bytes_raw(),
                tls_fingerprint=hashlib.sha256(name.encode()).digest(),
                address="127.0.0.1:0",
                since=0,
            ).to_row()
            self.state.put("gov.members", name, row)
        for name, value in {**default_params(), **(overrides or {})}.items():
            self.state.put("gov.params", name, value)
        for lt, ids in LIST_TYPES.items():
            self.state.put("gov.list_types", lt, {"id_types": ids, "retention_days": 730})
        self.state.put(
            "gov.consortium",
            "info",
            {"name": "test", "normaliser_version": "v1", "genesis_time": t0, "chain_id": b"c" * 32},
        )
        self.registry = ContractRegistry([credits_contract(verifier)])
        self.registry.check_params(dict(self.state.scan("gov.params")))
        self.height = 1
        self.last_time = t0
        self._seq: dict[str, int] = {}
        # What was applied, in order, for an independent oracle (tests.credits._oracle):
        # ("tx", kind, member, body, block time, tx id) and ("publish", member, list
        # type, size, expires_at), ("unpublish", member, list type), ("params",).
        self.log: list[tuple[Any, ...]] = []
        self.responses: dict[str, tuple[list[bytes], list[bytes], bytes]] = {}

    # -- governance and publication tables, as gov and pub would leave them ----------

    def publish(
        self,
        member: str,
        list_type: str,
        *,
        size: int = 100,
        expires_at: int | None = None,
        epoch: int = 1,
        evidence_root: bytes | None = None,
        key_id: str = "key-1",
        now: int | None = None,  # when it lands; tables written directly ignore it
    ) -> None:
        self.log.append(("publish", member, list_type, size, expires_at))
        self.state.put(
            "pub.index",
            f"{member}/{list_type}",
            {
                "epoch": epoch,
                "size": size,
                "root": hashlib.sha256(f"{member}/{list_type}/{epoch}".encode()).digest(),
                "snapshot_digest": b"s" * 32,
                "key_id": key_id,
                "expires_at": expires_at,
                "evidence_root": evidence_root,
                "published_at": self.t0,
            },
        )

    def unpublish(self, member: str, list_type: str, now: int | None = None) -> None:
        self.log.append(("unpublish", member, list_type))
        self.state.delete("pub.index", f"{member}/{list_type}")

    def set_params(self, **values: Value) -> None:
        self.log.append(("params",))
        for name, value in values.items():
            self.state.put("gov.params", f"credits.{name}", value)
        self.registry.check_params(dict(self.state.scan("gov.params")))

    # -- transactions --------------------------------------------------------------

    def close(self) -> None:
        """Nothing to release in memory (a store-backed net closes its store)."""

    def snapshot(self) -> Any:
        """Every table's rows: what a refused transaction must leave as it was."""
        return self.state.tables()

    def role(self, member: str) -> str:
        row: Any = self.state.get("gov.members", member)
        return str(row["role"])

    def apply(self, member: str, kind: str, body: Mapping[str, Any], now: int) -> None:
        """Apply one transaction; raise ContractError (and change nothing) if refused."""
        assert now >= self.last_time, "block times never go backwards"
        allowed = self.registry.allowed_roles(kind)
        if allowed is not None and self.role(member) not in allowed:
            raise ContractError(f"role {self.role(member)!r} may not submit {kind}")
        seq = self._seq.get(member, 0) + 1
        wire = decode("test-body", 1, encode("test-body", 1, dict(body)))
        ctx = TxContext(
            tx_id=hashlib.sha256(f"{member}/{seq}/{kind}".encode()).digest(),
            kind=kind,
            member=member,
            role=self.role(member),
            seq=seq,
            time=now,
            body=wire,
            height=self.height,
            block_time=now,
        )
        overlay = Overlay(self.state)
        self.registry.apply(overlay, ctx)
        overlay.commit()
        self.log.append(("tx", kind, member, wire, now, ctx.tx_id))
        self._seq[member] = seq
        self.height += 1
        self.last_time = now

    def refused(self, member: str, kind: str, body: Mapping[str, Any], now: int) -> str:
        """Apply a transaction that must be refused; assert it changed nothing."""
        before = self.snapshot()
        try:
            self.apply(member, kind, body, now)
        except ContractError as exc:
            assert self.snapshot() == before
            return exc.reason
        raise AssertionError(f"{kind} by {member} was accepted")

    # -- queries -------------------------------------------------------------------

    def request(
        self,
        querier: str,
        responder: str,
        list_type: str,
        items: int,
        now: int,
        *,
        purpose: str = "fraud_screening",
        request_id: bytes | None = None,
        blinded: list[bytes] | None = None,
        key_id: str | None = None,
    ) -> SignedRequest:
        blinded = blinded if blinded is not None else [os.urandom(32) for _ in range(items)]
        request = QueryRequest(
            request_id=request_id or os.urandom(16),
            querier=querier,
            responder=responder,
            list_type=list_type,
            id_type=FIRST_ID.get(list_type, "invoice"),
            item_count=items,
            purpose_code=purpose,
            legal_basis="contract",
            consent_ref=None,
            blinded_digest=blinded_digest(blinded),
            seq=self._seq.get(querier, 0),
            time=now,
            normaliser_version="v1",
            key_id=key_id,
        )
        signed = sign_request(request, key_of(querier))
        self._blinded = blinded
        return signed

    def receipt_body(
        self,
        signed: SignedRequest,
        now: int,
        *,
        signer: str | None = None,
        evaluated: list[bytes] | None = None,
        proof: bytes = b"p" * 64,
        version: int = 2,
    ) -> dict[str, Any]:
        """A ``credits.receipt`` body: version 2 (the transaction's signature is the
        responder's), or version 1 with the receipt signed by ``signer`` on its own."""
        evaluated = evaluated if evaluated is not None else [os.urandom(32) for _ in self._blinded]
        receipt = QueryReceipt(signed.digest, response_digest(evaluated, proof), now)
        self.responses[signed.receipt_id] = (list(self._blinded), evaluated, proof)
        if version == 2 and signer is None:
            return receipt_body(signed, receipt)
        sreceipt = sign_receipt(receipt, key_of(signer or signed.request.responder))
        return {
            "request": signed.data,
            "request_sig": signed.signature,
            "receipt": sreceipt.data,
            "receipt_sig": sreceipt.signature,
        }

    def query(
        self, querier: str, responder: str, list_type: str, items: int, now: int, **kw: Any
    ) -> str:
        signed = self.request(querier, responder, list_type, items, now, **kw)
        self.apply(responder, "credits.receipt", self.receipt_body(signed, now), now)
        return signed.receipt_id

    # -- epochs and settlement -------------------------------------------------------

    def epoch_end(self, epoch: int) -> int:
        p = params_from_state(self.state)
        return epoch_bounds(schedule(self.state, self.t0, p.epoch_ms), epoch)[1]

    def settle_time(self, epoch: int) -> int:
        return self.epoch_end(epoch) + params_from_state(self.state).feedback_window_ms

    def settle(self, now: int | None = None, proposer: str | None = None) -> dict[str, Any]:
        epoch = last_settled(self.state) + 1
        body = compute_settlement(self.state, epoch)
        self.apply(
            proposer or self.members[0],
            "credits.settle",
            body,
            self.settle_time(epoch) if now is None else now,
        )
        return body

    # -- reading -------------------------------------------------------------------

    def balance(self, member: str) -> int:
        return get_account(self.state, member).balance

    def receipt(self, rid: str) -> dict[str, Any]:
        row: Any = self.state.get("credits.receipts", rid)
        return dict(row)

    def dispute(self, rid: str) -> dict[str, Any]:
        row: Any = self.state.get("credits.disputes", rid)
        return dict(row)

    def rows(self, table: str, prefix: str = "") -> list[tuple[str, Any]]:
        """A table's rows, typed loosely for the tests' convenience."""
        return list(self.state.scan(table, prefix))

    def accounts(self) -> dict[str, Any]:
        return dict(self.state.scan("credits.accounts"))

    def conservation_gap(self) -> int:
        """Σ balances − (minted − burned − penalties); zero when credit is conserved."""
        t = totals(self.state)
        minted = t["grants"] + t["served"] + t["hits"]
        burned = t["charges"] - t["refunds"] + t["decay"] + t["cap"]
        total = sum(int(row["balance"]) for row in self.accounts().values())
        return total - (minted - burned - t["penalties"])
