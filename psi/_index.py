"""Committing an index epoch: one pass over the sorted tags gives root, snapshot and digest.

``commit_stream`` consumes ``(tag16, sealed_label)`` records in tag order (SQLite's
primary-key order) and produces the ``Commitment``: the RFC 9162 root over the 16-byte
tags as leaves, and the SHA-256 of the canonical snapshot encoding (see ``_formats``).
It holds the 8-byte tag column and the label column in memory (8 and 27 bytes per
entry), never the full tags.

Canonical snapshot order is (8-byte tag, label), which differs from 16-byte tag order
only inside runs of equal 8-byte prefixes; those rare runs are re-sorted by label.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from psi._formats import Commitment, snapshot_header
from psi._merkle import MerkleAccumulator

__all__ = ["commit_stream"]


def commit_stream(
    list_type: str,
    key_id: bytes,
    epoch: int,
    label_bytes: int,
    chunks: Iterable[Sequence[tuple[bytes, bytes]]],
    normaliser_version: str,
    *,
    want_bytes: bool,
) -> tuple[Commitment, bytes | None]:
    """The commitment of the sorted records (given in chunks) and, if asked, the snapshot."""
    acc = MerkleAccumulator()
    tag_col = bytearray()
    label_col = bytearray()
    runs: list[int] = []  # indices i where tag8[i] == tag8[i-1]
    prev = b""
    n = 0
    for rows in chunks:
        tags = [t for t, _ in rows]
        acc.extend(tags)
        t8 = [t[:8] for t in tags]
        # Equal 8-byte prefixes are rare (about n^2 / 2^65); find them cheaply.
        if t8 and (t8[0] == prev or len(set(t8)) != len(t8)):
            runs.extend(n + i for i in range(len(t8)) if (t8[i - 1] if i else prev) == t8[i])
        prev = t8[-1] if t8 else prev
        tag_col += b"".join(t8)
        label_col += b"".join(lab for _, lab in rows)
        n += len(rows)
    if runs and label_bytes:
        _sort_runs(label_col, runs, label_bytes)
    header = snapshot_header(list_type, key_id, epoch, n, label_bytes)
    h = hashlib.sha256(header)
    h.update(tag_col)
    h.update(label_col)
    commitment = Commitment(
        list_type=list_type,
        epoch=epoch,
        size=n,
        tags_root=acc.root(),
        snapshot_digest=h.digest(),
        key_id=key_id,
        normaliser_version=normaliser_version,
        label_bytes=label_bytes,
    )
    data = bytes(header + tag_col + label_col) if want_bytes else None
    return commitment, data


def _sort_runs(labels: bytearray, runs: list[int], size: int) -> None:
    # Group consecutive duplicate indices into runs [start, end] and sort each by label.
    start = runs[0] - 1
    end = runs[0]
    for i in [*runs[1:], -1]:
        if i == end + 1:
            end = i
            continue
        block = sorted(bytes(labels[j * size : (j + 1) * size]) for j in range(start, end + 1))
        labels[start * size : (end + 1) * size] = b"".join(block)
        if i != -1:
            start, end = i - 1, i
