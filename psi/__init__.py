"""Private membership queries: RFC 9497 VOPRF (ristretto255-SHA512) and the published index.

A responder publishes, per list type, an index of tags ``F(k, x)[0:16]`` of its listed
identifiers x under its OPRF key k, commits each epoch of it on the ledger, and
evaluates blinded elements for queriers with a batched DLEQ proof. A querier blinds its
identifiers, has the responder evaluate them, verifies the proof against the public key
the ledger names, finalizes, and looks the tags up in a snapshot it has verified
against the ledger commitment. The responder never sees the identifiers; the querier
learns only which of its own identifiers are listed (and their labels).

Public API
----------
Keys and evaluation (RFC 9497, VOPRF mode)::

    key = generate_key_pair(rng)                 # rng(n) -> n random bytes, e.g. os.urandom
    key = derive_key_pair(seed32, info)          # RFC 9497 DeriveKeyPair
    key.public, key.key_id                       # what the ledger records
    evaluate(key, data) -> bytes                 # direct server Evaluate (64-byte output)
    evaluate_batch(key, blinded, rng, pool=...) -> (evaluated, proof)   # the responder's
    verify_evaluation(public_key, blinded, evaluated, proof)   # third party, no blinds
    WorkerPool(processes), set_default_pool(pool)  # batches >= 256 use worker processes

Identifiers (registries are data; defaults per DESIGN §7)::

    Registry.from_mapping({...}), DEFAULT_REGISTRY, NORMALISER_VERSION ("v1")
    prf_input(list_type, id_type, normalised_value, registry) -> bytes
    # UnknownTypeError for an unknown list/id type, IdentifierError for a value not in
    # normalised shape (psi checks shape; adapters normalises).

Responder's index (SQLite, WAL)::

    store = IndexStore(path, registry=..., pool=...)
    store.create_list(list_type, key, labels=True) -> Commitment
    store.apply(list_type, adds=[Entry(id_type, value, reason, listed_at, expires_at)],
                removes=[(id_type, value)], now=unix_seconds, progress=cb) -> ApplyReport
    store.commitment(list_type, epoch=None) -> Commitment
    store.export_snapshot(list_type) -> bytes
    store.export_delta(list_type, since_epoch) -> bytes
    store.evaluate(list_type, blinded, rng) -> (evaluated, proof)
    store.bucket(list_type, prefix, bits) -> bytes   # BucketTooSmall under MIN_BUCKET
    store.rotate_key(list_type, new_key, progress=cb) -> Commitment
    store.prune_history(list_type, keep_from_epoch)  # deltas from older epochs end
    store.public_key(list_type), store.key(list_type), store.size(list_type)
    open_private_file(path)   # 0600 SQLite file for secrets; StoreError if looser

Querier::

    pending = prepare_query(list_type, [(id_type, value), ...], rng)
    pending.request() / pending.blinded / pending.digest()   # to send and to sign
    outputs = pending.finish(evaluated, proof, responder_public_key)  # verifies proof
    snap = Snapshot.load(snapshot_bytes, commitment)          # verifies the digest
    snap = snap.apply_delta(delta_bytes, next_commitment)     # verifies again
    snap.lookup(output) -> Hit | None                         # Hit.label opened if any
    bucket_prefix(prf_input, bits), bucket_lookup(answer, output, commitment, bits=, prefix=)
    bucket_bits_for(size, max_bits=BUCKET_MAX_BITS)   # the consortium may cap lower

Formats: ``Commitment.to_bytes() / from_bytes()`` (what the ledger records),
``encode_elements`` / ``decode_elements`` (n × 32-byte batches), ``batch_digest``.
RFC 9162 Merkle hashing for everyone's use (the one implementation: the ledger's tx
roots use it too): ``merkle_root``, ``MerkleAccumulator``, ``leaf_hash``,
``inclusion_proof``, ``verify_inclusion``.

The primitives under these recipes (group operations, single protocol steps, the
querier's batched blind and finalize, Merkle node hashing) are in ``psi.hazmat``.

How a querier trusts 8-byte snapshot tags it cannot hash into the 16-byte-tag Merkle
root: the commitment also carries the SHA-256 of the canonical snapshot encoding (see
``psi/_formats.py``); ``Snapshot.load`` and ``apply_delta`` check it.

Worker processes are started with ``spawn``: a script that uses a pool needs the usual
``if __name__ == "__main__":`` guard.

Errors: everything derives from ``PsiError``. ``ProtocolError`` is the one type for bad
bytes from elsewhere (lengths, non-canonical or identity elements, bad proofs, a
snapshot or delta that does not match its commitment, a label that does not open).

Leakage and error rates
-----------------------
The responder learns how many elements a querier evaluated, nothing else. A snapshot
lookup compares 8 bytes of tag: a false positive has probability about n / 2^64 per
lookup for an index of n entries (2^-44 at n = 10^6), and none in practice when labels
are on (the label must also open). Bucket mode additionally reveals ``bits`` bits of
``SHA-256(domain | identifier)``, at most ``BUCKET_MAX_BITS`` (16) unless the consortium
caps it otherwise, whatever size the responder declares; the responder refuses any
bucket under 4096 entries, and the querier refuses an answer that holds one.
"""

