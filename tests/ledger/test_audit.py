"""Audit: verify names the height and problem for any tampering; proofs; listings; export."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from ledger import (
    BatchVerifier,
    Block,
    BlockExecutor,
    ChainHaltedError,
    ChainVerificationError,
    EmbeddedOrderer,
    EquivocationError,
    EquivocationReport,
    ProofError,
    Replica,
    Store,
    add_oprf_key_body,
    decode_tx_proof,
    export_lines,
    make_block,
    publish_index_body,
    sign_checkpoint,
    tx_proof,
    verify_chain,
    verify_tx_proof,
)
from scenarios import all_contracts
from token_incentive import (
    QueryReceipt,
    QueryRequest,
    blinded_digest,
    credits_contract,
    default_params,
    response_digest,
    sign_receipt,
    sign_request,
)

from .helpers import T0, Net, key_for, make_net, point, populate

# The installed console script, exactly as an operator runs it (exit codes come from
# cli.main's error boundary, which CliRunner bypasses).
RISKSHARE = Path(sys.executable).parent / "riskshare"


def _riskshare(*args: str) -> tuple[int, str]:
    """Run ``riskshare ARGS``; its exit code and stdout + stderr."""
    done = subprocess.run(
        [str(RISKSHARE), *args], capture_output=True, text=True, timeout=300, check=False
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Net, Path, dict[str, bytes]]:
    # The credits parameters too: `riskshare ledger verify` replays with the consortium's
    # contracts, whose credits contract checks every parameter genesis writes.
    net = make_net(("m1", "m2", "m3", "obs"), roles={"obs": "observer"}, params=default_params())
    base = tmp_path_factory.mktemp("chain")
    store = net.store(base / "ledger.sqlite")
    ids = populate(net, store)
    store.close()
    return net, base, ids


@pytest.fixture
def copy(chain, tmp_path: Path) -> Path:
    _, base, _ = chain
    shutil.copy(base / "ledger.sqlite", tmp_path / "ledger.sqlite")
    return tmp_path


def test_a_clean_chain_verifies(chain) -> None:
    net, base, _ = chain
    with Store(base / "ledger.sqlite", create=False) as store:
        report = verify_chain(store, net.registry)
    assert report.blocks == 5 and report.txs == 1 + 3 + 2 + 2 + 1 and report.refused == 0
    anchor = ["--genesis-hash", net.genesis.hash.hex()]
    result = CliRunner().invoke(app, ["ledger", "verify", "--data-dir", str(base), *anchor])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 5 blocks")


def _db(path: Path) -> contextlib.closing[sqlite3.Connection]:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")  # tampering needs no durability; it needs speed
    return contextlib.closing(db)


def _flip(
    path: Path, sql_select: str, sql_update: str, key: tuple[int, ...], position: int
) -> None:
    with _db(path) as db:
        value = bytearray(db.execute(sql_select, key).fetchone()[0])
        value[position % len(value)] ^= 0x01
        db.execute(sql_update, (bytes(value), *key))


def _restore(chain, path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copy(chain[1] / "ledger.sqlite", path)


def _verify_fails(net: Net, path: Path) -> ChainVerificationError:
    with Store(path, create=False) as store, pytest.raises(ChainVerificationError) as caught:
        verify_chain(store, net.registry)
    return caught.value


# -- every byte of every stored transaction and block ---------------------------------


def _rich_chain(path: Path) -> Net:
    """A small chain of every kind a replica stores, built with the consortium's own
    contracts (so ``riskshare ledger verify`` replays it as a gateway would).

    Heights: 0 genesis; 1 three OPRF keys; 2 a list publication and an admission
    proposal; 3 two approvals (the admission executes); 4 the new member's key; 5 a
    second publication and a credits receipt (which names a party); 6 a valid
    transaction and a refused one (a replayed sequence number). Every height is
    co-signed by three voters.
    """
    from gateway._registry import verify_voprf_response

    net = make_net(
        ("m1", "m2", "m3", "obs"),
        roles={"obs": "observer"},
        params=default_params(),
        extra=[credits_contract(verify_voprf_response), *all_contracts()],
    )
    registry = net.registry
    store = net.store(path)
    populate(net, store)
    orderer = EmbeddedOrderer(store, registry, member="m1", key=key_for("m1"), clock=lambda: T0)
    index = publish_index_body(
        list_type="transaction_fraud",
        epoch=1,
        size=500,
        root=b"\x44" * 32,
        snapshot_digest=b"\x55" * 32,
        key_id="k1",
        evidence_root=b"\x66" * 32,
    )
    blinded = [bytes([i]) * 32 for i in range(3)]
    request = sign_request(
        QueryRequest(
            request_id=b"\x07" * 16,
            querier="m1",
            responder="m2",
            list_type="transaction_fraud",
            id_type="cn_id",
            item_count=3,
            purpose_code="fraud_screening",
            legal_basis="contract",
            consent_ref=None,
            blinded_digest=blinded_digest(blinded),
            seq=0,
            time=T0,
            normaliser_version="v1",
        ),
        key_for("m1"),
    )
    receipt = sign_receipt(
        QueryReceipt(request.digest, response_digest([b"\x09" * 32] * 3, b"p" * 64), T0),
        key_for("m2"),
    )
    for stx in (
        net.tx("m1", "pub.publish_index", index),
        net.tx(
            "m2",
            "credits.receipt",
            {
                "request": request.data,
                "request_sig": request.signature,
                "receipt": receipt.data,
                "receipt_sig": receipt.signature,
            },
        ),
    ):
        answer = orderer.submit(stx.raw)
        assert answer.accepted, answer.reason
    orderer.cut()
    # The orderer refuses a replay at submission; a proposer that includes one anyway
    # gets it recorded as refused, as every replica would.
    head = store.head()
    assert head is not None
    txs = [
        net.tx("m3", "pub.add_oprf_key", add_oprf_key_body("k2", point("m3", "k2"))).raw,
        net.tx("m3", "pub.add_oprf_key", add_oprf_key_body("k3", point("m3", "k2")), seq=2).raw,
    ]
    executor = BlockExecutor(
        store.state(), registry, height=head.height + 1, time=T0, prev_digest=head.state_digest
    )
    results = [executor.execute(raw, i) for i, raw in enumerate(txs)]
    assert [r.ok for r in results] == [True, False]
    _, digest = executor.finish()
    block = make_block(
        key_for("m1"),
        chain=net.chain,
        height=head.height + 1,
        prev=head.hash,
        time=T0,
        proposer="m1",
        txs=txs,
        state_digest=digest,
    )
    replica = Replica(store, registry)
    replica.apply(block.raw)
    for m in ("m1", "m2", "m3"):
        for height in (5, 6):
            replica.checkpoint(m, key_for(m), height)
    assert store.txs(party="m1", kind="credits.receipt")
    store.close()
    return net


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> tuple[Net, Path]:
    base = tmp_path_factory.mktemp("rich")
    net = _rich_chain(base / "ledger.sqlite")
    return net, base


# Which stored cells to flip, and what verify must then say (a regex on the problem).
# Integer cells have each of their 8 bytes flipped (as stored in a 64-bit integer);
# text cells each byte of their ASCII; blobs each byte.
_HEADER = (
    r"header bytes do not decode: .*|block index columns differ from the header"
    r"|header says height \d+"
)
_CELLS: dict[tuple[str, str], str] = {
    ("txs", "raw"): r"tx_root does not match the block's transactions",
    ("txs", "tx_id"): r"transaction {idx}: stored tx_id differ from replay",
    ("txs", "member"): r"transaction {idx}: stored member differ from replay",
    ("txs", "kind"): r"transaction {idx}: stored kind differ from replay",
    ("txs", "seq"): r"transaction {idx}: stored seq differ from replay",
    ("txs", "time"): r"transaction {idx}: stored time differ from replay",
    ("txs", "ok"): r"transaction {idx}: stored ok (differ from replay|is neither 0 nor 1)",
    ("txs", "reason"): r"transaction {idx}: stored reason differ from replay",
    ("tx_parties", "party"): r"transaction {idx}: stored parties differ from replay",
    ("blocks", "header"): _HEADER,
    ("blocks", "signature"): r"proposer signature does not verify",
    ("blocks", "hash"): r"block index columns differ from the header",
    ("blocks", "time"): r"block index columns differ from the header",
    ("blocks", "proposer"): r"block index columns differ from the header",
    ("blocks", "tx_count"): r"block index columns differ from the header",
    ("blocks", "state_digest"): r"block index columns differ from the header",
    ("checkpoints", "header_hash"): r"checkpoint by '{member}' names a different header",
    ("checkpoints", "signature"): r"checkpoint signature by '{member}' does not verify",
}
_KEYS = {
    "txs": ("height", "idx"),
    "tx_parties": ("party", "height", "idx"),
    "blocks": ("height",),
    "checkpoints": ("height", "member"),
}


def _flipped(value: bytes | str | int) -> Iterator[bytes | str | int]:
    """``value`` with one bit flipped, once per byte of its stored form."""
    if isinstance(value, bytes):
        for i in range(len(value)):
            yield value[:i] + bytes([value[i] ^ 0x01]) + value[i + 1 :]
    elif isinstance(value, str):
        raw = value.encode("ascii")
        for i in range(len(raw)):
            yield (raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]).decode("ascii")
    else:
        for i in range(8):
            yield value ^ (1 << (8 * i))


def test_flipping_any_byte_of_any_stored_transaction_or_block_is_caught(
    rich: tuple[Net, Path], tmp_path: Path
) -> None:
    """Exhaustive: every byte of every cell of ``txs``, ``tx_parties``, ``blocks`` and
    ``checkpoints``, one flip at a time, through :func:`verify_chain` on a copy.

    One store stays open on the copy and one tampering connection writes it (verify
    reads every block and row afresh from SQLite, so nothing it checks is cached), and
    each flip is undone by writing the original value back: about 10,000 full
    verifications in a few tens of seconds instead of copying the file each time.
    """
    net, base = rich
    path = tmp_path / "ledger.sqlite"
    shutil.copy(base / "ledger.sqlite", path)
    flips = 0
    # Checks inline (no thread per call); passing signature checks are cached by their
    # exact bytes, so a flipped signature, key or message is checked afresh.
    inline = BatchVerifier(workers=0)
    with _db(path) as db, Store(path, create=False) as store:
        assert verify_chain(store, net.registry).blocks == 7
        for (table, column), pattern in _CELLS.items():
            keys = _KEYS[table]
            rows = db.execute(
                f"SELECT {', '.join(keys)}, {column} FROM {table} ORDER BY {', '.join(keys)}"
            ).fetchall()
            assert rows, (table, column)
            where = " AND ".join(f"{k} = ?" for k in keys)
            update = f"UPDATE {table} SET {column} = ? WHERE {where}"
            for *key, original in rows:
                cell = dict(zip(keys, key, strict=True))
                problem = re.compile(pattern.format(**cell))
                for position, value in enumerate(_flipped(original)):
                    db.execute(update, (value, *key))
                    try:
                        verify_chain(store, net.registry, verifier=inline)
                    except ChainVerificationError as error:
                        where_ = (table, column, cell, position, str(error))
                        assert error.height == cell["height"], where_
                        assert problem.fullmatch(error.problem), where_
                    else:
                        raise AssertionError(f"{table}.{column} {cell} byte {position}: verifies")
                    finally:
                        # tx_parties' flipped column is part of its key.
                        now = [value if k == column else v for k, v in zip(keys, key, strict=True)]
                        db.execute(update, (original, *now))
                    flips += 1
        assert verify_chain(store, net.registry).blocks == 7
    # Every stored transaction byte was flipped: the sizes add up.
    with _db(path) as db:
        raw_bytes = db.execute("SELECT SUM(length(raw)) FROM txs").fetchone()[0]
    assert flips > raw_bytes


def test_tampered_index_columns_results_and_state_are_caught(chain, copy: Path) -> None:
    net, _, _ = chain
    path = copy / "ledger.sqlite"
    tampering = [
        ("UPDATE txs SET ok = 0, reason = 'x' WHERE height = 2 AND idx = 1", 2, "ok, reason"),
        ("UPDATE txs SET member = 'm9' WHERE height = 1 AND idx = 0", 1, "member"),
        ("UPDATE txs SET kind = 'pub.x' WHERE height = 3 AND idx = 0", 3, "kind"),
        ("UPDATE blocks SET proposer = 'm2' WHERE height = 4", 4, "index columns"),
        (
            "UPDATE state SET value = x'01' WHERE tbl = 'pub.oprf_keys' AND key = 'm2/k1'",
            4,
            "state table differs from replay at pub.oprf_keys/m2/k1",
        ),
        ("DELETE FROM txs WHERE height = 3 AND idx = 1", 3, "header counts 2 transactions"),
        (
            "UPDATE checkpoints SET signature = zeroblob(64) WHERE height = 2 AND member = 'm3'",
            2,
            "checkpoint signature by 'm3'",
        ),
    ]
    for sql, height, problem in tampering:
        _restore(chain, path)
        with _db(path) as db:
            db.execute(sql)
        error = _verify_fails(net, path)
        assert error.height == height, (sql, error)
        assert problem in error.problem, (sql, error)


def test_the_riskshare_command_names_the_height_and_fault(rich, tmp_path: Path) -> None:
    """``riskshare ledger verify`` as installed (the console script, in a subprocess):
    exit 0 and "ok" on the clean chain, exit 2 and the height and fault on a flip."""
    net, base = rich
    anchor = ("--genesis-hash", net.genesis.hash.hex())
    path = tmp_path / "ledger.sqlite"
    shutil.copy(base / "ledger.sqlite", path)
    code, output = _riskshare("ledger", "verify", "--data-dir", str(tmp_path), *anchor)
    assert code == 0 and output.startswith("ok: 7 blocks, 13 transactions (1 refused)"), output
    cases = [
        ("txs", "raw", "height = 5 AND idx = 1", 40, "height 5: tx_root does not match"),
        ("blocks", "header", "height = 3", 100, "height 3: block index columns differ"),
        ("blocks", "signature", "height = 6", 0, "height 6: proposer signature does not verify"),
        ("txs", "tx_id", "height = 2 AND idx = 0", 31, "height 2: transaction 0: stored tx_id"),
        (
            "meta",
            "value",
            "key = 'chain_id'",
            7,
            "height 0: meta.chain_id is not the SHA-256 of the genesis configuration",
        ),
    ]
    for table, column, where, position, message in cases:
        select = f"SELECT {column} FROM {table} WHERE {where} AND ? = 0"
        update = f"UPDATE {table} SET {column} = ? WHERE {where} AND ? = 0"
        _flip(path, select, update, (0,), position)
        before = _dump(path)
        code, output = _riskshare("ledger", "verify", "--data-dir", str(tmp_path), *anchor)
        assert code == 2, (table, column, output)
        assert output.startswith(f"error: {message}"), (message, output)
        assert _dump(path) == before
        _flip(path, select, update, (0,), position)


def test_inclusion_proofs_verify_offline(chain, tmp_path: Path) -> None:
    _, base, ids = chain
    with Store(base / "ledger.sqlite", create=False) as store:
        for tx_id in ids.values():
            proof = decode_tx_proof(tx_proof(store, tx_id).encode())
            stx = verify_tx_proof(proof, proposer_key=key_for("m1").public_key().public_bytes_raw())
            assert stx.tx_id == tx_id
        proof = tx_proof(store, ids["approve-m3"])
    with pytest.raises(ProofError):
        verify_tx_proof(proof, proposer_key=key_for("m2").public_key().public_bytes_raw())
    with pytest.raises(ProofError):
        verify_tx_proof(proof)
    forged = type(proof)(
        proof.tx, proof.index ^ 1, proof.path, proof.header, proof.proposer_signature
    )
    with pytest.raises(ProofError):
        verify_tx_proof(forged, proposer_key=key_for("m1").public_key().public_bytes_raw())
    runner = CliRunner()
    out = tmp_path / "proof.json"
    result = runner.invoke(
        app,
        ["ledger", "proof", ids["approve-m3"].hex(), "--data-dir", str(base), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    result = runner.invoke(
        app, ["ledger", "check-proof", str(out), "--proposer-key", document["proposer_key"]]
    )
    assert result.exit_code == 0, result.output
    assert ids["approve-m3"].hex() in result.output
    result = runner.invoke(app, ["ledger", "check-proof", str(out), "--header-hash", "00" * 32])
    assert isinstance(result.exception, ProofError)


def test_listings_and_export(chain, tmp_path: Path) -> None:
    _, base, ids = chain
    with Store(base / "ledger.sqlite", create=False) as store:
        mine = store.txs(member="m2")
        assert [r.kind for r in mine] == ["pub.add_oprf_key", "pub.publish_index", "gov.approve"]
        assert [r.tx_id for r in store.txs(kind="gov.approve")] == [
            ids["approve-m2"],
            ids["approve-m3"],
        ]
        assert (
            store.txs(kind="gov.approve", newest_first=True, limit=1)[0].tx_id == ids["approve-m3"]
        )
        lines = list(export_lines(store))
    blocks = [line for line in lines if line["type"] == "block"]
    txs = [line for line in lines if line["type"] == "tx"]
    assert len(blocks) == 5 and len(txs) == 9
    index = next(t for t in txs if t["kind"] == "pub.publish_index")
    assert index["body"]["root"] == {"hex": "11" * 32}
    runner = CliRunner()
    out = tmp_path / "export.jsonl"
    result = runner.invoke(
        app, ["ledger", "export", "--data-dir", str(base), "--member", "m2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["kind"] for e in exported] == [r.kind for r in mine]
    for args in (
        ["show"],
        ["show", "--height", "2"],
        ["show", "--tx", ids["propose"].hex()],
        ["tail", "-n", "3"],
        ["show", "--json"],
    ):
        result = runner.invoke(app, ["ledger", *args, "--data-dir", str(base)])
        assert result.exit_code == 0, (args, result.output)
    assert (
        "gov.approve"
        in runner.invoke(app, ["ledger", "tail", "-n", "2", "--data-dir", str(base)]).output
    )


def test_every_ledger_command_has_an_example() -> None:
    runner = CliRunner()
    for command in ("show", "tail", "verify", "proof", "check-proof", "export"):
        result = runner.invoke(app, ["ledger", command, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.output, command


def test_replica_reaches_the_same_head_and_checkpoints_make_it_final(chain, tmp_path: Path) -> None:
    net, base, _ = chain
    with Store(base / "ledger.sqlite", create=False) as source:
        replica = Replica(Store(tmp_path / "r.sqlite"), net.registry)
        replica.sync(source.blocks_from(0))
        assert replica.store.head() == source.head()
        assert replica.final_height() == -1
        head = source.head()
        assert head is not None
        for member in ("m1", "m2"):
            replica.checkpoint(member, key_for(member))
        assert replica.final_height() == -1  # 2 of 3 voters (m4 joined: 2 of 4)
        replica.checkpoint("m3", key_for("m3"))
        replica.checkpoint("m4", key_for("m4"))
        assert replica.final_height() == head.height


def test_verify_reads_one_snapshot_while_the_replica_commits(chain, copy: Path) -> None:
    """A live gateway keeps recording checkpoints in its file while ``riskshare ledger
    verify`` (another process, another connection) walks it: the walk must see one
    committed state, not count checkpoints at one moment and the table at another (a
    fresh-clone CI run once failed that way: "checkpoints holds 83 rows, the chain
    accounts for 82")."""
    net, _, _ = chain
    path = copy / "ledger.sqlite"
    writer = Replica(Store(path, create=False), net.registry)
    with Store(path, create=False) as reader:
        before = reader.row_counts()["checkpoints"]
        count_rows = reader.row_counts

        def counts_after_a_new_vote() -> dict[str, int]:
            # m4 co-signs the head after the walk read the head's checkpoints.
            writer.checkpoint("m4", key_for("m4"))
            return count_rows()

        reader.row_counts = counts_after_a_new_vote  # type: ignore[method-assign]
        report = verify_chain(reader, net.registry)
        assert report.blocks == 5
        assert count_rows()["checkpoints"] == before + 1  # outside the snapshot: it landed
    writer.store.close()


# -- meta.chain_id, equivocation rows and rows outside the chain ----------------------


def _dump(path: Path) -> list[str]:
    with _db(path) as db:
        return list(db.iterdump())


def _fails_and_changes_nothing(net: Net, path: Path) -> ChainVerificationError:
    before = _dump(path)
    error = _verify_fails(net, path)
    assert _dump(path) == before
    return error


def _conflicting_block(net: Net, path: Path, height: int) -> Block:
    """A second header for a held ``height``, validly signed by its proposer (m1)."""
    with Store(path, create=False) as store:
        prev = store.block_info(height - 1)
        assert prev is not None
    return make_block(
        key_for("m1"),
        chain=net.chain,
        height=height,
        prev=prev.hash,
        time=T0,
        proposer="m1",
        txs=[],
        state_digest=bytes(32),
    )


def test_every_byte_of_meta_chain_id_is_checked(chain, copy: Path) -> None:
    net, _, _ = chain
    path = copy / "ledger.sqlite"
    select = "SELECT value FROM meta WHERE key = 'chain_id' AND ? = 0"
    update = "UPDATE meta SET value = ? WHERE key = 'chain_id' AND ? = 0"
    for position in range(32):
        _flip(path, select, update, (0,), position)
        error = _fails_and_changes_nothing(net, path)
        assert error.height == 0, (position, error)
        assert error.problem == "meta.chain_id is not the SHA-256 of the genesis configuration"
        _flip(path, select, update, (0,), position)
    for sql, problem in (
        ("DELETE FROM meta", "meta.chain_id is missing"),
        ("INSERT INTO meta VALUES ('chain', x'00')", "meta holds an unknown key 'chain'"),
    ):
        _restore(chain, path)
        with _db(path) as db:
            db.execute(sql)
        error = _fails_and_changes_nothing(net, path)
        assert (error.height, error.problem) == (0, problem), sql


def test_rows_outside_the_chain_are_caught(chain, copy: Path) -> None:
    net, _, _ = chain
    path = copy / "ledger.sqlite"
    tampering = [
        (
            "INSERT INTO txs SELECT 9, idx, tx_id, raw, member, kind, seq, time, ok, reason"
            " FROM txs WHERE height = 4",
            "txs holds 10 rows, the chain accounts for 9",
        ),
        (
            "INSERT INTO tx_parties VALUES ('m3', 1, 7)",
            "tx_parties holds",
        ),
        (
            "INSERT INTO blocks SELECT -1, x'00', header, signature, time, proposer, tx_count,"
            " state_digest FROM blocks WHERE height = 0",
            "blocks holds 6 rows, the chain accounts for 5",
        ),
        (
            "INSERT INTO checkpoints SELECT -3, member, header_hash, signature FROM checkpoints"
            " WHERE height = 0",
            "checkpoints holds",
        ),
    ]
    for sql, problem in tampering:
        _restore(chain, path)
        with _db(path) as db:
            db.execute(sql)
        error = _fails_and_changes_nothing(net, path)
        assert error.height == 4 and problem in error.problem, (sql, error)


def test_forged_checkpoints_above_the_head_are_caught(chain, copy: Path) -> None:
    net, _, _ = chain
    path = copy / "ledger.sqlite"
    with _db(path) as db:
        db.execute("INSERT INTO checkpoints VALUES (7, 'm2', zeroblob(32), zeroblob(64))")
    error = _fails_and_changes_nothing(net, path)
    assert (error.height, error.problem) == (7, "checkpoint signature by 'm2' does not verify")
    _restore(chain, path)
    with _db(path) as db:
        db.execute("INSERT INTO checkpoints VALUES (7, 'obs', zeroblob(32), zeroblob(64))")
    error = _fails_and_changes_nothing(net, path)
    assert error.height == 7 and "by 'obs', not a voting member" in error.problem


def test_forged_equivocation_rows_are_tampering(chain, copy: Path) -> None:
    net, _, _ = chain
    path = copy / "ledger.sqlite"
    fake = _conflicting_block(net, path, 4)
    with Store(path, create=False) as store:
        held = store.block_info(4)
        third = store.block_info(3)
        assert held is not None and third is not None

    def report(**changes: object) -> bytes:
        fields: dict[str, object] = {
            "height": 4,
            "header_a": held.header,
            "signature_a": held.signature,
            "header_b": fake.header.raw,
            "signature_b": fake.signature,
        }
        fields.update(changes)
        return EquivocationReport(**fields).encode()  # type: ignore[arg-type]

    genuine = EquivocationReport(4, held.header, held.signature, fake.header.raw, fake.signature)

    def vote(member: str, key: str) -> bytes:
        return sign_checkpoint(fake.header.raw, fake.signature, member, key_for(key)).encode()

    forged = [
        (4, "x", b"not evidence", "equivocation row 1: evidence does not decode"),
        (4, "x", report(signature_b=bytes(64)), "proposer signature does not verify"),
        (4, "x", report(header_b=held.header), "evidence holds the same header twice"),
        (4, "x", report(header_a=third.header), "first header is not the held block's"),
        (4, "x", report(height=3), "evidence is for height 3"),
        (9, "x", report(height=9), "evidence names a height this replica does not hold"),
        (4, "made up", genuine.encode(), "detail 'made up' is not what its evidence says"),
        (
            4,
            "'m2' co-signed two headers at height 4",
            vote("m2", "m3"),
            "checkpoint evidence signature by 'm2' does not verify",
        ),
        # m4 co-signed nothing at height 4: one vote is no double vote.
        (4, "'m4' co-signed two headers at height 4", vote("m4", "m4"), "no other checkpoint"),
    ]
    for height, detail, evidence, problem in forged:
        _restore(chain, path)
        with _db(path) as db:
            db.execute(
                "INSERT INTO equivocations (height, detail, evidence) VALUES (?, ?, ?)",
                (height, detail, evidence),
            )
        error = _fails_and_changes_nothing(net, path)
        assert error.height == height and problem in error.problem, (problem, error)
        assert error.problem.startswith("equivocation row 1: "), error


def test_genuine_equivocation_is_reported_as_a_stopped_replica(chain, copy: Path) -> None:
    net, _, _ = chain
    path = copy / "ledger.sqlite"
    fake = _conflicting_block(net, path, 4)
    with Store(path, create=False) as store:
        with pytest.raises(EquivocationError):
            Replica(store, net.registry).apply(fake.raw)
        ((_, detail, _),) = store.equivocations()
        with pytest.raises(ChainHaltedError) as caught:
            verify_chain(store, net.registry)
    halted = caught.value
    assert halted.height == 4 and halted.detail == detail
    assert detail.startswith("equivocation at height 4: ") and "by 'm1'" in detail
    assert halted.chain.blocks == 5 and halted.report is not None
    assert not isinstance(halted, ChainVerificationError)  # nothing was tampered with
    code, output = _riskshare(
        "ledger", "verify", "--data-dir", str(copy), "--genesis-hash", net.genesis.hash.hex()
    )
    assert code == 2
    assert f"error: height 4: replica stopped by equivocation: {detail}" in output
    # A voter co-signing two headers for one height (ahead of the head) is the other kind.
    _restore(chain, path)
    second = make_block(
        key_for("m1"),
        chain=net.chain,
        height=5,
        prev=bytes(32),
        time=T0,
        proposer="m1",
        txs=[],
        state_digest=bytes(32),
    )
    with Store(path, create=False) as store:
        replica = Replica(store, net.registry)
        head = store.block_info(4)
        assert head is not None
        ahead = make_block(
            key_for("m1"),
            chain=net.chain,
            height=5,
            prev=head.hash,
            time=T0,
            proposer="m1",
            txs=[],
            state_digest=bytes(32),
        )
        replica.add_checkpoint(
            sign_checkpoint(ahead.header.raw, ahead.signature, "m2", key_for("m2"))
        )
        verify_chain(store, net.registry)  # a vote ahead of the head is fine on its own
        with pytest.raises(EquivocationError):
            replica.add_checkpoint(
                sign_checkpoint(second.header.raw, second.signature, "m2", key_for("m2"))
            )
        with pytest.raises(ChainHaltedError, match="'m2' co-signed two headers at height 5"):
            verify_chain(store, net.registry)
