"""Audit: full-chain verification, transaction inclusion proofs, listings and export.

:func:`verify_chain` re-checks a store from genesis without trusting anything it
derived: for every height, the stored header bytes and hash column, the hash chain,
the proposer's signature, the RFC 9162 root over the stored transaction bytes, every
transaction's signature and validity (by replaying every block into a fresh in-memory
state), the state digest in each header, the stored results, index and party columns,
and the checkpoints stored for it; then the state table against the replayed state,
``meta.chain_id`` against the genesis configuration it is the SHA-256 of, checkpoints
stored above the head, that no table holds rows outside what it walked, and that each
``equivocations`` row is genuine evidence. A store is only as trustworthy as the genesis
it starts from, and a rebuilt store verifies against its own: so verification is
anchored on a genesis block hash the caller trusts (the consortium's, from the member's
configured genesis file) and, optionally, on a trusted header hash at some height (a
checkpoint); and given the caller's clock, a block stamped further ahead of it than the
consortium's skew is flagged (no replica would have applied it). The first problem raises
:class:`ChainVerificationError` naming the height and what is wrong. A store that
verifies but holds genuine evidence raises :class:`ChainHaltedError`: the replica is
stopped by equivocation, which is not tampering but must not pass as "ok" either.

A :class:`TxProof` (``riskshare/tx-proof/v1``) carries a transaction's stored bytes,
its position, the RFC 9162 audit path and the signed header; anyone holding the
proposer's public key (or a trusted header hash) checks it offline with
:func:`verify_tx_proof`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import cbor2

from ledger._block import Block, BlockHeader, decode_header, encode_block
from ledger._codec import EncodingError, decode, encode
from ledger._contract import ContractRegistry
from ledger._errors import LedgerError
from ledger._execute import max_clock_skew
from ledger._finality import (
    Checkpoint,
    EquivocationError,
    EquivocationReport,
    checkpoint_message,
    decode_checkpoint,
    decode_equivocation,
    double_vote_detail,
)
from ledger._members import active_members, consortium_info, get_member
from ledger._merkle import ProofError, inclusion_proof, leaf_hash, verify_inclusion
from ledger._sig import BatchVerifier, SignatureError, verify_signature
from ledger._state import MemoryState
from ledger._store import Store, TxRecord
from ledger._tx import SignedTransaction, decode_transaction
from ledger._validate import BlockError, PrevBlock, check_proposer, validate_block

__all__ = [
    "ChainHaltedError",
    "ChainReport",
    "ChainVerificationError",
    "TxProof",
    "block_summary",
    "decode_tx_proof",
    "export_jsonl",
    "export_lines",
    "jsonable",
    "ledger_summary",
    "proof_document",
    "tx_proof",
    "tx_summary",
    "verify_chain",
    "verify_tx_proof",
]

PROOF_DOMAIN, PROOF_VERSION = "tx-proof", 1


class ChainVerificationError(LedgerError):
    """The stored chain is not what its signatures and replay say it must be."""

    def __init__(self, height: int, problem: str) -> None:
        super().__init__(f"height {height}: {problem}")
        self.height = height
        self.problem = problem


@dataclass(frozen=True, slots=True)
class ChainReport:
    height: int
    head_hash: bytes
    state_digest: bytes
    blocks: int
    txs: int
    refused: int
    # The stored genesis block's hash (empty for an empty store), and what the chain was
    # anchored on: the genesis hash given, and the trusted checkpoint's height, if any.
    genesis_hash: bytes = b""
    anchored_genesis: bool = False
    anchored_height: int | None = None


class ChainHaltedError(EquivocationError):
    """Everything stored verifies, and part of it is genuine equivocation evidence:
    this replica is stopped (it applies nothing more until an operator deals with it).

    Not a :class:`ChainVerificationError`: nothing was tampered with. ``chain`` is what
    verification found; ``height`` and ``detail`` name the first evidence.
    """

    def __init__(self, height: int, detail: str, evidence: bytes, chain: ChainReport) -> None:
        report = None
        with contextlib.suppress(EncodingError):
            report = decode_equivocation(evidence)
        super().__init__(
            report,
            f"height {height}: replica stopped by equivocation: {detail}"
            f" (everything up to head {chain.height} verifies)",
        )
        self.height = height
        self.detail = detail
        self.chain = chain


def _compare_record(
    height: int, record: TxRecord | None, result: Any, parties: tuple[str, ...]
) -> None:
    i = result.index
    if record is None:
        raise ChainVerificationError(height, f"transaction {i} is missing from the index")
    stored = (
        record.tx_id,
        record.member,
        record.kind,
        record.seq,
        record.time,
        record.ok,
        record.reason,
    )
    replayed = (
        result.tx_id,
        result.member,
        result.kind,
        result.seq,
        result.time,
        result.ok,
        result.reason,
    )
    if stored != replayed:
        names = ("tx_id", "member", "kind", "seq", "time", "ok", "reason")
        bad = [n for n, a, b in zip(names, stored, replayed, strict=True) if a != b]
        raise ChainVerificationError(
            height, f"transaction {i}: stored {', '.join(bad)} differ from replay"
        )
    if parties != result.parties:
        raise ChainVerificationError(height, f"transaction {i}: stored parties differ from replay")


@dataclass(frozen=True, slots=True)
class _Anchors:
    genesis_hash: bytes | None
    checkpoint: tuple[int, bytes] | None
    now: int | None


def verify_chain(
    store: Store,
    registry: ContractRegistry,
    *,
    verifier: BatchVerifier | None = None,
    genesis_hash: bytes | None = None,
    checkpoint: tuple[int, bytes] | None = None,
    now: int | None = None,
) -> ChainReport:
    """Re-verify everything the store holds; see the module docstring.

    ``genesis_hash``: the block hash the store's height 0 must have (the consortium's
    genesis block, which the caller trusts). ``checkpoint``: ``(height, header hash)``
    the store must hold. ``now`` (ms): a block whose time is more than the consortium's
    skew (``ledger.max_clock_skew_ms``) ahead of it is flagged.

    Raises :class:`ChainVerificationError` on the first thing that is wrong, and
    :class:`ChainHaltedError` when everything is right but the replica holds genuine
    equivocation evidence (it is stopped until an operator deals with it).
    """
    anchors = _Anchors(genesis_hash, checkpoint, now)
    if verifier is None:
        # Ours to close: its threads would otherwise outlive the call.
        own = BatchVerifier()
        try:
            return _verify_snapshot(store, registry, own, anchors)
        finally:
            own.close()
    return _verify_snapshot(store, registry, verifier, anchors)


def _verify_snapshot(
    store: Store, registry: ContractRegistry, verifier: BatchVerifier, anchors: _Anchors
) -> ChainReport:
    # The replica may be committing while we walk (a live gateway's own file): every
    # read below must see the same blocks, checkpoints and row counts.
    with store.snapshot():
        return _verify_pinned(store, registry, verifier, anchors)


def _check_anchors(height: int, header: BlockHeader, state: MemoryState, anchors: _Anchors) -> None:
    """The caller's trust anchors and clock, for the block at ``height`` (before replay,
    so that a foreign chain is named as such rather than by its first odd byte)."""
    if height == 0 and anchors.genesis_hash is not None and header.hash != anchors.genesis_hash:
        raise ChainVerificationError(
            0,
            f"the genesis block is not the trusted one (store {header.hash.hex()}, trusted"
            f" {anchors.genesis_hash.hex()}): this store is another chain, or was rebuilt",
        )
    trusted = anchors.checkpoint
    if trusted is not None and trusted[0] == height and header.hash != trusted[1]:
        raise ChainVerificationError(
            height,
            f"header hash {header.hash.hex()} is not the trusted checkpoint's {trusted[1].hex()}",
        )
    if anchors.now is not None:
        skew = max_clock_skew(state)
        if header.time > anchors.now + skew:
            raise ChainVerificationError(
                height,
                f"block time {header.time} is {header.time - anchors.now} ms ahead of this"
                f" machine's clock (more than the {skew} ms skew a replica allows)",
            )


def _verify_pinned(
    store: Store, registry: ContractRegistry, verifier: BatchVerifier, anchors: _Anchors
) -> ChainReport:
    if anchors.genesis_hash is not None and store.height < 0:
        raise ChainVerificationError(0, "the store holds no genesis block to anchor")
    if anchors.checkpoint is not None and anchors.checkpoint[0] > store.height:
        raise ChainVerificationError(
            max(store.height, 0),
            f"the trusted checkpoint at height {anchors.checkpoint[0]} is beyond the head",
        )
    state = MemoryState()
    replayed: dict[tuple[str, str], bytes] = {}
    prev: PrevBlock | None = None
    head = store.height
    txs = refused = parties = checkpoints = 0
    odd_flags: dict[int, int] = {}
    for h, i in store.odd_ok_flags():
        odd_flags.setdefault(h, i)
    for height in range(head + 1):
        info = store.block_info(height)
        if info is None:
            raise ChainVerificationError(height, "block is missing")
        try:
            header = decode_header(info.header)
        except EncodingError as exc:
            raise ChainVerificationError(height, f"header bytes do not decode: {exc}") from None
        if header.height != height:
            raise ChainVerificationError(height, f"header says height {header.height}")
        _check_anchors(height, header, state, anchors)
        columns = (info.hash, info.time, info.proposer, info.tx_count, info.state_digest)
        if columns != (
            header.hash,
            header.time,
            header.proposer,
            header.tx_count,
            header.state_digest,
        ):
            raise ChainVerificationError(height, "block index columns differ from the header")
        raws = store.block_txs(height)
        block = Block(
            encode_block(info.header, info.signature, raws), header, info.signature, tuple(raws)
        )
        try:
            outcome = validate_block(block, state, prev, registry, verifier)
        except BlockError as exc:
            raise ChainVerificationError(height, exc.reason) from None
        except EncodingError as exc:
            raise ChainVerificationError(height, f"block does not encode: {exc}") from None
        if height in odd_flags:
            raise ChainVerificationError(
                height, f"transaction {odd_flags[height]}: stored ok is neither 0 nor 1"
            )
        for result in outcome.results:
            record = store.tx_at(height, result.index)
            _compare_record(height, record, result, store.tx_parties(height, result.index))
            txs += 1
            refused += not result.ok
            parties += len(result.parties)
        for table, key, value in outcome.writes:
            if value is None:
                state.delete(table, key)
                replayed.pop((table, key), None)
            else:
                state.put(table, key, cbor2.loads(value))
                replayed[(table, key)] = value
        if height == 0:
            _verify_meta(store, state)
        checkpoints += _verify_checkpoints(store, state, height, header.hash, header.chain)
        prev = PrevBlock(height, header.hash, header.time, header.state_digest, header.chain)
    if head < 0:
        _verify_meta(store, None)
    else:
        stored = {(t, k): v for t, k, v in store.state_rows()}
        if stored != replayed:
            diff = sorted(set(stored.items()) ^ set(replayed.items()))
            table, key = diff[0][0]
            raise ChainVerificationError(head, f"state table differs from replay at {table}/{key}")
    checkpoints += _verify_pending_checkpoints(store, state, head)
    _verify_row_counts(store, head, txs, parties, checkpoints)
    halts = _verify_equivocations(store, state)
    final = store.head()
    first = store.block_info(0)
    report = ChainReport(
        height=head,
        head_hash=b"" if final is None else final.hash,
        state_digest=b"" if final is None else final.state_digest,
        blocks=head + 1,
        txs=txs,
        refused=refused,
        genesis_hash=b"" if first is None else first.hash,
        anchored_genesis=anchors.genesis_hash is not None,
        anchored_height=None if anchors.checkpoint is None else anchors.checkpoint[0],
    )
    if halts:
        height, detail, evidence = halts[0]
        raise ChainHaltedError(height, detail, evidence, report)
    return report


def _verify_meta(store: Store, genesis_state: MemoryState | None) -> None:
    """``meta`` holds exactly the chain id, and it is the one genesis derives: the
    SHA-256 of the genesis configuration (replay put it in ``gov.consortium``)."""
    rows = dict(store.meta_rows())
    unknown = sorted(set(rows) - {"chain_id"})
    if unknown:
        raise ChainVerificationError(0, f"meta holds an unknown key {unknown[0]!r}")
    if genesis_state is None:
        if rows:
            raise ChainVerificationError(0, "meta.chain_id is set but there is no genesis block")
        return
    info = consortium_info(genesis_state)
    assert info is not None  # validate_block refuses a genesis that creates no consortium
    if "chain_id" not in rows:
        raise ChainVerificationError(0, "meta.chain_id is missing")
    if rows["chain_id"] != info["chain_id"]:
        raise ChainVerificationError(
            0, "meta.chain_id is not the SHA-256 of the genesis configuration"
        )


def _verify_checkpoints(
    store: Store, state: MemoryState, height: int, header_hash: bytes, chain: bytes
) -> int:
    """Stored co-signatures for ``height`` must name its header and verify under the keys
    their members held at that height (``state`` is the replayed state after it).
    Returns how many there are."""
    message = checkpoint_message(chain, height, header_hash)
    rows = store.checkpoints(height)
    for member, signed_hash, signature in rows:
        if signed_hash != header_hash:
            raise ChainVerificationError(
                height, f"checkpoint by {member!r} names a different header"
            )
        _verify_vote(state, height, member, message, signature)
    return len(rows)


def _verify_vote(
    state: MemoryState, height: int, member: str, message: bytes, signature: bytes
) -> None:
    row = get_member(state, member)
    if row is None:
        raise ChainVerificationError(height, f"checkpoint by unknown member {member!r}")
    try:
        verify_signature(row.signing_key, message, signature)
    except SignatureError:
        raise ChainVerificationError(
            height, f"checkpoint signature by {member!r} does not verify"
        ) from None


def _verify_pending_checkpoints(store: Store, state: MemoryState, head: int) -> int:
    """Checkpoints may arrive before their block: those above the head must be votes by
    current voters (the replica refuses a block contradicting them, so a forged one
    would block the genuine block). Returns how many there are."""
    chain = store.chain_id
    count = 0
    for height in store.checkpointed_heights(head + 1):
        rows = store.checkpoints(height)
        if head < 0 or chain is None:
            raise ChainVerificationError(height, "checkpoint stored before any genesis block")
        for member, signed_hash, signature in rows:
            row = get_member(state, member)
            if row is None or not row.active or row.role != "member":
                raise ChainVerificationError(
                    height, f"checkpoint above the head by {member!r}, not a voting member"
                )
            message = checkpoint_message(chain, height, signed_hash)
            _verify_vote(state, height, member, message, signature)
        count += len(rows)
    return count


def _verify_row_counts(store: Store, head: int, txs: int, parties: int, checkpoints: int) -> None:
    """Nothing is stored beside what the walk covered (rows at heights outside the
    chain, transactions past a block's count, parties of no transaction)."""
    counts = store.row_counts()
    expected = {"blocks": head + 1, "txs": txs, "tx_parties": parties, "checkpoints": checkpoints}
    for table, want in expected.items():
        if counts[table] != want:
            raise ChainVerificationError(
                max(head, 0),
                f"{table} holds {counts[table]} rows, the chain accounts for {want}"
                " (rows outside the chain)",
            )


def _verify_equivocations(store: Store, state: MemoryState) -> list[tuple[int, str, bytes]]:
    """Each ``equivocations`` row must be genuine evidence, exactly as a replica records
    it; returns the genuine ones (``(height, detail, evidence)``).

    A replica records two kinds (:mod:`ledger._replica`): an ``equivocation/v1`` report
    when a second header for a held height comes validly signed by the held block's
    proposer (``header_a`` is then the held header), and a ``checkpoint/v1`` when a
    voter co-signs a second header for a height (its first vote is in ``checkpoints``).
    Signatures are judged on the replayed head state, the one the replica judged them
    on: it applies nothing once it has recorded evidence.
    """
    chain = store.chain_id
    genuine = []
    for row_id, height, detail, evidence in store.equivocation_records():
        where = f"equivocation row {row_id}"
        if chain is None:
            raise ChainVerificationError(height, f"{where} stored before any genesis block")
        try:
            if evidence.startswith(b"riskshare/equivocation/"):
                expected = _check_report(store, state, height, chain, decode_equivocation(evidence))
            else:
                expected = _check_double_vote(
                    store, state, height, chain, decode_checkpoint(evidence)
                )
        except EncodingError as exc:
            raise ChainVerificationError(
                height, f"{where}: evidence does not decode: {exc}"
            ) from None
        except _Forged as exc:
            raise ChainVerificationError(height, f"{where}: {exc}") from None
        if detail != expected:
            raise ChainVerificationError(
                height, f"{where}: detail {detail!r} is not what its evidence says"
            )
        genuine.append((height, detail, evidence))
    return genuine


class _Forged(Exception):
    """An equivocation row that is not what a replica records (message: why)."""


def _check_report(
    store: Store, state: MemoryState, height: int, chain: bytes, report: EquivocationReport
) -> str:
    if report.height != height:
        raise _Forged(f"evidence is for height {report.height}")
    held = store.block_info(height)
    if held is None:
        raise _Forged("evidence names a height this replica does not hold")
    if (report.header_a, report.signature_a) != (held.header, held.signature):
        raise _Forged("evidence's first header is not the held block's")
    if report.header_b == report.header_a:
        raise _Forged("evidence holds the same header twice")
    other = decode_header(report.header_b)
    if other.height != height or other.chain != chain:
        raise _Forged("evidence's second header is for another height or chain")
    if other.proposer != held.proposer:
        raise _Forged("evidence's second header has another proposer")
    try:
        check_proposer(state, other, report.signature_b)
    except BlockError as exc:
        raise _Forged(f"evidence's second header: {exc.reason}") from None
    return report.describe()


def _check_double_vote(
    store: Store, state: MemoryState, height: int, chain: bytes, cp: Checkpoint
) -> str:
    header = decode_header(cp.header)
    if header.height != height or header.chain != chain:
        raise _Forged("checkpoint evidence is for another height or chain")
    try:
        check_proposer(state, header, cp.proposer_signature)
    except BlockError as exc:
        raise _Forged(f"checkpoint evidence's header: {exc.reason}") from None
    member = get_member(state, cp.member)
    if member is None or not member.active or member.role != "member":
        raise _Forged(f"checkpoint evidence by {cp.member!r}, not a voting member")
    try:
        verify_signature(
            member.signing_key, checkpoint_message(chain, height, header.hash), cp.signature
        )
    except SignatureError:
        raise _Forged(f"checkpoint evidence signature by {cp.member!r} does not verify") from None
    # The first vote: stored, and (checked above) validly signed, for another header.
    first = [h for m, h, _ in store.checkpoints(height) if m == cp.member]
    if not first or first[0] == header.hash:
        raise _Forged(f"no other checkpoint by {cp.member!r} at this height")
    return double_vote_detail(cp.member, height)


@dataclass(frozen=True, slots=True)
class TxProof:
    """Everything needed to show offline that a transaction is in a signed block."""

    tx: bytes
    index: int
    path: tuple[bytes, ...]
    header: bytes
    proposer_signature: bytes

    def encode(self) -> bytes:
        return encode(
            PROOF_DOMAIN,
            PROOF_VERSION,
            {
                "tx": self.tx,
                "index": self.index,
                "path": list(self.path),
                "header": self.header,
                "proposer_signature": self.proposer_signature,
            },
        )


def decode_tx_proof(raw: bytes) -> TxProof:
    fields = decode(PROOF_DOMAIN, PROOF_VERSION, raw)
    if not isinstance(fields, dict) or set(fields) != {
        "tx",
        "index",
        "path",
        "header",
        "proposer_signature",
    }:
        raise EncodingError("transaction proof has the wrong fields")
    path = fields["path"]
    if not isinstance(path, list) or not all(isinstance(p, bytes) for p in path):
        raise EncodingError("transaction proof path is not a list of hashes")
    if not isinstance(fields["index"], int) or isinstance(fields["index"], bool):
        raise EncodingError("transaction proof index is not an integer")
    for name in ("tx", "header", "proposer_signature"):
        if not isinstance(fields[name], bytes):
            raise EncodingError(f"transaction proof {name} is not bytes")
    return TxProof(
        fields["tx"], fields["index"], tuple(path), fields["header"], fields["proposer_signature"]
    )


def tx_proof(store: Store, tx_id: bytes) -> TxProof:
    """The inclusion proof of the committed transaction ``tx_id``."""
    record = store.tx(tx_id)
    if record is None:
        raise LedgerError(f"no transaction {tx_id.hex()} in this ledger")
    info = store.block_info(record.height)
    assert info is not None
    leaves = store.block_txs(record.height)
    return TxProof(
        record.raw,
        record.index,
        tuple(inclusion_proof(leaves, record.index)),
        info.header,
        info.signature,
    )


def verify_tx_proof(
    proof: TxProof,
    *,
    proposer_key: bytes | None = None,
    header_hash: bytes | None = None,
) -> SignedTransaction:
    """Check a proof offline and return the transaction it proves.

    The audit path must lead from the transaction's bytes to the header's ``tx_root``;
    the header must then be trusted through ``proposer_key`` (its signature verifies)
    or ``header_hash`` (it is that header), at least one of which is required. Raises
    :class:`ProofError` otherwise.
    """
    if proposer_key is None and header_hash is None:
        raise ProofError("a proof needs a proposer key or a header hash to trust")
    try:
        header = decode_header(proof.header)
        stx = decode_transaction(proof.tx)
    except EncodingError as exc:
        raise ProofError(f"proof holds malformed bytes: {exc}") from None
    verify_inclusion(leaf_hash(proof.tx), proof.index, header.tx_count, proof.path, header.tx_root)
    if header_hash is not None and header.hash != header_hash:
        raise ProofError("proof header is not the trusted header")
    if proposer_key is not None:
        try:
            verify_signature(proposer_key, proof.header, proof.proposer_signature)
        except SignatureError:
            raise ProofError("proof header is not signed by the proposer key") from None
    return stx


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of a state or body value: bytes become ``{"hex": ...}``."""
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _tx_line(store: Store, record: TxRecord) -> dict[str, Any]:
    body: Any
    try:
        body = jsonable(dict(decode_transaction(record.raw).tx.body))
    except EncodingError:
        body = None
    return {
        "type": "tx",
        "height": record.height,
        "index": record.index,
        "tx_id": record.tx_id.hex(),
        "member": record.member,
        "kind": record.kind,
        "seq": record.seq,
        "time": record.time,
        "ok": record.ok,
        "reason": record.reason,
        "parties": list(store.tx_parties(record.height, record.index)),
        "body": body,
    }


def export_lines(
    store: Store,
    *,
    from_height: int = 0,
    member: str | None = None,
    kind: str | None = None,
    party: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Blocks and their transactions as JSON-ready dicts (only transactions if filtered)."""
    filtered = member is not None or kind is not None or party is not None
    if filtered:
        for record in store.txs(member=member, kind=kind, party=party, from_height=from_height):
            yield _tx_line(store, record)
        return
    height = from_height
    while (info := store.block_info(height)) is not None:
        yield {
            "type": "block",
            "height": info.height,
            "hash": info.hash.hex(),
            "prev": decode_header(info.header).prev.hex(),
            "time": info.time,
            "proposer": info.proposer,
            "tx_count": info.tx_count,
            "state_digest": info.state_digest.hex(),
        }
        for record in store.txs(from_height=height, to_height=height):
            yield _tx_line(store, record)
        height += 1


def export_jsonl(store: Store, out: IO[str], **filters: Any) -> int:
    """Write :func:`export_lines` to ``out`` as JSON lines; returns the line count."""
    count = 0
    for line in export_lines(store, **filters):
        out.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
        count += 1
    return count


def block_summary(store: Store, height: int) -> dict[str, Any]:
    """A block's header fields and its transactions, JSON-ready."""
    info = store.block_info(height)
    if info is None:
        raise LedgerError(f"no block at height {height} (head is {store.height})")
    header = decode_header(info.header)
    return {
        "height": height,
        "hash": info.hash.hex(),
        "prev": header.prev.hex(),
        "time": info.time,
        "proposer": info.proposer,
        "tx_root": header.tx_root.hex(),
        "tx_count": info.tx_count,
        "state_digest": info.state_digest.hex(),
        "checkpoints": [m for m, h, _ in store.checkpoints(height) if h == info.hash],
        "txs": [_tx_line(store, r) for r in store.txs(from_height=height, to_height=height)],
    }


def tx_summary(store: Store, tx_id: bytes) -> dict[str, Any]:
    """One transaction, its result and body, JSON-ready."""
    record = store.tx(tx_id)
    if record is None:
        raise LedgerError(f"no transaction {tx_id.hex()} in this ledger")
    return _tx_line(store, record)


def ledger_summary(store: Store) -> dict[str, Any]:
    """What this replica holds: consortium, head, members, counts; JSON-ready."""
    head = store.head()
    state = store.state()
    info = consortium_info(state)
    return {
        "consortium": None if info is None else info["name"],
        "chain_id": None if store.chain_id is None else store.chain_id.hex(),
        "height": store.height,
        "head_hash": None if head is None else head.hash.hex(),
        "head_time": None if head is None else head.time,
        "state_digest": None if head is None else head.state_digest.hex(),
        "transactions": store.tx_count(),
        "members": [
            {"id": m.id, "role": m.role, "address": m.address} for m in active_members(state)
        ],
        "equivocations": [detail for _, detail, _ in store.equivocations()],
    }


def proof_document(store: Store, tx_id: bytes) -> dict[str, Any]:
    """:func:`tx_proof` as a JSON-ready document, with the proposer's current key.

    The key is a convenience for whoever checks the proof against their own replica;
    someone who trusts nothing in the document passes a key or header hash they hold.
    """
    proof = tx_proof(store, tx_id)
    header = decode_header(proof.header)
    proposer = get_member(store.state(), header.proposer)
    return {
        "tx_id": tx_id.hex(),
        "height": header.height,
        "index": proof.index,
        "header_hash": header.hash.hex(),
        "proposer": header.proposer,
        "proposer_key": None if proposer is None else proposer.signing_key.hex(),
        "proof": proof.encode().hex(),
    }