from psi._api import BUCKET_MAX_BITS, bucket_bits_for, evaluate, verify_evaluation
from psi._errors import (
    BucketTooSmall,
    DeltaUnavailable,
    IdentifierError,
    ProtocolError,
    PsiError,
    StoreError,
    UnknownTypeError,
)
from psi._formats import Commitment, decode_elements, encode_elements
from psi._labels import LABEL_BYTES, TAG_BYTES, Label
from psi._merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    verify_inclusion,
)
from psi._oprf import MAX_BATCH, KeyPair, derive_key_pair, generate_key_pair, key_id
from psi._parallel import WorkerPool, default_pool, evaluate_batch, set_default_pool
from psi._query import Hit, PendingQuery, QueryOutput, batch_digest, prepare_query
from psi._registry import (
    DEFAULT_REGISTRY,
    LAUNCH_ID_TYPES,
    LAUNCH_LIST_TYPES,
    NORMALISER_VERSION,
    IdType,
    ListType,
    Registry,
    prf_input,
)
from psi._snapshot import Snapshot, bucket_lookup, bucket_prefix
from psi._store import MIN_BUCKET, ApplyReport, Entry, IndexStore, Progress
from psi._tables import open_private_file

__all__ = [
    "BUCKET_MAX_BITS",
    "DEFAULT_REGISTRY",
    "EMPTY_ROOT",
    "LABEL_BYTES",
    "LAUNCH_ID_TYPES",
    "LAUNCH_LIST_TYPES",
    "MAX_BATCH",
    "MIN_BUCKET",
    "NORMALISER_VERSION",
    "TAG_BYTES",
    "ApplyReport",
    "BucketTooSmall",
    "Commitment",
    "DeltaUnavailable",
    "Entry",
    "Hit",
    "IdType",
    "IdentifierError",
    "IndexStore",
    "KeyPair",
    "Label",
    "ListType",
    "MerkleAccumulator",
    "PendingQuery",
    "Progress",
    "ProtocolError",
    "PsiError",
    "QueryOutput",
    "Registry",
    "Snapshot",
    "StoreError",
    "UnknownTypeError",
    "WorkerPool",
    "batch_digest",
    "bucket_bits_for",
    "bucket_lookup",
    "bucket_prefix",
    "decode_elements",
    "default_pool",
    "derive_key_pair",
    "encode_elements",
    "evaluate",
    "evaluate_batch",
    "generate_key_pair",
    "inclusion_proof",
    "key_id",
    "leaf_hash",
    "merkle_root",
    "open_private_file",
    "prepare_query",
    "prf_input",
    "set_default_pool",
    "verify_evaluation",
    "verify_inclusion",
]
