"""A running demo consortium for the dashboard tests, and Debian's Chromium to look at it.

The consortium is the gateway package's own: :func:`create_local_consortium` (CA,
enrolment, a genesis every founder signed), lists imported through the adapters, and
an orderer plus three members each started as ``riskshare gateway serve`` in its own
process. Then real queries go through the members' admin sockets (single, file,
broadcast, one member, another identifier type). The queriers' gateways report what
hit on their own (``credits.hits``, ``gateway._hits``); once those reports are on every
replica, a querier confirms one hit and disputes another and a member proposes a
parameter change, each submitted through its gateway's admin socket as the CLI does, so
every page has real ledger data to show.

bank-c's dashboard is bound to 0.0.0.0 with a token, to test the off-loopback rule: it
serves HTTPS there, under bank-c's member certificate, which Chromium is told to trust
by its public key alone (``--ignore-certificate-errors-spki-list``) and urllib through
the consortium CA (``Demo.trust``); the others are on 127.0.0.1, over HTTP, without one.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import shutil
import ssl
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from cryptography.hazmat.primitives import serialization

from gateway import load_member_credentials
from gateway._client import AdminClient, submit_transaction
from gateway._demo import sample_lists
from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._processes import start_gateways, stop_gateways
from ledger import Store, propose_body
from token_incentive import confirm_body, dispute_body

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MEMBERS = ["bank-a", "bank-b", "bank-c"]
LIST = "transaction_fraud"
TOKEN = "dashboard-test-token-0123456789abcdef"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@dataclass
class Demo:
    net: LocalConsortium
    urls: dict[str, str]
    # Every identifier any query asked, as typed (the scan looks for each).
    identifiers: list[str] = field(default_factory=list)
    receipts: dict[str, list[str]] = field(default_factory=dict)

    def store(self, member_id: str) -> Store:
        return Store(self.net.member(member_id).data_dir / "ledger.sqlite", create=False)

    @functools.cached_property
    def trust(self) -> ssl.SSLContext:
        """TLS client settings trusting the consortium CA (and checking host names)."""
        ca = load_member_credentials(self.net.member("bank-c").member_dir).ca_pem
        return ssl.create_default_context(cadata=ca.decode("ascii"))

    def spki_pin(self, member_id: str) -> str:
        """Chromium's flag to trust ``member_id``'s TLS key, whatever the host name."""
        certificate = load_member_credentials(self.net.member(member_id).member_dir).certificate
        spki = certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        digest = base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")
        return f"--ignore-certificate-errors-spki-list={digest}"


def _configure_dashboards(net: LocalConsortium) -> None:
    for member_id in [*MEMBERS, "orderer"]:
        path = net.member(member_id).config_path
        config: dict[str, Any] = tomllib.loads(path.read_text())
        config["dashboard"] = {"probe_seconds": 1.0}
        if member_id == "bank-c":
            config["dashboard"].update(bind="0.0.0.0", token=TOKEN)
        path.write_text(tomli_w.dumps(config))


def _ask(net: LocalConsortium, querier: str, id_type: str, values: list[str], **kw: Any) -> Any:
    with AdminClient(net.members[querier].data_dir / "admin.sock") as client:
        reply = client.query(LIST, id_type, values, **kw)
    errors = [a.error for a in reply.answers if a.error_code]
    assert not errors, errors
    return reply


def submit(net: LocalConsortium, member_id: str, kind: str, body: dict[str, Any]) -> str:
    """Have ``member_id``'s gateway sign ``body`` and commit it (as the CLI does)."""
    return submit_transaction(net.member(member_id).config_path, kind, body).tx_id


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _published(net: LocalConsortium) -> bool:
    for member_id in MEMBERS:
        with Store(net.members[member_id].data_dir / "ledger.sqlite", create=False) as store:
            state = store.state()
            if any(state.get("pub.index", f"{m}/{LIST}") is None for m in MEMBERS):
                return False
    return True


def _replicas(net: LocalConsortium) -> list[Path]:
    return [net.member(m).data_dir / "ledger.sqlite" for m in ["orderer", *MEMBERS]]


def _settled(net: LocalConsortium, receipts: int) -> bool:
    heads = set()
    for path in _replicas(net):
        with Store(path, create=False) as store:
            head = store.head()
            heads.add(head.hash if head else b"")
            if sum(1 for _ in store.state().scan("credits.receipts")) < receipts:
                return False
    return len(heads) == 1


