"""The credits tests' consortium on a real ledger: SQLite store, embedded orderer.

:class:`StoreNet` is a :class:`tests.credits._net.Net` whose transactions are signed
and submitted to a :class:`ledger.EmbeddedOrderer` over a :class:`ledger.Store` in a
directory, under the consortium's registry (``gov``, ``pub``, ``credits`` with the
VOPRF response verifier, the scenarios), each cut into its own block at the time the
workload gives. Genesis carries the parameters and every member's and observer's key;
publications are ``pub.publish_index`` transactions, so the property workloads run
exactly as on a member's replica. What the in-memory ``Net`` writes directly it cannot:
withdrawing a publication is publishing an empty index (``size`` 0), the same for
credits, and parameters are genesis-only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pysodium

from cli._ledger import contract_registry
from gateway._consortium import launch_id_types
from ledger import (
    EMPTY_ROOT,
    ContractError,
    EmbeddedOrderer,
    Founder,
    GenesisConfig,
    Replica,
    Store,
    StoreState,
    Value,
    add_oprf_key_body,
    build_genesis_block,
    public_key_bytes,
    publish_index_body,
    sign_genesis,
    sign_transaction,
)
from token_incentive import default_params

from ._net import LIST_TYPES, T0, Net, key_of

__all__ = ["StoreNet"]


class StoreNet(Net):
    def __init__(
        self,
        data_dir: Path,
        members: Sequence[str] = ("alpha", "bravo", "charlie"),
        observers: Sequence[str] = ("obs",),
        overrides: Mapping[str, Value] | None = None,
        t0: int = T0,
    ) -> None:
        # Net's in-memory tables are not used: everything goes through the ledger.
        self.t0 = t0
        self.members = list(members)
        self.observers = list(observers)
        founders = tuple(
            Founder(
                id=name,
                name=name.title(),
                role=role,
                signing_key=public_key_bytes(key_of(name)),
                tls_fingerprint=hashlib.sha256(name.encode()).digest(),
                address="127.0.0.1:1",
            )
            for name, role in [
                *((m, "member") for m in members),
                *((o, "observer") for o in observers),
            ]
        )
        lts = {lt: {"id_types": ids, "retention_days": 730} for lt, ids in LIST_TYPES.items()}
        self.config = GenesisConfig(
            "test",
            founders,
            time=t0,
            list_types=lts,
            id_types=launch_id_types(),
            # The first member orders (consensus names the ordering service).
            params={
                **default_params(),
                "ledger.proposers": [self.members[0]],
                **(overrides or {}),
            },
        )
        raw = self.config.encode()
        sigs = {f.id: sign_genesis(raw, key_of(f.id)) for f in founders}
        self.registry = contract_registry()
        genesis = build_genesis_block(
            raw, sigs, proposer=self.members[0], key=key_of(self.members[0]), registry=self.registry
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(data_dir / "ledger.sqlite", synchronous="NORMAL")
        Replica(self.store, self.registry).apply(genesis.raw)
        self.clock = t0
        self.orderer = EmbeddedOrderer(
            self.store,
            self.registry,
            member=self.members[0],
            key=key_of(self.members[0]),
            clock=lambda: self.clock,
        )
        self.height = 1
        self.last_time = t0
        self._seq: dict[str, int] = {}
        self._tx_seq: dict[str, int] = {self.members[0]: 1}  # genesis used 1
        self._index_epoch: dict[tuple[str, str], int] = {}
        self.log: list[tuple[Any, ...]] = []
        self.responses: dict[str, tuple[list[bytes], list[bytes], bytes]] = {}

    def close(self) -> None:
        self.orderer.stop(flush=False)
        self.store.close()

    @property
    def state(self) -> StoreState:  # type: ignore[override]  # read live from the store
        return self.store.state()

    def snapshot(self) -> Any:
        return sorted(self.store.state_rows())

    def apply(self, member: str, kind: str, body: Mapping[str, Any], now: int) -> None:
        """Sign, submit and cut one block at ``now``; raise ContractError if refused."""
        assert now >= self.last_time, "block times never go backwards"
        seq = self._tx_seq.get(member, 0) + 1
        stx = sign_transaction(
            key_of(member),
            chain=self.config.chain_id,
            member=member,
            kind=kind,
            body=dict(body),
            seq=seq,
            time=now,
        )
        self.clock = now
        answer = self.orderer.submit(stx.raw)
        self.orderer.cut()  # also closes the block a refusal opened, so times stay exact
        if not answer.accepted:
            raise ContractError(answer.reason)
        record = self.store.tx(stx.tx_id)
        assert record is not None and record.ok, record
        info = self.store.block_info(record.height)
        assert info is not None and info.time == now
        self.log.append(("tx", kind, member, record.decoded().tx.body, now, stx.tx_id))
        self._tx_seq[member] = seq
        self._seq[member] = self._seq.get(member, 0) + 1
        self.height = record.height
        self.last_time = now

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
        now: int | None = None,
    ) -> None:
        when = self.last_time if now is None else now
        if not any(k[0] == member for k in self._index_epoch):
            # A valid ristretto255 element of this member's own (the pub contract checks).
            oprf = pysodium.crypto_core_ristretto255_from_hash(
                hashlib.sha512(member.encode()).digest()
            )
            self.apply(member, "pub.add_oprf_key", add_oprf_key_body(key_id, oprf), when)
        index_epoch = self._index_epoch.get((member, list_type), 0) + 1
        self._index_epoch[member, list_type] = index_epoch
        body = publish_index_body(
            list_type=list_type,
            epoch=index_epoch,
            size=size,
            # An empty index has the Merkle root of no tags (the pub contract checks).
            root=EMPTY_ROOT
            if size == 0
            else hashlib.sha256(f"{member}/{list_type}/{index_epoch}".encode()).digest(),
            snapshot_digest=b"s" * 32,
            key_id=key_id,
            expires_at=expires_at,
            evidence_root=evidence_root,
        )
        self.apply(member, "pub.publish_index", body, when)

    def unpublish(self, member: str, list_type: str, now: int | None = None) -> None:
        # The ledger has no withdrawal: an empty index is what credits sees as none.
        self.publish(member, list_type, size=0, now=now)

    def set_params(self, **values: Value) -> None:
        raise NotImplementedError("parameters are set in genesis on the store net")
