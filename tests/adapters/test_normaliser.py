"""Normaliser v1 against its vectors, and the properties every member relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters import ID_TYPES, NORMALISER_VERSION, Rejected, fold, normalise
from adapters._normalise import cn_id_check_char, luhn_valid
from psi import DEFAULT_REGISTRY

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "normaliser"


def _cases(kind: str) -> list[dict[str, object]]:
    doc = json.loads((VECTORS / f"{kind}.json").read_text(encoding="utf-8"))
    assert doc["normaliser_version"] == NORMALISER_VERSION
    cases = doc["cases"]
    assert cases
    return cases  # type: ignore[no-any-return]


ALL = [(kind, c) for kind in ("valid", "invalid", "tricky") for c in _cases(kind)]


@pytest.mark.parametrize(("kind", "case"), ALL, ids=[f"{k}-{i}" for i, (k, _) in enumerate(ALL)])
def test_vector(kind: str, case: dict[str, object]) -> None:
    id_type, given_value = str(case["id_type"]), case["input"]
    if "output" in case:
        out = normalise(id_type, given_value)
        assert out == case["output"]
        assert normalise(id_type, out) == out
    else:
        with pytest.raises(Rejected) as info:
            normalise(id_type, given_value)
        assert info.value.reason == case["reject"]
        # A rejection is logged; it must not carry the value.
        if isinstance(given_value, str) and len(fold(given_value)) >= 6:
            assert fold(given_value) not in str(info.value)


def test_vectors_cover_every_id_type_both_ways() -> None:
    ok = {c["id_type"] for _, c in ALL if "output" in c}
    bad = {c["id_type"] for _, c in ALL if "reject" in c}
    assert ok >= ID_TYPES
    assert bad >= ID_TYPES


def test_check_digit_helpers_against_standard_examples() -> None:
    # GB 11643-1999 gives 11010519491231002X; ISO/IEC 7812-1 examples for Luhn.
    assert cn_id_check_char("11010519491231002") == "X"
    assert cn_id_check_char("44052418800101001") == "4"
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


_NOISE = st.sampled_from([" ", "\u3000", "\t", "\u00a0", "\u200b", "\ufeff", ""])
_FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


def _decorate(draw: st.DrawFn, text: str) -> str:
    out = []
    for ch in text:
        out.append(draw(_NOISE))
        out.append(_FULLWIDTH.get(ch, ch) if draw(st.booleans()) else ch)
    out.append(draw(_NOISE))
    return "".join(out)


@st.composite
def _cn_ids(draw: st.DrawFn) -> tuple[str, str]:
    area = draw(st.integers(110000, 829999))
    year = draw(st.integers(1900, 2020))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    seq = draw(st.integers(0, 999))
    if draw(st.booleans()) and 1900 <= year <= 1999:
        legacy = f"{area}{year % 100:02d}{month:02d}{day:02d}{seq:03d}"
        body = legacy[:6] + "19" + legacy[6:]
        return _decorate(draw, legacy), body + cn_id_check_char(body)
    body = f"{area}{year}{month:02d}{day:02d}{seq:03d}"
    check = cn_id_check_char(body)
    shown = check.lower() if check == "X" and draw(st.booleans()) else check
    return _decorate(draw, body + shown), body + check


@st.composite
def _phones(draw: st.DrawFn) -> tuple[str, str]:
    number = (
        "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    )
    prefix = draw(st.sampled_from(["", "+86", "0086", "86", "+86 ", "(+86)"]))
    sep = draw(st.sampled_from(["", " ", "-", "."]))
    shown = prefix + number[:3] + sep + number[3:7] + sep + number[7:]
    return _decorate(draw, shown), number


@st.composite
def _cards(draw: st.DrawFn) -> tuple[str, str]:
    body = draw(st.text("0123456789", min_size=11, max_size=18))
    card = next(body + d for d in "0123456789" if luhn_valid(body + d))
    return _decorate(draw, card), card


_ALPHABET = st.sampled_from(
    [*"0123456789xXabcdefABCDEF+-.()|: ", "８", "６", "ｘ", "\u3000", "｜", "\u200b", "中", "٣"]
)


@st.composite
def _accounts(draw: st.DrawFn) -> tuple[str, str]:
    bank = draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=3, max_size=12))
    number = draw(st.text("0123456789", min_size=6, max_size=34))
    shown = (bank.lower() if draw(st.booleans()) else bank) + "|" + number
    return _decorate(draw, shown), f"{bank}|{number}"


@st.composite
def _devices(draw: st.DrawFn) -> tuple[str, str]:
    hexa = draw(st.text("0123456789abcdef", min_size=8, max_size=64))
    return _decorate(draw, hexa.upper() if draw(st.booleans()) else hexa), hexa


_VALID = st.one_of(
    _cn_ids().map(lambda p: ("cn_id", *p)),
    _phones().map(lambda p: ("phone", *p)),
    _cards().map(lambda p: ("bank_card", *p)),
    _accounts().map(lambda p: ("account", *p)),
    _devices().map(lambda p: ("device", *p)),
)


@given(_VALID)
def test_decorated_valid_identifiers_normalise_to_their_canonical_form(
    case: tuple[str, str, str],
) -> None:
    id_type, shown, canonical = case
    assert normalise(id_type, shown) == canonical
    assert normalise(id_type, canonical) == canonical
    # psi refuses anything not in normalised shape; every normal form must pass.
    DEFAULT_REGISTRY.check("transaction_fraud", id_type, canonical)


_RANDOM = st.tuples(
    st.sampled_from(sorted(ID_TYPES)), st.lists(_ALPHABET, max_size=40).map("".join)
)


@given(st.one_of(_VALID.map(lambda c: (c[0], c[1])), _RANDOM))
def test_idempotent(case: tuple[str, str]) -> None:
    """normalise(normalise(x)) == normalise(x) whenever normalise(x) succeeds."""
    id_type, text = case
    try:
        once = normalise(id_type, text)
    except Rejected as exc:
        assert exc.reason
        return
    assert normalise(id_type, once) == once
    assert once.isascii()
    DEFAULT_REGISTRY.check("transaction_fraud", id_type, once)


@given(st.sampled_from(sorted(ID_TYPES)), st.text(max_size=60))
def test_arbitrary_text_normalises_or_is_rejected(id_type: str, text: str) -> None:
    try:
        once = normalise(id_type, text)
    except Rejected as exc:
        assert exc.reason
        return
    assert normalise(id_type, once) == once


def test_other_scripts_digits_are_not_digits() -> None:
    # Arabic-Indic and Devanagari digits pass str.isdigit but are not identifiers.
    with pytest.raises(Rejected):
        normalise("phone", "١٣٨١٢٣٤٥٦٧٨")
    with pytest.raises(Rejected):
        normalise("bank_card", "४१११११११११११११११")
