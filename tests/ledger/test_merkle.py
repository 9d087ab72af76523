"""RFC 9162 tree hashing and proofs: every transparency-dev probe, plus properties."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    verify_consistency,
    verify_inclusion,
)

_VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "rfc9162"


def _load(kind: str) -> list[tuple[str, dict[str, Any]]]:
    files = sorted((_VECTORS / kind).rglob("*.json"))
    return [(str(f.relative_to(_VECTORS)), json.loads(f.read_text())) for f in files]


def _b(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(value: list[str] | None) -> list[bytes]:
    return [_b(p) for p in value or []]


_INCLUSION = _load("inclusion")
_CONSISTENCY = _load("consistency")


def test_every_probe_is_loaded() -> None:
    assert len(_INCLUSION) + len(_CONSISTENCY) == len(list(_VECTORS.rglob("*.json")))
    assert sum(1 for _, v in _INCLUSION if not v["wantErr"]) >= 5
    assert sum(1 for _, v in _CONSISTENCY if not v["wantErr"]) >= 5


@pytest.mark.parametrize(("name", "v"), _INCLUSION, ids=[n for n, _ in _INCLUSION])
def test_inclusion_probe(name: str, v: dict[str, Any]) -> None:
    def check() -> None:
        verify_inclusion(
            _b(v["leafHash"]), v["leafIdx"], v["treeSize"], _proof(v["proof"]), _b(v["root"])
        )

    if v["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize(("name", "v"), _CONSISTENCY, ids=[n for n, _ in _CONSISTENCY])
def test_consistency_probe(name: str, v: dict[str, Any]) -> None:
    def check() -> None:
        verify_consistency(
            v["size1"], v["size2"], _b(v["root1"]), _b(v["root2"]), _proof(v["proof"])
        )

    if v["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


def test_consistency_from_size_zero_is_rejected() -> None:
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 1, EMPTY_ROOT, merkle_root([b"a"]), [])
    with pytest.raises(ProofError):
        consistency_proof([b"a"], 0)


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 written as the recursive definition, to check the fast path."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(
        b"\x01" + _reference_root(leaves[:k]) + _reference_root(leaves[k:])
    ).digest()


_leaves = st.lists(st.binary(max_size=8), min_size=1, max_size=40)


@given(_leaves, st.data())
def test_generated_proofs_verify_and_bind(leaves: list[bytes], data: st.DataObject) -> None:
    root = merkle_root(leaves)
    assert root == _reference_root(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = inclusion_proof(leaves, index)
    verify_inclusion(leaf_hash(leaves[index]), index, len(leaves), proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(leaves[index] + b"!"), index, len(leaves), proof, root)
    old = data.draw(st.integers(1, len(leaves)))
    cproof = consistency_proof(leaves, old)
    verify_consistency(old, len(leaves), merkle_root(leaves[:old]), root, cproof)
    if old < len(leaves):
        with pytest.raises(ProofError):
            verify_consistency(
                old, len(leaves), merkle_root([leaves[0] + b"!", *leaves[1:old]]), root, cproof
            )
