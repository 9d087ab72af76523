"""A full run of a consortium, for the privacy scan and the key-file checks.

Everything an operator would do, through the same entry points: a consortium made by
``create_local_consortium`` (CA, enrolment, genesis every founder signed), lists
imported through the adapters, an orderer, three members and an observer each run as
``riskshare gateway serve`` in its own process (logs at debug level, dashboards and
Prometheus endpoints on), then

- queries through the members' admin sockets: one identifier, a file with formatted
  and invalid values, a broadcast, one chosen member, another identifier type;
- feedback with the CLI: a hit confirmed, a hit disputed, the dispute resolved by the
  observer (``riskshare feedback``, ``riskshare dispute resolve``);
- the fingerprint registry's key made (``riskshare tf registry-init``), an invoice
  registered for trade finance by bank-a (``riskshare tf register``), pre-checked and
  then registered again by bank-b (``tf check``: held; ``tf register``: flagged as a
  duplicate), and a receivable certificate issued to bank-b on another invoice by
  bank-a (``riskshare scf issue``) — each invoice fingerprinted by the registry
  (bank-c);
- a list sync (rows added and delisted in the member's source, ``riskshare lists
  sync``), the new epoch published, the other members' snapshots brought up to date
  by delta, and a query against the new entry;
- an OPRF key rotation on bank-a (``riskshare lists rotate-key``): a query right after
  it (answered under whichever key the querier's replica names: the old one is kept in
  gateway.sqlite and still answers), then the new key and epoch on the ledger, and a
  query answered under the new key;
- every dashboard page of every gateway fetched, every metrics endpoint read;

then the gateways are stopped (so logs are flushed) and the run is handed to the
tests. The members' gateways run with a tap (`tests.privacy._tap`) that records every
blinded element their queriers send, in a file outside the consortium's directories.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from gateway._client import AdminClient
from gateway._demo import sample_lists
from gateway._localnet import LocalConsortium, create_local_consortium, free_ports, load_list
from gateway._processes import GatewayProcess, stop_gateways
from ledger import Store
from scenarios.kit import Invoice
from tests.privacy._tap import TAP_ENV

ROOT = Path(__file__).resolve().parents[2]
LIST = "transaction_fraud"
MEMBERS = ["bank-a", "bank-b", "bank-c"]
OBSERVER = "regulator"
# The fingerprint registry: the consortium's default, its first observer (no fpreg.registry
# parameter), which evaluates fingerprints on its gateway's consortium port.
REGISTRY = OBSERVER
_LINK = re.compile(r'href="(/[^"#?]*(?:\?[^"#]*)?)"')


@dataclass
class FullRun:
    net: LocalConsortium
    tap: Path
    identifiers: set[str] = field(default_factory=set)
    pages: dict[str, bytes] = field(default_factory=dict)
    metrics: dict[str, bytes] = field(default_factory=dict)
    output: dict[str, bytes] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    # bank-a's OPRF secrets read from its index just before the rotation: the scan must
    # know the old key even if the gateway retired it (and deleted it) during the run.
    oprf_before: list[bytes] = field(default_factory=list)
    rotation: dict[str, Any] = field(default_factory=dict)
    # The invoices the scenario flows registered (scenarios.kit.Invoice), by number.
    invoices: dict[str, Any] = field(default_factory=dict)


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _configure(net: LocalConsortium) -> dict[str, str]:
    """Debug logs, dashboards, and a Prometheus endpoint per gateway."""
    ports = free_ports(len(MEMBERS) + 2)
    listens = {}
    for member_id, port in zip(["orderer", *MEMBERS, OBSERVER], ports, strict=True):
        path = net.member(member_id).config_path
        config: dict[str, Any] = tomllib.loads(path.read_text())
        config["log"]["level"] = "debug"
        config["dashboard"] = {"probe_seconds": 1.0}
        config["gateway"]["metrics_listen"] = listens[member_id] = f"127.0.0.1:{port}"
        path.write_text(tomli_w.dumps(config))
    return listens


def _start(net: LocalConsortium, member_id: str, tap: Path) -> GatewayProcess:
    import os

    config = net.member(member_id).config_path
    env = dict(os.environ, GRPC_VERBOSITY="ERROR", **{TAP_ENV: str(tap)})
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.privacy._tap", "gateway", "serve", "--config", str(config)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return GatewayProcess(member_id, config, process)


def _cli(run: FullRun, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        cwd=ROOT,
    )
    run.output[f"riskshare {' '.join(args[:2])} #{len(run.output)}"] = (
        result.stdout + result.stderr
    ).encode()
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    run.steps.append(" ".join(args[:2]))
    return result.stdout


def _ask(run: FullRun, querier: str, id_type: str, values: list[str], **kw: Any) -> Any:
    run.identifiers |= set(values)
    with AdminClient(run.net.members[querier].data_dir / "admin.sock") as client:
        reply = client.query(LIST, id_type, values, **kw)
    assert not [a.error for a in reply.answers if a.error_code]
    run.steps.append(f"query by {querier}: {len(values)} values, {len(reply.answers)} answers")
    return reply


def _receipts(net: LocalConsortium, member_id: str) -> set[str]:
    with Store(net.member(member_id).data_dir / "ledger.sqlite", create=False) as store:
        return {key for key, _ in store.state().scan("credits.receipts")}


def _settled(net: LocalConsortium, receipts: set[str]) -> bool:
    heads = set()
    for member_id in ["orderer", *MEMBERS, OBSERVER]:
        with Store(net.member(member_id).data_dir / "ledger.sqlite", create=False) as store:
            head = store.head()
            heads.add(head.hash if head else b"")
            held = {key for key, _ in store.state().scan("credits.receipts")}
        if not receipts <= held:
            return False
    return len(heads) == 1


def _reported(net: LocalConsortium, receipts: set[str]) -> bool:
    """Every replica holds the hits the querier's gateway reported on ``receipts``.

    A querier's gateway reports its hits on its own once the receipts are recorded, a
    moment after them; feedback on a hit needs the report on the ledger first.
    """
    for member_id in ["orderer", *MEMBERS, OBSERVER]:
        with Store(net.member(member_id).data_dir / "ledger.sqlite", create=False) as store:
            rows = [store.state().get("credits.receipts", rid) for rid in receipts]
        if not all(isinstance(row, dict) and row.get("hits") is not None for row in rows):
            return False
    return True


def _published(net: LocalConsortium, epochs: dict[str, int] | None = None) -> bool:
    for member_id in [*MEMBERS, OBSERVER]:
        with Store(net.member(member_id).data_dir / "ledger.sqlite", create=False) as store:
            state = store.state()
            for m in MEMBERS:
                row: Any = state.get("pub.index", f"{m}/{LIST}")
                if row is None or row["epoch"] < (epochs or {}).get(m, 1):
                    return False
    return True


def _key_of(net: LocalConsortium, member_id: str, receipt: str) -> Any:
    with Store(net.member(member_id).data_dir / "ledger.sqlite", create=False) as store:
        row: Any = store.state().get("credits.receipts", receipt)
    return None if row is None else row["key_id"]


def _index_secrets(index: Path) -> list[bytes]:
    connection = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        return [bytes(row[0]) for row in connection.execute("SELECT secret FROM lists")]
    finally:
        connection.close()


def _rotate(run: FullRun, made: set[str], unique: list[str]) -> set[str]:
    """Rotate bank-a's OPRF key with queries before and after; the receipts made."""
    net = run.net
    a, b, c = MEMBERS
    data_dir = net.member(a).data_dir
    run.oprf_before = _index_secrets(data_dir / "index.sqlite")
    run.rotation = json.loads(
        _cli(run, "lists", "rotate-key", LIST, "--data-dir", str(data_dir), "--json")
    )
    # Right after: bank-c's replica may still show the old key, which is kept and answers.
    during = _ask(run, c, "phone", [unique[4]], members=[a])
    assert list(during.answers[0].hits) == [True]
    epoch = int(run.rotation["epoch"])
    _wait(lambda: _published(net, {a: epoch}), 60, "bank-a's new key and epoch on the ledger")
    # Every gateway's snapshot of bank-a follows to the new key (and so is scanned): a
    # gateway still behind would fetch it as the members stop, and its own stop would
    # wait on that fetch (gateway._node joins the snapshot thread for up to 10 s).
    for member_id in ("orderer", b, c, OBSERVER):
        with AdminClient(net.member(member_id).data_dir / "admin.sock") as client:
            client.sync([a])
    after = _ask(run, b, "phone", [unique[5], unique[6]], members=[a])
    assert list(after.answers[0].hits) == [True, True]
    assert after.answers[0].epoch == epoch
    receipts = {during.answers[0].receipt.decode(), after.answers[0].receipt.decode()}
    _wait(lambda: _settled(net, made | receipts), 60, "the rotation's receipts")
    keys = {run.rotation["old_key_id"], run.rotation["new_key_id"]}
    assert _key_of(net, b, after.answers[0].receipt.decode()) == run.rotation["new_key_id"]
    assert _key_of(net, c, during.answers[0].receipt.decode()) in keys
    return receipts


