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
the old OPRF key a rotation keeps (``gateway.sqlite``, table ``oprf_retained``), its
key files. The OPRF keys, old and new, are looked for in every other file the run left
too. The control test plants one needle of each kind, and both OPRF keys of the
rotation, and checks the scan finds each where it was planted.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway import load_private_key
from gateway._scenarios import registry_key_path
from ledger import Store
from psi import KeyPair
from tests.privacy._scan import (
    Finding,
    Needles,
    element_forms,
    group,
    identifier_forms,
    invoice_forms,
    key_forms,
    scan,
    sqlite_rows,
)
from tests.privacy.conftest import REGISTRY, FullRun


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
    needles.keys.update(_oprf_needles(run))
    for number, invoice in enumerate(sorted(run.invoices)):
        for form in invoice_forms(run.invoices[invoice]):
            needles.invoices[form] = f"invoice #{number}"
    for number, line in enumerate(run.tap.read_text().split()):
        for form in element_forms(bytes.fromhex(line)):
            needles.elements[form] = f"blinded element #{number}"
    return needles


def _column(path: Path, query: str) -> list[bytes]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [bytes(row[0]) for row in connection.execute(query)]
    finally:
        connection.close()


def _kept(path: Path) -> list[bytes]:
    """The old OPRF keys a gateway keeps during a rotation (``gateway._rotation``)."""
    return _column(path, "SELECT secret FROM oprf_retained")


def oprf_secrets(run: FullRun) -> dict[bytes, str]:
    """Every list OPRF secret of the run, described by member and key id: each index's
    keys and the old keys each gateway.sqlite keeps, read after the run, and bank-a's
    keys read just before its rotation (the gateway deletes a kept key at retirement)."""
    found: list[tuple[bytes, str]] = []
    for index in sorted(run.net.root.rglob("index.sqlite")):
        for secret in _column(index, "SELECT secret FROM lists"):
            found.append((secret, index.parent.name))
    for state in sorted(run.net.root.rglob("gateway.sqlite")):
        found += [(secret, state.parent.name) for secret in _kept(state)]
    found += [(secret, "bank-a") for secret in run.oprf_before]
    return {
        secret: f"OPRF key {KeyPair.from_secret(secret).key_id.hex()[:16]} of {member}"
        for secret, member in found
    }


def _oprf_needles(run: FullRun) -> dict[bytes, str]:
    return {form: what for secret, what in oprf_secrets(run).items() for form in key_forms(secret)}


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
    for path in sorted(run.net.root.rglob("scenarios.sqlite")):
        for where, blob in sqlite_rows(path):
            yield f"{path.parent.name}/{where}", blob
    for path in sorted(run.net.root.rglob("gateway.sqlite")):
        # oprf_retained holds the old OPRF key during a rotation by design (the file is
        # 0600: test_key_files); every other table of it is the gateway's own record.
        for where, blob in sqlite_rows(path, skip=["oprf_retained"]):
            yield f"{path.parent.name}/{where}", blob
    for path in sorted(run.net.root.rglob("*.snap")):
        yield f"{path.parent.parent.name}/snapshots/{path.name}", path.read_bytes()


def _files(run: FullRun) -> Iterator[tuple[str, bytes]]:
    """Every file the run left but the two that hold OPRF keys by design (0600)."""
    for path in sorted(run.net.root.rglob("*")):
        if path.is_file() and not path.name.startswith(("index.sqlite", "gateway.sqlite")):
            yield str(path.relative_to(run.net.root)), path.read_bytes()


@pytest.fixture(scope="module")
def needles(full_run: FullRun) -> Needles:
    found = _needles(full_run)
    # The scan has something to look for: identifiers of every list, every key the
    # run wrote (4 gateways x 2 + orderer x 2 + CA, OPRF keys, the registry key), and
    # the elements the queriers sent.
    assert len(full_run.identifiers) > 60
    # Three members' keys and the one bank-a's rotation replaced, old and new known.
    oprf = {KeyPair.from_secret(s).key_id.hex() for s in oprf_secrets(full_run)}
    rotation = full_run.rotation
    assert len(oprf) == 4 and {rotation["old_key_id"], rotation["new_key_id"]} <= oprf
    assert any("registry-oprf" in w for w in found.keys.values())
    assert len(found.elements) >= 5 * 20
    # Two invoices: each number in 3 texts x (3 cases + 5 hashes x 3 encodings), less
    # what coincides, and 4 fingerprint inputs x 16.
    assert len(full_run.invoices) == 2 and len(found.invoices) > 2 * 4 * 16
    return found


