"""A small consortium for ledger tests: deterministic keys, genesis, transaction signing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pysodium
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway._consortium import launch_id_types, launch_list_types
from ledger import (
    Block,
    Contract,
    ContractRegistry,
    Founder,
    GenesisConfig,
    LogOrderer,
    OrderingLog,
    Replica,
    SignedTransaction,
    Store,
    build_genesis_block,
    default_registry,
    public_key_bytes,
    sign_genesis,
    sign_transaction,
)

T0 = 1_700_000_000_000


def point(*seed: object) -> bytes:
    """A valid ristretto255 element (an OPRF public key the ``pub`` contract accepts),
    distinct for each ``seed``: a member may not register another's key."""
    return bytes(
        pysodium.crypto_core_ristretto255_from_hash(hashlib.sha512(repr(seed).encode()).digest())
    )


def key_for(member: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(member.encode()).digest())


def founder(member: str, role: str = "member") -> Founder:
    return Founder(
        id=member,
        name=f"Bank {member}",
        role=role,
        signing_key=public_key_bytes(key_for(member)),
        tls_fingerprint=hashlib.sha256(b"tls:" + member.encode()).digest(),
        address=f"127.0.0.1:{7000 + sum(member.encode())}",
    )


@dataclass
class Net:
    """Founders ``members`` (role from ``roles``, default member) and their next seq."""

    config: GenesisConfig
    genesis: Block
    registry: ContractRegistry
    seqs: dict[str, int] = field(default_factory=dict)

    @property
    def chain(self) -> bytes:
        return self.config.chain_id

    def tx(
        self,
        member: str,
        kind: str,
        body: Mapping[str, Any],
        *,
        seq: int | None = None,
        time: int = T0,
        key: Ed25519PrivateKey | None = None,
    ) -> SignedTransaction:
        if seq is None:
            seq = self.seqs.get(member, 1) + 1
            self.seqs[member] = seq
        return sign_transaction(
            key or key_for(member),
            chain=self.chain,
            member=member,
            kind=kind,
            body=body,
            seq=seq,
            time=time,
        )

    def store(self, path: Path) -> Store:
        """A store at ``path`` holding this net's genesis block."""
        store = Store(path)
        if store.height < 0:
            Replica(store, self.registry).apply(self.genesis.raw)
        return store


def make_net(
    members: Iterable[str] = ("m1", "m2", "m3"),
    *,
    roles: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    extra: Iterable[Contract] = (),
    proposers: Iterable[str] | None = None,
) -> Net:
    """A consortium of ``members``. Blocks are proposed by ``proposers`` (named in
    genesis as ``ledger.proposers``); by default by any founder of role member or
    orderer, so that a test may order with any of them (``None`` in ``params`` for
    ``ledger.proposers`` leaves the consortium's own default: its role ``orderer``)."""
    roles = roles or {}
    founders = tuple(founder(m, roles.get(m, "member")) for m in members)
    named = (
        [f.id for f in founders if f.role in ("member", "orderer")]
        if proposers is None
        else list(proposers)
    )
    chosen = {"ledger.proposers": named, **dict(params or {})}
    if chosen["ledger.proposers"] is None:
        del chosen["ledger.proposers"]
    config = GenesisConfig(
        consortium="test consortium",
        founders=founders,
        time=T0,
        list_types=launch_list_types(),
        id_types=launch_id_types(),
        params=chosen,
    )
    raw = config.encode()
    signatures = {f.id: sign_genesis(raw, key_for(f.id)) for f in founders}
    registry = default_registry(extra)
    genesis = build_genesis_block(
        raw, signatures, proposer=founders[0].id, key=key_for(founders[0].id), registry=registry
    )
    return Net(config, genesis, registry)


def populate(net: Net, store: Store) -> dict[str, bytes]:
    """Several blocks of every ledger kind, one refused transaction, and checkpoints.

    Returns some transaction ids by name. Uses the embedded orderer (m1 proposes).
    """
    from ledger import (
        EmbeddedOrderer,
        add_oprf_key_body,
        approve_body,
        propose_body,
        publish_index_body,
    )

    o = EmbeddedOrderer(store, net.registry, member="m1", key=key_for("m1"), clock=lambda: T0)
    ids: dict[str, bytes] = {}

    def send(name: str, stx: SignedTransaction) -> None:
        answer = o.submit(stx.raw)
        assert answer.accepted, answer.reason
        ids[name] = stx.tx_id

    for m in ("m1", "m2", "m3"):
        send(
            f"key-{m}",
            net.tx(m, "pub.add_oprf_key", {"key_id": "k1", "public_key": point(m, "k1")}),
        )
    o.cut()
    send(
        "index-m2",
        net.tx(
            "m2",
            "pub.publish_index",
            publish_index_body(
                list_type="transaction_fraud",
                epoch=1,
                size=1000,
                root=b"\x11" * 32,
                snapshot_digest=b"\x22" * 32,
                key_id="k1",
                evidence_root=b"\x33" * 32,
            ),
        ),
    )
    admit = founder("m4").to_row()
    send("propose", net.tx("m1", "gov.propose", propose_body("admit", admit)))
    o.cut()
    pid = ids["propose"].hex()
    send("approve-m2", net.tx("m2", "gov.approve", approve_body(pid)))
    send("approve-m3", net.tx("m3", "gov.approve", approve_body(pid)))
    o.cut()
    send("key-m4", net.tx("m4", "pub.add_oprf_key", add_oprf_key_body("k1", point("m4", "k1"))))
    o.cut()
    replica = Replica(store, net.registry)
    for m in ("m1", "m2", "m3"):
        for height in range(store.height + 1):
            replica.checkpoint(m, key_for(m), height)
    return ids


def log_orderer(
    path: Path,
    net: Net,
    log: OrderingLog,
    member: str,
    clock: Callable[[], int] = lambda: T0,
    **options: Any,
) -> LogOrderer:
    """``member``'s orderer over ``log``, on a fresh store at ``path``."""
    return LogOrderer(
        Store(path), net.registry, log, member=member, key=key_for(member), clock=clock, **options
    )
