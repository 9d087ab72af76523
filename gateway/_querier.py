"""The querier's side of a query: normalise, blind, ask, verify, look up (DESIGN §4, §6).

For each responder, separately and in parallel:

1. the responder must publish the list type (``pub.index``) with an OPRF key committed
   in ``pub.oprf_keys``; its verified snapshot is brought up to the committed epoch
   (snapshot mode), unless bucket mode was asked for;
2. the identifiers are blinded afresh (two responders never see related elements), a
   request naming the responder, list type, count, purpose, the digest of exactly
   these elements and the OPRF key id the answer must be made under (the one
   ``pub.index`` names, which the snapshot was made with) is signed, and
   ``EvaluateBatch`` is called with a deadline. The receipt signs the request's digest,
   so a refund claim is judged on the ledger against that same key. In bucket mode the
   prefix length follows the size the responder declared, which nothing checks, so it
   is capped by the consortium (``pub.bucket_max_bits``, else ``psi.BUCKET_MAX_BITS``);
3. the answer must carry the responder's receipt, signed by its registered key, over
   this request's digest and this response's digest; the DLEQ proof must verify under
   the committed key (``psi``); only then are outputs finalized and looked up;
4. failures: a refusal (a precise status from the responder's error boundary) is
   reported as it is and never retried; an unreachable responder or a lost answer is
   retried with a new request after asking for the stored answer of the old one
   (``FetchResponse``: if the responder did answer and charge, the answer is recovered
   rather than paid for twice) — and asked again before every later attempt, since a
   responder that crashed after storing its answer can only hand it over once it is
   back; an answer that does not verify is kept, so the charge
   can be refunded (``credits.refund``) once its receipt is on the ledger. A bucket
   answer that does not verify (another bucket, or fewer than ``psi.MIN_BUCKET``
   entries: the declared size was a lie) is refused, and so is bucket mode for that
   list until the responder publishes a new epoch (nothing binds buckets to the
   receipt, so the ledger cannot judge a refund for them);
5. what hit is kept for the hit report (``token_incentive.hit_report``: per identifier
   that hit, the receipt ids of the responders that said yes), which the recorder
   submits as ``credits.hits`` once those receipts are recorded (``gateway._hits``).
   Canary probes and observers report nothing.

Every request is signed with the query's purpose code, legal basis and consent
reference (docs/COMPLIANCE.md); the legal basis defaults to the gateway's
``[query] legal_basis``.

Nothing here logs or returns an identifier except in the querier's own result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters import Rejected, normalise
from gateway._asking import (
    RETRYABLE,
    BucketRefuted,
    Context,
    Failure,
    RefundDue,
    Reply,
    bucket_bits,
    bucket_prefixes,
    judge,
    retry_after,
)
from gateway._errors import (
    GatewayError,
    PeerIdentityError,
    PermissionDeniedError,
    UnavailableError,
)
from gateway._localstate import LocalState
from gateway._log import log_event
from gateway._pb.riskshare.psi.v1 import psi_pb2
from gateway._peers import PeerChannels
from gateway._snapshots import SnapshotBook, published_commitment, publishers
from gateway._status import error_from_rpc
from gateway._stubs import psi_stub
from ledger import (
    Store,
    bucket_max_bits,
    consortium_info,
    get_member,
    index_row,
    now_ms,
    oprf_key,
)
from psi import (
    BUCKET_MAX_BITS,
    PendingQuery,
    PsiError,
    prepare_query,
)
from token_incentive import (
    CANARY_PURPOSE,
    CreditsError,
    MessageError,
    QueryRequest,
    hit_report,
    sign_request,
)

__all__ = ["MemberAnswer", "Querier", "QueryResult"]

_log = logging.getLogger("riskshare.gateway.querier")


@dataclass(frozen=True, slots=True)
class MemberAnswer:
    """One responder's answer: a verdict per accepted identifier, or why there is none."""

    member_id: str
    hits: tuple[bool, ...] = ()
    labels: tuple[Any, ...] = ()
    error_code: str = ""
    error: str = ""
    receipt_id: str = ""
    epoch: int = 0
    attempts: int = 0
    refund_pending: bool = False

    @property
    def ok(self) -> bool:
        return not self.error_code


@dataclass(frozen=True, slots=True)
class QueryResult:
    list_type: str
    id_type: str
    accepted: tuple[int, ...]
    rejected: tuple[tuple[int, str], ...]
    answers: tuple[MemberAnswer, ...] = field(default_factory=tuple)

    def hit(self, position: int) -> bool:
        """Whether the accepted identifier at ``position`` is listed by any responder."""
        return any(a.ok and a.hits[position] for a in self.answers)


