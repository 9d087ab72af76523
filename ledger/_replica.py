"""A replica: applies blocks from any source, each verified before it is committed.

Blocks may come from the orderer, from a peer, or from the ordering log; the replica
trusts none of them: whatever the source, a block is applied only if one of the
consortium's proposers (:func:`ledger.proposers`, the ordering service named in
consensus state) signed it. :meth:`Replica.apply` decodes a block, validates it against the
store's head (:func:`ledger.validate_block`) and commits it with its results and
writes in one SQLite transaction. Applying a block the store already holds is a no-op;
a *different* block for a held height, validly signed by the same proposer, is
equivocation: the evidence is recorded and :class:`EquivocationError` raised, and from
then on the replica refuses every block until an operator deals with it. (A validly
signed block for a held height from a *different* proposer is refused, not treated as
equivocation: under etcd ordering several proposers sign candidates for one height
and only one wins the log, so the loser's candidate proves no one lied — and treating
it as proof would let any member halt every replica.)

Checkpoints (:mod:`ledger._finality`) are checked and recorded here too, and the same
rule applies to them: a checkpoint carrying a different signed header for a height
this replica holds is equivocation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger._block import Block, BlockHeader, decode_block, decode_header
from ledger._codec import EncodingError
from ledger._contract import ContractRegistry, State
from ledger._errors import LedgerError
from ledger._execute import TxResult, max_clock_skew
from ledger._finality import (
    Checkpoint,
    EquivocationError,
    EquivocationReport,
    checkpoint_message,
    double_vote_detail,
    sign_checkpoint,
)
from ledger._gcpause import gc_paused
from ledger._members import get_member, supermajority, voters
from ledger._sig import BatchVerifier, SignatureError, verify_signature
from ledger._store import BlockInfo, Store
from ledger._validate import (
    BlockError,
    BlockOutcome,
    FutureBlockError,
    NotProposerError,
    PrevBlock,
    check_proposer,
    validate_block,
)

__all__ = ["Applied", "Replica", "final_height", "prev_block"]


@dataclass(frozen=True, slots=True)
class Applied:
    """A block now in the store; ``results`` is empty if it was already there."""

    height: int
    hash: bytes
    results: tuple[TxResult, ...]


def prev_block(store: Store) -> PrevBlock | None:
    """The store's head as :func:`validate_block` needs it, or ``None`` when empty."""
    head = store.head()
    if head is None:
        return None
    chain = store.chain_id
    assert chain is not None
    return PrevBlock(head.height, head.hash, head.time, head.state_digest, chain)


