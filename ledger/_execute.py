"""Applying transactions to state: the rules every replica runs, in the same order.

A :class:`BlockExecutor` applies one block's transactions, one at a time, to an overlay
over the committed state. For each transaction, in this order:

1. it must decode (:func:`ledger.decode_transaction`);
2. it must carry this consortium's chain id;
3. its member must exist and be active, in the state as it stands at this point of
   the block (a removal earlier in the block counts);
4. its signature must verify under that member's registered key;
5. its kind must be registered, and the member's role allowed to submit it;
6. its sequence number must exceed the member's last committed one (``ledger.seq``);
7. its claimed time must lie within the skew window of the block's time
   (``gov.params["ledger.max_clock_skew_ms"]``, five minutes when unset);
8. the contract's handler must accept it;
9. if it changed ``gov.params``, every contract's ``param_check`` must accept the new
   parameters, and every value it wrote must be storable.

A transaction that fails any step changes nothing (its overlay is dropped) and gets a
:class:`TxResult` with the reason. One that passes has its writes folded into the
block and its sequence number recorded. At height 0 the only transaction allowed is
``gov.genesis``; it creates the membership, so steps 2–6 are checked against the state
it produced (its signer must be a founder it registered).

After the last transaction, :meth:`BlockExecutor.finish` sorts the block's write-set
and extends the **state digest** hash chain:
``d_h = SHA-256("riskshare/state-digest/v1\\x00" ‖ d_{h-1} ‖ height (8 bytes BE) ‖
CBOR([table, key, value-CBOR]) or CBOR([table, key]) for a deletion, in key order)``,
with ``d_{-1}`` = 32 zero bytes. Two replicas that agree on the digest agree on every
write ever made; ``verify`` recomputes it by replay.

Pure: no clock, no I/O; the block's time and height come in as arguments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from ledger._codec import EncodingError, canonical_cbor, check_value
from ledger._contract import ContractError, ContractRegistry, State, TxContext
from ledger._errors import LedgerError
from ledger._members import PARAMS, consortium_info, get_member, param, params
from ledger._sig import BatchVerifier, SignatureError, verify_signature
from ledger._state import Overlay, _Tombstone
from ledger._tx import SignedTransaction, decode_transaction

__all__ = [
    "DEFAULT_MAX_SKEW_MS",
    "GENESIS_KIND",
    "SEQ_TABLE",
    "BlockExecutor",
    "TxResult",
    "Write",
    "extend_state_digest",
    "max_clock_skew",
    "prefetch_in_chunks",
    "prefetch_signatures",
    "signature_checks",
    "state_reads",
]

SEQ_TABLE = "ledger.seq"
GENESIS_KIND = "gov.genesis"
DEFAULT_MAX_SKEW_MS = 5 * 60 * 1000
SKEW_PARAM = "ledger.max_clock_skew_ms"
_DIGEST_PREFIX = b"riskshare/state-digest/v1\x00"

# (table, key, canonical CBOR of the new value, or None for a deletion)
Write = tuple[str, str, bytes | None]


@dataclass(frozen=True, slots=True)
class TxResult:
    """What became of one transaction of a block; fields are ``None`` if undecodable."""

    index: int
    tx_id: bytes
    ok: bool
    reason: str
    member: str | None = None
    kind: str | None = None
    seq: int | None = None
    time: int | None = None
    parties: tuple[str, ...] = ()
    # Machine-readable, for submitters to act on (``reason`` is for people): one of
    # REFUSAL_CODES, or a contract's own ``ContractError.reason_code``.
    code: str = ""


#: The ledger's own refusal codes (a contract refusal carries the contract's code, or
#: ``refused``). ``stale_sequence`` is the one a submitter acts on: sign again, above.
REFUSAL_CODES = frozenset(
    {
        "stale_sequence",
        "clock_skew",
        "not_member",
        "bad_signature",
        "wrong_chain",
        "role",
        "genesis",
        "malformed",
        "contract_failed",
        "refused",
    }
)


class _Refused(Exception):
    """Internal: a check failed; carries the reason recorded for the transaction."""

    def __init__(self, reason: str, code: str = "refused") -> None:
        super().__init__(reason)
        self.code = code


def max_clock_skew(state: State) -> int:
    """The consortium's clock skew in ms (``gov.params["ledger.max_clock_skew_ms"]``,
    :data:`DEFAULT_MAX_SKEW_MS` when unset): how far a transaction's claimed time may
    lie from its block's time, and how far a block's time may run ahead of a replica's
    clock (:class:`ledger.Replica`)."""
    skew = param(state, SKEW_PARAM)
    if isinstance(skew, int) and not isinstance(skew, bool):
        return skew
    return DEFAULT_MAX_SKEW_MS


def extend_state_digest(prev: bytes, height: int, writes: Iterable[Write]) -> bytes:
    """One link of the state digest chain (see the module docstring)."""
    h = hashlib.sha256(_DIGEST_PREFIX + prev + height.to_bytes(8, "big"))
    for table, key, value in writes:
        item = [table, key] if value is None else [table, key, value]
        h.update(canonical_cbor(item))
    return h.digest()


class BlockExecutor:
    """Applies one block's transactions over ``base`` (which it never writes)."""

    def __init__(
        self,
        base: State,
        registry: ContractRegistry,
        *,
        height: int,
        time: int,
        prev_digest: bytes,
    ) -> None:
        self._registry = registry
        self._block = Overlay(base)
        self.height = height
        self.time = time
        self._prev_digest = prev_digest
        info = consortium_info(base)
        self.chain: bytes | None = None if info is None else info["chain_id"]
        if height > 0 and self.chain is None:
            raise LedgerError(f"no consortium state to apply height {height} to")

    @property
    def state(self) -> State:
        """The state as the block has left it so far (read it, never write it)."""
        return self._block

    @property
    def overlay(self) -> Overlay:
        """:attr:`state` as the overlay it is, for building the next block on it."""
        return self._block

    def execute(self, tx: bytes | SignedTransaction, index: int) -> TxResult:
        """Apply one transaction if it is valid; the result says what happened."""
        if isinstance(tx, bytes):
            try:
                stx = decode_transaction(tx)
            except EncodingError as exc:
                tx_id = hashlib.sha256(tx).digest()
                return TxResult(index, tx_id, False, f"malformed transaction: {exc}")
        else:
            stx = tx
        tx_id = stx.tx_id
        t = stx.tx
        overlay = Overlay(self._block)
        parties: tuple[str, ...] = ()
        try:
            if self.height == 0:
                self._genesis(overlay, stx, tx_id)
            else:
                role = self._admit(overlay, stx)
                self._apply(overlay, stx, tx_id, role)
            overlay.put(SEQ_TABLE, t.member, t.seq)
            if overlay.wrote(PARAMS):
                self._registry.check_params(params(overlay))
            for value in overlay.written_values():
                check_value(value)
            parties = self._parties(stx)
        except _Refused as exc:
            return self._refused(index, tx_id, stx, str(exc), exc.code)
        except ContractError as exc:
            return self._refused(index, tx_id, stx, exc.reason, exc.reason_code)
        except LedgerError as exc:
            return self._refused(index, tx_id, stx, str(exc), "refused")
        except Exception as exc:  # A contract bug must not halt the chain; see module doc.
            reason = f"contract failed: {type(exc).__name__}"
            return self._refused(index, tx_id, stx, reason, "contract_failed")
        overlay.commit()
        return TxResult(index, tx_id, True, "", t.member, t.kind, t.seq, t.time, parties)

    @staticmethod
    def _refused(
        index: int, tx_id: bytes, stx: SignedTransaction, reason: str, code: str
    ) -> TxResult:
        t = stx.tx
        return TxResult(index, tx_id, False, reason, t.member, t.kind, t.seq, t.time, code=code)

    def _admit(self, state: State, stx: SignedTransaction) -> str:
        """Steps 2–7; returns the member's role."""
        t = stx.tx
        if t.kind == GENESIS_KIND:
            raise _Refused("gov.genesis is only valid at height 0", "genesis")
        if t.chain != self.chain:
            raise _Refused("transaction is for another chain", "wrong_chain")
        member = get_member(state, t.member)
        if member is None:
            raise _Refused(f"unknown member {t.member!r}", "not_member")
        if not member.active:
            raise _Refused(f"member {t.member!r} is {member.status}", "not_member")
        try:
            verify_signature(member.signing_key, stx.payload, stx.signature)
        except SignatureError:
            raise _Refused(f"bad signature by {t.member!r}", "bad_signature") from None
        roles = self._registry.allowed_roles(t.kind)  # raises for an unknown kind
        if roles is not None and member.role not in roles:
            raise _Refused(f"role {member.role!r} may not submit {t.kind}", "role")
        last = state.get(SEQ_TABLE, t.member)
        if isinstance(last, int) and t.seq <= last:
            raise _Refused(
                f"sequence number {t.seq} of {t.member!r} is not above its last, {last} (replay?)",
                "stale_sequence",
            )
        window = max_clock_skew(state)
        if abs(t.time - self.time) > window:
            raise _Refused(
                f"claimed time {t.time} is more than {window} ms from block time {self.time}",
                "clock_skew",
            )
        return member.role

    def _apply(self, state: State, stx: SignedTransaction, tx_id: bytes, role: str) -> None:
        t = stx.tx
        ctx = TxContext(
            tx_id=tx_id,
            kind=t.kind,
            member=t.member,
            role=role,
            seq=t.seq,
            time=t.time,
            body=t.body,
            height=self.height,
            block_time=self.time,
        )
        self._registry.apply(state, ctx)

    def _genesis(self, state: State, stx: SignedTransaction, tx_id: bytes) -> None:
        t = stx.tx
        if t.kind != GENESIS_KIND:
            raise _Refused("the only transaction allowed at height 0 is gov.genesis")
        if consortium_info(self._block) is not None:
            raise _Refused("the genesis block holds exactly one gov.genesis transaction")
        self._apply(state, stx, tx_id, "member")
        info = consortium_info(state)
        if info is None:
            raise _Refused("gov.genesis created no consortium")
        self.chain = info["chain_id"]
        # The member, key and chain checks run against the state genesis created.
        self._admit_genesis_signer(state, stx)

    def _admit_genesis_signer(self, state: State, stx: SignedTransaction) -> None:
        t = stx.tx
        if t.chain != self.chain:
            raise _Refused("transaction is for another chain", "wrong_chain")
        member = get_member(state, t.member)
        if member is None or not member.active:
            raise _Refused(f"genesis signer {t.member!r} is not a founder")
        try:
            verify_signature(member.signing_key, stx.payload, stx.signature)
        except SignatureError:
            raise _Refused(f"bad signature by {t.member!r}", "bad_signature") from None

    def _parties(self, stx: SignedTransaction) -> tuple[str, ...]:
        contract = self._registry.contract_for(stx.tx.kind)
        if contract.parties is None:
            return ()
        found = {p for p in contract.parties(stx.tx.kind, stx.tx.body) if p != stx.tx.member}
        return tuple(sorted(found))

    def writes(self) -> list[Write]:
        """The block's write-set so far, sorted, values in canonical CBOR."""
        out: list[Write] = []
        for (table, key), value in sorted(self._block.writes.items(), key=lambda kv: kv[0]):
            encoded = None if isinstance(value, _Tombstone) else canonical_cbor(value)
            out.append((table, key, encoded))
        return out

    def finish(self) -> tuple[list[Write], bytes]:
        """The sorted write-set and the state digest after this block."""
        writes = self.writes()
        return writes, extend_state_digest(self._prev_digest, self.height, writes)


