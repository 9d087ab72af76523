"""A small real consortium for the fuzz targets that need ledger state.

Built with the same functions operators and the demo use: a CA and enrolled members
(``create_local_consortium``), a genesis every founder signed, lists imported through
the adapters into each member's index, and an embedded orderer (no thread; blocks are
cut with ``flush``) on a SQLite replica. On it: both lists published
(``pub.add_oprf_key``, ``pub.publish_index``), one real query answered by bank-a's index
and recorded as a ``credits.receipt`` by bank-a, the hit reported and then disputed by bank-b, and
a governance proposal by bank-a — so contract rules that look at receipts, lists,
balances, disputes and proposals have something to look at.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway import load_member_credentials
from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._registry import consortium_registry
from ledger import (
    ContractRegistry,
    EmbeddedOrderer,
    Replica,
    Store,
    add_oprf_key_body,
    propose_body,
    publish_index_body,
    sign_transaction,
)
from psi import IndexStore
from tests._rpc import phone_request
from token_incentive import (
    QueryReceipt,
    SignedRequest,
    dispute_body,
    response_digest,
    sign_receipt,
)

__all__ = ["LIST", "World", "build_world", "shared_world"]

LIST = "transaction_fraud"
MEMBERS = ("bank-a", "bank-b", "regulator")
ROWS = {
    "bank-a": [(LIST, "phone", "13800138000", 1), (LIST, "phone", "13900139000", 2)],
    "bank-b": [(LIST, "phone", "13700137000", 3)],
}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class World:
    net: LocalConsortium
    store: Store
    registry: ContractRegistry
    orderer: EmbeddedOrderer
    keys: dict[str, Ed25519PrivateKey]
    genesis: bytes
    blocks: list[bytes] = field(default_factory=list)
    txs: list[bytes] = field(default_factory=list)
    signed_request: SignedRequest | None = None
    receipt_body: dict[str, Any] = field(default_factory=dict)
    _seq: dict[str, int] = field(default_factory=dict)

    @property
    def chain(self) -> bytes:
        chain = self.store.chain_id
        assert chain is not None
        return chain

    def sign(self, member: str, kind: str, body: dict[str, Any], **over: Any) -> bytes:
        """``member``'s transaction with the next sequence number and the current time."""
        self._seq[member] = self._seq.get(member, time.time_ns() // 1000) + 1
        fields: dict[str, Any] = {
            "chain": self.chain,
            "member": member,
            "kind": kind,
            "body": body,
            "seq": self._seq[member],
            "time": _now_ms(),
        }
        fields.update(over)
        return sign_transaction(self.keys[member], **fields).raw

    def commit(self, member: str, kind: str, body: dict[str, Any]) -> bytes:
        raw = self.sign(member, kind, body)
        submission = self.orderer.submit(raw)
        assert submission.accepted, submission.reason
        self.orderer.flush()
        record = self.store.tx(submission.tx_id)
        assert record is not None and record.ok, record
        self.txs.append(raw)
        block = self.store.block(self.store.height)
        assert block is not None
        self.blocks.append(block)
        return raw

    def index(self, member: str) -> IndexStore:
        return IndexStore(self.net.members[member].data_dir / "index.sqlite", pool=None)


def _publish(world: World, member: str) -> None:
    index = world.index(member)
    try:
        commitment = index.commitment(LIST)
        key_id = commitment.key_id.hex()
        world.commit(member, "pub.add_oprf_key", add_oprf_key_body(key_id, index.public_key(LIST)))
        world.commit(
            member,
            "pub.publish_index",
            publish_index_body(
                list_type=LIST,
                epoch=commitment.epoch,
                size=commitment.size,
                root=commitment.tags_root,
                snapshot_digest=commitment.snapshot_digest,
                key_id=key_id,
            ),
        )
    finally:
        index.close()


def query_request(world: World, querier: str, responder: str, values: list[str]) -> Any:
    """A real signed request and its pending query (blinded elements included)."""
    return phone_request(querier, responder, values, world.keys[querier])


def build_world(root: Path) -> World:
    net = create_local_consortium(root / "net", list(MEMBERS), roles={"regulator": "observer"})
    for member, rows in ROWS.items():
        load_list(net.members[member], rows)
    keys = {
        m: load_member_credentials(net.member(m).member_dir).signing_key
        for m in ("orderer", *MEMBERS)
    }
    registry = consortium_registry()
    store = Store(root / "ledger.sqlite")
    genesis = net.genesis.read_bytes()
    Replica(store, registry).apply(genesis)
    orderer = EmbeddedOrderer(store, registry, member="orderer", key=keys["orderer"])
    world = World(net, store, registry, orderer, keys, genesis, blocks=[genesis])
    for member in ROWS:
        _publish(world, member)
    # One real query: bank-b asks bank-a, bank-a's index answers, bank-a records it.
    signed, pending = query_request(world, "bank-b", "bank-a", ["13800138000"])
    index = world.index("bank-a")
    try:
        evaluated, proof = index.evaluate(LIST, list(pending.blinded), os.urandom)
    finally:
        index.close()
    receipt = sign_receipt(
        QueryReceipt(signed.digest, response_digest(evaluated, proof), _now_ms()),
        keys["bank-a"],
    )
    world.signed_request = signed
    world.receipt_body = {
        "request": signed.data,
        "request_sig": signed.signature,
        "receipt": receipt.data,
        "receipt_sig": receipt.signature,
    }
    world.commit("bank-a", "credits.receipt", world.receipt_body)
    world.commit("bank-b", "credits.hits", {"items": [[signed.receipt_id]]})
    world.commit("bank-b", "credits.feedback", dispute_body(signed.receipt_id, [0]))
    world.commit("bank-a", "gov.propose", propose_body("remove", {"id": "regulator"}))
    return world


_SHARED: World | None = None


def shared_world(scratch: Path) -> World:
    """One world per fuzzing process: building it (a consortium, its lists) costs seconds,
    and the targets only read it."""
    global _SHARED
    if _SHARED is None:
        _SHARED = build_world(scratch / "world")
    return _SHARED