def _financing(run: FullRun, config: dict[str, str]) -> None:
    """Invoices fingerprinted by the registry: a TF registration, another bank's
    pre-check and duplicate, an SCF certificate on another invoice."""
    a, b, _ = MEMBERS
    today = dt.datetime.now(dt.UTC).date()
    docs = run.tap.parent / "documents"
    docs.mkdir(exist_ok=True)
    (docs / "invoice.pdf").write_bytes(b"%PDF-1.7 commercial invoice, kept behind the gateway")
    doc = ["--doc", str(docs / "invoice.pdf")]
    # Invoice(seller, buyer, number, issued_on, amount in minor units, currency)
    tf = Invoice("91440300EXPORT0003", "SG-77", "EXP-2025/0047118", str(today), 25_000_000, "USD")
    scf = Invoice(
        "91310000MA1FL", "91110000CORE", "SCF-INV-8830-2291", str(today), 50_000_000, "CNY"
    )
    run.invoices = {tf.number: tf, scf.number: scf}
    invoice = [
        *("--seller", tf.seller, "--buyer", tf.buyer, "--invoice-number", tf.number),
        *("--invoice-date", tf.issued_on, "--amount", "250000.00", "--currency", tf.currency),
        *("--expires", str(today + dt.timedelta(days=30)), *doc, "--json"),
    ]
    first = _cli(run, "tf", "register", "TF-A-1", *invoice, "--config", config[a])
    assert json.loads(first)["object"]["state"] == "REGISTERED", first
    # bank-b pre-checks the same invoice (the check takes no --expires, --doc or --json).
    held = json.loads(_cli(run, "tf", "check", *invoice[:12], "--config", config[b]))
    assert [h["registration"] for h in held["duplicate_of"]] == ["TF-A-1"], held
    second = _cli(run, "tf", "register", "TF-B-1", *invoice, "--config", config[b])
    assert json.loads(second)["object"]["state"] == "DUPLICATE_FLAGGED", second
    certificate = [
        *("--holder", b, "--face", "500000.00", "--maturity", str(today + dt.timedelta(90))),
        *("--seller", scf.seller, "--buyer", scf.buyer, "--invoice-number", scf.number),
        *("--invoice-date", scf.issued_on, *doc, "--json"),
    ]
    issued = _cli(run, "scf", "issue", "CERT-A-1", *certificate, "--config", config[a])
    assert json.loads(issued)["object"]["state"] == "DRAFT", issued


