"""The responder's side of a query: ``riskshare.psi.v1.Psi`` over the member's index.

Every RPC checks first and works second. EvaluateBatch (and BucketQuery, which adds
its buckets) keeps this order, cheapest first, so that a refused request costs the
responder little and is never recorded or charged:

1. the caller is an active member of role ``member``, or an observer (the auth
   interceptor) whose request is a canary probe (purpose ``canary``;
   ``token_incentive.check_request`` refuses anything else from an observer);
2. the normaliser version is ours (FAILED_PRECONDITION otherwise);
3. the batch is a whole number of 32-byte elements, at most ``gateway.max_batch``;
4. the signed request decodes, names the caller as querier and this member as
   responder, is signed by the caller's registered key, and commits to exactly these
   bytes (count and digest) on this list type;
5. it was not answered before (ALREADY_EXISTS: a replay);
6. the caller's element budget allows it (RESOURCE_EXHAUSTED, reason rate_limited);
7. every admission rule (``token_incentive.check_request``: freshness on our clock,
   list types, reciprocity, credit admission, canary bounds, the key's standing on the
   ledger), judged **under one lock per querier across our worker processes** against
   what we answered the querier that our replica does not show charged yet
   (``LocalState.reserve``): six concurrent requests for a whole allowance get one
   answer, not six. The request is reserved in the same transaction;
8. under the same lock, the OPRF key the signed request names (an
   ``EvaluateRequest.key_id`` naming another is refused) is one this member answers
   under: its index's current key, or — during a rotation — the previous one of this
   list, kept until the ledger retires it (``gateway._rotation``), so that queriers
   whose replicas have not seen the new key yet are still answered. The receipt binds
   that key (it signs the request's digest), and a refund claim is judged against it,
   however late the receipt is recorded. A request naming no key (an older client)
   stands, on the ledger, for the key ``pub.index`` shows at recording, so it is
   answered under the key our replica shows published and no other;
9. the blinded elements decode (canonical, non-identity ristretto255 points) — the
   first work proportional to the batch;

then the batch is evaluated with a DLEQ proof, the receipt signed over the request and
response digests and our clock, and the answer stored for the supervisor to record on
the ledger. Once answered, an answer is charged: the ledger records our receipt as a
fact and does not judge the querier again (``token_incentive``), so nothing the querier
does after step 7 (age its request, let its list expire, spend its balance elsewhere,
leave) makes an answer free. A refusal after the reservation releases it. Logs carry
counts and digests only.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway._errors import (
    PermissionDeniedError,
    ReplayError,
    UnavailableError,
    VersionMismatchError,
)
from gateway._interceptors import call_info, current_peer
from gateway._localstate import Answered, LocalState
from gateway._pb.riskshare.psi.v1 import psi_pb2, psi_pb2_grpc
from gateway._ratelimit import RateLimiter
from gateway._rotation import RetainedKeys
from ledger import (
    ServedSnapshot,
    Store,
    consortium_info,
    index_row,
    list_types,
    now_ms,
    oprf_key,
)
from psi import (
    MAX_BATCH,
    Commitment,
    IndexStore,
    KeyPair,
    ProtocolError,
    StoreError,
    decode_elements,
    encode_elements,
    evaluate_batch,
)
from token_incentive import (
    CheckedRequest,
    Exposure,
    MessageError,
    QueryReceipt,
    SignedReceipt,
    SignedRequest,
    blinded_digest,
    check_request,
    open_canaries,
    recorded_receipt,
    response_digest,
    sign_receipt,
)

__all__ = ["CHUNK_BYTES", "PsiService"]

_log = logging.getLogger("riskshare.gateway.responder")

CHUNK_BYTES = 1 << 20


class PsiService(psi_pb2_grpc.PsiServicer):
    def __init__(
        self,
        *,
        member_id: str,
        signing_key: Ed25519PrivateKey,
        store: Store,
        index_path: Path,
        local: LocalState,
        elements: RateLimiter,
        rng: Callable[[int], bytes],
        max_batch: int = 10_000,
        software_version: str = "",
        metrics: Any | None = None,
        clock_ms: Callable[[], int] = now_ms,
        index: IndexStore | None = None,
        retained: RetainedKeys | None = None,
    ) -> None:
        self.member_id = member_id
        self._key = signing_key
        self._store = store
        self._index_path = index_path
        self._index = index
        self._index_lock = threading.Lock()
        self._local = local
        self._elements = elements
        self._rng = rng
        self._max_batch = min(max_batch, MAX_BATCH)
        self._software = software_version
        self._metrics = metrics
        self._clock = clock_ms
        self._retained = retained

    # -- helpers -----------------------------------------------------------------------

    def index(self) -> IndexStore:
        """The member's index, opened on first use (lists may be imported after start)."""
        with self._index_lock:
            if self._index is None:
                if not self._index_path.exists():
                    raise StoreError("this member publishes no lists yet")
                self._index = IndexStore(self._index_path)
            return self._index

    def _current(self, list_type: str) -> tuple[IndexStore, Commitment]:
        """The index and its current commitment, the key in memory being the one it names.

        An ``IndexStore`` keeps a list's key pair in memory once read, and the key can be
        rotated by another process (``gateway._rotation``); this process would then go
        on evaluating and exporting under the old key. Commitments are read from the
        file every time, so a mismatch means: open the index afresh.
        """
        index = self.index()
        commitment = index.commitment(list_type)
        if index.key(list_type).key_id != commitment.key_id:
            with self._index_lock:
                # The old instance is not closed: other threads may still be using it.
                self._index = index = IndexStore(self._index_path)
            commitment = index.commitment(list_type)
        return index, commitment

    def _kept_key(self, list_type: str, key_id: str) -> KeyPair:
        """A previous key of this list still answering: kept here, not retired on the
        ledger. (The ledger does not know which list a key was made for; we do.)"""
        key = None if self._retained is None else self._retained.get(key_id)
        if key is not None and self._retained is not None:
            key = key if (key_id, list_type) in self._retained.held() else None
        row = oprf_key(self._store.state(), self.member_id, key_id)
        if key is None or row is None or not row.active:
            raise VersionMismatchError(
                f"the querier expects another {list_type} OPRF key than ours"
            )
        return key

    def _normaliser(self) -> str:
        info = consortium_info(self._store.state())
        if info is None:
            raise UnavailableError("the local ledger has no genesis yet")
        return str(info["normaliser_version"])

    def _published_key(self, list_type: str) -> str:
        row = index_row(self._store.state(), self.member_id, list_type)
        if row is None:
            raise StoreError(f"no {list_type} list is published on the ledger")
        return row.key_id

    # -- information -------------------------------------------------------------------

    def GetInfo(self, request: Any, context: Any) -> Any:
        state = self._store.state()
        registered = list_types(state)
        lists = []
        try:
            index = self.index()
            held = index.list_types()
        except StoreError:
            held = []
        for list_type in held:
            commitment = index.commitment(list_type)
            lists.append(
                psi_pb2.ListInfo(
                    list_type=list_type,
                    id_types=list(registered.get(list_type, {}).get("id_types", [])),
                    epoch=commitment.epoch,
                    size=commitment.size,
                    key_id=commitment.key_id.hex(),
                    labels=commitment.label_bytes > 0,
                )
            )
        head = self._store.head()
        return psi_pb2.GatewayInfo(
            member_id=self.member_id,
            normaliser_version=self._normaliser(),
            lists=lists,
            software_version=self._software,
            max_batch=self._max_batch,
            ledger_height=max(0, self._store.height),
            ledger_head=head.hash if head else b"",
        )

    def GetCommitment(self, request: Any, context: Any) -> Any:
        _, commitment = self._current(request.list_type)
        return psi_pb2.IndexCommitment(
            member_id=self.member_id,
            list_type=commitment.list_type,
            epoch=commitment.epoch,
            size=commitment.size,
            root=commitment.tags_root,
            snapshot_digest=commitment.snapshot_digest,
            key_id=commitment.key_id.hex(),
            ledger_height=max(0, self._store.height),
            normaliser_version=commitment.normaliser_version,
            label_bytes=commitment.label_bytes,
        )

    def _chunks(
        self, data: bytes, epoch: int, from_epoch: int, served: tuple[bytes, bytes] | None = None
    ) -> Iterator[Any]:
        count = max(1, -(-len(data) // CHUNK_BYTES))
        for i in range(count):
            last = i == count - 1
            statement, signature = served if last and served is not None else (b"", b"")
            yield psi_pb2.SnapshotChunk(
                epoch=epoch,
                index=i,
                data=data[i * CHUNK_BYTES : (i + 1) * CHUNK_BYTES],
                last=last,
                from_epoch=from_epoch,
                served_statement=statement,
                served_signature=signature,
            )

    def _may_fetch(self) -> None:
        """An observer looks tags up only to read its canary probes' answers: without
        an open canary it has no use for a snapshot, and gets none."""
        peer = current_peer()
        if peer.role == "observer" and open_canaries(self._store.state(), peer.id) == 0:
            raise PermissionDeniedError("an observer with no open canary gets no snapshot")

    def StreamSnapshot(self, request: Any, context: Any) -> Iterator[Any]:
        self._may_fetch()
        index, commitment = self._current(request.list_type)
        if request.epoch and request.epoch != commitment.epoch:
            raise StoreError(f"only the current epoch ({commitment.epoch}) is served")
        data = index.export_snapshot(request.list_type)
        chain = self._store.chain_id
        if chain is None:
            raise UnavailableError("the local ledger has no genesis yet")
        # What we serve, signed: a querier holds us to it (pub.complain) if it ever
        # contradicted what we published for this epoch.
        served = ServedSnapshot(
            chain=chain,
            member=self.member_id,
            list_type=commitment.list_type,
            epoch=commitment.epoch,
            size=commitment.size,
            digest=hashlib.sha256(data).digest(),
        ).sign(self._key)
        yield from self._chunks(data, commitment.epoch, 0, served)

    def StreamDelta(self, request: Any, context: Any) -> Iterator[Any]:
        self._may_fetch()
        index, commitment = self._current(request.list_type)
        if request.to_epoch and request.to_epoch != commitment.epoch:
            raise StoreError(f"deltas end at the current epoch ({commitment.epoch})")
        data = index.export_delta(request.list_type, request.from_epoch)
        yield from self._chunks(data, commitment.epoch, request.from_epoch)

    # -- evaluation --------------------------------------------------------------------

    def _admit(self, request: Any) -> tuple[SignedRequest, str]:
        """Steps 1–8 of the module docstring; the request, reserved, and the key to use."""
        peer = current_peer()
        ours = self._normaliser()
        if request.normaliser_version != ours:
            raise VersionMismatchError(
                f"normaliser version {request.normaliser_version!r} is not ours ({ours!r})"
            )
        raw = bytes(request.blinded)
        if not raw or len(raw) % 32 or len(raw) // 32 > self._max_batch:
            raise ProtocolError("the batch is not 1 to max_batch 32-byte elements")
        chunks = [raw[i : i + 32] for i in range(0, len(raw), 32)]
        signed = SignedRequest.from_bytes(bytes(request.signed_request))
        req = signed.request
        if req.querier != peer.id:
            raise PermissionDeniedError("the request is signed for another querier")
        signed.verify(peer.signing_key)
        if req.normaliser_version != ours:
            raise VersionMismatchError(f"the request's normaliser version is not ours ({ours!r})")
        if req.list_type != request.list_type or req.item_count != len(chunks):
            raise MessageError("the request does not describe this batch")
        if req.blinded_digest != blinded_digest(chunks):
            raise MessageError("the request commits to other blinded elements")
        receipt_id = signed.receipt_id
        if self._local.seen(receipt_id) or recorded_receipt(self._store.state(), receipt_id):
            raise ReplayError("this request was answered before")
        self._elements.charge(peer.id, len(chunks), time.monotonic())
        now = self._clock()
        # The height before the state: answers committed above it may be missing from
        # the balance read next, so they count as pending (counted twice, never missed).
        height = self._store.height
        state = self._store.state()

        def admit(pending: Exposure) -> tuple[CheckedRequest, str]:
            checked = check_request(state, signed, self.member_id, now, pending=pending)
            return checked, self._named_key(request.key_id, req.key_id, req.list_type)

        _, key_id = self._local.reserve(
            receipt_id,
            req.querier,
            req.list_type,
            req.item_count,
            now_ms=now,
            height=height,
            admit=admit,
            charge_of=lambda decided: decided[0].charge,
        )
        return signed, key_id

    def _named_key(self, asked: str, signed: str | None, list_type: str) -> str:
        """The key to answer under; _evaluate checks that it is one we answer under.

        The signed request decides: the receipt binds its key and the ledger judges a
        refund claim against it. A request naming none stands for the key the ledger
        shows when the receipt is recorded, so it is answered only under the one ours
        shows now (a rotation published in between can still cost such an answer).
        """
        if signed is not None:
            if asked and asked != signed:
                raise MessageError("the request signs another OPRF key than it asks for")
            return signed
        published = self._published_key(list_type)
        if asked and asked != published:
            raise VersionMismatchError(
                f"a request naming no OPRF key is answered under our published {list_type} key only"
            )
        return published

    def _evaluate(
        self, request: Any, *, buckets: Callable[[IndexStore], list[bytes]] | None = None
    ) -> tuple[Any, list[bytes]]:
        """Admit, then answer: the response and, for a bucket query, its buckets."""
        signed, key_id = self._admit(request)
        try:
            blinded = decode_elements(bytes(request.blinded), max_count=self._max_batch)
            index, commitment = self._current(request.list_type)
            answered_buckets: list[bytes] = []
            if key_id == commitment.key_id.hex():
                if buckets is not None:
                    answered_buckets = buckets(index)
                evaluated, proof = index.evaluate(request.list_type, blinded, self._rng)
            elif buckets is not None:
                # Bucket answers come from the index, which holds tags under its key only.
                raise VersionMismatchError("the querier expects another OPRF key than the index's")
            else:
                kept = self._kept_key(request.list_type, key_id)
                evaluated, proof = evaluate_batch(kept, blinded, self._rng)
        except BaseException:
            self._local.release(signed.receipt_id)
            raise
        now = self._clock()
        receipt = sign_receipt(
            QueryReceipt(signed.digest, response_digest(evaluated, proof), now), self._key
        )
        self._local.record_answer(
            Answered(
                receipt_id=signed.receipt_id,
                querier=signed.request.querier,
                list_type=signed.request.list_type,
                items=len(blinded),
                received_ms=now,
                request=signed.data,
                request_sig=signed.signature,
                receipt=receipt.data,
                receipt_sig=receipt.signature,
                response=encode_elements(evaluated) + proof,
                key_id=key_id,
            )
        )
        info = call_info()
        if info is not None:
            info.fields.update(items=len(blinded), list_type=request.list_type)
        if self._metrics is not None:
            self._metrics.elements_evaluated.labels(current_peer().id, request.list_type).inc(
                len(blinded)
            )
        response = psi_pb2.EvaluateResponse(
            evaluated=encode_elements(evaluated),
            proof=proof,
            key_id=key_id,
            signed_receipt=receipt.to_bytes(),
            epoch=commitment.epoch,
        )
        return response, answered_buckets

    def EvaluateBatch(self, request: Any, context: Any) -> Any:
        return self._evaluate(request)[0]

    def BucketQuery(self, request: Any, context: Any) -> Any:
        bits = request.prefix_bits
        if not 1 <= bits <= 32:
            raise ProtocolError("prefix_bits must be between 1 and 32")
        width = -(-bits // 8)
        raw = bytes(request.prefixes)
        count = len(bytes(request.evaluate.blinded)) // 32
        if len(raw) != width * count:
            raise ProtocolError("one prefix per blinded element is required")
        prefixes = [int.from_bytes(raw[i : i + width], "big") for i in range(0, len(raw), width)]
        if any(p >= 1 << bits for p in prefixes):
            raise ProtocolError("prefix out of range")
        list_type = request.evaluate.list_type

        def read(index: IndexStore) -> list[bytes]:
            # After admission (the buckets are the expensive part) and before
            # evaluating: a bucket under the minimum refuses the whole request, which
            # then leaves no receipt.
            found = {p: index.bucket(list_type, p, bits) for p in sorted(set(prefixes))}
            return [found[p] for p in prefixes]

        response, buckets = self._evaluate(request.evaluate, buckets=read)
        return psi_pb2.BucketQueryResponse(
            evaluate=response, buckets=[psi_pb2.Bucket(tags=b) for b in buckets]
        )

    def FetchResponse(self, request: Any, context: Any) -> Any:
        answer = self._local.answer(request.receipt_id, current_peer().id)
        if answer is None:
            raise StoreError("no answer to such a request of yours")
        body = answer.response
        receipt = SignedReceipt.from_parts(answer.receipt, answer.receipt_sig)
        return psi_pb2.EvaluateResponse(
            evaluated=body[:-64],
            proof=body[-64:],
            key_id=answer.key_id,
            signed_receipt=receipt.to_bytes(),
        )
