"""A running demo consortium for the dashboard tests, and Debian's Chromium to look at it.

The consortium is the gateway package's own: :func:`create_local_consortium` (CA,
enrolment, a genesis every founder signed), lists imported through the adapters, and
an orderer plus three members each started as ``riskshare gateway serve`` in its own
process. Then real queries go through the members' admin sockets (single, file,
broadcast, one member, another identifier type), the queriers report hits and give
feedback with signed ``credits.hits`` / ``credits.feedback`` transactions, and a member
proposes a parameter change, so every page has real ledger data to show.

bank-c's dashboard is bound to 0.0.0.0 with a token, to test the off-loopback rule;
the others are on 127.0.0.1 without one.
"""

from __future__ import annotations

import shutil
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from gateway import load_member_credentials
from gateway._client import AdminClient
from gateway._demo import sample_lists
from gateway._ledger_client import RemoteOrderer
from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._peers import open_channel
from gateway._processes import start_gateways, stop_gateways
from ledger import Store, propose_body, sign_transaction

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


def submit(net: LocalConsortium, member_id: str, kind: str, body: dict[str, Any]) -> bytes:
    """Sign ``body`` as ``member_id`` and have the orderer commit it (as a CLI would)."""
    member = net.members[member_id]
    credentials = load_member_credentials(member.member_dir)
    with Store(member.data_dir / "ledger.sqlite", create=False) as store:
        chain = store.chain_id
    assert chain is not None
    now_ns = time.time_ns()
    stx = sign_transaction(
        credentials.signing_key,
        chain=chain,
        member=member_id,
        kind=kind,
        body=body,
        seq=now_ns // 1000,
        time=now_ns // 1_000_000,
    )
    channel = open_channel(credentials, net.orderer.address)
    try:
        result = RemoteOrderer(channel).submit(stx.raw, wait=True, timeout=20)
    finally:
        channel.close()
    assert result.ok, result.reason
    return stx.tx_id


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


def _settled(net: LocalConsortium, receipts: int) -> bool:
    heads = set()
    for member_id in ["orderer", *MEMBERS]:
        with Store(net.member(member_id).data_dir / "ledger.sqlite", create=False) as store:
            head = store.head()
            heads.add(head.hash if head else b"")
            if sum(1 for _ in store.state().scan("credits.receipts")) < receipts:
                return False
    return len(heads) == 1


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
    # Hits and feedback, reported by the queriers the way `riskshare feedback` will.
    by = {ans.member_id: ans.receipt.decode() for ans in replies[0][1].answers}
    _wait(lambda: _settled(net, 2), 30, "the first receipts")
    count = sum(len(r.answers) for _, r in replies)
    _wait(lambda: _settled(net, count), 60, "every receipt on every replica")
    submit(net, a, "credits.hits", {"items": [[by[b]]]})
    # shared[2] is on every list but bank-c's: both other members say yes.
    yes = [ans.receipt.decode() for ans in replies[3][1].answers if ans.hits[0]]
    assert len(yes) == 2
    submit(net, c, "credits.hits", {"items": [yes]})
    submit(net, c, "credits.feedback", {"receipt": yes[0], "action": "confirm"})
    submit(net, c, "credits.feedback", {"receipt": yes[1], "action": "dispute"})
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
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (tools/sysdeps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
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
