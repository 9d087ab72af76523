"""RFC 9162 §2.1 Merkle tree hashing, streaming, with inclusion proofs.

``psi`` may not import ``ledger``, yet index commitments need the tree hash of the
sorted tags, so the few lines of RFC 9162 live here too (``adapters`` reuses them for
evidence roots). Leaves are hashed as ``SHA-256(0x00 || data)``, interior nodes as
``SHA-256(0x01 || left || right)``, and the root of the empty tree is ``SHA-256("")``.

``MerkleAccumulator`` computes the root of a stream of leaves in O(log n) memory, so a
million-entry index is committed without holding its tags in memory: it keeps one
perfect subtree per set bit of the leaf count, merging equal sizes as leaves arrive,
and folds them right to left at the end, which is exactly RFC 9162's split at the
largest power of two below n.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from psi._errors import ProtocolError

__all__ = [
    "EMPTY_ROOT",
    "MerkleAccumulator",
    "inclusion_proof",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
# Leaves hashed together as one perfect subtree by ``extend`` (a power of two).
_BLOCK = 1 << 10


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleAccumulator:
    """Streaming RFC 9162 tree hash: ``append`` leaves (or leaf hashes), then ``root()``."""

    __slots__ = ("_sizes", "_stack", "size")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self._sizes: list[int] = []
        self.size = 0

    def append(self, data: bytes) -> None:
        """Add one leaf (its data, hashed here)."""
        self.append_hash(hashlib.sha256(b"\x00" + data).digest())

    def append_hash(self, h: bytes) -> None:
        """Add one leaf whose leaf hash is already known."""
        stack, sizes = self._stack, self._sizes
        size = 1
        while sizes and sizes[-1] == size:
            h = hashlib.sha256(b"\x01" + stack.pop() + h).digest()
            size += sizes.pop()
        stack.append(h)
        sizes.append(size)
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Add many leaves in order.

        Whole aligned blocks of ``_BLOCK`` leaves are hashed level by level (pairing
        left to right), which for a perfect subtree is the RFC 9162 tree hash, and then
        join the stack as one node: a third of the per-leaf work of ``append``.
        """
        buf: list[bytes] = []
        for leaf in leaves:
            # While buf is non-empty the tree size is a multiple of _BLOCK.
            if buf or self.size % _BLOCK == 0:
                buf.append(leaf)
                if len(buf) == _BLOCK:
                    self._push_block(buf)
                    buf = []
            else:
                self.append(leaf)
        for leaf in buf:
            self.append(leaf)

    def _push_block(self, leaves: list[bytes]) -> None:
        sha = hashlib.sha256
        level = [sha(b"\x00" + x).digest() for x in leaves]
        while len(level) > 1:
            level = [
                sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)
            ]
        stack, sizes = self._stack, self._sizes
        h, size = level[0], len(leaves)
        while sizes and sizes[-1] == size:
            h = sha(b"\x01" + stack.pop() + h).digest()
            size += sizes.pop()
        stack.append(h)
        sizes.append(size)
        self.size += len(leaves)

    def root(self) -> bytes:
        """The tree hash of the leaves so far (``EMPTY_ROOT`` for none)."""
        if not self._stack:
            return EMPTY_ROOT
        acc = self._stack[-1]
        for h in reversed(self._stack[:-1]):
            acc = node_hash(h, acc)
        return acc


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    """RFC 9162 MTH of ``leaves`` (leaf data, not leaf hashes)."""
    acc = MerkleAccumulator()
    acc.extend(leaves)
    return acc.root()


def _split(n: int) -> int:
    # The largest power of two strictly below n (n >= 2).
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 audit path of leaf ``index`` in the tree over ``leaves``."""
    if not 0 <= index < len(leaves):
        raise IndexError("leaf index outside the tree")
    path: list[bytes] = []
    lo, hi, m = 0, len(leaves), index
    # Walk down from the root, recording the sibling subtree's hash at each split.
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            path.append(merkle_root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(merkle_root(leaves[lo : lo + k]))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: check that ``leaf`` (a leaf *hash*) sits at ``index`` in the tree
    of ``size`` whose root is ``root``; raises ``ProtocolError`` saying what is wrong."""
    if len(leaf) != 32 or len(root) != 32 or any(len(p) != 32 for p in proof):
        raise ProtocolError("leaf hash, root and proof elements must be 32 bytes")
    if not 0 <= index < size:
        raise ProtocolError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProtocolError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProtocolError("inclusion proof is shorter than the tree is deep")
    if r != root:
        raise ProtocolError("inclusion proof does not lead to the root")
