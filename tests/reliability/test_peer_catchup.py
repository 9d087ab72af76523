"""A member that was down catches up from peer gateways while the orderer is stopped,
and the head becomes final without the orderer.

Real gateway processes (``riskshare gateway serve``, supervisor and worker each): the
orderer, ``bank-a`` and ``bank-b`` run while blocks are cut (the two publish their
lists); ``bank-c`` has never run. The orderer is then stopped, and one byte of a
transaction bank-a's replica stores is flipped, so bank-a's consortium port serves a
tampered block. bank-c starts: its follower finds the orderer unreachable, asks its
peers in turn (bank-a first), refuses bank-a's tampered block, moves on to bank-b and
reaches the head every replica holds, byte for byte, with a chain that verifies. The
three members are the voters; the head was co-signed by bank-a and bank-b only (2 of 3,
not final) until bank-c co-signs it from its peers' blocks. The followers then collect
each other's checkpoints from one another, and the head becomes final on every replica
while the orderer is still down.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._processes import GatewayProcess, start_gateway, start_gateways, stop_gateways
from gateway._registry import consortium_registry
from ledger import Store, final_height, verify_chain

LT = "transaction_fraud"
LISTS = {
    "bank-a": [(LT, "phone", "13800138000", 1), (LT, "phone", "13900139000", 2)],
    "bank-b": [(LT, "phone", "13800138000", 3)],
}
# Gateways start slowly on a loaded machine; every wait still ends by itself.
START = 300.0
WAIT = 300.0


def _wait(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


def _db(path: Path, *, write: bool = False) -> contextlib.closing[sqlite3.Connection]:
    # Read-only unless tampering: the gateway owning the file keeps writing it.
    uri = f"file:{path}" if write else f"file:{path}?mode=ro"
    return contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None))


def _head(net: LocalConsortium, member_id: str) -> tuple[int, bytes, bytes] | None:
    path = net.member(member_id).data_dir / "ledger.sqlite"
    if not path.exists():
        return None
    with _db(path) as db:
        row = db.execute(
            "SELECT height, hash, state_digest FROM blocks ORDER BY height DESC LIMIT 1"
        ).fetchone()
    return None if row is None else (row[0], bytes(row[1]), bytes(row[2]))


def _published(net: LocalConsortium, member_id: str) -> bool:
    with _db(net.orderer.data_dir / "ledger.sqlite") as db:
        row = db.execute(
            "SELECT 1 FROM state WHERE tbl = 'pub.index' AND key = ?", (f"{member_id}/{LT}",)
        ).fetchone()
    return row is not None


def _block(net: LocalConsortium, member_id: str, height: int) -> bytes | None:
    with Store(net.member(member_id).data_dir / "ledger.sqlite", create=False) as store:
        return store.block(height)


def _final(net: LocalConsortium, member_id: str) -> int:
    """The replica's final height, as its own gateway reckons it."""
    with Store(net.member(member_id).data_dir / "ledger.sqlite", create=False) as store:
        return final_height(store)


def _log_events(net: LocalConsortium, member_id: str, event: str) -> list[dict[str, Any]]:
    path = net.member(member_id).data_dir / "gateway.log"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("event") == event:
                out.append(record)
    return out


@pytest.fixture
def consortium(tmp_path: Path) -> Iterator[tuple[LocalConsortium, dict[str, GatewayProcess]]]:
    net = create_local_consortium(
        tmp_path,
        ["bank-a", "bank-b", "bank-c"],
        workers=1,
        overrides={"dashboard": {"enabled": False}},
    )
    for member_id, rows in LISTS.items():
        load_list(net.members[member_id], rows)
    running: dict[str, GatewayProcess] = {}
    try:
        running.update(start_gateways(net, ["bank-a", "bank-b"], timeout=START))
        yield net, running
    finally:
        stop_gateways(running)


def test_a_member_catches_up_from_peers_while_the_orderer_is_down_and_refuses_a_forgery(
    consortium: tuple[LocalConsortium, dict[str, GatewayProcess]],
) -> None:
    net, running = consortium
    # Blocks are cut while bank-c is down: both lists are published, and both running
    # members hold the orderer's head.
    _wait(lambda: _published(net, "bank-a") and _published(net, "bank-b"), "lists published")
    _wait(
        lambda: _head(net, "bank-a") == _head(net, "orderer") == _head(net, "bank-b"),
        "bank-a and bank-b at the orderer's head",
    )
    # Two of the three voters have co-signed the head: not final yet.
    head = _head(net, "orderer")
    assert head is not None and _final(net, "bank-a") < head[0]
    orderer = running.pop("orderer")
    orderer.stop()
    assert orderer.process.wait(60) == 0
    final = _head(net, "orderer")
    assert final is not None and final[0] >= 2, final
    assert _head(net, "bank-a") == final == _head(net, "bank-b")

    # bank-a's port now serves a forged block 1: one byte of its first transaction.
    genuine = _block(net, "bank-b", 1)
    with _db(net.member("bank-a").data_dir / "ledger.sqlite", write=True) as db:
        (raw,) = db.execute("SELECT raw FROM txs WHERE height = 1 AND idx = 0").fetchone()
        forged = bytearray(raw)
        forged[len(forged) // 2] ^= 0x01
        db.execute("UPDATE txs SET raw = ? WHERE height = 1 AND idx = 0", (bytes(forged),))
    assert _block(net, "bank-a", 1) != genuine

    running["bank-c"] = start_gateway("bank-c", net.members["bank-c"].config_path)
    running["bank-c"].wait_serving(START)
    _wait(lambda: _head(net, "bank-c") == final, "bank-c at the head its peers hold")
    assert orderer.process.poll() is not None  # the orderer stayed down throughout

    # The forgery was offered, refused by name, and the genuine block taken from bank-b.
    refused = [
        r for r in _log_events(net, "bank-c", "block refused") if r.get("source") == "bank-a"
    ]
    assert refused, "bank-c never refused bank-a's tampered block"
    assert "height 1: tx_root does not match" in refused[0]["detail"]
    assert _block(net, "bank-c", 1) == genuine
    for height in range(final[0] + 1):
        assert _block(net, "bank-c", height) == _block(net, "bank-b", height), height
    with Store(net.members["bank-c"].data_dir / "ledger.sqlite", create=False) as store:
        report = verify_chain(store, consortium_registry())
    assert (report.height, report.head_hash, report.state_digest) == final
    unreachable = [
        r
        for r in _log_events(net, "bank-c", "block stream interrupted")
        if r.get("source") == "orderer"
    ]
    assert unreachable, "bank-c never tried the orderer"

    # Finality without the orderer: bank-c's vote reaches bank-a and bank-b, theirs reach
    # bank-c, through the members' own gateways.
    voters = ("bank-a", "bank-b", "bank-c")
    _wait(lambda: all(_final(net, m) == final[0] for m in voters), "the head final everywhere")
    assert orderer.process.poll() is not None
