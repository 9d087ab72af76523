"""Query receipts committed per second with full validation (DESIGN §10), and the limit.

Measures, in one run on this machine:

- the **limit**: Ed25519 verifications per second through libsodium on one thread and
  on every core (the ledger's verifier), and through `cryptography` (OpenSSL) on one
  thread as a reference. A query receipt costs three verifications — the responder's
  transaction signature, the querier's signed request and the responder's signed
  receipt inside the body — so the limit is (all-core verify rate) / 3 receipts/s;
- **embedded**: receipts submitted to an `EmbeddedOrderer` in batches (signatures
  checked on every core, then each receipt validated and applied by the real credits
  contract against the pending state), cut into ≤ 1 MiB blocks and committed to SQLite
  (WAL, synchronous=FULL) — receipts per second from first submission to last commit;
- **replica**: a second store applying those blocks from scratch, verifying every
  signature and replaying every receipt, as every member's gateway does;
- **etcd** (unless `--no-etcd`): the same load through a `LogOrderer` whose log is a
  real 3-member etcd cluster on 127.0.0.1 (compare-and-put per block);
- **ledger floor**: the embedded run again with a minimal receipt-shaped contract
  (`bench.note`: the querier's signed request inside the body, checked with
  `require_member_signature`, one row written) instead of the credits contract — what
  the ledger itself costs per transaction, apart from the credits rules.

The workload is the consortium's real registry (`gov`, `pub`, `credits`, scenarios),
four members that publish their lists, and receipts between random pairs.

Usage: .venv/bin/python bench/ledger_bench.py [--quick] [--json] [--receipts N] [--no-etcd]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pysodium
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway._registry import consortium_registry
from ledger import (
    BatchVerifier,
    Contract,
    ContractRegistry,
    EmbeddedOrderer,
    Founder,
    GenesisConfig,
    LogOrderer,
    Orderer,
    Replica,
    State,
    Store,
    TxContext,
    add_oprf_key_body,
    build_genesis_block,
    clear_signature_cache,
    default_registry,
    public_key_bytes,
    publish_index_body,
    require_member_signature,
    sign_genesis,
    sign_transaction,
)
from token_incentive import (
    QueryReceipt,
    QueryRequest,
    default_params,
    sign_receipt,
    sign_request,
)

T0 = 1_750_000_000_000
MEMBERS = ("bank-a", "bank-b", "bank-c", "bank-d")
VERIFIES_PER_RECEIPT = 3


def key_of(member: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(b"bench:" + member.encode()).digest()
    )


def _note(state: State, ctx: TxContext) -> None:
    querier = ctx.body["querier"]
    require_member_signature(state, querier, ctx.body["request"], ctx.body["request_sig"])
    state.put("bench.notes", ctx.tx_id.hex(), {"querier": querier, "responder": ctx.member})


NOTE = Contract(
    "bench",
    frozenset({"bench.notes"}),
    {"bench.note": _note},
    parties=lambda kind, body: [body["querier"]],
    signed_payloads=lambda kind, body: [(body["querier"], body["request"], body["request_sig"])],
)


class Workload:
    """A genesis, the set-up transactions, and signed receipts, all made up front."""

    def __init__(self, receipts: int, seed: int = 7, *, floor: bool = False) -> None:
        rng = random.Random(seed)
        founders = tuple(
            Founder(
                m,
                m.upper(),
                "member",
                public_key_bytes(key_of(m)),
                hashlib.sha256(m.encode()).digest(),
                f"127.0.0.1:{7100 + i}",
            )
            for i, m in enumerate(MEMBERS)
        )
        params = default_params()
        params["credits.overdraft"] = 10**15  # the load must not run anyone out of credit
        config = GenesisConfig("bench", founders, T0, params=params)
        raw = config.encode()
        self.registry: ContractRegistry = (
            default_registry([NOTE]) if floor else consortium_registry()
        )
        self.chain = config.chain_id
        self.genesis = build_genesis_block(
            raw,
            {m: sign_genesis(raw, key_of(m)) for m in MEMBERS},
            proposer=MEMBERS[0],
            key=key_of(MEMBERS[0]),
            registry=self.registry,
        )
        self.seq = dict.fromkeys(MEMBERS, 1)
        self.setup = []
        for m in MEMBERS:
            self.setup.append(self._tx(m, "pub.add_oprf_key", add_oprf_key_body("k1", bytes(32))))
        for m in MEMBERS:
            body = publish_index_body(
                list_type="transaction_fraud",
                epoch=1,
                size=10**6,
                root=bytes(32),
                snapshot_digest=bytes(32),
                key_id="k1",
            )
            self.setup.append(self._tx(m, "pub.publish_index", body))
        make = self._note if floor else self._receipt
        self.receipts = [make(rng) for _ in range(receipts)]

    def _tx(self, member: str, kind: str, body: dict[str, Any]) -> bytes:
        self.seq[member] += 1
        return sign_transaction(
            key_of(member),
            chain=self.chain,
            member=member,
            kind=kind,
            body=body,
            seq=self.seq[member],
            time=T0,
        ).raw

    def _receipt(self, rng: random.Random) -> bytes:
        querier, responder = rng.sample(MEMBERS, 2)
        request = QueryRequest(
            request_id=rng.randbytes(16),
            querier=querier,
            responder=responder,
            list_type="transaction_fraud",
            id_type="phone",
            item_count=1,
            purpose_code="fraud_check",
            legal_basis="contract",
            consent_ref=None,
            blinded_digest=rng.randbytes(32),
            seq=0,
            time=T0,
            normaliser_version="v1",
        )
        signed = sign_request(request, key_of(querier))
        receipt = sign_receipt(
            QueryReceipt(signed.digest, rng.randbytes(32), T0), key_of(responder)
        )
        body = {
            "request": signed.data,
            "request_sig": signed.signature,
            "receipt": receipt.data,
            "receipt_sig": receipt.signature,
        }
        return self._tx(responder, "credits.receipt", body)

    def _note(self, rng: random.Random) -> bytes:
        querier, responder = rng.sample(MEMBERS, 2)
        request = rng.randbytes(300)
        body = {
            "querier": querier,
            "request": request,
            "request_sig": key_of(querier).sign(request),
        }
        return self._tx(responder, "bench.note", body)


def verify_rates(n: int) -> dict[str, float]:
    """Ed25519 verifications per second: libsodium 1 thread / all cores, OpenSSL 1 thread."""
    key = key_of("verify")
    pk = public_key_bytes(key)
    messages = [os.urandom(400) for _ in range(n)]
    items = [(pk, m, key.sign(m)) for m in messages]
    t = time.perf_counter()
    for public, message, signature in items:
        pysodium.crypto_sign_verify_detached(signature, message, public)
    sodium_one = n / (time.perf_counter() - t)
    public_key = key.public_key()
    t = time.perf_counter()
    for _, message, signature in items:
        public_key.verify(signature, message)
    openssl_one = n / (time.perf_counter() - t)
    clear_signature_cache()
    verifier = BatchVerifier()
    verifier.verify_many(items[:64])  # start the threads outside the timing
    clear_signature_cache()
    t = time.perf_counter()
    assert all(verifier.verify_many(items))
    sodium_all = n / (time.perf_counter() - t)
    verifier.close()
    clear_signature_cache()
    return {
        "libsodium_1_thread": sodium_one,
        "libsodium_all_cores": sodium_all,
        "openssl_1_thread": openssl_one,
        "cores": float(os.cpu_count() or 1),
    }


def _prepare(store: Store, work: Workload, orderer: Orderer) -> None:
    answers = orderer.submit_many(work.setup)
    assert all(a.accepted for a in answers), [a.reason for a in answers if not a.accepted]
    orderer.flush()


def _drive(orderer: Orderer, receipts: list[bytes], batch: int) -> tuple[float, float]:
    """Submit every receipt and commit them: receipts per second, CPU µs per receipt."""
    clear_signature_cache()
    cpu = time.process_time()
    start = time.perf_counter()
    for i in range(0, len(receipts), batch):
        answers = orderer.submit_many(receipts[i : i + batch])
        refused = [a.reason for a in answers if not a.accepted]
        if refused:
            raise SystemExit(f"receipts refused: {refused[:3]}")
    orderer.flush()
    wall = time.perf_counter() - start
    return len(receipts) / wall, (time.process_time() - cpu) / len(receipts) * 1e6


def bench_embedded(work: Workload, base: Path, batch: int) -> tuple[float, float, Path]:
    base.mkdir(parents=True, exist_ok=True)
    path = base / "embedded.sqlite"
    store = Store(path)
    Replica(store, work.registry).apply(work.genesis.raw)
    orderer = EmbeddedOrderer(
        store, work.registry, member=MEMBERS[0], key=key_of(MEMBERS[0]), clock=lambda: T0
    )
    _prepare(store, work, orderer)
    rate, cpu = _drive(orderer, work.receipts, batch)
    committed = store.txs(ok=True, from_height=2)
    assert len(committed) == len(work.receipts), "every receipt is committed and valid"
    store.close()
    return rate, cpu, path


def bench_replica(work: Workload, source: Path, base: Path) -> tuple[float, float]:
    src = Store(source, create=False)
    blocks = list(src.blocks_from(0))
    head = src.head()
    src.close()
    store = Store(base / "replica.sqlite")
    replica = Replica(store, work.registry)
    replica.apply(blocks[0])
    clear_signature_cache()
    cpu = time.process_time()
    start = time.perf_counter()
    replica.sync(blocks[1:])
    rate = len(work.receipts) / (time.perf_counter() - start)
    cpu_us = (time.process_time() - cpu) / len(work.receipts) * 1e6
    assert store.head() == head, "the replica reaches the orderer's head"
    store.close()
    return rate, cpu_us


def bench_etcd(work: Workload, base: Path, batch: int) -> float:
    from ledger._etcd import EtcdLog
    from ledger._etcd_local import LocalEtcdCluster

    with (
        LocalEtcdCluster(base / "etcd", size=3) as cluster,
        EtcdLog(cluster.endpoints, "ledger-bench") as log,
    ):
        log.append(0, work.genesis.raw)
        store = Store(base / "etcd.sqlite")
        orderer = LogOrderer(
            store, work.registry, log, member=MEMBERS[0], key=key_of(MEMBERS[0]), clock=lambda: T0
        )
        _prepare(store, work, orderer)
        rate, _ = _drive(orderer, work.receipts, batch)
        assert log.last_height() == store.height
        store.close()
        return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, under 60 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--receipts", type=int, help="receipts per run")
    parser.add_argument("--no-etcd", action="store_true", help="skip the etcd-ordered run")
    args = parser.parse_args()
    receipts = args.receipts or (5_000 if args.quick else 30_000)
    batch = 1_000
    t = time.perf_counter()
    work = Workload(receipts)
    floor_work = Workload(receipts, floor=True)
    prepare_s = time.perf_counter() - t
    rates = verify_rates(4_000 if args.quick else 20_000)
    limit = rates["libsodium_all_cores"] / VERIFIES_PER_RECEIPT
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        base = Path(tmp)
        embedded, embedded_cpu, path = bench_embedded(work, base, batch)
        replica, replica_cpu = bench_replica(work, path, base)
        etcd = None if args.no_etcd else bench_etcd(work, base, batch)
        floor, floor_cpu, _ = bench_embedded(floor_work, base / "floor", batch)
    result: dict[str, Any] = {
        "receipts": receipts,
        "verify_per_s": {k: round(v) for k, v in rates.items()},
        "verifies_per_receipt": VERIFIES_PER_RECEIPT,
        "limit_receipts_per_s": round(limit),
        "embedded_receipts_per_s": round(embedded),
        "embedded_vs_limit": round(embedded / limit, 3),
        "replica_receipts_per_s": round(replica),
        "replica_vs_limit": round(replica / limit, 3),
        "etcd_receipts_per_s": None if etcd is None else round(etcd),
        "etcd_vs_limit": None if etcd is None else round(etcd / limit, 3),
        "ledger_floor_txs_per_s": round(floor),
        "ledger_floor_vs_limit_2_verifies": round(floor / (rates["libsodium_all_cores"] / 2), 3),
        "cpu_us_per_receipt": {
            "embedded": round(embedded_cpu),
            "replica": round(replica_cpu),
            "ledger_floor": round(floor_cpu),
            "of_which_3_verifies": round(3 * 1e6 / rates["libsodium_1_thread"]),
        },
        "libsodium_vs_openssl_1_thread": round(
            rates["libsodium_1_thread"] / rates["openssl_1_thread"], 2
        ),
        "workload_prepare_s": round(prepare_s, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
