"""The querier's and the arbiter's checks of a responder's answer: evaluated elements,
DLEQ proofs and public keys from a peer, mixed with the real ones so the fuzzer gets
past the first length check.

Contract: :class:`psi.ProtocolError` or success; and success only for the honest
answer (a proof that verifies for anything else would be a forgery).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from psi import (
    PendingQuery,
    ProtocolError,
    decode_elements,
    derive_key_pair,
    evaluate_batch,
    prepare_query,
    verify_evaluation,
)
from tests.fuzz._harness import OneInput, Picker, Target

LT = "transaction_fraud"


@dataclass(frozen=True)
class Answer:
    pending: PendingQuery
    public: bytes
    evaluated: tuple[bytes, ...]
    proof: bytes


@functools.cache
def _answer() -> Answer:
    key = derive_key_pair(bytes(range(32)), b"fuzz")
    items = [("phone", f"1380000000{i}") for i in range(3)]
    pending = prepare_query(LT, items, os.urandom, pool=None)
    evaluated, proof = evaluate_batch(key, list(pending.blinded), os.urandom, pool=None)
    return Answer(pending, key.public, tuple(evaluated), proof)


def _elements(pick: Picker, honest: tuple[bytes, ...]) -> list[bytes]:
    choice = pick.int_in(0, 4)
    if choice == 0:
        return list(honest)
    if choice == 1:  # one element replaced
        out = list(honest)
        out[pick.int_in(0, len(out) - 1)] = pick.blob(32)
        return out
    if choice == 2:  # reordered or truncated
        out = list(honest)
        return out[::-1] if pick.bool() else out[: pick.int_in(0, len(out))]
    if choice == 3:
        raw = pick.blob(32 * pick.int_in(0, 5))
        try:
            return decode_elements(raw, max_count=8)
        except ProtocolError:
            return [raw[i : i + 32] for i in range(0, len(raw), 32)]
    return [pick.blob(pick.int_in(0, 40)) for _ in range(pick.int_in(0, 4))]


def _proof(pick: Picker, honest: bytes) -> bytes:
    choice = pick.int_in(0, 2)
    if choice == 0:
        return honest
    if choice == 1:
        flipped = bytearray(honest)
        flipped[pick.int_in(0, 63)] ^= 1 << pick.int_in(0, 7)
        return bytes(flipped)
    return pick.blob(pick.pick([64, 63, 65, 0, 32]))


def _check(data: bytes) -> None:
    answer = _answer()
    pick = Picker(data)
    public = answer.public if pick.bool() else pick.blob(32)
    blinded = _elements(pick, answer.pending.blinded)
    evaluated = _elements(pick, answer.evaluated)
    proof = _proof(pick, answer.proof)
    honest = (
        public == answer.public
        and tuple(blinded) == answer.pending.blinded
        and tuple(evaluated) == answer.evaluated
        and proof == answer.proof
    )
    try:
        verify_evaluation(public, blinded, evaluated, proof)
    except ProtocolError:
        assert not honest, "the honest answer was refused"
    else:
        assert honest, "a proof verified for an answer the responder never gave"
    try:
        outputs = answer.pending.finish(evaluated, proof, public, pool=None)
    except ProtocolError:
        return
    assert len(outputs) == len(answer.pending.blinded)
    assert (tuple(evaluated), proof, public) == (answer.evaluated, answer.proof, answer.public)


def _setup(scratch: Path) -> OneInput:
    _answer()
    return _check


def _seeds(scratch: Path) -> list[bytes]:
    return [bytes(8), b"\x01" * 64, bytes(range(256))]


TARGETS = [Target("answer", _setup, _seeds)]
