"""The published formats of an index: commitment, snapshot, delta, bucket answer, batches.

All are versioned and domain-separated (STYLE rule 3); decoders raise ``ProtocolError``
and nothing else.

How a querier trusts a snapshot of 8-byte tags
----------------------------------------------
The ledger carries, per list type and epoch, a ``Commitment``: list type, epoch, size,
the RFC 9162 Merkle root of the sorted 16-byte tags, the SHA-256 digest of the
canonical snapshot encoding of that epoch, the OPRF key id (SHA-256 of the public key)
and the normaliser version. A querier cannot recompute the Merkle root from 8-byte tags,
so it checks the snapshot digest instead: ``Snapshot.load`` hashes the bytes it was
given and compares them with the commitment, and the snapshot header repeats list type,
key id, epoch and size so a snapshot of one epoch can never pass for another. After a
delta, the querier re-encodes its updated snapshot canonically and checks that digest
against the new epoch's commitment; a delta that adds, drops or reorders anything fails.
The Merkle root serves audits and disputes (inclusion of one full tag). Proofs from the
responder are checked against the public key whose id the commitment names, so the
evaluations a querier receives are bound to the very key the index was built with.

Canonical snapshot encoding (version 1)::

    "riskshare/psi/snapshot" | 0x01 | frame(list_type) | key_id[32] | epoch u64 |
    count u64 | label_bytes u8 | tags[count × 8] | labels[count × label_bytes]

Records are sorted by (8-byte tag, sealed label), duplicates allowed (two entries can
share 8 tag bytes with probability about n²/2^65). The columnar layout lets tags be
hashed and loaded as one block: with no labels a snapshot is 8 bytes per entry plus a
header of about 80 bytes.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from psi import _group as g
from psi._codec import Reader, frame, u8, u64
from psi._errors import ProtocolError
from psi._labels import LABEL_BYTES, TAG_BYTES

__all__ = [
    "BUCKET_DOMAIN",
    "COMMITMENT_DOMAIN",
    "DELTA_DOMAIN",
    "SNAPSHOT_DOMAIN",
    "BucketAnswer",
    "Commitment",
    "Delta",
    "SnapshotHeader",
    "TagColumns",
    "decode_elements",
    "encode_elements",
    "encode_snapshot",
    "parse_snapshot",
    "snapshot_digest",
    "snapshot_header",
]

COMMITMENT_DOMAIN = b"riskshare/psi/commitment"
SNAPSHOT_DOMAIN = b"riskshare/psi/snapshot"
DELTA_DOMAIN = b"riskshare/psi/delta"
BUCKET_DOMAIN = b"riskshare/psi/bucket-answer"
_VERSION = 1
_MAX_ENTRIES = 1 << 40


def _check_label_bytes(n: int) -> int:
    if n not in (0, LABEL_BYTES):
        raise ProtocolError(f"label size must be 0 or {LABEL_BYTES}, got {n}")
    return n


@dataclass(frozen=True, slots=True)
class Commitment:
    """One epoch of one list type's index, as recorded on the ledger."""

    list_type: str
    epoch: int
    size: int
    tags_root: bytes
    snapshot_digest: bytes
    key_id: bytes
    normaliser_version: str
    label_bytes: int

    def to_bytes(self) -> bytes:
        """The canonical, domain-separated encoding (what the ledger records and signs)."""
        return (
            COMMITMENT_DOMAIN
            + u8(_VERSION)
            + frame(self.list_type)
            + u64(self.epoch)
            + u64(self.size)
            + self.tags_root
            + self.snapshot_digest
            + self.key_id
            + frame(self.normaliser_version)
            + u8(self.label_bytes)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Commitment:
        """Decode ``to_bytes`` output; ``ProtocolError`` for anything else."""
        r = Reader(data, COMMITMENT_DOMAIN, _VERSION, "commitment")
        c = cls(
            list_type=r.text(),
            epoch=r.uint(8),
            size=r.uint(8),
            tags_root=r.take(32),
            snapshot_digest=r.take(32),
            key_id=r.take(32),
            normaliser_version=r.text(),
            label_bytes=_check_label_bytes(r.uint(1)),
        )
        r.end()
        return c


class TagColumns:
    """Sorted 8-byte tags (as big-endian integers in an ``array('Q')``) and their labels.

    The canonical record order is (tag, sealed label); ``labels`` holds ``label_bytes``
    per record in the same order.
    """

    __slots__ = ("label_bytes", "labels", "tags")

    def __init__(self, tags: array[int], labels: bytes, label_bytes: int) -> None:
        self.tags = tags
        self.labels = labels
        self.label_bytes = label_bytes

    @classmethod
    def from_bytes(cls, tag_bytes: bytes, labels: bytes, label_bytes: int) -> TagColumns:
        tags = array("Q")
        tags.frombytes(tag_bytes)
        if array("Q", [1]).tobytes()[0] == 1:
            tags.byteswap()
        return cls(tags, labels, label_bytes)

    def tag_bytes(self) -> bytes:
        out = array("Q", self.tags)
        if array("Q", [1]).tobytes()[0] == 1:
            out.byteswap()
        return out.tobytes()

    def __len__(self) -> int:
        return len(self.tags)

    def label(self, i: int) -> bytes:
        n = self.label_bytes
        return self.labels[i * n : (i + 1) * n]

    def record(self, i: int) -> tuple[int, bytes]:
        return self.tags[i], self.label(i)

    def records(self) -> list[tuple[int, bytes]]:
        return [self.record(i) for i in range(len(self.tags))]

    def check_sorted(self) -> None:
        """Raise ``ProtocolError`` unless records are in canonical order."""
        t = self.tags
        if not all(a <= b for a, b in pairwise(t)):
            raise ProtocolError("tags are not sorted")
        if self.label_bytes:
            for i in range(1, len(t)):
                if t[i - 1] == t[i] and self.label(i - 1) > self.label(i):
                    raise ProtocolError("records with equal tags are not sorted by label")


def snapshot_header(
    list_type: str, key_id: bytes, epoch: int, count: int, label_bytes: int
) -> bytes:
    """The fixed part of a snapshot encoding, before the tag and label columns."""
    return (
        SNAPSHOT_DOMAIN
        + u8(_VERSION)
        + frame(list_type)
        + key_id
        + u64(epoch)
        + u64(count)
        + u8(label_bytes)
    )


def encode_snapshot(list_type: str, key_id: bytes, epoch: int, columns: TagColumns) -> bytes:
    """The canonical snapshot bytes of ``columns``."""
    header = snapshot_header(list_type, key_id, epoch, len(columns), columns.label_bytes)
    return header + columns.tag_bytes() + columns.labels


@dataclass(frozen=True, slots=True)
class SnapshotHeader:
    list_type: str
    key_id: bytes
    epoch: int
    count: int
    label_bytes: int


def parse_snapshot(data: bytes) -> tuple[SnapshotHeader, TagColumns]:
    """Decode a snapshot (structure only; ``Snapshot.load`` checks it against a commitment)."""
    r = Reader(data, SNAPSHOT_DOMAIN, _VERSION, "snapshot")
    header = SnapshotHeader(
        list_type=r.text(),
        key_id=r.take(32),
        epoch=r.uint(8),
        count=r.uint(8),
        label_bytes=_check_label_bytes(r.uint(1)),
    )
    if header.count > _MAX_ENTRIES or r.remaining() != header.count * (8 + header.label_bytes):
        raise ProtocolError("snapshot size does not match its entry count")
    tags = r.take(header.count * 8)
    labels = r.take(header.count * header.label_bytes)
    r.end()
    columns = TagColumns.from_bytes(tags, labels, header.label_bytes)
    columns.check_sorted()
    return header, columns


@dataclass(frozen=True, slots=True)
class Delta:
    """The change of one list's snapshot from epoch ``from_epoch`` to ``to_epoch``."""

    list_type: str
    key_id: bytes
    from_epoch: int
    to_epoch: int
    label_bytes: int
    removed: tuple[tuple[bytes, bytes], ...]
    added: tuple[tuple[bytes, bytes], ...]

    def to_bytes(self) -> bytes:
        def column(recs: tuple[tuple[bytes, bytes], ...]) -> bytes:
            recs = tuple(sorted(recs))
            return u64(len(recs)) + b"".join(t for t, _ in recs) + b"".join(lab for _, lab in recs)

        return (
            DELTA_DOMAIN
            + u8(_VERSION)
            + frame(self.list_type)
            + self.key_id
            + u64(self.from_epoch)
            + u64(self.to_epoch)
            + u8(self.label_bytes)
            + column(self.removed)
            + column(self.added)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Delta:
        r = Reader(data, DELTA_DOMAIN, _VERSION, "delta")
        list_type, key_id = r.text(), r.take(32)
        from_epoch, to_epoch = r.uint(8), r.uint(8)
        label_bytes = _check_label_bytes(r.uint(1))

        def column() -> tuple[tuple[bytes, bytes], ...]:
            n = r.uint(8)
            if n * (8 + label_bytes) > r.remaining():
                raise ProtocolError("delta: truncated")
            tags = r.take(n * 8)
            labels = r.take(n * label_bytes)
            return tuple(
                (tags[i * 8 : i * 8 + 8], labels[i * label_bytes : (i + 1) * label_bytes])
                for i in range(n)
            )

        removed, added = column(), column()
        r.end()
        if to_epoch <= from_epoch:
            raise ProtocolError("delta: epochs out of order")
        return cls(list_type, key_id, from_epoch, to_epoch, label_bytes, removed, added)


@dataclass(frozen=True, slots=True)
class BucketAnswer:
    """The full tags (and labels) of one bucket, for a querier that keeps no snapshot."""

    list_type: str
    key_id: bytes
    epoch: int
    bits: int
    prefix: int
    label_bytes: int
    records: tuple[tuple[bytes, bytes], ...]

    def to_bytes(self) -> bytes:
        recs = sorted(self.records)
        return (
            BUCKET_DOMAIN
            + u8(_VERSION)
            + frame(self.list_type)
            + self.key_id
            + u64(self.epoch)
            + u8(self.bits)
            + u64(self.prefix)
            + u8(self.label_bytes)
            + u64(len(recs))
            + b"".join(t + lab for t, lab in recs)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> BucketAnswer:
        r = Reader(data, BUCKET_DOMAIN, _VERSION, "bucket answer")
        list_type, key_id, epoch = r.text(), r.take(32), r.uint(8)
        bits, prefix = r.uint(1), r.uint(8)
        label_bytes = _check_label_bytes(r.uint(1))
        n = r.uint(8)
        if bits > 32 or prefix >= (1 << bits):
            raise ProtocolError("bucket answer: prefix out of range")
        step = TAG_BYTES + label_bytes
        if n * step != r.remaining():
            raise ProtocolError("bucket answer: size does not match its count")
        body = r.take(n * step)
        r.end()
        recs = tuple(
            (body[i * step : i * step + TAG_BYTES], body[i * step + TAG_BYTES : (i + 1) * step])
            for i in range(n)
        )
        return cls(list_type, key_id, epoch, bits, prefix, label_bytes, recs)


def encode_elements(elements: Sequence[bytes]) -> bytes:
    """A batch of group elements as their concatenated 32-byte encodings."""
    if any(len(e) != g.ELEMENT_BYTES for e in elements):
        raise ProtocolError("every element is 32 bytes")
    return b"".join(elements)


def decode_elements(data: bytes, *, max_count: int = 65535) -> list[bytes]:
    """Split and validate a batch: each must be a canonical, non-identity element."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ProtocolError("element batch: expected bytes")
    data = bytes(data)
    if len(data) % g.ELEMENT_BYTES or not data:
        raise ProtocolError("element batch length is not a positive multiple of 32")
    if len(data) // g.ELEMENT_BYTES > max_count:
        raise ProtocolError("element batch is too large")
    return [g.deserialize_element(data[i : i + 32]) for i in range(0, len(data), 32)]


def snapshot_digest(data: bytes) -> bytes:
    """SHA-256 of a canonical snapshot encoding, as commitments carry it."""
    return hashlib.sha256(data).digest()
