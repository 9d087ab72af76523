"""The SQLite schema of a replica (version 1) and the records read back from it.

See docs/LEDGER_FORMAT.md for what each column holds; ``ledger._store`` keeps the rules
of writing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger._block import BlockHeader, decode_header
from ledger._tx import SignedTransaction, decode_transaction

__all__ = [
    "BLOCK_COLUMNS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "TX_COLUMNS",
    "BlockInfo",
    "TxRecord",
    "tx_record",
]

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE blocks (
    height INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    header BLOB NOT NULL,
    signature BLOB NOT NULL,
    time INTEGER NOT NULL,
    proposer TEXT NOT NULL,
    tx_count INTEGER NOT NULL,
    state_digest BLOB NOT NULL
);
CREATE TABLE txs (
    height INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    tx_id BLOB NOT NULL,
    raw BLOB NOT NULL,
    member TEXT,
    kind TEXT,
    seq INTEGER,
    time INTEGER,
    ok INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (height, idx)
) WITHOUT ROWID;
CREATE INDEX txs_by_id ON txs (tx_id);
CREATE INDEX txs_by_member ON txs (member, height, idx);
CREATE INDEX txs_by_kind ON txs (kind, height, idx);
CREATE TABLE tx_parties (
    party TEXT NOT NULL, height INTEGER NOT NULL, idx INTEGER NOT NULL,
    PRIMARY KEY (party, height, idx)
) WITHOUT ROWID;
CREATE TABLE state (
    tbl TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
CREATE TABLE checkpoints (
    height INTEGER NOT NULL, member TEXT NOT NULL, header_hash BLOB NOT NULL,
    signature BLOB NOT NULL, PRIMARY KEY (height, member)
) WITHOUT ROWID;
CREATE TABLE equivocations (
    id INTEGER PRIMARY KEY, height INTEGER NOT NULL, detail TEXT NOT NULL,
    evidence BLOB NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class BlockInfo:
    height: int
    hash: bytes
    header: bytes
    signature: bytes
    time: int
    proposer: str
    tx_count: int
    state_digest: bytes

    def decoded_header(self) -> BlockHeader:
        return decode_header(self.header)


@dataclass(frozen=True, slots=True)
class TxRecord:
    """A stored transaction and what became of it."""

    tx_id: bytes
    height: int
    index: int
    raw: bytes
    member: str | None
    kind: str | None
    seq: int | None
    time: int | None
    ok: bool
    reason: str

    def decoded(self) -> SignedTransaction:
        return decode_transaction(self.raw)


TX_COLUMNS = "tx_id, height, idx, raw, member, kind, seq, time, ok, reason"
BLOCK_COLUMNS = "height, hash, header, signature, time, proposer, tx_count, state_digest"


def tx_record(row: tuple[Any, ...]) -> TxRecord:
    return TxRecord(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], bool(row[8]), row[9]
    )