class Querier:
    def __init__(
        self,
        *,
        member_id: str,
        signing_key: Ed25519PrivateKey,
        store: Store,
        local: LocalState,
        peers: PeerChannels,
        snapshots: SnapshotBook,
        rng: Callable[[int], bytes],
        retries: int = 2,
        legal_basis: str = "legitimate_interest",
        metrics: Any | None = None,
        refunds: Callable[[str, Sequence[bytes], bytes, bytes], None] | None = None,
    ) -> None:
        self.member_id = member_id
        self._key = signing_key
        self._store = store
        self._local = local
        self._peers = peers
        self._snapshots = snapshots
        self._rng = rng
        self._retries = retries
        self._legal_basis = legal_basis
        self._metrics = metrics
        self._refunds = refunds
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ask")
        self._seq_lock = threading.Lock()
        self._seq = 0
        # (responder, list type) -> (epoch, why): a list whose bucket answer did not
        # verify at that epoch; bucket mode is refused for it until the next epoch.
        self._refuted: dict[tuple[str, str], tuple[int, str]] = {}

    def _next_seq(self) -> int:
        # Request ids, not sequence numbers, make receipts unique; the sequence only
        # orders one querier's requests, so a clock-seeded counter in memory keeps it
        # increasing across restarts without a disk write on every query.
        with self._seq_lock:
            self._seq = max(self._seq + 1, time.time_ns() // 1000)
            return self._seq

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def query(
        self,
        list_type: str,
        id_type: str,
        values: Sequence[str],
        *,
        members: Sequence[str] = (),
        purpose: str = "screening",
        deadline_ms: int = 5000,
        bucket_mode: bool = False,
        legal_basis: str = "",
        consent_ref: str | None = None,
    ) -> QueryResult:
        """Screen ``values`` against ``members`` (default: every publisher of the list).

        ``legal_basis`` (empty: the gateway's default) and ``consent_ref`` are signed
        into every request, as the purpose is.
        """
        basis = legal_basis or self._legal_basis
        for name, text in (("purpose", purpose), ("legal basis", basis)):
            if not 1 <= len(text) <= 256:
                raise MessageError(f"the {name} is text of 1 to 256 characters")
        if consent_ref is not None and not 1 <= len(consent_ref) <= 256:
            raise MessageError("a consent reference is text of 1 to 256 characters")
        accepted: list[int] = []
        normalised: list[str] = []
        rejected: list[tuple[int, str]] = []
        for position, value in enumerate(values):
            try:
                normalised.append(normalise(id_type, value))
                accepted.append(position)
            except Rejected as exc:
                rejected.append((position, exc.reason))
        now = now_ms()
        targets = list(members) or publishers(self._store, list_type, now, exclude=self.member_id)
        if self.member_id in targets:
            raise PermissionDeniedError("a member may not query itself")
        answers: list[MemberAnswer] = []
        if normalised and targets:
            futures = [
                self._pool.submit(
                    self._ask,
                    m,
                    list_type,
                    id_type,
                    normalised,
                    (purpose, basis, consent_ref),
                    deadline_ms,
                    bucket_mode,
                )
                for m in targets
            ]
            answers = [f.result() for f in futures]
            if purpose != CANARY_PURPOSE:
                self._keep_hits(answers, now)
        return QueryResult(list_type, id_type, tuple(accepted), tuple(rejected), tuple(answers))

    def _keep_hits(self, answers: Sequence[MemberAnswer], now: int) -> None:
        """Queue this query's hit report (receipt ids only) for the recorder."""
        ok = [(a.receipt_id, a.hits) for a in answers if a.ok and a.receipt_id]
        try:
            body = hit_report(ok)
        except CreditsError:
            return
        if body is None:
            return
        me = get_member(self._store.state(), self.member_id)
        if me is None or me.role != "member":
            return  # only members report hits (an observer's probes are canaries)
        items = body["items"]
        assert isinstance(items, list)
        self._local.queue_hit_report([[str(rid) for rid in item] for item in items], now)

    # -- one responder -----------------------------------------------------------------

    def _ask(
        self,
        responder: str,
        list_type: str,
        id_type: str,
        values: list[str],
        purpose: tuple[str, str, str | None],
        deadline_ms: int,
        bucket_mode: bool,
    ) -> MemberAnswer:
        started = time.perf_counter()
        attempts = 0
        outcome = "error"
        # Requests whose answer was lost in transit: the responder may have stored (and
        # will charge) it, so each later attempt first asks for it again.
        lost: list[tuple[PendingQuery, Any]] = []
        try:
            # The responder's address must present the certificate the ledger registers
            # for it before anything is asked of it, its snapshot included.
            self._peers.channel(responder, wait=deadline_ms / 1000)
            context = self._context(responder, list_type, bucket_mode)
            while True:
                attempts += 1
                try:
                    answer = self._attempt(
                        responder, list_type, id_type, values, purpose, deadline_ms, context, lost
                    )
                    outcome = "hit" if any(answer.hits) else "miss"
                    return _with_attempts(answer, attempts)
                except Failure as failure:
                    wait = retry_after(failure, attempts, self._retries)
                    if wait is None:
                        outcome = failure.code
                        return MemberAnswer(
                            responder,
                            error_code=failure.code,
                            error=failure.message,
                            attempts=attempts,
                        )
                    time.sleep(wait)
        except PeerIdentityError as exc:
            # Its address presents a certificate the ledger does not register for it.
            outcome = "UNAUTHENTICATED"
            return MemberAnswer(
                responder, error_code="UNAUTHENTICATED", error=str(exc), attempts=attempts
            )
        except GatewayError as exc:
            outcome = "error"
            return MemberAnswer(
                responder, error_code="UNAVAILABLE", error=str(exc), attempts=attempts
            )
        except Exception:
            # A defect on one responder's path must not fail the whole broadcast: the
            # other responders' answers are signed and will be charged, so the caller
            # must get them. Logged by type and traceback only (gateway._log).
            _log.error("query failed", exc_info=True, extra={"peer": responder})
            return MemberAnswer(
                responder,
                error_code="INTERNAL",
                error="internal error (see the gateway log)",
                attempts=attempts,
            )
        finally:
            elapsed = time.perf_counter() - started
            if self._metrics is not None:
                self._metrics.query_seconds.labels(responder).observe(elapsed)
                self._metrics.queries_made.labels(responder, list_type, outcome).inc()
            log_event(
                _log,
                "query",
                peer=responder,
                list_type=list_type,
                items=len(values),
                attempts=attempts,
                outcome=outcome,
                ms=round(elapsed * 1000, 3),
            )

    def _context(self, responder: str, list_type: str, bucket_mode: bool) -> Context:
        state = self._store.state()
        member = get_member(state, responder)
        if member is None or not member.active or member.role != "member":
            raise GatewayError(f"{responder} is not an active member")
        row = index_row(state, responder, list_type)
        if row is None:
            raise GatewayError(f"{responder} publishes no {list_type} list")
        key = oprf_key(state, responder, row.key_id)
        if key is None:
            raise GatewayError(f"{responder} committed no OPRF key {row.key_id}")
        commitment = published_commitment(self._store, responder, list_type, 0)
        info = consortium_info(state)
        assert info is not None and commitment is not None
        snapshot = None if bucket_mode else self._snapshots.current(responder, list_type)
        cap = bucket_max_bits(state)
        return Context(
            member=member,
            key_id=row.key_id,
            public_key=key.public_key,
            size=row.size,
            epoch=row.epoch,
            bucket_cap=BUCKET_MAX_BITS if cap is None else cap,
            normaliser=str(info["normaliser_version"]),
            commitment=commitment,
            snapshot=snapshot,
        )

    def _request(
        self,
        pending: PendingQuery,
        responder: str,
        list_type: str,
        id_type: str,
        purpose: str | tuple[str, str, str | None],
        normaliser: str,
        key_id: str,
    ) -> Any:
        # (purpose code, legal basis, consent reference); a bare code takes the defaults.
        code, basis, consent = (
            (purpose, self._legal_basis, None) if isinstance(purpose, str) else purpose
        )
        request = QueryRequest(
            request_id=self._rng(16),
            querier=self.member_id,
            responder=responder,
            list_type=list_type,
            id_type=id_type,
            item_count=len(pending.blinded),
            purpose_code=code,
            legal_basis=basis,
            consent_ref=consent,
            blinded_digest=pending.digest(),
            seq=self._next_seq(),
            time=now_ms(),
            normaliser_version=normaliser,
            key_id=key_id,
        )
        return sign_request(request, self._key)

    def _attempt(
        self,
        responder: str,
        list_type: str,
        id_type: str,
        values: list[str],
        purpose: tuple[str, str, str | None],
        deadline_ms: int,
        context: Context,
        lost: list[tuple[PendingQuery, Any]],
    ) -> MemberAnswer:
        try:
            # Pinned to the certificate the ledger registers (gateway._peers).
            channel = self._peers.channel(responder, wait=deadline_ms / 1000)
        except PeerIdentityError as exc:
            raise Failure("UNAUTHENTICATED", str(exc)) from None
        except UnavailableError as exc:
            raise Failure("UNAVAILABLE", str(exc)) from None
        stub = psi_stub(channel)
        for pending, signed in list(lost):
            recovered = self._recover(stub, signed.receipt_id, deadline_ms)
            if recovered is not None:
                lost.remove((pending, signed))
                return self._answer(responder, list_type, context, pending, signed, recovered, 0)
        bits = bucket_bits(context, responder, list_type, self._refuted.get((responder, list_type)))
        try:
            pending = prepare_query(list_type, [(id_type, v) for v in values], self._rng)
        except PsiError as exc:
            raise Failure("INVALID_ARGUMENT", f"cannot query: {exc}") from None
        signed = self._request(
            pending, responder, list_type, id_type, purpose, context.normaliser, context.key_id
        )
        evaluate = psi_pb2.EvaluateRequest(
            list_type=list_type,
            normaliser_version=context.normaliser,
            signed_request=signed.to_bytes(),
            blinded=pending.request(),
            key_id=context.key_id,
        )
        try:
            if bits:
                reply = stub.BucketQuery(
                    psi_pb2.BucketQueryRequest(
                        evaluate=evaluate,
                        prefix_bits=bits,
                        prefixes=bucket_prefixes(list_type, id_type, values, bits),
                    ),
                    timeout=deadline_ms / 1000,
                    wait_for_ready=True,
                )
                answer = _reply(reply.evaluate, [b.tags for b in reply.buckets])
            else:
                answer = _reply(
                    stub.EvaluateBatch(evaluate, timeout=deadline_ms / 1000, wait_for_ready=True)
                )
        except grpc.RpcError as exc:
            error = error_from_rpc(exc)
            if error.code not in RETRYABLE:
                raise Failure(error.code, str(error), error.reason_code) from None
            # The next attempt checks the responder's certificate again: if its address
            # now presents another one, that is the answer, not a timeout.
            self._peers.forget(responder, channel)
            # A stored answer has no buckets: only snapshot mode can recover one.
            recovered = None if bits else self._recover(stub, signed.receipt_id, deadline_ms)
            if recovered is None:
                if not bits:
                    lost.append((pending, signed))
                raise Failure(error.code, str(error)) from None
            answer = recovered
        return self._answer(responder, list_type, context, pending, signed, answer, bits)

    def _recover(self, stub: Any, receipt_id: str, deadline_ms: int) -> Reply | None:
        """The stored answer to a request whose reply was lost, if the responder has one."""
        try:
            return _reply(
                stub.FetchResponse(
                    psi_pb2.FetchResponseRequest(receipt_id=receipt_id),
                    timeout=deadline_ms / 1000,
                )
            )
        except grpc.RpcError:
            return None

    def _answer(
        self,
        responder: str,
        list_type: str,
        context: Context,
        pending: PendingQuery,
        signed: Any,
        reply: Reply,
        bits: int,
    ) -> MemberAnswer:
        """Act on the core's verdict: answer, claim the refund, or refute bucket mode."""
        verdict = judge(responder, context, pending, signed.digest, reply, bits)
        if isinstance(verdict, RefundDue):
            if self._refunds is not None:
                self._refunds(signed.receipt_id, pending.blinded, verdict.evaluated, verdict.proof)
            return MemberAnswer(
                responder,
                error_code="DATA_LOSS",
                error=verdict.message,
                receipt_id=signed.receipt_id,
                refund_pending=self._refunds is not None,
            )
        if isinstance(verdict, BucketRefuted):
            self._refuted[(responder, list_type)] = (verdict.epoch, verdict.why)
            return MemberAnswer(
                responder,
                error_code="DATA_LOSS",
                error=f"{responder}'s {verdict.why}; answer refused",
                receipt_id=signed.receipt_id,
            )
        return MemberAnswer(
            responder,
            hits=verdict.hits,
            labels=verdict.labels,
            receipt_id=signed.receipt_id,
            epoch=verdict.epoch,
        )


def _reply(response: Any, buckets: Sequence[bytes] = ()) -> Reply:
    return Reply(
        bytes(response.signed_receipt),
        bytes(response.evaluated),
        bytes(response.proof),
        int(response.epoch),
        tuple(bytes(b) for b in buckets),
    )


def _with_attempts(answer: MemberAnswer, attempts: int) -> MemberAnswer:
    return MemberAnswer(
        answer.member_id,
        answer.hits,
        answer.labels,
        answer.error_code,
        answer.error,
        answer.receipt_id,
        answer.epoch,
        attempts,
        answer.refund_pending,
    )
