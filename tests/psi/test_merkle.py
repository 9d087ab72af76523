"""psi's RFC 9162 tree hash, cross-checked against the transparency-dev probes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psi import (
    EMPTY_ROOT,
    MerkleAccumulator,
    ProtocolError,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    verify_inclusion,
)
from psi.hazmat import node_hash

PROBES = Path(__file__).resolve().parents[1] / "vectors" / "rfc9162" / "inclusion"
# The leaves of the reference tree the probes were generated from (RFC 6962's test tree,
# transparency-dev merkle testonly.LeafInputs).
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def _probes() -> list[tuple[str, dict[str, object]]]:
    out = [(str(p.relative_to(PROBES)), json.loads(p.read_text())) for p in PROBES.rglob("*.json")]
    assert len(out) >= 60, "transparency-dev inclusion probes missing"
    return sorted(out)


def _b64(v: object) -> bytes:
    return base64.b64decode(v) if isinstance(v, str) else b""


def _id(x: object) -> str:
    return x if isinstance(x, str) else ""


@pytest.mark.parametrize(("name", "probe"), _probes(), ids=_id)
def test_inclusion_probe(name: str, probe: dict[str, object]) -> None:
    leaf, root = _b64(probe["leafHash"]), _b64(probe["root"])
    proof = [_b64(p) for p in probe["proof"] or []]  # type: ignore[attr-defined]
    index, size = int(probe["leafIdx"]), int(probe["treeSize"])  # type: ignore[call-overload]
    if probe["wantErr"]:
        with pytest.raises(ProtocolError):
            verify_inclusion(leaf, index, size, proof, root)
        return
    verify_inclusion(leaf, index, size, proof, root)
    # Cross-check: our tree hash over the reference leaves gives the probe's root, and
    # our audit path is the probe's (the numbered directories probe the reference tree).
    if name.split("/")[0].isdigit():
        assert leaf_hash(LEAVES[index]) == leaf
        assert merkle_root(LEAVES[:size]) == root
        assert inclusion_proof(LEAVES[:size], index) == proof


def test_known_roots() -> None:
    assert merkle_root([]) == EMPTY_ROOT
    # RFC 6962 reference tree root over all eight leaves.
    assert merkle_root(LEAVES).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


def _recursive_root(leaves: list[bytes]) -> bytes:
    # RFC 9162 §2.1.1 MTH, written as the RFC states it, to check the streaming form.
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_recursive_root(leaves[:k]), _recursive_root(leaves[k:]))


@given(st.lists(st.binary(max_size=20), max_size=70))
def test_streaming_root_equals_recursive_definition(leaves: list[bytes]) -> None:
    acc = MerkleAccumulator()
    for leaf in leaves:
        acc.append(leaf)
    assert acc.size == len(leaves)
    assert acc.root() == _recursive_root(leaves)


@given(st.lists(st.binary(max_size=8), min_size=1, max_size=40), st.data())
def test_inclusion_roundtrip_and_tamper(leaves: list[bytes], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(leaves) - 1))
    root = merkle_root(leaves)
    proof = inclusion_proof(leaves, i)
    verify_inclusion(leaf_hash(leaves[i]), i, len(leaves), proof, root)
    with pytest.raises(ProtocolError):
        verify_inclusion(leaf_hash(leaves[i] + b"x"), i, len(leaves), proof, root)
    if proof:
        bad = [*proof]
        bad[0] = bytes(32)
        with pytest.raises(ProtocolError):
            verify_inclusion(leaf_hash(leaves[i]), i, len(leaves), bad, root)


@pytest.mark.parametrize(
    ("head", "n"), [(0, 1024), (0, 2048 + 7), (3, 2100), (1024, 1024), (1000, 3100), (0, 1023)]
)
def test_block_extend_equals_leaf_by_leaf(head: int, n: int) -> None:
    # extend() hashes aligned 1024-leaf blocks level by level; it must agree with the
    # RFC's recursive definition whatever the alignment it starts from.
    leaves = [i.to_bytes(4, "big") for i in range(head + n)]
    acc = MerkleAccumulator()
    for leaf in leaves[:head]:
        acc.append(leaf)
    acc.extend(leaves[head:])
    assert acc.size == head + n
    assert acc.root() == _recursive_root(leaves)
