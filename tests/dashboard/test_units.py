"""The dashboard's pure parts: escaping, the access rule, display of ledger values, charts."""

from __future__ import annotations

import html
import itertools
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import ConfigError, parse_config
from gateway._dashboard import (
    COOKIE,
    MIN_TOKEN_CHARS,
    WITHHELD,
    access_rule,
    display,
    is_loopback,
    serve_dashboard,
)
from gateway._dashboard._charts import bar_chart, nice_ticks, step_chart
from gateway._dashboard._format import BadFilter, credits, parse_time, utc
from gateway._dashboard._html import Markup, el, url

TOKEN = "t" * MIN_TOKEN_CHARS + "-secret"


@given(st.text())
def test_text_and_attributes_are_always_escaped(text: str) -> None:
    cell = el("td", text)
    assert cell == "<td>" + html.escape(text, quote=True) + "</td>"
    link = el("a", "x", href=text, title=text)
    # Data never closes the attribute or opens a tag.
    assert link.count('"') == 4 and "<" not in link[1:-4]


@given(st.text(), st.text())
def test_urls_carry_data_only_percent_encoded(path_part: str, value: str) -> None:
    built = url("/queries", {"peer": value}, path_part)
    assert all(c not in built for c in ' "<>')
    assert built.startswith("/queries")


def test_markup_is_the_only_way_to_inject_html() -> None:
    assert el("p", "<b>") == "<p>&lt;b&gt;</p>"
    assert el("p", Markup("<b>")) == "<p><b></p>"
    with pytest.raises(ValueError):
        el("p onclick", "x")
    with pytest.raises(ValueError):
        el("p", "x", **{"on click": "y"})


def test_loopback_detection() -> None:
    for host in ("127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "10.0.0.1", "::", "example.com", "127.0.0.1.nip.io", ""):
        assert not is_loopback(host), host


def test_off_loopback_needs_a_strong_token() -> None:
    with pytest.raises(ConfigError, match="not a loopback"):
        access_rule("0.0.0.0", "")
    with pytest.raises(ConfigError, match="at least"):
        access_rule("0.0.0.0", "short")
    with pytest.raises(ConfigError):
        access_rule("10.1.2.3", "a token with spaces in it")
    assert access_rule("0.0.0.0", TOKEN).token == TOKEN
    assert access_rule("127.0.0.1", "").token == ""


def test_serve_refuses_before_opening_anything(tmp_path: Path) -> None:
    missing = tmp_path / "no-ledger.sqlite"
    with pytest.raises(ConfigError):
        serve_dashboard(member="bank-a", ledger_path=missing, data_dir=tmp_path, bind="0.0.0.0")
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == []


def test_loopback_without_token_checks_the_host_header() -> None:
    access = access_rule("127.0.0.1", "")
    ok = {"authorization": None, "cookie": None, "query_token": None}
    assert access.decide(host="127.0.0.1:8470", **ok).status == 200
    assert access.decide(host="localhost:8470", **ok).status == 200
    assert access.decide(host="[::1]:8470", **ok).status == 200
    assert access.decide(host="attacker.example:8470", **ok).status == 421
    assert access.decide(host=None, **ok).status == 421


@given(st.text(max_size=64))
def test_only_the_token_opens_the_door(presented: str) -> None:
    access = access_rule("0.0.0.0", TOKEN)
    none = {"host": "10.0.0.5:8470", "authorization": None, "cookie": None, "query_token": None}
    expected = 200 if presented.strip() == TOKEN else 401
    assert access.decide(**{**none, "authorization": f"Bearer {presented}"}).status == expected
    assert access.decide(**{**none, "query_token": presented}).status in (
        (303,) if presented == TOKEN else (401,)
    )
    assert access.decide(**none).status == 401


def test_token_by_cookie_and_by_query() -> None:
    access = access_rule("0.0.0.0", TOKEN)
    base = {"host": "h", "authorization": None, "cookie": None, "query_token": None}
    assert access.decide(**{**base, "cookie": f"{COOKIE}={TOKEN}"}).status == 200
    assert access.decide(**{**base, "cookie": f"other=1; {COOKIE}={TOKEN}"}).status == 200
    assert access.decide(**{**base, "cookie": f"{COOKIE}=nope"}).status == 401
    assert access.decide(**{**base, "cookie": "\x00garbage"}).status == 401
    assert access.decide(**{**base, "query_token": TOKEN}).status == 303
    assert access.decide(**{**base, "authorization": f"Basic {TOKEN}"}).status == 401


def test_identifier_fields_and_element_lists_never_display() -> None:
    element = bytes(range(32))
    body = {
        "record": {"list_type": "transaction_fraud", "value": "13800138000"},
        "blinded": [element, element[::-1]],
        "evaluated": [element],
        "path": [element],
        "digest": element,
        "big": b"\x01" * 100,
    }
    shown = display(body)
    text = repr(shown)
    assert shown["record"]["value"] == WITHHELD and "13800138000" not in text
    assert element.hex() not in repr(shown["blinded"]) + repr(shown["evaluated"])
    assert shown["blinded"].startswith("2 byte strings, sha256 ")
    assert shown["path"] == [element.hex()] and shown["digest"] == element.hex()
    assert shown["big"].startswith("100 bytes, sha256 ")


_SECRET = "ID-13800138000"
_MARKER = b"\xaa" * 32
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text().filter(lambda t: "13800138000" not in t),
    st.binary(max_size=80).filter(lambda b: b"\xaa" not in b),
)


