"""The querier's verified copy of a responder's index, and bucket-mode answers.

A ``Snapshot`` exists only once its bytes have matched a ledger ``Commitment``
(``load``), and it changes only through a delta whose result matches the next
commitment (``apply_delta``); both raise ``ProtocolError`` otherwise and leave the old
snapshot untouched (snapshots are immutable; ``apply_delta`` returns a new one).

False positives: a lookup compares 8 bytes of tag, so an identifier not in an index of
n entries matches by chance with probability about n / 2^64 (5.4e-14, or 2^-44, for
n = 10^6; at most 2^-40 up to n = 2^24). With labels enabled, a chance match is also
caught because the label does not open, so the rate falls to about n / 2^192.

Memory: the tags live in one ``array('Q')``, 8 bytes per entry, and lookups bisect it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from psi._errors import ProtocolError
from psi._formats import (
    BucketAnswer,
    Commitment,
    Delta,
    TagColumns,
    encode_snapshot,
    parse_snapshot,
    snapshot_digest,
)
from psi._labels import SNAPSHOT_TAG_BYTES, TAG_BYTES, open_label
from psi._query import Hit, QueryOutput
from psi._store import MIN_BUCKET
from psi._work import bucket_key

__all__ = ["Snapshot", "bucket_lookup", "bucket_prefix"]


def _check_output(commitment: Commitment, out: QueryOutput) -> None:
    if out.list_type != commitment.list_type:
        raise ProtocolError("query output is for another list type than this index")
    if out.key_id != commitment.key_id:
        raise ProtocolError("query was evaluated under another key than this index's")


class Snapshot:
    """Sorted 8-byte tags (and sealed labels) of one list at one committed epoch."""

    __slots__ = ("_cols", "commitment")

    def __init__(self, commitment: Commitment, cols: TagColumns) -> None:
        # Use ``load`` or ``apply_delta``; they verify before constructing.
        self.commitment = commitment
        self._cols = cols

    @classmethod
    def load(cls, data: bytes, commitment: Commitment) -> Snapshot:
        """Parse ``data`` and check it is exactly the snapshot ``commitment`` names."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ProtocolError("snapshot: expected bytes")
        if snapshot_digest(bytes(data)) != commitment.snapshot_digest:
            raise ProtocolError("snapshot does not match its commitment (digest differs)")
        header, cols = parse_snapshot(bytes(data))
        if (
            header.list_type != commitment.list_type
            or header.key_id != commitment.key_id
            or header.epoch != commitment.epoch
            or header.count != commitment.size
            or header.label_bytes != commitment.label_bytes
        ):
            raise ProtocolError("snapshot header does not match its commitment")
        return cls(commitment, cols)

    def to_bytes(self) -> bytes:
        """The canonical encoding (its SHA-256 is the commitment's snapshot digest)."""
        c = self.commitment
        return encode_snapshot(c.list_type, c.key_id, c.epoch, self._cols)

    def __len__(self) -> int:
        return len(self._cols)

    @property
    def epoch(self) -> int:
        return self.commitment.epoch

    @property
    def nbytes(self) -> int:
        """Memory held by the tag and label columns (8 + label bytes per entry)."""
        return self._cols.tags.buffer_info()[1] * self._cols.tags.itemsize + len(self._cols.labels)

    def _candidates(self, tag: bytes) -> range:
        t = int.from_bytes(tag[:SNAPSHOT_TAG_BYTES], "big")
        tags = self._cols.tags
        return range(bisect_left(tags, t), bisect_right(tags, t))

    def contains(self, tag: bytes) -> bool:
        """Whether an index tag (8 or 16 bytes; the first 8 are compared) is present."""
        if len(tag) < SNAPSHOT_TAG_BYTES:
            raise ProtocolError("a tag has at least 8 bytes")
        return len(self._candidates(tag)) > 0

    def lookup(self, out: QueryOutput) -> Hit | None:
        """The hit for one verified query output, with its label opened, or ``None``."""
        _check_output(self.commitment, out)
        cands = self._candidates(out.tag)
        if not cands:
            return None
        if not self._cols.label_bytes:
            return Hit(out.list_type, out.id_type, out.value, None)
        for i in cands:
            try:
                label = open_label(out.output, out.list_type, out.key_id, self._cols.label(i))
            except ProtocolError:
                continue  # an 8-byte chance match with another entry
            return Hit(out.list_type, out.id_type, out.value, label)
        return None

    def apply_delta(self, delta: bytes, commitment: Commitment) -> Snapshot:
        """The snapshot of ``commitment``'s epoch: this one with ``delta`` applied, verified."""
        d = Delta.from_bytes(delta)
        c = self.commitment
        if (
            d.list_type != c.list_type
            or commitment.list_type != c.list_type
            or d.key_id != c.key_id
            or commitment.key_id != c.key_id
        ):
            raise ProtocolError("delta is for another list or key")
        if d.from_epoch != c.epoch or d.to_epoch != commitment.epoch:
            raise ProtocolError("delta does not bridge these epochs")
        if d.label_bytes != c.label_bytes or commitment.label_bytes != c.label_bytes:
            raise ProtocolError("delta label size differs from the snapshot's")
        cols = _splice(self._cols, d.removed, d.added)
        if len(cols) != commitment.size:
            raise ProtocolError("snapshot after delta has the wrong size")
        data = encode_snapshot(c.list_type, c.key_id, commitment.epoch, cols)
        if snapshot_digest(data) != commitment.snapshot_digest:
            raise ProtocolError("snapshot after delta does not match the new commitment")
        return Snapshot(commitment, cols)