def signature_checks(
    state: State, txs: Sequence[SignedTransaction], registry: ContractRegistry
) -> list[tuple[bytes, bytes, bytes]]:
    """The ``(key, message, signature)`` checks executing ``txs`` will ask for.

    Keys come from ``state`` (the state before the block); a key that changes within
    the block only means the executor checks that signature itself. Nothing here
    decides validity: verdicts only fill :mod:`ledger._sig`'s cache of passed checks.
    """
    keys: dict[str, bytes | None] = {}

    def key_of(member_id: str) -> bytes | None:
        if member_id not in keys:
            member = get_member(state, member_id)
            keys[member_id] = None if member is None else member.signing_key
        return keys[member_id]

    items: list[tuple[bytes, bytes, bytes]] = []
    for stx in txs:
        key = key_of(stx.tx.member)
        if key is not None:
            items.append((key, stx.payload, stx.signature))
        try:
            contract = registry.contract_for(stx.tx.kind)
            hint = contract.signed_payloads
            extra: Iterable[tuple[str, bytes, bytes]] = (
                () if hint is None else hint(stx.tx.kind, stx.tx.body)
            )
            for member_id, message, signature in extra:
                key = key_of(member_id)
                if key is not None and isinstance(message, bytes) and isinstance(signature, bytes):
                    items.append((key, message, signature))
        except Exception:  # A hint is best effort (see Contract.signed_payloads).
            continue
    return items