@given(
    st.recursive(
        _leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_display_never_shows_an_element_list_or_an_identifier_field(value: object) -> None:
    body = {"x": value, "elements": [_MARKER], "blinded": [_MARKER] * 3, "value": _SECRET}
    shown = repr(display({"nested": [body], **body}))
    assert _MARKER.hex() not in shown and "13800138000" not in shown


def test_times_and_credits_read_exactly() -> None:
    assert credits(-1234) == "-1.234" and credits(1_000_000) == "1,000.000"
    assert credits(5) == "0.005"
    assert parse_time("2025-01-31") == 1738281600000
    assert parse_time("2025-01-31", end=True) == 1738281600000 + 86_400_000 - 1
    assert parse_time("2025-01-31T09:00") == 1738281600000 + 9 * 3_600_000
    assert parse_time("") is None
    assert utc(1738281600000) == "2025-01-31 00:00:00"
    for bad in ("yesterday", "2025-13-01", "31/01/2025"):
        with pytest.raises(BadFilter):
            parse_time(bad)


@given(st.integers(-(10**9), 10**9), st.integers(-(10**9), 10**9))
def test_ticks_cover_the_range_in_round_steps(a: int, b: int) -> None:
    ticks = nice_ticks(a, b)
    assert ticks[0] <= min(a, b) and ticks[-1] >= max(a, b)
    steps = {round(y - x, 6) for x, y in itertools.pairwise(ticks)}
    assert len(steps) <= 1 and len(ticks) <= 12


def test_charts_are_inline_svg_with_exact_titles() -> None:
    chart = step_chart([(0, 0), (60_000, -2000), (120_000, 5000)], title="bal", fmt=credits)
    assert chart.startswith("<svg") and "<script" not in chart
    assert "5.000" in chart and "-2.000" in chart
    bars = bar_chart(["bank-<b>"], [("asked", [3]), ("served", [7])], title="flows")
    assert 'data-value="7"' in bars and "bank-&lt;b&gt;" in bars
    assert re.search(r"<script|javascript:", bars) is None
    assert step_chart([], title="x", fmt=str).startswith("<p")


_CONFIG = {
    "member": {"id": "bank-a", "dir": "m", "data_dir": "d"},
    "gateway": {"listen": "127.0.0.1:7443"},
    "ledger": {"orderer": "127.0.0.1:7000"},
}


def test_the_dashboard_config_section(tmp_path: Path) -> None:
    default = parse_config(_CONFIG, base=tmp_path, env={}).dashboard
    assert (default.enabled, default.bind, default.port, default.token) == (
        True,
        "127.0.0.1",
        0,
        "",
    )
    raw = {**_CONFIG, "dashboard": {"bind": "0.0.0.0", "port": 8470}}
    env = {"RISKSHARE_DASHBOARD_TOKEN": TOKEN, "RISKSHARE_DASHBOARD_ENABLED": "false"}
    section = parse_config(raw, base=tmp_path, env=env).dashboard
    assert (section.bind, section.port, section.token, section.enabled) == (
        "0.0.0.0",
        8470,
        TOKEN,
        False,
    )
    for bad in ({"port": 70000}, {"probe_seconds": 0}, {"colour": "blue"}, {"port": "80"}):
        with pytest.raises(ConfigError):
            parse_config({**_CONFIG, "dashboard": bad}, base=tmp_path, env={})
