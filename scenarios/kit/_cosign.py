"""Co-signatures for multi-party steps.

A step that needs more than the submitter's consent (a paying bank confirming a
redemption, both financiers resolving a duplicate alert) carries co-signatures in its
transaction body. Each co-signer signs, with its ledger Ed25519 key, the canonical
message

    riskshare/scenario-cosign/v1 \\0 CBOR{chain, kind, object, version, payload}

where ``chain`` is the consortium's chain id (the SHA-256 of its genesis configuration)
and ``version`` is the object's version *before* the step. Because a version is
consumed exactly once, a co-signature can never be replayed onto a later step, a
different object, another transition or another consortium; because the payload is
inside the signed bytes, a co-signer agrees to exactly the values applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import State, consortium_info, encode

__all__ = ["COSIGN_DOMAIN", "chain_id", "cosign", "cosign_digest", "cosign_message"]

COSIGN_DOMAIN = "scenario-cosign"


def chain_id(state: State) -> bytes:
    """The chain a signature is bound to (empty before genesis, as in pure simulations)."""
    info = consortium_info(state)
    chain = None if info is None else info.get("chain_id")
    return chain if isinstance(chain, bytes) else b""


def cosign_message(
    chain: bytes, kind: str, object_id: str, version: int, payload: Mapping[str, Any]
) -> bytes:
    """The exact bytes every co-signer of this step signs."""
    return encode(
        COSIGN_DOMAIN,
        1,
        {
            "chain": chain,
            "kind": kind,
            "object": object_id,
            "version": version,
            "payload": dict(payload),
        },
    )


def cosign_digest(message: bytes) -> bytes:
    """SHA-256 of a co-sign message: what a person compares on two screens."""
    return hashlib.sha256(message).digest()


def cosign(
    key: Ed25519PrivateKey,
    chain: bytes,
    kind: str,
    object_id: str,
    version: int,
    payload: Mapping[str, Any],
) -> bytes:
    """Sign a step as a co-signer (client side; the key never leaves its gateway)."""
    return key.sign(cosign_message(chain, kind, object_id, version, payload))
