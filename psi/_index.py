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
from collections.abc import Iterable

from psi._formats import Commitment, snapshot_header
from psi._merkle import MerkleAccumulator

__all__ = ["commit_stream"]


def commit_stream(
    list_type: str,
    key_id: bytes,
    epoch: int,
    label_bytes: int,
    records: Iterable[tuple[bytes, bytes]],
    normaliser_version: str,
    *,
    want_bytes: bool,
) -> tuple[Commitment, bytes | None]:
    """The commitment of the sorted ``records`` and, if asked, the snapshot bytes."""
    acc = MerkleAccumulator()
    append = acc.append
    tags = bytearray()
    labels = bytearray()
    runs: list[int] = []  # indices i where tag8[i] == tag8[i-1]
    prev = b""
    n = 0
    for tag, lab in records:
        append(tag)
        t8 = tag[:8]
        if t8 == prev:
            runs.append(n)
        prev = t8
        tags += t8
        labels += lab
        n += 1
    if runs and label_bytes:
        _sort_runs(labels, runs, label_bytes)
    header = snapshot_header(list_type, key_id, epoch, n, label_bytes)
    h = hashlib.sha256(header)
    h.update(tags)
    h.update(labels)
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
    data = bytes(header + tags + labels) if want_bytes else None
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