def _crawl(run: FullRun, member_id: str) -> None:
    url = (run.net.member(member_id).data_dir / "dashboard.url").read_text().strip()
    base = url.rstrip("/")
    todo = ["/", "/ledger", "/queries", "/queries?direction=served", "/credits", "/lists"]
    todo += ["/peers", "/governance", "/ranking", "/queries?feedback=hits"]
    seen: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen or len(seen) > 400:
            continue
        seen.add(path)
        try:
            with urllib.request.urlopen(base + path, timeout=10) as reply:
                body = reply.read()
        except urllib.error.HTTPError as error:
            body = error.read()
        run.pages[f"{member_id} dashboard {path}"] = body
        if path.endswith(".json") or path.startswith("/static"):
            continue
        for link in _LINK.findall(body.decode("utf-8", "replace")):
            todo.append(link)
            if "/tx/" in link and not link.endswith(".json"):
                todo.append(link + "/proof.json")


def _run(run: FullRun, listens: dict[str, str]) -> None:
    net = run.net
    samples = sample_lists(MEMBERS, 20)
    _wait(lambda: _published(net), 90, "every member's list on the ledger")
    a, b, c = MEMBERS
    replies = [
        _ask(run, a, "phone", [samples.unique[b][0]]),
        _ask(run, a, "phone", [samples.fresh[0]]),
        _ask(
            run,
            b,
            "phone",
            [
                *samples.unique[a][:3],
                "+86 " + samples.shared[1][:3] + "-" + samples.shared[1][3:],
                *samples.fresh[1:4],
                "12345",
            ],
        ),
        _ask(run, c, "phone", [samples.shared[2]]),
        _ask(run, a, "phone", [samples.unique[c][1]], members=[c]),
        _ask(run, c, "cn_id", [samples.cn_ids[a]]),
    ]
    made = {ans.receipt.decode() for _, reply in enumerate(replies) for ans in reply.answers}
    _wait(lambda: _settled(net, made), 90, "every receipt on every replica")
    # Feedback on bank-c's broadcast: shared[2] is on bank-a's and bank-b's lists.
    hits = [(ans.member_id, ans.receipt.decode()) for ans in replies[3].answers if ans.hits[0]]
    assert len(hits) == 2
    config = {m: str(net.member(m).config_path) for m in [*MEMBERS, OBSERVER]}
    (_, confirmed), (holder, disputed) = hits
    _wait(lambda: _reported(net, {confirmed, disputed}), 60, "bank-c's hit reports")
    _cli(run, "feedback", "confirm", confirmed, "--config", config[c])
    _cli(run, "feedback", "dispute", disputed, "--config", config[c])
    # The holder opens its evidence for the disputed entry (the identifier on stdin,
    # as the querier named it off the ledger); the observer then rules.
    _cli(run, "dispute", "evidence", disputed, "--config", config[holder], stdin=samples.shared[2])
    _cli(run, "dispute", "resolve", disputed, "--verdict", "upheld", "--config", config[OBSERVER])
    _cli(run, "tf", "registry-init", "--config", config[REGISTRY])
    _financing(run, config)
    # A list sync on bank-a: one identifier added, one delisted, in its source file.
    source = net.root / "lists" / a / "core-blacklist.csv"
    lines = source.read_text().splitlines()
    added = samples.fresh[8]
    dropped = lines.pop(1)
    lines.append(f"{LIST},phone,{added},3")
    source.write_text("\n".join(lines) + "\n")
    run.identifiers |= {added, dropped.split(",")[2]}
    _cli(run, "lists", "sync", "--full", "--data-dir", str(net.member(a).data_dir))
    with AdminClient(net.members[a].data_dir / "admin.sock") as client:
        client.reload()
    _wait(lambda: _published(net, {a: 2}), 60, "bank-a's second epoch on the ledger")
    for member_id in (b, c):
        with AdminClient(net.members[member_id].data_dir / "admin.sock") as client:
            client.sync([a])
    reply = _ask(run, b, "phone", [added], members=[a])
    assert list(reply.answers[0].hits) == [True]
    made.add(reply.answers[0].receipt.decode())
    _wait(lambda: _settled(net, made), 60, "receipts")
    made |= _rotate(run, made, samples.unique[a])
    for member_id in ["orderer", *MEMBERS, OBSERVER]:
        _crawl(run, member_id)
        with urllib.request.urlopen(f"http://{listens[member_id]}/metrics", timeout=10) as r:
            run.metrics[member_id] = r.read()
    for rows in samples.lists.values():
        run.identifiers |= {row[2] for row in rows}
    run.identifiers |= set(samples.fresh) | set(samples.cn_ids.values())


@pytest.fixture(scope="session")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullRun]:
    root = tmp_path_factory.mktemp("privacy")
    net = create_local_consortium(
        root / "consortium-run",
        [*MEMBERS, OBSERVER],
        roles={OBSERVER: "observer"},
        workers=1,
    )
    listens = _configure(net)
    samples = sample_lists(MEMBERS, 20)
    for member_id in MEMBERS:
        load_list(net.members[member_id], samples.lists[member_id])
    run = FullRun(net, root / "tap.txt")
    running: dict[str, GatewayProcess] = {}
    try:
        running["orderer"] = _start(net, "orderer", run.tap)
        running["orderer"].wait_serving(120)
        for member_id in [*MEMBERS, OBSERVER]:
            running[member_id] = _start(net, member_id, run.tap)
        for member_id in [*MEMBERS, OBSERVER]:
            running[member_id].wait_serving(120)
        _run(run, listens)
    finally:
        codes = stop_gateways(running)
        for member_id, gateway in running.items():
            run.output[f"{member_id} process output"] = "".join(gateway.output).encode()
    assert all(code == 0 for code in codes.values()), codes
    yield run
