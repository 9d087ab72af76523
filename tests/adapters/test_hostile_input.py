"""Decoders and converters fed arbitrary input either succeed or raise the package's error."""

from __future__ import annotations

import contextlib
import json
from datetime import date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import (
    LAUNCH_LIST_TYPES,
    EvidenceError,
    EvidenceOpening,
    MappingError,
    Reject,
    RowConverter,
    SourceRow,
    mask,
    parse_mapping,
)
from psi import DEFAULT_REGISTRY, Label

MAPPING = parse_mapping(
    """
name = "h"
[source]
key = "k"
delisted = "d"
[columns]
list_type = "l"
id_type = { column = "t", map = { "1" = "phone", "2" = "cn_id" } }
value = "v"
reason_code = "r"
listed_at = "a"
expires_at = "e"
evidence_ref = "x"
"""
)

_cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["transaction_fraud", "marketing_abuse", "1", "2", "13800000000", "0"]),
    st.datetimes(),
    st.dates(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_cells, min_size=len(MAPPING.columns()), max_size=len(MAPPING.columns())))
def test_any_record_becomes_a_row_or_a_reject(values: list[object]) -> None:
    out = RowConverter(MAPPING, LAUNCH_LIST_TYPES).convert(1, 2, values)
    assert isinstance(out, SourceRow | Reject)
    if isinstance(out, SourceRow):
        # Whatever the adapter accepts, the index accepts: shape and label fields.
        DEFAULT_REGISTRY.check(out.key.list_type, out.key.id_type, out.key.value)
        Label.from_times(out.reason_code or 0, out.listed_at, out.expires_at)
    if isinstance(out, Reject):
        assert out.reason and out.row == 1
        raw_value = values[MAPPING.columns().index("v")]
        if out.column == "v" and isinstance(raw_value, str) and len(raw_value) >= 6:
            assert raw_value not in out.masked_value or raw_value == mask(raw_value)


@given(st.text(max_size=400))
def test_arbitrary_mapping_text_parses_or_raises_mapping_error(text: str) -> None:
    with contextlib.suppress(MappingError):
        parse_mapping(text)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.one_of(st.text(max_size=200), _json.map(json.dumps)))
def test_arbitrary_openings_parse_or_raise_evidence_error(text: str) -> None:
    with contextlib.suppress(EvidenceError):
        EvidenceOpening.from_json(text)


def test_dates_and_datetimes_are_accepted_as_times() -> None:
    conv = RowConverter(MAPPING, LAUNCH_LIST_TYPES)
    row = [
        "9",
        None,
        "marketing_abuse",
        "1",
        "13800000000",
        3,
        date(2024, 1, 2),
        datetime(2025, 1, 2),
        "C",
    ]
    out = conv.convert(1, None, row)
    assert isinstance(out, SourceRow)
    assert (out.listed_at, out.expires_at) == (1704153600, 1735776000)


def test_times_outside_1970_to_9999_are_rejected() -> None:
    conv = RowConverter(MAPPING, LAUNCH_LIST_TYPES)
    base: list[object] = ["9", None, "marketing_abuse", "1", "13800000000", 3, None, None, "C"]
    for listed in (-1, 2**40, datetime(1969, 12, 31), "0001-01-01T00:00:00+14:00", 10**30):
        row: list[object] = list(base)
        row[6] = listed
        out = conv.convert(1, None, row)
        assert isinstance(out, Reject) and (out.column, out.reason) == ("a", "bad_time"), listed
