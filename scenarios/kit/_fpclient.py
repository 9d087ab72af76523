"""Computing fingerprints with the registry: blind, evaluate with proof, finalise.

The three steps of one evaluation, as pure functions (randomness and ``now`` are
arguments; transport is the gateway's business):

1. :func:`request_fingerprints` — the financier blinds its fingerprint inputs and signs
   a ``QueryRequest`` committing to the blinded batch.
2. :func:`evaluate_fingerprints` — the registry checks the request (its signature, that
   it is addressed to the registry, fresh, and commits to exactly these elements),
   evaluates with a batched DLEQ proof under its key and signs a ``QueryReceipt`` over
   the request and the response.
3. :func:`finish_fingerprints` — the financier checks the receipt and the proof against
   the key committed on the ledger, and finalises. A fingerprint is the first 32 bytes
   of the RFC 9497 output.

The registry's gateway admits the request first (``token_incentive.check_oracle_request``:
freshness, credit) and records the signed request and receipt as a ``credits.receipt``
once it has answered. Every way a peer's message can be bad raises
:class:`FingerprintError`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from psi import KeyPair, PsiError, evaluate_batch, key_id
from psi.hazmat import blind_batch, finalize_batch
from scenarios._errors import FingerprintError
from scenarios.kit._documents import DOCUMENT_NORMALISER_VERSION
from scenarios.kit._fingerprints import FP_SIZE
from scenarios.kit._fpservice import FINGERPRINT_LIST_TYPE, FINGERPRINT_PURPOSE
from token_incentive import (
    MessageError,
    QueryReceipt,
    QueryRequest,
    SignedReceipt,
    SignedRequest,
    blinded_digest,
    response_digest,
    sign_receipt,
    sign_request,
)

__all__ = [
    "MAX_FINGERPRINTS",
    "FingerprintRequest",
    "FingerprintResponse",
    "evaluate_fingerprints",
    "finish_fingerprints",
    "request_fingerprints",
]

Rng = Callable[[int], bytes]
# A registration carries at most 16 exact and 16 similar fingerprints.
MAX_FINGERPRINTS = 32
_NORMALISER = f"doc-v{DOCUMENT_NORMALISER_VERSION}"


@dataclass(frozen=True, slots=True)
class FingerprintRequest:
    """What the financier keeps until the answer comes; only ``signed`` and ``blinded``
    are sent. The inputs and blinds never leave the financier's gateway."""

    inputs: tuple[bytes, ...] = field(repr=False)
    blinds: tuple[bytes, ...] = field(repr=False)
    blinded: tuple[bytes, ...]
    signed: SignedRequest


@dataclass(frozen=True, slots=True)
class FingerprintResponse:
    evaluated: tuple[bytes, ...]
    proof: bytes
    receipt: SignedReceipt


def request_fingerprints(
    inputs: Sequence[bytes],
    *,
    querier: str,
    registry: str,
    family: str,
    key_id: str,
    seq: int,
    now: int,
    key: Ed25519PrivateKey,
    rng: Rng,
) -> FingerprintRequest:
    """Blind ``inputs`` (from ``Invoice.fingerprint_inputs`` and the like) and sign.

    ``key_id`` is the registry key's id (hex) on the ledger: the receipt records it, and
    a registration checks the key has not rotated since.
    """
    if not 1 <= len(inputs) <= MAX_FINGERPRINTS:
        raise FingerprintError(f"evaluate 1 to {MAX_FINGERPRINTS} fingerprints at a time")
    blinds, blinded = blind_batch(list(inputs), rng, pool=None)
    request = QueryRequest(
        request_id=rng(16),
        querier=querier,
        responder=registry,
        list_type=FINGERPRINT_LIST_TYPE,
        id_type=family,
        item_count=len(inputs),
        purpose_code=FINGERPRINT_PURPOSE,
        legal_basis="financing-registry",
        consent_ref=None,
        blinded_digest=blinded_digest(blinded),
        seq=seq,
        time=now,
        normaliser_version=_NORMALISER,
        key_id=key_id,
    )
    return FingerprintRequest(
        tuple(inputs), tuple(blinds), tuple(blinded), sign_request(request, key)
    )


def evaluate_fingerprints(
    *,
    oprf_key: KeyPair,
    signing_key: Ed25519PrivateKey,
    registry: str,
    signed: SignedRequest,
    blinded: Sequence[bytes],
    querier_key: bytes,
    now: int,
    rng: Rng,
) -> FingerprintResponse:
    """The registry's side: check the request, evaluate with proof, sign the receipt.

    Freshness and credit are the gateway's admission (``check_oracle_request``), judged
    before this is called.
    """
    try:
        signed.verify(querier_key)
    except MessageError as exc:
        raise FingerprintError(str(exc)) from None
    req = signed.request
    if req.responder != registry:
        raise FingerprintError("the request is addressed to another registry")
    if req.list_type != FINGERPRINT_LIST_TYPE or req.purpose_code != FINGERPRINT_PURPOSE:
        raise FingerprintError("not a fingerprint request")
    if req.normaliser_version != _NORMALISER:
        raise FingerprintError(f"normaliser {req.normaliser_version!r}, expected {_NORMALISER}")
    if not 1 <= len(blinded) <= MAX_FINGERPRINTS or req.item_count != len(blinded):
        raise FingerprintError("the request does not count these elements")
    if req.key_id != key_id(oprf_key.public).hex():
        raise FingerprintError("the request names another registry key")
    try:
        if blinded_digest(blinded) != req.blinded_digest:
            raise FingerprintError("the request does not commit to these elements")
        evaluated, proof = evaluate_batch(oprf_key, list(blinded), rng, pool=None)
    except (PsiError, MessageError) as exc:
        raise FingerprintError(f"bad blinded elements: {exc}") from None
    receipt = QueryReceipt(
        request_digest=signed.digest,
        response_digest=response_digest(evaluated, proof),
        time=now,
    )
    return FingerprintResponse(tuple(evaluated), proof, sign_receipt(receipt, signing_key))


def finish_fingerprints(
    request: FingerprintRequest,
    response: FingerprintResponse,
    *,
    registry_oprf_key: bytes,
    registry_signing_key: bytes,
) -> list[bytes]:
    """Check the registry's receipt and proof, and finalise: one fingerprint per input."""
    try:
        response.receipt.verify(registry_signing_key)
        receipt = response.receipt.receipt
        if receipt.request_digest != hashlib.sha256(request.signed.data).digest():
            raise FingerprintError("the receipt signs another request")
        if receipt.response_digest != response_digest(list(response.evaluated), response.proof):
            raise FingerprintError("the receipt signs another response")
        outputs = finalize_batch(
            list(request.inputs),
            list(request.blinds),
            list(request.blinded),
            list(response.evaluated),
            response.proof,
            registry_oprf_key,
            pool=None,
        )
    except (PsiError, MessageError) as exc:
        raise FingerprintError(f"the registry's answer does not verify: {exc}") from None
    return [output[:FP_SIZE] for output in outputs]
