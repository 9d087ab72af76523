"""The querier's side of a membership query: blind, verify and finalize, match.

Flow (snapshot mode, DESIGN §4)::

    pending = prepare_query("transaction_fraud", [("phone", "13800138000")], rng)
    # send pending.blinded to the responder; it answers with evaluate_batch(...)
    outputs = pending.finish(evaluated, proof, responder_public_key)
    hits = [snapshot.lookup(out) for out in outputs]      # Hit or None

``finish`` verifies the batched DLEQ proof against the responder's public key (the one
its ledger commitment names) before releasing any output: a wrong key, a tampered
element or a tampered proof raises ``ProtocolError``. The blinds never leave this
object, and every query draws fresh ones, so two queries for one identifier send
unrelated elements.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from psi import _group as g
from psi import _oprf as o
from psi import _parallel as par
from psi._formats import encode_elements
from psi._labels import Label, tag_of
from psi._registry import DEFAULT_REGISTRY, Registry, prf_input

__all__ = ["Hit", "PendingQuery", "QueryOutput", "batch_digest", "prepare_query"]

_BATCH_DIGEST_DOMAIN = b"riskshare/psi/batch-digest/v1"


def batch_digest(elements: Sequence[bytes]) -> bytes:
    """SHA-256 over a batch of elements, for signed requests and receipts (DESIGN §6)."""
    h = hashlib.sha256(_BATCH_DIGEST_DOMAIN + len(elements).to_bytes(4, "big"))
    h.update(encode_elements(elements))
    return h.digest()


@dataclass(frozen=True, slots=True)
class QueryOutput:
    """The verified OPRF output of one queried identifier (never sent anywhere).

    ``value`` is the querier's own identifier; it is kept out of ``repr`` so that it
    does not reach logs by accident.
    """

    list_type: str
    id_type: str
    value: str = field(repr=False)
    key_id: bytes
    output: bytes = field(repr=False)

    @property
    def tag(self) -> bytes:
        """The 16-byte index tag this identifier has under the responder's key."""
        return tag_of(self.output)


@dataclass(frozen=True, slots=True)
class Hit:
    """A queried identifier found in a responder's index, with its label if the list has them."""

    list_type: str
    id_type: str
    value: str = field(repr=False)
    label: Label | None


@dataclass(frozen=True, slots=True)
class PendingQuery:
    """A blinded batch waiting for the responder's evaluation."""

    list_type: str
    items: tuple[tuple[str, str], ...] = field(repr=False)
    inputs: tuple[bytes, ...] = field(repr=False)
    blinds: tuple[bytes, ...] = field(repr=False)
    blinded: tuple[bytes, ...]

    def request(self) -> bytes:
        """The blinded elements as one byte string (32 bytes each), for the wire."""
        return encode_elements(self.blinded)

    def digest(self) -> bytes:
        """``batch_digest`` of the blinded elements (what the querier signs)."""
        return batch_digest(self.blinded)

    def finish(
        self,
        evaluated: Sequence[bytes],
        proof: bytes,
        public_key: bytes,
        *,
        pool: par.WorkerPool | par._Default | None = par.DEFAULT,
    ) -> list[QueryOutput]:
        """Verify the responder's answer and finalize; ``ProtocolError`` if it does not verify."""
        outputs = par.finalize_batch(
            self.inputs, self.blinds, self.blinded, evaluated, proof, public_key, pool=pool
        )
        kid = o.key_id(public_key)
        return [
            QueryOutput(self.list_type, id_type, value, kid, out)
            for (id_type, value), out in zip(self.items, outputs, strict=True)
        ]


def prepare_query(
    list_type: str,
    items: Sequence[tuple[str, str]],
    rng: g.Rng,
    *,
    registry: Registry = DEFAULT_REGISTRY,
    pool: par.WorkerPool | par._Default | None = par.DEFAULT,
) -> PendingQuery:
    """Blind a batch of normalised ``(id_type, value)`` identifiers for ``list_type``.

    Raises ``UnknownTypeError`` or ``IdentifierError`` before anything is blinded if a
    type is unknown or a value is not normalised.
    """
    inputs = [prf_input(list_type, id_type, value, registry) for id_type, value in items]
    blinds, blinded = par.blind_batch(inputs, rng, pool=pool)
    return PendingQuery(
        list_type=list_type,
        items=tuple((str(t), str(v)) for t, v in items),
        inputs=tuple(inputs),
        blinds=tuple(blinds),
        blinded=tuple(blinded),
    )
