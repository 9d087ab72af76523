"""RFC 9162 Merkle tree hashing, inclusion proofs and consistency proofs.

A block's ``tx_root`` is the Merkle Tree Hash (RFC 9162 §2.1.1) over the block's stored
transaction bytes: a leaf is ``SHA-256(0x00 ‖ bytes)``, an interior node
``SHA-256(0x01 ‖ left ‖ right)``, the split at the largest power of two below the
size, and the empty tree hashes to ``SHA-256("")``.

Proofs follow RFC 9162 §2.1.3 (inclusion) and §2.1.4 (consistency), with the rules the
transparency-dev ``merkle`` project applies to edge cases (their probes are our test
vectors): a hash that is not 32 bytes is refused, a proof with extra or missing
elements is refused, and a consistency proof from a tree of size 0 is refused rather
than accepted vacuously — it proves nothing, and accepting it would let a caller
believe a check happened. Verification raises :class:`ProofError`; it never returns
``False``.

The hashing, the tree hash and inclusion proofs are psi's (its index commitments need
them, and psi imports nothing of ours); the ledger adds consistency proofs and its own
error type.
"""

from __future__ import annotations

from collections.abc import Sequence

import psi
from ledger._errors import LedgerError
from psi import EMPTY_ROOT, MerkleAccumulator, leaf_hash, merkle_root
from psi.hazmat import node_hash

__all__ = [
    "EMPTY_ROOT",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "merkle_root",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

_HASH_SIZE = 32


class ProofError(LedgerError):
    """A Merkle inclusion or consistency proof does not verify."""


def _split(n: int) -> int:
    """The largest power of two strictly less than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaves given by their leaf hashes."""
    acc = MerkleAccumulator()
    for h in hashes:
        acc.append_hash(h)
    return acc.root()


def _subtree(hashes: Sequence[bytes]) -> bytes:
    return root_from_leaf_hashes(hashes)


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path (RFC 9162 §2.1.3.1) for leaf ``index`` among ``leaves``."""
    if not 0 <= index < len(leaves):
        raise ProofError(f"leaf index {index} is outside a tree of size {len(leaves)}")
    return psi.inclusion_proof(leaves, index)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf *hash*) sits at ``index`` in the tree of ``size``
    whose root is ``root`` (RFC 9162 §2.1.3.2)."""
    try:
        psi.verify_inclusion(leaf, index, size, proof, root)
    except psi.ProtocolError as exc:
        raise ProofError(str(exc)) from None


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """The proof (RFC 9162 §2.1.4.1) that the first ``old_size`` leaves are a prefix."""
    if not 0 < old_size <= len(leaves):
        raise ProofError(f"no consistency proof from size {old_size} to size {len(leaves)}")
    return _subproof(old_size, [leaf_hash(leaf) for leaf in leaves], True)


def _subproof(m: int, hashes: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [_subtree(hashes)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, hashes[:k], complete), _subtree(hashes[k:])]
    return [*_subproof(m - k, hashes[k:], False), _subtree(hashes[:k])]


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != _HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {_HASH_SIZE}")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``old_size`` with ``old_root`` is a prefix of the tree of
    ``new_size`` with ``new_root`` (RFC 9162 §2.1.4.2)."""
    if old_size <= 0:
        raise ProofError("a consistency proof from an empty tree proves nothing")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("trees of equal size need an empty consistency proof")
        if old_root != new_root:
            raise ProofError("trees of equal size have different roots")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    for element in proof:
        _check_hash(element, "proof element")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is a perfect subtree of the new one: its root starts the path.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new root")
