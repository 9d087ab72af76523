"""Masking keeps identifiers out of reports and logs."""

from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from adapters import RedactingFilter, mask, scrub


def test_mask_shapes() -> None:
    assert mask("13812345678") == "13*******78"
    assert mask("11010519491231002X") == "11**************2X"
    assert mask("1234567") == "1*****7"
    assert mask("12345") == "*****"
    assert mask(None) == ""
    assert mask(" １３８１２３４５６７８ ") == "13*******78"


@given(st.text("0123456789", min_size=6, max_size=40))
def test_mask_never_shows_the_middle(value: str) -> None:
    out = mask(value)
    assert len(out) == len(value)
    hidden = out.count("*")
    assert hidden >= len(value) - 4
    assert value not in out


def test_scrub_masks_long_digit_runs_only() -> None:
    text = "row 12: phone 138-1234-5678 id 11010519491231002X at 2024-01-02 took 35 ms"
    out = scrub(text)
    assert "12345678" not in out.replace("-", "")
    assert "1231002" not in out
    assert "row 12" in out and "2024-01-02" in out and "35 ms" in out


def test_redacting_filter_rewrites_records() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "card %s bad", ("4111111111111111",), None
    )
    assert RedactingFilter().filter(record)
    assert "4111111111111111" not in record.getMessage()
    assert record.getMessage().startswith("card 41")
