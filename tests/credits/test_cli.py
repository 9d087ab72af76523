"""Credits on a real ledger: the SQLite store, the embedded orderer, the consortium's
registry, a second replica, and the ``credits`` / ``feedback`` / ``dispute`` commands."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from cli import app
from cli._ledger import contract_registry
from gateway._consortium import launch_id_types, launch_list_types
from ledger import (
    EmbeddedOrderer,
    Founder,
    GenesisConfig,
    Replica,
    Store,
    add_oprf_key_body,
    build_genesis_block,
    decode_transaction,
    public_key_bytes,
    publish_index_body,
    sign_genesis,
    sign_transaction,
)
from psi import evaluate_batch, generate_key_pair
from psi.hazmat import blind_batch
from token_incentive import (
    QueryReceipt,
    QueryRequest,
    blinded_digest,
    default_params,
    hits_body,
    receipt_body,
    response_digest,
    settlement_proposal,
    sign_receipt,
    sign_request,
)

from ._net import DAY, key_of

LT = "transaction_fraud"


class Chain:
    """A consortium of alpha, bravo, charlie (members) and reg (observer) on a real store."""

    def __init__(self, data_dir: Path) -> None:
        names = [
            ("alpha", "member"),
            ("bravo", "member"),
            ("charlie", "member"),
            ("reg", "observer"),
        ]
        founders = tuple(
            Founder(
                id=m,
                name=m.title(),
                role=role,
                signing_key=public_key_bytes(key_of(m)),
                tls_fingerprint=bytes(32),
                address="127.0.0.1:1",
            )
            for m, role in names
        )
        # Wall-clock time: the CLI signs with the real clock, within the ledger's skew.
        self.t0 = time.time_ns() // 1_000_000
        # alpha orders (consensus names the ordering service).
        params = {**default_params(), "ledger.proposers": ["alpha"]}
        self.config = GenesisConfig(
            "test",
            founders,
            time=self.t0,
            list_types=launch_list_types(),
            id_types=launch_id_types(),
            params=params,
        )
        raw = self.config.encode()
        sigs = {f.id: sign_genesis(raw, key_of(f.id)) for f in founders}
        self.registry = contract_registry()
        genesis = build_genesis_block(
            raw, sigs, proposer="alpha", key=key_of("alpha"), registry=self.registry
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(data_dir / "ledger.sqlite")
        Replica(self.store, self.registry).apply(genesis.raw)
        self.genesis = genesis
        self.now = self.t0 + 1000
        self.orderer = EmbeddedOrderer(
            self.store, self.registry, member="alpha", key=key_of("alpha"), clock=lambda: self.now
        )
        self.seq: dict[str, int] = {}
        self.keys = {m: generate_key_pair(os.urandom) for m in ("alpha", "bravo", "charlie")}

    def send(self, member: str, kind: str, body: Any) -> bytes:
        self.seq[member] = self.seq.get(member, 1) + 1  # genesis used 1
        stx = sign_transaction(
            key_of(member),
            chain=self.config.chain_id,
            member=member,
            kind=kind,
            body=body,
            seq=self.seq[member],
            time=self.now,
        )
        self.submit(stx.raw)
        return stx.tx_id

    def submit(self, raw: bytes) -> None:
        answer = self.orderer.submit(raw)
        assert answer.accepted, answer.reason
        self.orderer.cut()

    def publish(self, member: str) -> None:
        kid = "k1"
        self.send(member, "pub.add_oprf_key", add_oprf_key_body(kid, self.keys[member].public))
        body = publish_index_body(
            list_type=LT,
            epoch=1,
            size=1000,
            root=os.urandom(32),
            snapshot_digest=os.urandom(32),
            key_id=kid,
            evidence_root=os.urandom(32),
        )
        self.send(member, "pub.publish_index", body)

    def query(self, querier: str, responder: str, items: int) -> str:
        _, blinded = blind_batch([os.urandom(8) for _ in range(items)], os.urandom, pool=None)
        evaluated, proof = evaluate_batch(self.keys[responder], blinded, os.urandom, pool=None)
        request = QueryRequest(
            request_id=os.urandom(16),
            querier=querier,
            responder=responder,
            list_type=LT,
            id_type="phone",
            item_count=items,
            purpose_code="fraud_screening",
            legal_basis="contract",
            consent_ref="c-1",
            blinded_digest=blinded_digest(blinded),
            seq=1,
            time=self.now,
            normaliser_version="v1",
        )
        signed = sign_request(request, key_of(querier))
        receipt = QueryReceipt(signed.digest, response_digest(evaluated, proof), self.now)
        body = receipt_body(signed, sign_receipt(receipt, key_of(responder)))
        self.send(responder, "credits.receipt", body)
        return signed.receipt_id


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain(tmp_path / "node1")
    yield c
    c.orderer.close() if hasattr(c.orderer, "close") else None
    c.store.close()


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _workload(c: Chain) -> dict[str, str]:
    for m in ("alpha", "bravo", "charlie"):
        c.publish(m)
    ab = c.query("alpha", "bravo", 3)
    ac = c.query("alpha", "charlie", 3)
    cb = c.query("charlie", "bravo", 2)
    c.send("alpha", "credits.hits", hits_body([[ab, ac], [ab]]))
    c.send("charlie", "credits.hits", hits_body([[cb]]))
    return {"ab": ab, "ac": ac, "cb": cb}


def test_statements_match_the_ledger_on_every_replica(chain: Chain, tmp_path: Path) -> None:
    _workload(chain)
    chain.now = chain.t0 + 3 * DAY
    body = settlement_proposal(chain.store.state(), chain.now)
    assert body is not None and body["epoch"] == 0
    chain.send("bravo", "credits.settle", body)
    assert settlement_proposal(chain.store.state(), chain.now) is None
    # A second replica, built block by block from the first, agrees on every balance.
    other = Store(tmp_path / "node2" / "ledger.sqlite")
    replica = Replica(other, chain.registry)
    for height in range(chain.store.height + 1):
        replica.apply(chain.store.block(height))  # type: ignore[arg-type]
    assert other.head() == chain.store.head()
    rows = sorted(chain.store.state_rows())
    assert rows == sorted(other.state_rows())
    other.close()
    node1 = str(tmp_path / "node1")
    out = _run("credits", "statement", "alpha", "--verify", "--data-dir", node1)
    assert "chain verified by replay" in out
    assert "opening balance" in out and "closing balance" in out
    # alpha paid 6 items at 1 credit and got one 1,000-credit grant.
    assert re.search(r"closing balance\s+994\.000", out), out
    out = _run("credits", "balance", "--data-dir", node1)
    assert "supply" in out and "bravo" in out
    out = _run("credits", "history", "bravo", "--data-dir", node1, "--json")
    assert '"kind": "settle"' in out
    out = _run("credits", "ranking", "--data-dir", node1)
    assert out.splitlines()[1].split()[1] == "bravo"  # 3 true hits ranks first
    out = _run("credits", "params", "--data-dir", node1)
    assert "α" in out and "per mille" in out


def test_feedback_and_dispute_commands_sign_what_the_ledger_accepts(
    chain: Chain, tmp_path: Path
) -> None:
    ids = _workload(chain)
    node1 = str(tmp_path / "node1")
    pem = tmp_path / "alpha.pem"
    pem.write_bytes(
        key_of("alpha").private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pem.chmod(0o600)
    out = tmp_path / "d.tx"
    common = ["--key", str(pem), "--member", "alpha", "--data-dir", node1]
    printed = _run("feedback", "dispute", ids["ab"][:12], "--hit", "1", "--out", str(out), *common)
    assert "dispute of" in printed
    stx = decode_transaction(out.read_bytes())
    assert stx.tx.kind == "credits.feedback" and stx.tx.body["hits"] == [1]
    chain.submit(out.read_bytes())
    listed = _run("dispute", "list", "--status", "filed", "--data-dir", node1)
    assert ids["ab"][:16] in listed
    shown = _run("dispute", "show", ids["ab"][:10], "--data-dir", node1)
    assert "filed at" in shown
    # The CLI refuses, before signing, feedback on someone else's receipt.
    result = CliRunner().invoke(
        app, ["feedback", "confirm", ids["cb"], "--out", str(tmp_path / "x.tx"), *common]
    )
    assert result.exit_code != 0 and "charlie's" in str(result.exception)
    printed = _run("feedback", "confirm", ids["ac"], "--out", str(tmp_path / "c.tx"), *common)
    chain.submit((tmp_path / "c.tx").read_bytes())


def test_every_command_has_an_example() -> None:
    for group, commands in (
        ("credits", ["balance", "history", "statement", "ranking", "params"]),
        ("feedback", ["confirm", "dispute"]),
        ("dispute", ["list", "show", "resolve"]),
    ):
        for command in commands:
            out = _run(group, command, "--help")
            assert "Example:" in out, (group, command)
