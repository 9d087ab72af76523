"""Block validation: everything a replica checks before it commits a block.

:func:`validate_block` is pure given its inputs (state, the previous block's info, the
registry): it checks the header against its predecessor (height, ``prev`` hash, chain
id, time not going backwards), the proposer (one of the consortium's proposers,
:func:`ledger.proposers`, whose signature over the header bytes verifies, judged on the
state before the block; for genesis, a founder of role ``member`` or ``orderer``,
judged on the state it creates), the transaction count and RFC 9162 ``tx_root``, then executes every
transaction and compares the resulting state digest with the header's. Any mismatch
raises :class:`BlockError` naming the height and the problem; transactions that are
merely invalid do not fail the block (they are recorded as refused, see
:mod:`ledger._execute`), so one bad transaction cannot halt the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledger._block import GENESIS_PREV, Block, BlockHeader
from ledger._codec import EncodingError
from ledger._contract import ContractRegistry, State
from ledger._errors import LedgerError
from ledger._execute import BlockExecutor, TxResult, Write, prefetch_in_chunks, state_reads
from ledger._members import PROPOSER_ROLES, get_member, proposers
from ledger._merkle import merkle_root
from ledger._sig import BatchVerifier, SignatureError, verify_signature
from ledger._tx import SignedTransaction, decode_transaction

__all__ = [
    "BlockError",
    "BlockOutcome",
    "FutureBlockError",
    "NotProposerError",
    "PrevBlock",
    "check_proposer",
    "validate_block",
]

# Transactions per background signature-check chunk: chunk k+1 is checked on the
# verifier's threads while chunk k executes.
_CHUNK = 128


class BlockError(LedgerError):
    """A block is not a valid successor of the replica's head; ``height`` may be None."""

    def __init__(self, height: int | None, reason: str) -> None:
        where = "block" if height is None else f"height {height}"
        super().__init__(f"{where}: {reason}")
        self.height = height
        self.reason = reason


class FutureBlockError(BlockError):
    """A block stamped further ahead of this replica's clock than the consortium's skew.

    Not a fault of the chain (the block may be fine later): the replica refuses it now,
    changes nothing, and takes it when its clock has caught up. ``ahead_ms`` is how far
    ahead of the clock the block's time was.
    """

    reason_code = "future_block"

    def __init__(self, height: int, block_time: int, now: int, skew_ms: int) -> None:
        super().__init__(
            height,
            f"block time {block_time} is {block_time - now} ms ahead of this replica's clock"
            f" (more than the {skew_ms} ms skew allowed)",
        )
        self.block_time = block_time
        self.ahead_ms = block_time - now


class NotProposerError(BlockError):
    """A block or header signed by a member that is not the ordering service: a fork
    attempt, refused whatever its source (peer, checkpoint, ordering log)."""

    reason_code = "not_proposer"


@dataclass(frozen=True, slots=True)
class PrevBlock:
    """What a block is checked against: its predecessor's height, hash, time, digest."""

    height: int
    hash: bytes
    time: int
    state_digest: bytes
    chain: bytes


@dataclass(frozen=True, slots=True)
class BlockOutcome:
    results: tuple[TxResult, ...]
    writes: tuple[Write, ...]
    state_digest: bytes


def check_proposer(state: State, header: BlockHeader, signature: bytes) -> None:
    """Raise :class:`BlockError` unless ``header``'s proposer may propose and signed it.

    At height 0 the proposer is any founder of role ``member`` or ``orderer`` (the
    block's one transaction is the configuration every founder signed); above it, only
    the consortium's proposers (:func:`ledger.proposers`) in ``state``, which
    :class:`NotProposerError` refuses everyone else with.
    """
    member = get_member(state, header.proposer)
    if member is None or not member.active:
        raise BlockError(header.height, f"proposer {header.proposer!r} is not an active member")
    if header.height == 0:
        if member.role not in PROPOSER_ROLES:
            raise BlockError(0, f"proposer role {member.role!r} may not propose")
    elif header.proposer not in proposers(state):
        raise NotProposerError(
            header.height,
            f"{header.proposer!r} is not a proposer of this consortium (the ordering"
            " service: gov.params ledger.proposers, else the members of role orderer)",
        )
    try:
        verify_signature(member.signing_key, header.raw, signature)
    except SignatureError:
        raise BlockError(header.height, "proposer signature does not verify") from None


def validate_block(
    block: Block,
    state: State,
    prev: PrevBlock | None,
    registry: ContractRegistry,
    verifier: BatchVerifier,
    *,
    preload: Callable[[list[tuple[str, str]]], None] | None = None,
) -> BlockOutcome:
    """Check ``block`` as the successor of ``prev`` over ``state``; see the module doc.

    ``preload``, if given, is handed the state rows the contracts say the block's
    transactions will read (:meth:`ledger.Store.preload`), before they execute.
    """
    header = block.header
    h = header.height
    if prev is None:
        if h != 0 or header.prev != GENESIS_PREV:
            raise BlockError(h, "the first block must be a genesis block at height 0")
        prev_digest = GENESIS_PREV
    else:
        if h != prev.height + 1:
            raise BlockError(h, f"expected height {prev.height + 1}")
        if header.prev != prev.hash:
            raise BlockError(h, "prev hash does not match the previous block")
        if header.chain != prev.chain:
            raise BlockError(h, "block is for another chain")
        if header.time < prev.time:
            raise BlockError(h, "block time goes backwards")
        prev_digest = prev.state_digest
        check_proposer(state, header, block.signature)
    if header.tx_count != len(block.txs):
        raise BlockError(
            h, f"header counts {header.tx_count} transactions, block has {len(block.txs)}"
        )
    if merkle_root(block.txs) != header.tx_root:
        raise BlockError(h, "tx_root does not match the block's transactions")
    decoded: list[SignedTransaction | bytes] = []
    for raw in block.txs:
        try:
            decoded.append(decode_transaction(raw))
        except EncodingError:
            decoded.append(raw)  # the executor records it as malformed
    signed = [stx for stx in decoded if isinstance(stx, SignedTransaction)]
    checked = prefetch_in_chunks(state, signed, registry, verifier, _CHUNK) if h > 0 else []
    if preload is not None and h > 0:
        preload(state_reads(signed, registry))
    executor = BlockExecutor(state, registry, height=h, time=header.time, prev_digest=prev_digest)
    out: list[TxResult] = []
    seen = 0
    for i, tx in enumerate(decoded):
        if isinstance(tx, SignedTransaction):
            if seen % _CHUNK == 0 and checked:
                # Only a shortcut: a failed check leaves the signatures to execute().
                checked[seen // _CHUNK].exception()
            seen += 1
        out.append(executor.execute(tx, i))
    results = tuple(out)
    if h == 0:
        if len(results) != 1 or not results[0].ok:
            reason = results[0].reason if results else "no genesis transaction"
            raise BlockError(0, f"genesis transaction refused: {reason}")
        if header.chain != executor.chain:
            raise BlockError(0, "genesis header chain id differs from its configuration's")
        check_proposer(executor.state, header, block.signature)
    writes, digest = executor.finish()
    if digest != header.state_digest:
        raise BlockError(h, "state digest differs from this replica's (state diverges)")
    return BlockOutcome(results, tuple(writes), digest)