def state_reads(
    txs: Sequence[SignedTransaction], registry: ContractRegistry
) -> list[tuple[str, str]]:
    """The ``(table, key)`` pairs the contracts say executing ``txs`` will read.

    Only a hint (:attr:`Contract.reads`), for :meth:`ledger.Store.preload`.
    """
    out: list[tuple[str, str]] = []
    for stx in txs:
        try:
            hint = registry.contract_for(stx.tx.kind).reads
            if hint is not None:
                out.extend(
                    (table, key)
                    for table, key in hint(stx.tx.kind, stx.tx.body)
                    if type(table) is str and type(key) is str
                )
        except Exception:  # A hint is best effort (see Contract.reads).
            continue
    return out


def prefetch_signatures(
    state: State,
    txs: Sequence[SignedTransaction],
    registry: ContractRegistry,
    verifier: BatchVerifier,
) -> None:
    """Check, on several threads, the signatures that executing ``txs`` will ask about."""
    verifier.verify_many(signature_checks(state, txs, registry))


def prefetch_in_chunks(
    state: State,
    txs: Sequence[SignedTransaction],
    registry: ContractRegistry,
    verifier: BatchVerifier,
    chunk: int,
) -> list[Future[list[bool]]]:
    """Start checking ``txs``' signatures in the background, ``chunk`` transactions each.

    Future ``k`` covers ``txs[k * chunk : (k + 1) * chunk]``. A caller that waits for
    future ``k`` before executing those transactions executes chunk ``k`` while the
    verifier's threads check the chunks after it: the checks (C code, the GIL released)
    overlap the execution (Python), instead of preceding it.
    """
    return [
        verifier.submit(signature_checks(state, txs[i : i + chunk], registry))
        for i in range(0, len(txs), chunk)
    ]
