"""The dashboard in headless Chromium against a running demo consortium.

Numbers on the pages are compared with the replica read directly here (the receipts
table, accounts and journal in ``ledger.sqlite``), not with the dashboard's own query
code; the proof a browser downloads is verified against the orderer's key from its
enrolment directory, as an auditor would.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from gateway import load_member_credentials
from ledger import ProofError, decode_tx_proof, verify_tx_proof
from tests.dashboard.conftest import TOKEN, Demo

PAGES = [
    "/",
    "/ledger",
    "/queries",
    "/credits",
    "/ranking",
    "/lists",
    "/peers",
    "/watch",
    "/regulator",
    "/governance",
]
TITLES = {
    "/": "Overview",
    "/ledger": "Ledger explorer",
    "/queries": "Queries made and served",
    "/credits": "Credits",
    "/ranking": "Evaluation ranking",
    "/lists": "Index status per list type",
    "/peers": "Peers",
    "/watch": "Watchlists",
    "/regulator": "Regulator's report",
    "/governance": "Governance",
}


def _credits(mcredits: int) -> str:
    return format(Decimal(mcredits) / 1000, ",.3f")


def _receipts(demo: Demo, member: str) -> list[dict[str, Any]]:
    with demo.store(member) as store:
        rows = store.state().scan("credits.receipts")
        return [dict(r) | {"_id": k} for k, r in rows if isinstance(r, dict)]


def _mine(demo: Demo, member: str) -> list[dict[str, Any]]:
    return [r for r in _receipts(demo, member) if member in (r["querier"], r["responder"])]


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.console_errors = errors
    try:
        yield tab
    finally:
        context.close()


def _goto(tab: Any, url: str) -> Any:
    response = tab.goto(url)
    assert response is not None
    return response


def _stat(tab: Any, key: str) -> str:
    return str(tab.locator(f'[data-stat="{key}"]').inner_text()).strip()


def _stable(
    demo: Demo, member: str, read: Callable[[], Any], look: Callable[[], Any]
) -> tuple[Any, Any]:
    """Read the ledger, look at the page, read again; retry if the ledger moved."""
    for _ in range(5):
        before = read()
        seen = look()
        if read() == before:
            return before, seen
    raise AssertionError("the ledger kept moving")


def test_every_page_loads_with_real_data(demo: Demo, page: Any, screenshots: Path) -> None:
    base = demo.urls["bank-a"].rstrip("/")
    for path in PAGES:
        response = _goto(page, base + path)
        assert response.status == 200, path
        assert page.locator("h1").inner_text() == TITLES[path]
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        name = "overview" if path == "/" else path.strip("/")
        page.screenshot(path=str(screenshots / f"bank-a-{name}.png"), full_page=True)
    # No script, no blocked resource, no CSP violation on any page.
    assert page.console_errors == []
    _goto(page, base + "/credits")
    assert page.locator("svg.chart").count() == 3
    assert page.locator("svg.chart path.line").count() == 1
    _goto(page, base + "/peers")
    for peer in ("bank-b", "bank-c", "orderer"):
        row = page.locator("#peers tr", has_text=peer)
        assert "serving" in row.inner_text(), peer
    _goto(page, base + "/governance")
    assert page.locator("#proposals tbody tr").count() == 1
    assert "set_params" in page.locator("#proposals").inner_text()
    _goto(page, base + "/lists")
    row = page.locator("#lists tr", has_text="transaction_fraud").inner_text()
    assert "published" in row


def test_numbers_match_the_ledger(demo: Demo, page: Any) -> None:
    base = demo.urls["bank-a"].rstrip("/")

    def ledger() -> dict[str, Any]:
        mine = _mine(demo, "bank-a")
        made = [r for r in mine if r["querier"] == "bank-a"]
        served = [r for r in mine if r["responder"] == "bank-a"]
        with demo.store("bank-a") as store:
            account = store.state().get("credits.accounts", "bank-a")
            journal = [r for _, r in store.state().scan("credits.journal", "bank-a/")]
            height, txs = store.height, store.tx_count()
        assert isinstance(account, dict)
        return {
            "height": str(height),
            "transactions": str(txs),
            "made": str(len(made)),
            "served": str(len(served)),
            "made_items": str(sum(r["items"] for r in made)),
            "served_items": str(sum(r["items"] for r in served)),
            "charges": _credits(sum(r["charge"] for r in made if r["status"] != "refunded")),
            "balance": _credits(account["balance"]),
            "entries": str(len(journal)),
            "ids": sorted(r["_id"] for r in mine),
        }

    def look() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        _goto(page, base + "/")
        for key in ("height", "transactions", "made", "served", "balance"):
            seen[key] = _stat(page, key)
        _goto(page, base + "/queries")
        for key in ("made", "served", "made_items", "served_items", "charges"):
            assert _stat(page, key) == seen.get(key, _stat(page, key))
            seen[key] = _stat(page, key)
        seen["ids"] = sorted(
            page.locator("#queries a.receipt").evaluate_all("links => links.map(a => a.title)")
        )
        _goto(page, base + "/credits")
        assert _stat(page, "balance") == seen["balance"]
        seen["entries"] = _stat(page, "entries")
        return seen

    expected, seen = _stable(demo, "bank-a", ledger, look)
    assert seen == expected
    assert int(expected["made"]) >= 3 and expected["charges"] != "0.000"
    # The statement's last balance is the account's balance.
    _goto(page, base + "/credits")
    first_row = page.locator("#journal tbody tr").first.locator("td")
    assert first_row.nth(6).inner_text() == expected["balance"]
    # Settlement so far: this epoch's net charges and the base grant for one list type.
    with demo.store("bank-a") as store:
        state = store.state()
        grant = state.get("gov.params", "credits.grant")
        index = state.get("pub.index", "bank-a/transaction_fraud")
    assert isinstance(grant, int) and isinstance(index, dict)
    _goto(page, base + "/ranking")
    cells = page.locator("#provisional-entries tr", has_text="bank-a").locator("td")
    assert cells.nth(1).inner_text() == _credits(grant)
    assert cells.nth(4).inner_text() == expected["charges"]
    assert page.locator("#ranking tbody tr").count() == 3
    # Index status: what the ledger says was published, and what was imported.
    _goto(page, base + "/lists")
    cells = page.locator("#lists tr", has_text="transaction_fraud").locator("td")
    assert cells.nth(3).inner_text() == str(index["epoch"])
    assert cells.nth(4).inner_text() == str(index["size"])
    assert cells.nth(8).inner_text() == str(index["size"])


def _rows(tab: Any) -> list[str]:
    return sorted(tab.locator("#queries a.receipt").evaluate_all("ls => ls.map(a => a.title)"))


def test_filters(demo: Demo, page: Any) -> None:
    base = demo.urls["bank-a"].rstrip("/")
    mine = _mine(demo, "bank-a")
    # The form, as a user drives it: pick a peer, submit.
    _goto(page, base + "/queries")
    page.select_option("select[name=peer]", "bank-b")
    page.click("#query-filters button[type=submit]")
    page.wait_for_load_state()
    assert "peer=bank-b" in page.url
    expected = sorted(r["_id"] for r in mine if "bank-b" in (r["querier"], r["responder"]))
    assert _rows(page) == expected and expected
    assert _stat(page, "matched") == str(len(expected))

    cases: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
        ("direction=served", lambda r: r["responder"] == "bank-a"),
        ("direction=made&peer=bank-c", lambda r: r["responder"] == "bank-c"),
        ("list_type=transaction_fraud", lambda r: True),
        ("list_type=marketing_abuse", lambda r: False),
        ("feedback=open", lambda r: r["hit_state"] is not None and "r" in r["hit_state"]),
        ("feedback=none", lambda r: r["hits"] is None),
        ("feedback=hits", lambda r: r["hits"] is not None),
    ]
    # The gateways' own hit reports give bank-a receipts of every feedback filter.
    for _, keep in cases[-3:]:
        assert any(keep(r) for r in mine) and not all(keep(r) for r in mine)
    times = sorted(r["time"] for r in mine)
    second = times[0] // 1000
    import datetime as dt

    def stamp(s: int) -> str:
        return dt.datetime.fromtimestamp(s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")

    cases += [
        (f"from={stamp(second)}&to={stamp(second)}", lambda r: r["time"] // 1000 == second),
        (f"from={stamp(times[-1] // 1000 + 1)}", lambda r: False),
        ("to=2001-01-01", lambda r: False),
        (f"from={stamp(second)}&to={stamp(times[-1] // 1000)}", lambda r: True),
    ]
    for query, keep in cases:
        _goto(page, f"{base}/queries?{query}")
        wanted = sorted(r["_id"] for r in mine if keep(r))
        assert _rows(page) == wanted, query
        assert _stat(page, "matched") == str(len(wanted)), query
    # Hit feedback as bank-c (the broadcast querier) sees it: one confirmed, one disputed.
    c_base = demo.urls["bank-c"].rstrip("/")
    _goto(page, f"{c_base}/?token={TOKEN}")
    c_mine = _mine(demo, "bank-c")
    for state, code in (("confirmed", "c"), ("disputed", "d")):
        _goto(page, f"{c_base}/queries?feedback={state}")
        wanted = sorted(r["_id"] for r in c_mine if code in (r["hit_state"] or []))
        assert len(wanted) == 1 and _rows(page) == wanted, state


def test_a_downloaded_proof_verifies_offline(demo: Demo, page: Any, screenshots: Path) -> None:
    base = demo.urls["bank-a"].rstrip("/")
    _goto(page, base + "/queries?direction=made")
    page.locator("#queries a.receipt").first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Transaction"
    page.screenshot(path=str(screenshots / "bank-a-transaction.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#proof-link")
    target = screenshots.parent / "proof.json"
    info.value.save_as(target)
    document = json.loads(target.read_text())
    tx_id = urlsplit(page.url).path.rsplit("/", 1)[1]
    assert document["tx_id"] == tx_id
    # Trust the orderer's key from its enrolment, not anything the document says.
    orderer = load_member_credentials(demo.net.orderer.member_dir)
    key = orderer.signing_key.public_key().public_bytes_raw()
    stx = verify_tx_proof(decode_tx_proof(bytes.fromhex(document["proof"])), proposer_key=key)
    assert stx.tx_id.hex() == tx_id and stx.tx.kind == "credits.receipt"
    entry = "import sys; from cli import main; sys.argv[0] = 'riskshare'; main()"
    checked = subprocess.run(
        [
            sys.executable,
            "-c",
            entry,
            "ledger",
            "check-proof",
            str(target),
            "--proposer-key",
            key.hex(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0 and checked.stdout.startswith("ok:"), checked.stderr
    # A proof with one byte of its transaction changed does not verify.
    proof = decode_tx_proof(bytes.fromhex(document["proof"]))
    tampered = bytearray(proof.tx)
    tampered[-1] ^= 1
    with pytest.raises(ProofError):
        verify_tx_proof(
            type(proof)(
                bytes(tampered), proof.index, proof.path, proof.header, proof.proposer_signature
            ),
            proposer_key=key,
        )


def _http(
    url: str, trust: ssl.SSLContext | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=trust) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_the_token_is_required_off_loopback(demo: Demo, page: Any, screenshots: Path) -> None:
    base = demo.urls["bank-c"].rstrip("/")
    trust = demo.trust
    status, headers, body = _http(base + "/queries", trust)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert b"bank-c" not in body
    assert _http(base + "/static/style.css", trust)[0] == 401
    assert _http(base + "/", trust, Authorization="Bearer " + "x" * len(TOKEN))[0] == 401
    status, _, body = _http(base + "/", trust, Authorization=f"Bearer {TOKEN}")
    assert status == 200 and b"bank-c" in body
    # A browser: refused, then let in once by ?token=, which becomes an HttpOnly cookie.
    assert _goto(page, base + "/ledger").status == 401
    response = _goto(page, f"{base}/ledger?token={TOKEN}")
    assert response.status == 200 and "token" not in page.url
    cookies = page.context.cookies()
    assert [c["httpOnly"] for c in cookies if c["name"] == "riskshare_dashboard"] == [True]
    assert _goto(page, base + "/credits").status == 200
    page.screenshot(path=str(screenshots / "bank-c-credits.png"), full_page=True)
    # Loopback dashboards need no token, but answer only to a loopback host name.
    a_base = demo.urls["bank-a"].rstrip("/")
    assert _http(a_base + "/", Host="dashboard.example.com")[0] == 421
    assert _http(a_base + "/")[0] == 200


def _content(path: Path) -> str:
    """A digest of everything a SQLite file holds (its content, not its page layout)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()


