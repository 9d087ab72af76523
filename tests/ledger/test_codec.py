"""The canonical codec: round trips, strictness, and nothing but EncodingError escapes."""

from __future__ import annotations

import contextlib
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import EncodingError, canonical_cbor, check_value, decode, encode

_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@given(_values)
def test_round_trip(value) -> None:
    assert decode("t", 1, encode("t", 1, value)) == value


@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_encoding_error(data) -> None:
    for candidate in (data, b"riskshare/t/v1\x00" + data):
        with contextlib.suppress(EncodingError):
            decode("t", 1, candidate)


def test_strictness() -> None:
    good = encode("t", 1, {"b": 1, "a": [b"x", None]})
    with pytest.raises(EncodingError):
        decode("t", 2, good)
    with pytest.raises(EncodingError):
        decode("u", 1, good)
    with pytest.raises(EncodingError):
        decode("t", 1, good + b"\x00")
    prefix = b"riskshare/t/v1\x00"
    # Non-canonical: a small integer in a longer form than needed.
    with pytest.raises(EncodingError, match="canonical"):
        decode("t", 1, prefix + b"\x18\x01")
    with pytest.raises(EncodingError):
        decode("t", 1, prefix + cbor2.dumps(1.5))
    with pytest.raises(EncodingError):
        decode("t", 1, prefix + cbor2.dumps({1: 2}))
    with pytest.raises(EncodingError):
        encode("t", 1, {"x": 1.0})
    with pytest.raises(EncodingError):
        encode("t", 1, b"x" * (1 << 20))


def _reference_accepts(body: bytes) -> bool:
    """The definition: a value that re-encodes, in cbor2's canonical mode, to ``body``."""
    try:
        value = cbor2.loads(body)
        check_value(value)
        return bool(cbor2.dumps(value, canonical=True) == body)
    except Exception:
        return False


def _accepts(body: bytes) -> bool:
    try:
        decode("t", 1, b"riskshare/t/v1\x00" + body)
    except EncodingError:
        return False
    return True


@settings(deadline=None)  # a shared machine: an example may wait for a core
@given(_values, st.randoms(use_true_random=False))
def test_canonical_check_matches_cbor2_canonical_mode(value, rnd) -> None:
    """decode's cheaper check (re-encode in decoded order, then key order) is the same
    judgement as re-encoding in canonical mode: on canonical bytes, on the same value
    with its maps in another order, and on bytes with one byte changed."""

    def shuffled(v: Any) -> Any:
        if isinstance(v, dict):
            items = list(v.items())
            rnd.shuffle(items)
            return {k: shuffled(x) for k, x in items}
        if isinstance(v, list):
            return [shuffled(x) for x in v]
        return v

    canonical = cbor2.dumps(value, canonical=True)
    candidates = [canonical, cbor2.dumps(shuffled(value))]
    if canonical:
        i = rnd.randrange(len(canonical))
        candidates.append(canonical[:i] + bytes([rnd.randrange(256)]) + canonical[i + 1 :])
    for body in candidates:
        assert _accepts(body) == _reference_accepts(body), body.hex()


@settings(deadline=None)  # a shared machine: an example may wait for a core
@given(st.binary(max_size=64))
def test_canonical_check_matches_on_arbitrary_bytes(body) -> None:
    assert _accepts(body) == _reference_accepts(body)


@settings(deadline=None)  # a shared machine: an example may wait for a core
@given(_values, st.randoms(use_true_random=False))
def test_canonical_cbor_is_cbor2_canonical_mode(value, rnd) -> None:
    """canonical_cbor (maps rebuilt in canonical order, then encoded plainly) gives
    cbor2's canonical-mode bytes, whatever order the maps were built in."""

    def shuffled(v: Any) -> Any:
        if isinstance(v, dict):
            items = list(v.items())
            rnd.shuffle(items)
            return {k: shuffled(x) for k, x in items}
        if isinstance(v, list):
            return [shuffled(x) for x in v] if rnd.random() < 0.5 else tuple(v)
        return v

    expected = cbor2.dumps(value, canonical=True)
    assert canonical_cbor(value) == expected
    assert canonical_cbor(shuffled(value)) == expected


def test_canonical_cbor_unusual_values_take_cbor2_canonical_mode() -> None:
    class Text(str):
        pass

    for value in ({1: "a", 2: "b"}, {Text("b"): 1, "a": 2}, [Text("x")], {"b": True, "a": 1}):
        assert canonical_cbor(value) == cbor2.dumps(value, canonical=True)


# -- no CBOR tags, ever (major type 6) ----------------------------------------------------

_PREFIX = b"riskshare/t/v1\x00"
_U64 = 2**64


def _tagged(tag: int, inner: bytes) -> bytes:
    """CBOR major type 6 (a tag) with argument ``tag``, in its shortest form, then ``inner``."""
    if tag < 24:
        head = bytes([0xC0 | tag])
    elif tag < 1 << 8:
        head = bytes([0xD8, tag])
    elif tag < 1 << 16:
        head = b"\xd9" + tag.to_bytes(2, "big")
    elif tag < 1 << 32:
        head = b"\xda" + tag.to_bytes(4, "big")
    else:
        head = b"\xdb" + tag.to_bytes(8, "big")
    return head + inner


@pytest.mark.parametrize(
    "body",
    [
        # Bignums, the tags cbor2 itself writes for an integer beyond 64 bits: the
        # canonical re-encoding of their value is these very bytes.
        cbor2.dumps(_U64),
        cbor2.dumps(-_U64 - 1),
        cbor2.dumps(2**200),
        cbor2.dumps({"amount": _U64}),
        cbor2.dumps([1, [2, -(2**70)]]),
        # Every other tag number, around a value that would be fine untagged.
        _tagged(0, cbor2.dumps("2024-01-01T00:00:00Z")),
        _tagged(1, cbor2.dumps(0)),
        _tagged(2, cbor2.dumps(b"\x01")),
        _tagged(24, cbor2.dumps(cbor2.dumps(1))),
        _tagged(28, cbor2.dumps([1])),
        _tagged(55799, cbor2.dumps(1)),
        _tagged(1 << 20, cbor2.dumps(b"")),
    ],
)
def test_every_tag_is_refused(body: bytes) -> None:
    with pytest.raises(EncodingError):
        decode("t", 1, _PREFIX + body)


@given(st.integers(min_value=-(2**300), max_value=2**300))
def test_integers_are_exactly_the_64_bit_range(value: int) -> None:
    """Integers with a CBOR head of their own (major types 0 and 1: -2^64 .. 2^64-1)
    round-trip; any other has only a tagged form, and is refused both ways."""
    if -_U64 <= value < _U64:
        assert decode("t", 1, encode("t", 1, [value])) == [value]
        return
    with pytest.raises(EncodingError, match="64-bit"):
        encode("t", 1, [value])
    with pytest.raises(EncodingError, match="64-bit"):
        check_value({"x": value})
    with pytest.raises(EncodingError):
        decode("t", 1, _PREFIX + cbor2.dumps([value]))


@given(st.integers(min_value=0, max_value=2**64 - 1), st.binary(max_size=40))
def test_arbitrary_tagged_bytes_are_refused(tag: int, inner: bytes) -> None:
    with pytest.raises(EncodingError):
        decode("t", 1, _PREFIX + _tagged(tag, inner))
