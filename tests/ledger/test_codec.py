"""The canonical codec: round trips, strictness, and nothing but EncodingError escapes."""

from __future__ import annotations

import contextlib

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import EncodingError, decode, encode

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
