"""Ordering: accept transactions, cut them into signed blocks, commit them in order.

One :class:`Orderer` class serves both backends:

- **embedded** (``log=None``, :func:`EmbeddedOrderer`): this process is the only
  proposer; a cut block is committed straight into its store.
- **log** (``log=`` an :class:`ledger.OrderingLog`, :func:`LogOrderer`; etcd in
  production): any number of proposers share the log. A proposer writes its block at
  ``head + 1`` with a compare-and-put. If it wins, it commits the block it built; if
  another proposer won that height, it applies the winner from the log (verifying it
  like any replica would), then re-validates its pending transactions against the new
  state and tries again. A follower thread applies everyone's blocks as they appear,
  so every proposer is also a replica of the log. SQLite keeps everything; the log may
  be compacted behind the slowest replica.

Submission validates a transaction against the *pending* state — the committed state
plus every transaction already accepted into the open block — with exactly the checks
replicas run (:mod:`ledger._execute`), so an accepted transaction is valid in the block
that carries it, and a refused one is answered at once with its reason. Blocks are
cut when the next transaction would push them past ``max_block_bytes`` (≤ 1 MiB) or
``max_block_txs``, and by a ticker ``block_interval`` seconds after a block opened.

In the embedded orderer a block that fills up is committed by a commit thread while
the next block is being filled: its SQLite transaction and fsync (C code, no GIL)
overlap the validation of the next transactions (Python) instead of stalling them. The
next block is validated against the state the committing block leaves (its overlay,
reading through to the store), at most one block is being committed at a time, and a
block is committed only after the one before it. :meth:`Orderer.cut` and
:meth:`Orderer.flush` return once their blocks are stored, as before. If a commit fails
(a full disk), the store still holds the block before it; the transactions of that
block and of the block built on it go through admission again against the stored state,
and the error is raised to the caller that finds it, as a synchronous commit's was.

Submitters learn the outcome twice: :meth:`Orderer.submit` says accepted or refused
(with the reason), and :meth:`Orderer.wait` gives the height once the block carrying
it is committed. A submission that was already committed is answered with its height,
so re-submitting after a crash is safe: nothing is applied twice, because sequence
numbers refuse replays and a committed transaction id is recognised.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time as _time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger._block import MAX_BLOCK_BYTES, Block, block_size, make_block
from ledger._clock import now_ms
from ledger._codec import EncodingError
from ledger._contract import ContractRegistry, State
from ledger._errors import LedgerError
from ledger._execute import BlockExecutor, TxResult, prefetch_signatures, state_reads
from ledger._finality import EquivocationError
from ledger._gcpause import gc_paused
from ledger._members import get_member, proposers
from ledger._ordering import OrderingLog, OrderingLogError
from ledger._replica import Applied, Replica
from ledger._sig import BatchVerifier, public_key_bytes
from ledger._state import Overlay
from ledger._store import Store, StoreError, StoreState
from ledger._tx import SignedTransaction, decode_transaction
from ledger._validate import BlockError, BlockOutcome, FutureBlockError

__all__ = ["Commit", "EmbeddedOrderer", "LogOrderer", "Orderer", "OrdererError", "Submission"]

_log = logging.getLogger("riskshare.ledger.orderer")


class OrdererError(LedgerError):
    """The orderer cannot continue (it lost its log, or its follower stopped on an error)."""


@dataclass(frozen=True, slots=True)
class Submission:
    """The immediate answer to a submitted transaction."""

    tx_id: bytes
    accepted: bool
    reason: str = ""
    height: int | None = None  # set when the transaction was already committed
    code: str = ""  # why it was refused, for programs (ledger.REFUSAL_CODES)


@dataclass(frozen=True, slots=True)
class Commit:
    """The final answer: committed at ``height`` (``ok`` False if refused there), or
    dropped before any block carried it (``height`` None, with the reason)."""

    tx_id: bytes
    height: int | None
    ok: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class _Inflight:
    """A block sent to the log whose append has not been confirmed either way."""

    block: Block
    outcome: BlockOutcome
    pending: list[SignedTransaction]


@dataclass(frozen=True, slots=True)
class _Committing:
    """A cut block the commit thread is storing (embedded orderer)."""

    block: Block
    state: Overlay  # the state after the block, as its executor left it
    pending: list[SignedTransaction]
    future: Future[Applied]


# Transactions per background signature-check chunk in submit_many.
_CHUNK = 256

# Answers kept for submitters that have not asked yet; beyond this, the store answers.
_KEEP_SETTLED = 100_000

# Errors after which this orderer must not go on: its store and the log disagree.
_FATAL = (BlockError, EquivocationError, StoreError, OrdererError)


class Orderer:
    """Accepts transactions and orders them into blocks; see the module docstring."""

    def __init__(
        self,
        store: Store,
        registry: ContractRegistry,
        *,
        member: str,
        key: Ed25519PrivateKey,
        log: OrderingLog | None = None,
        max_block_bytes: int = MAX_BLOCK_BYTES,
        max_block_txs: int = 20_000,
        block_interval: float = 0.2,
        clock: Callable[[], int] = now_ms,
        verifier: BatchVerifier | None = None,
    ) -> None:
        if not block_size(0, 0) < max_block_bytes <= MAX_BLOCK_BYTES:
            raise LedgerError(f"max_block_bytes must be at most {MAX_BLOCK_BYTES}")
        self.store = store
        self.registry = registry
        self.member = member
        self._key = key
        self.log = log
        self.max_block_bytes = max_block_bytes
        self.max_block_txs = max_block_txs
        self.block_interval = block_interval
        self._clock = clock
        self.verifier = verifier or BatchVerifier()
        # Blocks other proposers put on the log are judged by this replica's clock too
        # (FutureBlockError: taken once the clock has caught up, never fatal).
        self.replica = Replica(store, registry, verifier=self.verifier, clock=clock)
        self._lock = threading.RLock()
        self._exec: BlockExecutor | None = None
        self._opened = 0.0
        self._pending: list[SignedTransaction] = []
        self._results: list[TxResult] = []
        self._bytes = 0
        # Accepted and not yet settled; then settled, kept (oldest dropped first) until
        # someone waits for it — past that, the store answers.
        self._pending_ids: set[bytes] = set()
        self._answers: OrderedDict[bytes, Commit] = OrderedDict()
        self._settled = threading.Condition(self._lock)
        self._inflight: _Inflight | None = None
        self._committing: _Committing | None = None
        self._committer: ThreadPoolExecutor | None = None
        self._prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-prefetch")
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.error: BaseException | None = None
        if log is not None:
            with self._lock:
                try:
                    self._catch_up()
                except FutureBlockError as exc:
                    # The follower thread takes it once our clock has caught up.
                    _log.warning("the ordering log holds a block from the future: %s", exc)
        if store.height < 0:
            raise LedgerError("the store has no genesis block; apply one first")
        state = store.state()
        me = get_member(state, member)
        if me is None or member not in proposers(state):
            raise LedgerError(
                f"{member!r} is not a proposer of this consortium (gov.params"
                " ledger.proposers, else the members of role orderer); it cannot propose"
            )
        if me.signing_key != public_key_bytes(key):
            raise LedgerError(f"the key given is not {member!r}'s registered signing key")

    # -- submission --------------------------------------------------------------------

    def submit(self, raw: bytes) -> Submission:
        """Validate one transaction against the pending state and queue it."""
        return self.submit_many([raw])[0]

    def submit_many(self, raws: Sequence[bytes]) -> list[Submission]:
        """Validate and queue transactions in order; one answer per transaction.

        Signatures are checked first, on several threads and outside the orderer's
        lock; the ordered checks then run under the lock, one transaction at a time.
        """
        self._raise_if_failed()
        with gc_paused():
            return self._submit_many(raws)

    def _submit_many(self, raws: Sequence[bytes]) -> list[Submission]:
        decoded: list[SignedTransaction | Submission] = []
        for raw in raws:
            try:
                decoded.append(decode_transaction(raw))
            except EncodingError as exc:
                tx_id = hashlib.sha256(raw).digest()
                decoded.append(
                    Submission(tx_id, False, f"malformed transaction: {exc}", code="malformed")
                )
        # Signatures are checked chunk by chunk in the background, so checking chunk k+1
        # (C code, the GIL released) overlaps applying chunk k (Python, under the lock).
        signed = [d for d in decoded if isinstance(d, SignedTransaction)]
        # Keys for the signature checks (only a hint). Not store.state(): that waits for
        # a block the commit thread is storing, which this is meant to overlap.
        state = StoreState(self.store)
        checked = [
            self._prefetcher.submit(self._prefetch, state, signed[i : i + _CHUNK])
            for i in range(0, len(signed), _CHUNK)
        ]
        answers: list[Submission] = []
        deferred: str | None = None
        seen = 0
        with self._lock:
            for item in decoded:
                if isinstance(item, Submission):
                    answers.append(item)
                    continue
                if seen % _CHUNK == 0:
                    # Only a shortcut: a failed prefetch leaves the checks to execute().
                    checked[seen // _CHUNK].exception()
                seen += 1
                if deferred is None:
                    try:
                        answers.append(self._admit(item))
                        continue
                    except OrderingLogError as exc:
                        # Admitting may first have to land a full block; while the log
                        # cannot take it, the submitter is told to come back — with
                        # everything after it too, so sequence numbers keep their order.
                        deferred = f"ordering log unavailable, submit again: {exc}"
                answers.append(Submission(item.tx_id, False, deferred))
        return answers

    def _prefetch(self, state: State, txs: Sequence[SignedTransaction]) -> None:
        """Ahead of applying ``txs`` (on the prefetch thread): load the state rows their
        contracts will read, and check their signatures on the verifier's threads."""
        self.store.preload(state_reads(txs, self.registry))
        prefetch_signatures(state, txs, self.registry, self.verifier)

    def _admit(self, stx: SignedTransaction) -> Submission:
        tx_id = stx.tx_id
        if tx_id in self._pending_ids:
            return Submission(tx_id, True, "already pending")
        size = len(stx.raw)
        if block_size(size, 1) > self.max_block_bytes:
            return Submission(tx_id, False, "transaction is too large for a block")
        if self._exec is not None and (
            block_size(self._bytes + size, len(self._pending) + 1) > self.max_block_bytes
            or len(self._pending) >= self.max_block_txs
        ):
            self._cut()
        if self._exec is None:
            if self._inflight is not None:
                self._land_inflight()
            self._open()
        assert self._exec is not None
        result = self._exec.execute(stx, len(self._pending))
        if not result.ok:
            # A committed transaction sent again fails its sequence check; only then is
            # it worth a look in the store, to answer with its height instead.
            committed = self.store.tx(tx_id)
            if committed is not None and committed.ok:
                return Submission(tx_id, True, "already committed", committed.height)
            return Submission(tx_id, False, result.reason, code=result.code)
        self._pending.append(stx)
        self._results.append(result)
        self._bytes += size
        self._pending_ids.add(tx_id)
        return Submission(tx_id, True)

    def _open(self) -> None:
        committing = self._committing
        if committing is not None and committing.future.done():
            self._settle_commit()
            committing = None
        if committing is None:
            head = self.store.head()
            assert head is not None
            base: Any = self.store.state()
            height, time, digest = head.height, head.time, head.state_digest
        else:
            # Build on the block being committed. Every block before it is stored (one
            # commit at a time), so its state can read through to the store directly.
            committing.state.rebase(StoreState(self.store))
            base = committing.state
            header = committing.block.header
            height, time, digest = header.height, header.time, header.state_digest
        # Block time never goes backwards, even if this machine's clock does.
        block_time = max(self._clock(), time)
        self._exec = BlockExecutor(
            base,
            self.registry,
            height=height + 1,
            time=block_time,
            prev_digest=digest,
        )
        self._opened = _time.monotonic()

    def wait(self, tx_id: bytes, timeout: float | None = None) -> Commit:
        """Block until the transaction is committed or dropped; raises on timeout."""
        with self._settled:
            if tx_id not in self._answers and tx_id not in self._pending_ids:
                record = self.store.tx(tx_id)
                if record is None:
                    raise LedgerError(f"transaction {tx_id.hex()} is not pending here")
                return Commit(tx_id, record.height, record.ok, record.reason)
            if not self._settled.wait_for(lambda: tx_id in self._answers, timeout):
                raise LedgerError(f"transaction {tx_id.hex()} not committed within {timeout} s")
            return self._answers.pop(tx_id)

    def _settle(self, result: Commit) -> None:
        """Record a final answer for a pending transaction (lock held); wake waiters."""
        if result.tx_id not in self._pending_ids:
            return
        self._pending_ids.discard(result.tx_id)
        self._answers[result.tx_id] = result
        if len(self._answers) > _KEEP_SETTLED:
            self._answers.popitem(last=False)
        self._settled.notify_all()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    # -- cutting -----------------------------------------------------------------------

    def cut(self) -> int | None:
        """Cut and commit the open block now; its height, or None if nothing was pending.

        Under a log, a lost race leaves the pending transactions re-validated on the
        winner's state, and ``None`` is returned; call again to propose them.
        """
        self._raise_if_failed()
        with self._lock, gc_paused():
            height = self._cut()
            self._settle_commit()
            return height

    def flush(self, attempts: int = 100) -> int:
        """Cut until nothing is pending (retrying lost races); returns the head height."""
        for _ in range(attempts):
            with self._lock:
                if not self._pending:
                    self._settle_commit()
                    return self.store.height
            self.cut()
        raise OrdererError(f"transactions still pending after {attempts} attempts")

    def _cut(self) -> int | None:
        """Cut the open block; the embedded orderer leaves it to the commit thread."""
        if self._inflight is not None:
            # An append whose outcome is unknown comes first: nothing can follow it yet.
            return self._land_inflight()
        # The block before this one must be stored first (and if it failed, the open
        # block was built on it and goes back through admission).
        self._settle_commit()
        executor, pending, results = self._exec, self._pending, self._results
        self._exec, self._pending, self._results, self._bytes = None, [], [], 0
        if executor is None or not pending:
            return None
        writes, digest = executor.finish()
        head = self.store.head()
        chain = self.store.chain_id
        assert head is not None and chain is not None and head.height + 1 == executor.height
        block = make_block(
            self._key,
            chain=chain,
            height=executor.height,
            prev=head.hash,
            time=executor.time,
            proposer=self.member,
            txs=[stx.raw for stx in pending],
            state_digest=digest,
        )
        outcome = BlockOutcome(tuple(results), tuple(writes), digest)
        if self.log is None:
            if self._committer is None:
                self._committer = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="ledger-commit"
                )
            future = self._committer.submit(self.replica.commit_validated, block, outcome)
            committing = _Committing(block, executor.overlay, pending, future)
            self._committing = committing
            future.add_done_callback(lambda _: self._settle_soon(committing))
            return block.height
        self._inflight = _Inflight(block, outcome, pending)
        return self._land_inflight()

    def _land_inflight(self) -> int | None:
        """Append the in-flight block; if the log raises, it stays in flight for a retry.

        Re-sending the same bytes is safe: the log's compare-and-put stores a height
        once, so a retry after an attempt that did land just finds the height taken.
        """
        assert self.log is not None and self._inflight is not None
        flight = self._inflight
        won = self.log.append(flight.block.height, flight.block.raw)
        if won:
            self._inflight = None
            self._resolve(self.replica.commit_validated(flight.block, flight.outcome))
            return flight.block.height
        # The height is taken — by another proposer, or by an earlier attempt of ours
        # whose answer was lost. Apply what the log holds, then re-validate the rest. If
        # the winner is from the future (FutureBlockError), the flight stays: the next
        # tick finds the height taken again and tries once more.
        self._catch_up()
        self._inflight = None
        self._requeue(flight.pending)
        return None

    def _settle_commit(self) -> None:
        """Wait for the block being committed and answer its transactions (lock held).

        If it was not stored, its transactions and those of the open block (built on
        it) are admitted again against the stored state, and the error is raised.
        """
        committing = self._committing
        if committing is None:
            return
        try:
            applied = committing.future.result()
        except BaseException:
            self._committing = None
            reopen = self._pending
            self._exec, self._pending, self._results, self._bytes = None, [], [], 0
            self._requeue([*committing.pending, *reopen])
            raise
        self._committing = None
        self._resolve(applied)

    def _settle_soon(self, committing: _Committing) -> None:
        """The commit thread's note that a block is stored: answer its waiters now if the
        orderer is idle (else whoever holds the lock does it next). Failures are left to
        the next caller, who raises them."""
        if committing.future.exception() is not None or not self._lock.acquire(blocking=False):
            return
        try:
            if self._committing is committing:
                self._settle_commit()
        finally:
            self._lock.release()

    def _requeue(self, pending: Sequence[SignedTransaction]) -> None:
        """Re-validate transactions against the new head; answer those that fell out."""
        for stx in pending:
            self._pending_ids.discard(stx.tx_id)
            answer = self._admit(stx)
            if answer.height is not None or not answer.accepted:
                self._pending_ids.add(stx.tx_id)
                reason = "" if answer.accepted else answer.reason
                self._settle(Commit(stx.tx_id, answer.height, answer.accepted, reason))

    def _resolve(self, applied: Applied) -> None:
        for result in applied.results:
            self._settle(Commit(result.tx_id, applied.height, result.ok, result.reason))

    # -- following the log -------------------------------------------------------------

    def _catch_up(self) -> None:
        """Apply every block the log holds beyond our head (lock held)."""
        assert self.log is not None
        last = self.log.last_height()
        while self.store.height < last:
            height = self.store.height + 1
            raw = self.log.get(height)
            if raw is None:
                raise OrdererError(
                    f"the log no longer holds height {height}; sync this replica from a peer"
                )
            self._resolve(self.replica.apply(raw))

    def _on_log_block(self, height: int, raw: bytes) -> None:
        with self._lock:
            if height <= self.store.height:
                return
            if height > self.store.height + 1:
                self._catch_up()
            else:
                flight = self._inflight
                if flight is not None and flight.block.height == height:
                    if raw == flight.block.raw:
                        # Our own block came back: it is the one we validated.
                        self._inflight = None
                        self._resolve(self.replica.commit_validated(flight.block, flight.outcome))
                        return
                    # Another proposer's won; if it is from the future this raises and
                    # our flight stays, to be re-validated once the winner is applied.
                    self._resolve(self.replica.apply(raw))
                    self._inflight = None
                    self._requeue(flight.pending)
                else:
                    self._resolve(self.replica.apply(raw))
            if self._exec is not None and self._exec.height <= self.store.height:
                pending = self._pending
                self._exec, self._pending, self._results, self._bytes = None, [], [], 0
                self._requeue(pending)

    # -- threads -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the block ticker (and, under a log, the follower)."""
        self._stop.clear()
        self._threads = [threading.Thread(target=self._tick, name="ledger-ticker", daemon=True)]
        if self.log is not None:
            self._threads.append(
                threading.Thread(target=self._follow, name="ledger-follower", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def stop(self, flush: bool = True) -> None:
        """Stop the threads; by default commit what is pending first."""
        if flush and self.error is None:
            self.flush()
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _tick(self) -> None:
        while not self._stop.wait(self.block_interval / 4):
            try:
                with self._lock:
                    due = self._inflight is not None or (
                        self._exec is not None
                        and _time.monotonic() - self._opened >= self.block_interval
                    )
                    if due:
                        with gc_paused():
                            self._cut()
                    elif self._committing is not None and self._committing.future.done():
                        self._settle_commit()
            except FutureBlockError as exc:
                # Another proposer's block, ahead of our clock: wait for the clock.
                _log.warning("a block on the log is from the future, waiting: %s", exc)
            except _FATAL as exc:
                self._fail(exc)
                return
            except LedgerError as exc:
                # The log is unreachable for now (its client already failed over and
                # timed out); keep the block and try again on the next tick.
                _log.warning("cannot append a block yet: %s", exc)
            except Exception as exc:
                self._fail(exc)
                return

    def _follow(self) -> None:
        assert self.log is not None
        while not self._stop.is_set():
            try:
                for height, raw in self.log.watch(self.store.height + 1, self._stop):
                    self._on_log_block(height, raw)
                return
            except FutureBlockError as exc:
                # Not a fault of the log: watch again from our head once time has passed.
                _log.warning("a block on the log is from the future, waiting: %s", exc)
                self._stop.wait(self.block_interval)
            except _FATAL as exc:
                self._fail(exc)
                return
            except LedgerError as exc:
                _log.warning("watch on the ordering log broke, resuming: %s", exc)
                self._stop.wait(self.block_interval)
            except Exception as exc:
                self._fail(exc)
                return

    def _fail(self, exc: BaseException) -> None:
        _log.error("orderer stopped: %s", exc)
        self.error = exc
        with self._lock:
            committing = self._committing
            if committing is not None:
                # A block already handed to the commit thread gets its true answer.
                with contextlib.suppress(Exception):
                    self._settle_commit()
            for tx_id in list(self._pending_ids):
                self._settle(Commit(tx_id, None, False, f"orderer stopped: {exc}"))

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise OrdererError(f"orderer stopped: {self.error}") from self.error


class EmbeddedOrderer(Orderer):
    """The single-process orderer: blocks go straight into ``store``."""

    def __init__(
        self,
        store: Store,
        registry: ContractRegistry,
        *,
        member: str,
        key: Ed25519PrivateKey,
        **options: Any,
    ) -> None:
        super().__init__(store, registry, member=member, key=key, log=None, **options)


class LogOrderer(Orderer):
    """A proposer that orders through a shared log (etcd): compare-and-put per height."""

    def __init__(
        self,
        store: Store,
        registry: ContractRegistry,
        log: OrderingLog,
        *,
        member: str,
        key: Ed25519PrivateKey,
        **options: Any,
    ) -> None:
        super().__init__(store, registry, member=member, key=key, log=log, **options)