def _fingerprint(demo: Demo, member: str) -> tuple[Any, ...]:
    """The replica's head and what the member's list files hold."""
    data = demo.net.members[member].data_dir
    with demo.store(member) as store:
        head = store.head()
    files = tuple(_content(data / name) for name in _LIST_FILES)
    return (None if head is None else head.hash, *files)


_LIST_FILES = ("lists.sqlite", "index.sqlite")


def test_read_only_and_hostile_requests(demo: Demo) -> None:
    base = demo.urls["bank-a"].rstrip("/")
    before = _fingerprint(demo, "bank-a")
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        request = urllib.request.Request(base + "/queries", data=b"x=1", method=method)
        try:
            urllib.request.urlopen(request, timeout=10)
            raise AssertionError(f"{method} was served")
        except urllib.error.HTTPError as exc:
            assert exc.code == 405 and exc.headers["Allow"] == "GET, HEAD"
    head = urllib.request.Request(base + "/ledger", method="HEAD")
    with urllib.request.urlopen(head, timeout=10) as response:
        assert response.status == 200 and response.read() == b""
    assert _http(base + "/queries?from=yesterday")[0] == 400
    assert _http(base + "/queries?direction=sideways")[0] == 400
    assert _http(base + "/ledger/tx/" + "00" * 32)[0] == 404
    assert _http(base + "/ledger/tx/zz")[0] == 404
    assert _http(base + "/ledger/block/99999999")[0] == 404
    assert _http(base + "/static/../../etc/passwd")[0] == 404
    assert _http(base + "/queries?" + "&".join(f"p{i}=1" for i in range(100)))[0] == 400
    status, _, body = _http(base + "/ledger?kind=%3Cscript%3Ealert(1)%3C/script%3E")
    assert status == 200 and b"<script>" not in body and b"&lt;script&gt;" in body
    # Nothing above changed the replica or the member's lists.
    assert _fingerprint(demo, "bank-a") == before