def _insert_at(cols: TagColumns, tag: int, label: bytes) -> int:
    # Where (tag, label) goes in canonical order: after equal records, before greater.
    lo = bisect_left(cols.tags, tag)
    hi = bisect_right(cols.tags, tag)
    for i in range(lo, hi):
        if cols.label(i) > label:
            return i
    return hi


def _splice(
    cols: TagColumns,
    removed: Sequence[tuple[bytes, bytes]],
    added: Sequence[tuple[bytes, bytes]],
) -> TagColumns:
    n = cols.label_bytes
    used: set[int] = set()
    for t, lab in removed:
        key = int.from_bytes(t, "big")
        for i in range(bisect_left(cols.tags, key), bisect_right(cols.tags, key)):
            if i not in used and cols.label(i) == lab:
                used.add(i)
                break
        else:
            raise ProtocolError("delta removes a record the snapshot does not hold")
    drop = sorted(used)
    tags = cols.tags[:0]
    labels: list[bytes] = []
    prev = 0
    for i in [*drop, len(cols)]:
        tags.extend(cols.tags[prev:i])
        labels.append(cols.labels[prev * n : i * n])
        prev = i + 1
    kept = TagColumns(tags, b"".join(labels), n)
    if not added:
        return kept
    ins = sorted((int.from_bytes(t, "big"), lab) for t, lab in added)
    out_tags = kept.tags[:0]
    out_labels: list[bytes] = []
    prev = 0
    for key, new_label in ins:
        i = _insert_at(kept, key, new_label)
        out_tags.extend(kept.tags[prev:i])
        out_labels.append(kept.labels[prev * n : i * n])
        out_tags.append(key)
        out_labels.append(new_label)
        prev = i
    out_tags.extend(kept.tags[prev:])
    out_labels.append(kept.labels[prev * n :])
    return TagColumns(out_tags, b"".join(out_labels), n)


def bucket_prefix(prf_input: bytes, bits: int) -> int:
    """The ``bits``-bit bucket prefix a bucket-mode query sends (it leaks exactly this)."""
    if not 0 <= bits <= 32:
        raise ProtocolError("bucket prefixes have 0 to 32 bits")
    return bucket_key(prf_input) >> (32 - bits) if bits else 0


def bucket_lookup(
    answer: bytes,
    out: QueryOutput,
    commitment: Commitment,
    *,
    bits: int | None = None,
    prefix: int | None = None,
) -> Hit | None:
    """Match one verified output against a bucket-mode answer from the responder.

    The answer must name the commitment's list, key and epoch, and, when ``bits`` and
    ``prefix`` are given, be the bucket that was asked for. It must hold at least
    ``MIN_BUCKET`` entries: no honest index serves a smaller bucket, so a smaller one
    shows that the responder lied about its list's size to be sent a longer prefix.
    A bucket answer carries full 16-byte tags, so a chance match has probability about
    (bucket size) / 2^128. Unlike a snapshot, a bucket answer cannot be checked for
    completeness against the commitment (its tags are a slice in bucket order, the root
    is over tag order): a responder could leave an entry out. Snapshot mode is the
    default for that reason.
    """
    a = BucketAnswer.from_bytes(answer)
    _check_output(commitment, out)
    if (a.list_type, a.key_id, a.epoch) != (
        commitment.list_type,
        commitment.key_id,
        commitment.epoch,
    ):
        raise ProtocolError("bucket answer is for another list, key or epoch")
    if (bits is not None and a.bits != bits) or (prefix is not None and a.prefix != prefix):
        raise ProtocolError("bucket answer is for another bucket than the one asked for")
    if len(a.records) < MIN_BUCKET:
        raise ProtocolError(
            f"bucket answer holds {len(a.records)} entries, under the minimum of {MIN_BUCKET}"
            " that every honest bucket holds: the list is smaller than its declared size"
        )
    for tag, sealed in a.records:
        if len(tag) != TAG_BYTES or tag != out.tag:
            continue
        if not a.label_bytes:
            return Hit(out.list_type, out.id_type, out.value, None)
        label = open_label(out.output, out.list_type, out.key_id, sealed)
        return Hit(out.list_type, out.id_type, out.value, label)
    return None
