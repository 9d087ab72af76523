"""Canonical, domain-separated encoding of everything the ledger signs or hashes.

An encoded value is ``b"riskshare/<domain>/v<version>\\x00"`` followed by the
deterministic CBOR of the payload (``cbor2`` with ``canonical=True``: shortest integer
and length forms, definite lengths, map keys sorted length-first as in RFC 7049 §3.9).
The prefix keeps a signature over one kind of message from ever verifying as another;
the version lets a format change without ambiguity.

Decoding is strict, because signatures cover the exact stored bytes and two encodings
of one value would let a replica accept bytes another rejects:

- the prefix must match the expected domain and version exactly;
- the CBOR must be a single item that re-encodes to the very same bytes (canonical);
- no floats, no CBOR tags, map keys must be text, nesting and size are bounded.

No tags, and why checking integers is enough: a decoded value passes ``_check`` only if
it is built of ``None``, booleans, integers, text, bytes, lists and text-keyed maps, and
it is accepted only if cbor2 re-encodes it to the very bytes given. cbor2 writes a tag
for such a value in exactly one case, an integer outside -2^64 .. 2^64-1 (the bignum
tags 2 and 3); every other tag decodes to a type ``_check`` refuses (a datetime, a
Decimal, a set...) or to a plain value whose re-encoding lacks the tag. So refusing
those integers, when encoding and when decoding, refuses every tag.

Every way bytes can be bad raises :class:`EncodingError`; nothing else escapes.
"""

from __future__ import annotations

from typing import Any

import cbor2

from ledger._errors import LedgerError

__all__ = [
    "MAX_ENCODED_BYTES",
    "EncodingError",
    "canonical_cbor",
    "check_value",
    "decode",
    "encode",
]

# Blocks cap at 1 MiB; nothing the ledger encodes is larger than a block.
MAX_ENCODED_BYTES = 1 << 20
_MAX_DEPTH = 16


class EncodingError(LedgerError):
    """Bytes that are not a canonical encoding of the expected domain and version."""


_prefixes: dict[tuple[str, int], bytes] = {}


def _prefix(domain: str, version: int) -> bytes:
    known = _prefixes.get((domain, version))
    if known is not None:
        return known
    if not domain or "/" in domain or "\x00" in domain or version < 0:
        raise EncodingError(f"bad domain {domain!r} or version {version}")
    prefix = f"riskshare/{domain}/v{version}".encode() + b"\x00"
    if len(_prefixes) < 256:  # a few dozen domains exist; never grow without bound
        _prefixes[(domain, version)] = prefix
    return prefix


_SCALARS = frozenset({type(None), bool, str, bytes})
# Integers with a CBOR head of their own (major types 0 and 1); beyond them cbor2
# writes a bignum tag, which canonical values never carry (module docstring).
_INT_LOW, _INT_HIGH = -(1 << 64), 1 << 64
_BIG = "integer outside the 64-bit range (CBOR would need a bignum tag)"
# What _in_canonical_order passes through unchanged (values it sees were checked).
_LEAVES = _SCALARS | {int}


def _check(value: Any, depth: int = 0) -> None:
    """Refuse values that have no single canonical meaning on every replica.

    Runs on every value the ledger encodes or decodes, so the common exact types are
    tested with one set lookup; subclasses take the slower ``isinstance`` path.
    """
    if depth > _MAX_DEPTH:
        raise EncodingError("value nested too deeply")
    kind = type(value)
    if kind is int:
        if not _INT_LOW <= value < _INT_HIGH:
            raise EncodingError(_BIG)
        return
    if kind in _SCALARS:
        return
    if kind is list or kind is tuple:
        if value and depth + 1 > _MAX_DEPTH:
            raise EncodingError("value nested too deeply")
        for item in value:
            inner = type(item)
            if inner is int:
                if not _INT_LOW <= item < _INT_HIGH:
                    raise EncodingError(_BIG)
            elif inner not in _SCALARS:
                _check(item, depth + 1)
        return
    if kind is dict:
        if value and depth + 1 > _MAX_DEPTH:
            raise EncodingError("value nested too deeply")
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                raise EncodingError("map keys must be text")
            inner = type(item)
            if inner is int:
                if not _INT_LOW <= item < _INT_HIGH:
                    raise EncodingError(_BIG)
            elif inner not in _SCALARS:
                _check(item, depth + 1)
        return
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not _INT_LOW <= value < _INT_HIGH:
            raise EncodingError(_BIG)
        return
    if isinstance(value, str | bytes):
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodingError("map keys must be text")
            _check(item, depth + 1)
        return
    raise EncodingError(f"type {type(value).__name__} is not allowed in a canonical value")


def check_value(value: Any) -> None:
    """Raise :class:`EncodingError` unless ``value`` has one canonical encoding."""
    _check(value)


