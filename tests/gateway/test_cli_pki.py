"""`riskshare consortium init` and `riskshare member enroll` (thin wrappers, real files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from gateway import PkiError, load_enrolment, load_member_credentials
from gateway._consortium import founders, load_spec
from gateway._registry import consortium_registry
from ledger import Replica, Store, active_members


def test_init_and_enroll(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    cons = tmp_path / "cons"
    result = runner.invoke(app, ["consortium", "init", "--name", "Demo", "--dir", str(cons)])
    assert result.exit_code == 0, result.output
    assert os.stat(cons / "ca" / "ca.key").st_mode & 0o777 == 0o600
    spec = load_spec(cons)
    assert spec.consortium == "Demo" and "transaction_fraud" in spec.list_types

    monkeypatch.setenv("RS_TEST_PASS", "pass phrase")
    args = ["member", "enroll", "--consortium", str(cons), "--id", "bank-a", "--name", "A"]
    args += ["--address", "gw-a.example:7401", "--out", str(tmp_path / "a")]
    result = runner.invoke(app, [*args, "--passphrase-env", "RS_TEST_PASS"])
    assert result.exit_code == 0, result.output
    record = load_enrolment(tmp_path / "a")
    assert record.tls_fingerprint.hex() in result.output
    assert load_member_credentials(tmp_path / "a", b"pass phrase").member_id == "bank-a"
    assert [f.member_id for f in founders(cons)] == ["bank-a"]

    # Enrolling into the same directory again is refused and changes nothing.
    before = sorted((p.name, p.read_bytes()) for p in (tmp_path / "a").iterdir())
    result = runner.invoke(app, args)
    assert isinstance(result.exception, PkiError)
    assert sorted((p.name, p.read_bytes()) for p in (tmp_path / "a").iterdir()) == before

    result = runner.invoke(app, [*args[:5], "Not Valid", "--name", "x", "--address", "h:1"])
    assert isinstance(result.exception, PkiError)
    assert [f.member_id for f in founders(cons)] == ["bank-a"]


def test_enroll_needs_the_ca_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("RS_CA_PASS", "ca secret")
    cons = tmp_path / "cons"
    init = ["consortium", "init", "--name", "D", "--dir", str(cons)]
    assert runner.invoke(app, [*init, "--passphrase-env", "RS_CA_PASS"]).exit_code == 0
    args = ["member", "enroll", "--consortium", str(cons), "--id", "b", "--name", "B"]
    args += ["--address", "127.0.0.1:7402", "--out", str(tmp_path / "b")]
    result = runner.invoke(app, args)
    assert isinstance(result.exception, PkiError)
    assert not (tmp_path / "b").exists()
    result = runner.invoke(app, [*args, "--ca-passphrase-env", "RS_CA_PASS"])
    assert result.exit_code == 0, result.output


def test_genesis_draft_sign_seal(tmp_path: Path) -> None:
    runner = CliRunner()
    cons = str(tmp_path / "cons")
    assert runner.invoke(app, ["consortium", "init", "--name", "G", "--dir", cons]).exit_code == 0
    # The ordering service is a founder of role orderer: only it may propose blocks.
    for member_id, role in (("bank-a", "member"), ("bank-b", "member"), ("orderer", "orderer")):
        args = ["member", "enroll", "--consortium", cons, "--id", member_id, "--name", member_id]
        args += ["--address", "127.0.0.1:7400", "--out", str(tmp_path / member_id)]
        assert runner.invoke(app, [*args, "--role", role]).exit_code == 0
    draft = runner.invoke(app, ["consortium", "genesis", "draft", "--dir", cons])
    assert draft.exit_code == 0, draft.output
    seal = [
        "consortium",
        "genesis",
        "seal",
        "--dir",
        cons,
        "--member-dir",
        str(tmp_path / "bank-a"),
    ]
    # Sealing before every founder signed is refused, and writes nothing.
    result = runner.invoke(app, seal)
    assert isinstance(result.exception, PkiError)
    assert not (tmp_path / "cons" / "genesis.block").exists()
    for member_id in ("bank-a", "bank-b", "orderer"):
        sign = ["consortium", "genesis", "sign", "--dir", cons]
        result = runner.invoke(app, [*sign, "--member-dir", str(tmp_path / member_id)])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, seal)
    assert result.exit_code == 0, result.output
    raw = (tmp_path / "cons" / "genesis.block").read_bytes()
    with Store(tmp_path / "ledger.sqlite") as store:
        Replica(store, consortium_registry()).apply(raw)
        members = {m.id for m in active_members(store.state())}
    assert members == {"bank-a", "bank-b", "orderer"}
    # Genesis is sealed: no more founders.
    args = ["member", "enroll", "--consortium", cons, "--id", "bank-c", "--name", "C"]
    result = runner.invoke(app, [*args, "--address", "h:1", "--out", str(tmp_path / "c")])
    assert isinstance(result.exception, PkiError)
