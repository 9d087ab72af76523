"""No identifier, private key or raw blinded element anywhere a full run leaves things.

Scanned (tests/privacy/conftest.py makes the run): every log file and the console
output of every gateway and CLI command; every metrics endpoint; every table of every
ledger replica, row by row with CBOR opened, and the files themselves; every
dashboard page of every gateway; and each gateway's own state (answers, refund
claims) and its verified snapshots. tests/e2e scans the ledger and logs of its run for
identifiers in clear and hashed, and tests/dashboard the pages for identifiers in
clear; this extends both: hashed forms everywhere, metrics, private keys and blinded
elements, and a run that includes feedback, a dispute, a registry key and a list sync.

Not scanned, because they hold these things by design and never leave the member: its
own list (``lists/``, ``lists.sqlite``), its index (``index.sqlite``: its OPRF keys),
its key files. The control test plants one needle of each kind and checks the scan
finds each where it was planted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway import load_private_key
from gateway._scenarios import registry_key_path
from tests.privacy._scan import (
    Finding,
    Needles,
    element_forms,
    group,
    identifier_forms,
    key_forms,
    scan,
    sqlite_rows,
)
from tests.privacy.conftest import FullRun


def _needles(run: FullRun) -> Needles:
    needles = Needles()
    for value in sorted(run.identifiers):
        for form in identifier_forms(value):
            needles.identifiers[form] = f"identifier #{sorted(run.identifiers).index(value)}"
    root = run.net.root
    for path in sorted(root.rglob("*.key")):
        if path.name == "registry-oprf.key":
            needles.keys.update(dict.fromkeys(key_forms(path.read_bytes()), str(path.name)))
            continue
        key = load_private_key(path)
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if isinstance(key, ec.EllipticCurvePrivateKey):
            secret = key.private_numbers().private_value.to_bytes(32, "big")
        else:
            secret = key.private_bytes_raw()
        name = str(path.relative_to(root))
        needles.keys.update(dict.fromkeys(key_forms(secret, der), name))
    needles.keys[b"PRIVATE KEY"] = "a PEM private key marker"
    for index in sorted(root.rglob("index.sqlite")):
        connection = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
        try:
            secrets = [row[0] for row in connection.execute("SELECT secret FROM lists")]
        finally:
            connection.close()
        for secret in secrets:
            needles.keys.update(
                dict.fromkeys(key_forms(secret), f"OPRF key of {index.parent.name}")
            )
    for number, line in enumerate(run.tap.read_text().split()):
        for form in element_forms(bytes.fromhex(line)):
            needles.elements[form] = f"blinded element #{number}"
    return needles


def _ledgers(run: FullRun) -> Iterator[tuple[str, bytes]]:
    for path in sorted(run.net.root.rglob("ledger.sqlite*")):
        yield f"{path.parent.name}/{path.name} (file)", path.read_bytes()
        if path.name == "ledger.sqlite":
            for where, blob in sqlite_rows(path):
                yield f"{path.parent.name}/{where}", blob


def _logs(run: FullRun) -> Iterator[tuple[str, bytes]]:
    for path in sorted(run.net.root.rglob("gateway.log*")):
        yield f"{path.parent.name}/{path.name}", path.read_bytes()
    yield from run.output.items()


def _state(run: FullRun) -> Iterator[tuple[str, bytes]]:
    for path in sorted(run.net.root.rglob("gateway.sqlite")):
        for where, blob in sqlite_rows(path):
            yield f"{path.parent.name}/{where}", blob
    for path in sorted(run.net.root.rglob("*.snap")):
        yield f"{path.parent.parent.name}/snapshots/{path.name}", path.read_bytes()


@pytest.fixture(scope="module")
def needles(full_run: FullRun) -> Needles:
    found = _needles(full_run)
    # The scan has something to look for: identifiers of every list, every key the
    # run wrote (4 gateways x 2 + orderer x 2 + CA, OPRF keys, the registry key), and
    # the elements the queriers sent.
    assert len(full_run.identifiers) > 60
    assert len({w for w in found.keys.values() if "OPRF" in w}) == 3
    assert any("registry-oprf" in w for w in found.keys.values())
    assert len(found.elements) >= 5 * 20
    return found


def _report(findings: list[Finding]) -> str:
    lines = [
        f"{what}: {', '.join(sorted(set(where))[:5])}" for what, where in group(findings).items()
    ]
    return "\n".join(lines[:40])


@pytest.mark.parametrize("where", ["logs", "metrics", "ledger", "dashboard", "gateway state"])
def test_nothing_secret_anywhere(full_run: FullRun, needles: Needles, where: str) -> None:
    sources: dict[str, Callable[[], Iterable[tuple[str, bytes]]]] = {
        "logs": lambda: _logs(full_run),
        "metrics": lambda: ((f"{m} /metrics", t) for m, t in full_run.metrics.items()),
        "ledger": lambda: _ledgers(full_run),
        "dashboard": lambda: iter(full_run.pages.items()),
        "gateway state": lambda: _state(full_run),
    }
    haystacks = sources[where]()
    findings = scan(needles, haystacks)
    assert findings == [], f"found in {where}:\n{_report(findings)}"


def test_the_run_left_something_to_scan(full_run: FullRun) -> None:
    assert len(full_run.pages) > 100  # every block, transaction and proof of 5 replicas
    assert all(b"riskshare_rpc_total" in t or b"riskshare_" in t for t in full_run.metrics.values())
    logs = list(_logs(full_run))
    assert sum(len(blob) for _, blob in logs) > 100_000  # debug logs of five gateways
    assert any(b'"event": "rpc"' in blob for _, blob in logs)
    assert sum(1 for _ in _ledgers(full_run)) > 500
    assert registry_key_path(full_run.net.member("regulator").data_dir).exists()


def test_the_scanner_finds_what_is_planted(full_run: FullRun, needles: Needles) -> None:
    """A control: one needle of each kind, planted in a copy of real haystacks."""
    identifier = sorted(full_run.identifiers)[0]
    hashed = next(f for f in identifier_forms(identifier) if len(f) == 64)  # sha256 hex
    key_secret = next(
        n for n, w in needles.keys.items() if w.endswith("signing.key") and len(n) == 32
    )
    element = next(n for n in needles.elements if len(n) == 43)  # base64, unpadded
    log = next(iter(_logs(full_run)))[1]
    row = next(b for w, b in _ledgers(full_run) if ":blocks:" in w)
    page = next(iter(full_run.pages.values()))
    planted = [
        ("log", log[:100] + b'{"note": "' + hashed + b'"}' + log[100:]),
        ("ledger row", row + key_secret),
        ("page", page + b"<p>" + element + b"</p>"),
    ]
    findings = scan(needles, planted)
    kinds = {(f.kind, f.where) for f in findings}
    assert ("identifier", "log") in kinds
    assert ("private key", "ledger row") in kinds
    assert ("blinded element", "page") in kinds
    # The same haystacks unplanted are clean.
    assert scan(needles, [("log", log), ("ledger row", row), ("page", page)]) == []


def test_tap_saw_what_went_over_the_wire(full_run: FullRun) -> None:
    lines = full_run.tap.read_text().split()
    assert len(lines) == len(set(lines)) > 20  # fresh blinding for every element
    assert all(len(bytes.fromhex(line)) == 32 for line in lines)