def canonical_cbor(value: Any) -> bytes:
    """``cbor2.dumps(value, canonical=True)`` for a value :func:`check_value` accepts.

    cbor2's canonical mode sorts every map while it encodes, which costs several times
    the encoding itself; here maps are rebuilt in canonical key order (one sort per
    distinct key set, remembered) and encoded plainly, which gives the same bytes for
    text-keyed maps (a test pins the two together). Anything unusual (a subclass, a
    non-text key) takes cbor2's canonical mode.
    """
    try:
        ordered = _in_canonical_order(value)
    except _Unusual:
        return cbor2.dumps(value, canonical=True)
    return cbor2.dumps(ordered)


class _Unusual(Exception):
    """Internal: a value :func:`canonical_cbor` leaves to cbor2's canonical mode."""


# Key tuple → the same keys in canonical order; maps of one schema repeat. Bounded.
_sorted_keys: dict[tuple[Any, ...], tuple[str, ...]] = {}


def _key_order(keys: tuple[Any, ...]) -> tuple[str, ...]:
    known = _sorted_keys.get(keys)
    if known is None:
        if any(type(key) is not str for key in keys):
            raise _Unusual
        known = tuple(sorted(keys, key=lambda k: (len(k.encode()), k.encode())))
        if len(_sorted_keys) < _ORDER_MEMO_LIMIT:
            _sorted_keys[keys] = known
    return known


def _in_canonical_order(value: Any) -> Any:
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is dict:
        keys = tuple(value)
        order = keys if len(keys) < 2 else _key_order(keys)
        return {
            key: item if type(item) in _LEAVES else _in_canonical_order(item)
            for key, item in zip(order, map(value.__getitem__, order), strict=True)
        }
    if kind is list or kind is tuple:
        return [item if type(item) in _LEAVES else _in_canonical_order(item) for item in value]
    raise _Unusual


def encode(domain: str, version: int, payload: Any) -> bytes:
    """Encode ``payload`` canonically under ``riskshare/<domain>/v<version>``."""
    _check(payload)
    data = _prefix(domain, version) + canonical_cbor(payload)
    if len(data) > MAX_ENCODED_BYTES:
        raise EncodingError(f"encoded value is {len(data)} bytes, over {MAX_ENCODED_BYTES}")
    return data


def decode(domain: str, version: int, data: bytes) -> Any:
    """Decode bytes made by :func:`encode` for this domain and version, strictly."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise EncodingError("expected bytes")
    data = bytes(data)
    if len(data) > MAX_ENCODED_BYTES:
        raise EncodingError(f"encoded value is {len(data)} bytes, over {MAX_ENCODED_BYTES}")
    prefix = _prefix(domain, version)
    if not data.startswith(prefix):
        raise EncodingError(f"not a riskshare/{domain}/v{version} encoding")
    body = data[len(prefix) :]
    try:
        value = cbor2.loads(body)
    except Exception as exc:  # cbor2 raises many types on hostile input; all mean "bad bytes".
        raise EncodingError(f"malformed CBOR: {type(exc).__name__}") from None
    _check(value)
    # Canonical means: re-encoding in the decoded key order gives the same bytes (so
    # every integer, length and item has its one shortest, definite form) and every
    # map's keys are in canonical order. That is exactly ``dumps(canonical=True) ==
    # body`` (a test pins the two together), at a fraction of its cost: canonical
    # mode re-sorts every map, and stored transactions are decoded on every replica.
    try:
        again = cbor2.dumps(value)
    except Exception as exc:
        raise EncodingError(f"value cannot be re-encoded: {type(exc).__name__}") from None
    if again != body or not _keys_in_order(value):
        raise EncodingError("CBOR is not in canonical form (or has trailing bytes)")
    return value


# Key tuples already judged; maps of one schema repeat in every transaction. Bounded.
_ORDER_MEMO_LIMIT = 4096
_orders: dict[tuple[str, ...], bool] = {}


def _canonical_order(keys: tuple[str, ...]) -> bool:
    """RFC 7049 §3.9 order: shorter encoded key first, then bytewise (text keys only)."""
    known = _orders.get(keys)
    if known is None:
        encoded = [key.encode() for key in keys]
        known = encoded == sorted(encoded, key=lambda e: (len(e), e))
        if len(_orders) < _ORDER_MEMO_LIMIT:
            _orders[keys] = known
    return known


def _keys_in_order(value: Any) -> bool:
    """Whether every map in a decoded value (already through ``_check``) is ordered."""
    kind = type(value)
    if kind is dict:
        if len(value) > 1 and not _canonical_order(tuple(value)):
            return False
        items = value.values()
    elif kind is list:
        items = value
    else:
        return True
    for item in items:
        if (type(item) is dict or type(item) is list) and not _keys_in_order(item):
            return False
    return True