def _reported(net: LocalConsortium, receipts: set[str]) -> bool:
    """Every replica holds the hits the queriers' gateways reported on ``receipts``."""
    for path in _replicas(net):
        with Store(path, create=False) as store:
            rows = [store.state().get("credits.receipts", rid) for rid in receipts]
        if not all(isinstance(row, dict) and row.get("hits") is not None for row in rows):
            return False
    return True


def _run_queries(demo: Demo) -> None:
    net = demo.net
    samples = sample_lists(MEMBERS, 40)
    a, b, c = MEMBERS
    file_values = samples.unique[a][:3] + samples.shared[:4] + samples.fresh[2:6] + ["12345"]
    plan = [
        (a, "phone", [samples.unique[b][0]], {}),
        (a, "phone", [samples.fresh[0]], {}),
        (b, "phone", file_values, {}),
        (c, "phone", [samples.shared[2]], {}),
        (a, "phone", [samples.unique[b][1]], {"members": [c]}),
        (c, "cn_id", [samples.cn_ids[a]], {}),
    ]
    replies = []
    for querier, id_type, values, kw in plan:
        demo.identifiers += values
        reply = _ask(net, querier, id_type, values, **kw)
        replies.append((querier, reply))
        demo.receipts.setdefault(querier, []).extend(a.receipt.decode() for a in reply.answers)
    count = sum(len(r.answers) for _, r in replies)
    _wait(lambda: _settled(net, count), 60, "every receipt on every replica")
    # The queriers' gateways report every answer that said yes, and nothing else.
    yes = {ans.receipt.decode() for _, r in replies for ans in r.answers if any(ans.hits)}
    by = {ans.member_id: ans.receipt.decode() for ans in replies[0][1].answers}
    assert by[b] in yes and by[c] not in yes
    _wait(lambda: _reported(net, yes), 60, "the gateways' hit reports on every replica")
    with Store(net.member("orderer").data_dir / "ledger.sqlite", create=False) as store:
        receipts: dict[str, Any] = dict(store.state().scan("credits.receipts"))
    assert {rid for rid, row in receipts.items() if row["hits"] is not None} == yes
    assert all(receipts[r]["hit_state"] == ["r"] * len(receipts[r]["hits"]) for r in yes)
    # shared[2] is on every list but bank-c's: both other members say yes, and bank-c
    # confirms one hit and disputes the other, as `riskshare feedback` does.
    broadcast = [ans.receipt.decode() for ans in replies[3][1].answers if ans.hits[0]]
    assert len(broadcast) == 2 and set(broadcast) <= yes
    submit(net, c, "credits.feedback", confirm_body(broadcast[0]))
    submit(net, c, "credits.feedback", dispute_body(broadcast[1]))
    submit(
        net,
        a,
        "gov.propose",
        propose_body("set_params", {"set": {"gov.proposal_ttl_ms": 3 * 86_400_000}, "unset": []}),
    )
    for rows in samples.lists.values():
        demo.identifiers += [r[2] for r in rows]


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("dashboard")
    net = create_local_consortium(root, MEMBERS, workers=1, name="Dashboard demo")
    _configure_dashboards(net)
    samples = sample_lists(MEMBERS, 40)
    for member_id in MEMBERS:
        load_list(net.members[member_id], samples.lists[member_id])
    running = start_gateways(net)
    try:
        urls = {}
        for member_id in [*MEMBERS, "orderer"]:
            url_file = net.member(member_id).data_dir / "dashboard.url"
            _wait(url_file.exists, 10, f"{member_id}'s dashboard")
            urls[member_id] = url_file.read_text().strip().replace("0.0.0.0", "127.0.0.1")
        demo = Demo(net, urls)
        _wait(lambda: _published(net), 60, "every member's list on the ledger")
        _run_queries(demo)
        height = _head(demo, "orderer")
        _wait(lambda: all(_head(demo, m) >= height for m in MEMBERS), 30, "replicas")
        yield demo
    finally:
        codes = stop_gateways(running)
        assert all(code == 0 for code in codes.values()), codes


def _head(demo: Demo, member_id: str) -> int:
    with demo.store(member_id) as store:
        return store.height


@pytest.fixture(scope="session")
def browser(demo: Demo) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (tools/sysdeps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_ARGS, demo.spki_pin("bank-c")],
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
