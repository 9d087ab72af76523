"""Every RFC 9497 mode-0 and mode-1 vector for ristretto255-SHA512, step by step."""

from __future__ import annotations

import pytest

from psi import ProtocolError
from psi import _group as g
from psi import _oprf as o
from tests.psi._vectors import OprfVector, rfc9497

OPRF = rfc9497(0)
VOPRF = rfc9497(1)


def test_vector_counts() -> None:
    # RFC 9497 A.1.1 has two OPRF vectors, A.1.2 three VOPRF vectors (one a batch of 2).
    assert len(OPRF) == 2
    assert len(VOPRF) == 3
    assert any(len(v.inputs) == 2 for v in VOPRF)


@pytest.mark.parametrize("v", OPRF + VOPRF, ids=lambda v: f"mode{v.mode}-n{len(v.inputs)}")
def test_derive_key_pair(v: OprfVector) -> None:
    key = o.derive_key_pair(v.seed, v.key_info, o.Mode(v.mode))
    assert key.secret == v.sk
    if v.pk is not None:
        assert key.public == v.pk


@pytest.mark.parametrize("v", OPRF, ids=lambda v: v.inputs[0].hex()[:8])
def test_oprf_vector(v: OprfVector) -> None:
    mode = o.Mode.OPRF
    blinded = o.blind_with(v.inputs, v.blinds, mode)
    assert blinded == v.blinded
    evaluated = o.blind_evaluate(v.sk, blinded)
    assert evaluated == v.evaluated
    assert o.finalize(v.inputs, v.blinds, evaluated, blinded, mode) == v.outputs
    assert [o.evaluate(v.sk, x, mode) for x in v.inputs] == v.outputs


@pytest.mark.parametrize("v", VOPRF, ids=lambda v: f"n{len(v.inputs)}-{v.inputs[0].hex()[:8]}")
def test_voprf_vector(v: OprfVector) -> None:
    mode = o.Mode.VOPRF
    assert v.pk is not None and v.proof is not None and v.proof_r is not None
    blinded = o.blind_with(v.inputs, v.blinds, mode)
    assert blinded == v.blinded
    evaluated = o.blind_evaluate(v.sk, blinded)
    assert evaluated == v.evaluated
    proof = o.generate_proof(v.sk, g.GENERATOR, v.pk, blinded, evaluated, v.proof_r, mode)
    assert proof == v.proof
    o.verify_proof(g.GENERATOR, v.pk, blinded, evaluated, proof, mode)
    outputs = o.finalize(v.inputs, v.blinds, evaluated, blinded, mode, v.pk, proof)
    assert outputs == v.outputs
    assert [o.evaluate(v.sk, x, mode) for x in v.inputs] == v.outputs


@pytest.mark.parametrize("v", VOPRF, ids=lambda v: f"n{len(v.inputs)}-{v.inputs[0].hex()[:8]}")
def test_voprf_composites_agree(v: OprfVector) -> None:
    # The prover's shortcut Z = k·M must equal the verifier's Σ d_i·D_i.
    assert v.pk is not None
    fast = o.compute_composites_fast(v.sk, v.pk, v.blinded, v.evaluated, o.Mode.VOPRF)
    assert fast == o.compute_composites(v.pk, v.blinded, v.evaluated, o.Mode.VOPRF)


@pytest.mark.parametrize("v", VOPRF, ids=lambda v: f"n{len(v.inputs)}-{v.inputs[0].hex()[:8]}")
def test_voprf_tampered_proof_rejected(v: OprfVector) -> None:
    assert v.pk is not None and v.proof is not None
    for i in (0, 31, 32, 63):
        bad = bytearray(v.proof)
        bad[i] ^= 0x01
        with pytest.raises(ProtocolError):
            o.finalize(v.inputs, v.blinds, v.evaluated, v.blinded, o.Mode.VOPRF, v.pk, bytes(bad))
    # A proof for other evaluated elements (the server's answer swapped) fails too.
    swapped = list(reversed(v.evaluated)) if len(v.evaluated) > 1 else [v.blinded[0]]
    with pytest.raises(ProtocolError):
        o.verify_proof(g.GENERATOR, v.pk, v.blinded, swapped, v.proof, o.Mode.VOPRF)


def test_expand_message_xmd_rfc9380_vectors() -> None:
    # RFC 9380 K.3, expand_message_xmd(SHA-512), DST QUUX-V01-CS02-with-expander-SHA512-256.
    dst = b"QUUX-V01-CS02-with-expander-SHA512-256"
    cases = [
        (
            b"",
            32,
            "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba",
        ),
        (
            b"abc",
            32,
            "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc",
        ),
        (
            b"",
            128,
            "41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921"
            "b052b62eaed99b46f72f2ef4cc96bfaf254ebbbec091e1a3b9e4fb5e5b619d2e"
            "0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842cf5d13d7e"
            "b00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961",
        ),
    ]
    for msg, n, want in cases:
        assert g.expand_message_xmd(msg, dst, n).hex() == want