def _report(findings: list[Finding]) -> str:
    lines = [
        f"{what}: {', '.join(sorted(set(where))[:5])}" for what, where in group(findings).items()
    ]
    return "\n".join(lines[:40])


def test_the_old_oprf_key_is_kept_while_the_ledger_shows_it_active(full_run: FullRun) -> None:
    """What the scan reads from gateway.sqlite: bank-a's old key, until it is retired."""
    data_dir = full_run.net.member("bank-a").data_dir
    old = full_run.rotation["old_key_id"]
    with Store(data_dir / "ledger.sqlite", create=False) as store:
        row: Any = store.state().get("pub.oprf_keys", f"bank-a/{old}")
    kept = {KeyPair.from_secret(s).key_id.hex() for s in _kept(data_dir / "gateway.sqlite")}
    assert kept == ({old} if row["active"] else set())
    assert set(full_run.oprf_before) <= set(oprf_secrets(full_run))


def test_no_oprf_key_in_any_other_file(full_run: FullRun) -> None:
    keys = Needles(keys=_oprf_needles(full_run))
    findings = scan(keys, _files(full_run))
    assert findings == [], f"found in files:\n{_report(findings)}"


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
    assert registry_key_path(full_run.net.member(REGISTRY).data_dir).exists()
    assert "lists rotate-key" in full_run.steps
    # The scenario flows reached every replica (the observer's too) and the pages.
    ledger = full_run.net.member("regulator").data_dir / "ledger.sqlite"
    with Store(ledger, create=False) as store:
        state = store.state()
        held = [("tf.registration", "TF-A-1"), ("tf.registration", "TF-B-1")]
        held += [("tf.alert", "TF-B-1~TF-A-1"), ("scf.certificate", "CERT-A-1")]
        assert all(state.get(table, key) is not None for table, key in held)
    assert any(b"TF-B-1" in page for page in full_run.pages.values())


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
    # Both OPRF keys of the rotation: the old one (raw) in a metric, the new one (hex)
    # in a file the run left.
    old_id, new_id = (full_run.rotation[k][:16] for k in ("old_key_id", "new_key_id"))
    secrets = {w.split()[2]: s for s, w in oprf_secrets(full_run).items()}
    old_secret, new_secret = secrets[old_id], secrets[new_id]
    metric = next(iter(full_run.metrics.values()))
    file = next(blob for name, blob in _files(full_run) if name.endswith("genesis.toml"))
    planted += [
        ("metric", metric + old_secret),
        ("file", file + b"\n# " + new_secret.hex().encode() + b"\n"),
    ]
    # The invoices: the TF one's number normalised in a ledger row, the SCF one's MD5
    # (hex) in a page, the TF one's exact fingerprint input hashed (SHA-256) in a log.
    tf, scf = (full_run.invoices[n] for n in sorted(full_run.invoices))
    tf_exact = tf.fingerprint_inputs().exact[0]
    planted += [
        ("ledger row (invoice)", row + tf.normalised().number.encode()),
        ("page (invoice)", page + hashlib.md5(scf.number.encode()).hexdigest().encode()),
        ("log (invoice)", log + hashlib.sha256(tf_exact).hexdigest().encode()),
    ]
    findings = scan(needles, planted)
    assert {(f.what, f.where) for f in findings if f.kind == "invoice"} == {
        ("invoice #0", "ledger row (invoice)"),
        ("invoice #1", "page (invoice)"),
        ("invoice #0", "log (invoice)"),
    }
    kinds = {(f.kind, f.where) for f in findings}
    assert ("identifier", "log") in kinds
    assert ("private key", "ledger row") in kinds
    assert ("blinded element", "page") in kinds
    rotated = {(f.what.split()[2], f.where) for f in findings if f.what.startswith("OPRF")}
    assert rotated == {(old_id, "metric"), (new_id, "file")}
    # The same haystacks unplanted are clean.
    unplanted = [("log", log), ("ledger row", row), ("page", page), ("metric", metric)]
    assert scan(needles, [*unplanted, ("file", file)]) == []


def test_tap_saw_what_went_over_the_wire(full_run: FullRun) -> None:
    lines = full_run.tap.read_text().split()
    assert len(lines) == len(set(lines)) > 20  # fresh blinding for every element
    assert all(len(bytes.fromhex(line)) == 32 for line in lines)