class Replica:
    """Verifies and commits blocks into ``store``; see the module docstring."""

    def __init__(
        self,
        store: Store,
        registry: ContractRegistry,
        *,
        verifier: BatchVerifier | None = None,
        clock: Callable[[], int] | None = None,
        max_future_ms: int | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.verifier = verifier or BatchVerifier()
        # With a clock, a block stamped further ahead of it than the skew (the
        # consortium's ledger.max_clock_skew_ms unless max_future_ms is given) is
        # refused with FutureBlockError: a proposer cannot move contracts' "now" (epochs,
        # refund and dispute windows, freshness) into the future. A local rule, not a
        # consensus rule — replicas' clocks differ — so it only ever delays a block:
        # the caller tries again once the clock has caught up.
        self._clock = clock
        self._max_future_ms = max_future_ms

    # -- blocks ------------------------------------------------------------------------

    def _halt_if_equivocated(self) -> None:
        found = self.store.equivocations()
        if found:
            height, detail, _ = found[0]
            raise EquivocationError(None, f"replica halted: {detail} (height {height})")

    def apply(self, raw: bytes | Block) -> Applied:
        """Verify and commit one block; raise :class:`BlockError` if it is not valid."""
        with gc_paused():
            return self._apply(raw)

    def _apply(self, raw: bytes | Block) -> Applied:
        self._halt_if_equivocated()
        try:
            block = decode_block(raw) if isinstance(raw, bytes) else raw
        except EncodingError as exc:
            raise BlockError(None, f"malformed block: {exc}") from None
        height = block.height
        held = self.store.block_info(height)
        if held is not None:
            if held.hash == block.hash:
                return Applied(height, held.hash, ())
            self._conflict(held, block.header, block.signature)
        self._check_time(block.header)
        self._check_against_checkpoints(block.header)
        outcome = self.validate(block)
        self.store.commit(block, outcome.results, outcome.writes)
        return Applied(height, block.hash, outcome.results)

    def _check_time(self, header: BlockHeader) -> None:
        if self._clock is None:
            return
        skew = self._max_future_ms
        if skew is None:
            skew = max_clock_skew(self.store.state())
        now = self._clock()
        if header.time > now + skew:
            raise FutureBlockError(header.height, header.time, now, skew)

    def validate(self, block: Block) -> BlockOutcome:
        """Check ``block`` as the next block of this store, without committing it."""
        return validate_block(
            block,
            self.store.state(),
            prev_block(self.store),
            self.registry,
            self.verifier,
            preload=self.store.preload,
        )

    def commit_validated(self, block: Block, outcome: BlockOutcome) -> Applied:
        """Commit a block this process validated (or built) against the current head."""
        self._halt_if_equivocated()
        self.store.commit(block, outcome.results, outcome.writes)
        return Applied(block.height, block.hash, outcome.results)

    def sync(self, blocks: Iterable[bytes]) -> int:
        """Apply blocks in order from any source; returns the new head height."""
        for raw in blocks:
            self.apply(raw)
        return self.store.height

    def _signed_validly(self, header: BlockHeader, signature: bytes) -> bool:
        try:
            check_proposer(self.store.state(), header, signature)
        except BlockError:
            return False
        return True

    def _conflict(self, held: BlockInfo, header: BlockHeader, signature: bytes) -> None:
        if not self._signed_validly(header, signature):
            raise BlockError(
                header.height, "conflicts with the held block and is not validly signed"
            )
        if header.proposer != held.proposer:
            # Two proposers each signing a candidate for one height is ordinary contention
            # (only one wins the log), not proof that anyone lied; refuse the stranger.
            raise BlockError(
                header.height, f"conflicts with the held block proposed by {held.proposer!r}"
            )
        report = EquivocationReport(
            header.height, held.header, held.signature, header.raw, signature
        )
        self.store.record_equivocation(header.height, report.describe(), report.encode())
        raise EquivocationError(report)

    # -- checkpoints and finality -------------------------------------------------------

    def checkpoint(
        self, member: str, key: Ed25519PrivateKey, height: int | None = None
    ) -> Checkpoint:
        """This member's checkpoint over the held block at ``height`` (default: head)."""
        info = self.store.head() if height is None else self.store.block_info(height)
        if info is None:
            raise LedgerError("no block to checkpoint")
        cp = sign_checkpoint(info.header, info.signature, member, key)
        self.add_checkpoint(cp)
        return cp

    def add_checkpoint(self, cp: Checkpoint) -> bool:
        """Verify and record a checkpoint; ``True`` if it is new.

        Raises :class:`EquivocationError` if its header conflicts with a held one, or if
        its member already co-signed a different header for that height.
        """
        self._halt_if_equivocated()
        try:
            header = decode_header(cp.header)
        except EncodingError as exc:
            raise BlockError(None, f"malformed checkpoint header: {exc}") from None
        state = self.store.state()
        chain = self.store.chain_id
        if header.chain != chain:
            raise BlockError(header.height, "checkpoint is for another chain")
        try:
            check_proposer(state, header, cp.proposer_signature)
        except NotProposerError:
            # A member's own header for a height: a fork attempt, refused as such.
            raise
        except BlockError:
            raise BlockError(header.height, "checkpoint header is not validly signed") from None
        self._check_voter(state, cp, header)
        held = self.store.block_info(header.height)
        if held is not None and held.hash != header.hash:
            self._conflict(held, header, cp.proposer_signature)
        for member, header_hash, _ in self.store.checkpoints(header.height):
            if member == cp.member and header_hash != header.hash:
                detail = double_vote_detail(cp.member, header.height)
                self.store.record_equivocation(header.height, detail, cp.encode())
                raise EquivocationError(None, detail)
        return self.store.add_checkpoint(header.height, cp.member, header.hash, cp.signature)

    @staticmethod
    def _check_voter(state: State, cp: Checkpoint, header: BlockHeader) -> None:
        member = get_member(state, cp.member)
        if member is None or not member.active or member.role != "member":
            raise BlockError(header.height, f"{cp.member!r} is not a voting member")
        message = checkpoint_message(header.chain, header.height, header.hash)
        try:
            verify_signature(member.signing_key, message, cp.signature)
        except SignatureError:
            raise BlockError(header.height, f"bad checkpoint signature by {cp.member!r}") from None

    def _check_against_checkpoints(self, header: BlockHeader) -> None:
        """Refuse a block that contradicts checkpoints already received for its height."""
        for member, header_hash, _ in self.store.checkpoints(header.height):
            if header_hash != header.hash:
                raise BlockError(
                    header.height, f"differs from the header {member!r} co-signed for this height"
                )

    def signers(self, height: int) -> list[str]:
        """Current voters whose checkpoints name the held header at ``height``."""
        return signers(self.store, height)

    def final_height(self) -> int:
        """The highest height that is final (``-1`` if none): later ones wait for votes."""
        return final_height(self.store)


def signers(store: Store, height: int) -> list[str]:
    """Current voters whose checkpoints in ``store`` name its header at ``height``."""
    info = store.block_info(height)
    if info is None:
        return []
    current = {m.id for m in voters(store.state())}
    return [
        member
        for member, header_hash, _ in store.checkpoints(height)
        if header_hash == info.hash and member in current
    ]


def final_height(store: Store) -> int:
    """The highest height of ``store`` that is final (``-1`` if none): checkpoints of
    more than two thirds of the current voters name its header."""
    total = len(voters(store.state()))
    head = store.height
    for height in reversed(store.checkpointed_heights()):
        if height <= head and supermajority(len(signers(store, height)), total):
            return height
    return -1
