"""The crashes the fuzzers found in gateway and ledger, each kept as the input (or the
smallest input of its kind) that triggered it, with the refusal it gets now.

Each test failed before its fix: the exception escaped as a bare TypeError,
ValueError, RuntimeError or UnicodeDecodeError — which the gRPC boundary turns into
INTERNAL and the CLI into a traceback — or, for non-finite numbers, the config loaded.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway import ConfigError, PkiError, enroll_member, init_ca, load_config, load_enrolment
from gateway._consortium import SPEC, load_spec
from gateway._pki import member_id_of, verify_member_certificate
from ledger import (
    ContractError,
    MemoryState,
    Overlay,
    Replica,
    Store,
    TxContext,
    encode,
    propose_body,
)
from tests.ledger.helpers import T0, founder, key_for, make_net

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
CONFIG = """\
[member]
id = "bank-a"
dir = "m"
data_dir = "d"

[gateway]
listen = "127.0.0.1:7001"

[ledger]
orderer = "127.0.0.1:7000"
"""


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RISKSHARE_LIMITS_REQUESTS_PER_SECOND", "nan"),  # a nan limit never limits
        ("RISKSHARE_LIMITS_ELEMENTS_PER_SECOND", "inf"),
        ("RISKSHARE_LIMITS_BURST_SECONDS", "nan"),
        ("RISKSHARE_GATEWAY_GRACE_SECONDS", "inf"),
        ("RISKSHARE_GATEWAY_LISTEN", "127.0.0.1:²"),  # isdigit() but int() refuses
        ("RISKSHARE_LEDGER_ORDERER", "h:١٢"),  # digits int() reads, not a port
        ("RISKSHARE_MEMBER_DIR", "~nosuchuser/keys"),  # expanduser raises RuntimeError
        ("RISKSHARE_LOG_FILE", "gateway\x00.log"),
    ],
)
def test_config_values_that_escaped_or_slipped_through(
    tmp_path: Path, variable: str, value: str
) -> None:
    path = tmp_path / "member.toml"
    path.write_text(CONFIG)
    load_config(path, env={})  # the file itself is fine
    with pytest.raises(ConfigError):
        load_config(path, env={variable: value})


def test_toml_nan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "member.toml"
    path.write_text(CONFIG + "\n[limits]\nrequests_per_second = nan\n")
    with pytest.raises(ConfigError, match=r"limits\.requests_per_second"):
        load_config(path, env={})


def test_enrolment_and_spec_files_that_are_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "enrolment.json").write_bytes(b'{"id": "\xff"}')
    with pytest.raises(PkiError, match="cannot read"):
        load_enrolment(tmp_path / "enrolment.json")
    (tmp_path / SPEC).write_bytes(b'consortium = "\x89"\n')
    with pytest.raises(ConfigError, match="cannot read"):
        load_spec(tmp_path)


def test_enrolment_nested_too_deeply(tmp_path: Path) -> None:
    (tmp_path / "enrolment.json").write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(PkiError, match="RecursionError"):
        load_enrolment(tmp_path / "enrolment.json")


def test_certificate_with_a_malformed_issuer(tmp_path: Path) -> None:
    """The outer DER loads; the issuer (a UTF8String that is not UTF-8) does not."""
    ca = init_ca(tmp_path / "ca", "Bad Issuer", now=NOW)
    record = enroll_member(ca, tmp_path / "m", member_id="bank-a", name="A", address="h:1", now=NOW)
    good = x509.load_pem_x509_certificate(record.certificate_pem)
    der = good.public_bytes(serialization.Encoding.DER)
    assert b"Bad Issuer" in der  # the issuer comes before the subject
    bad = x509.load_der_x509_certificate(der.replace(b"Bad Issuer", b"Bad\x8fIssuer", 1))
    with pytest.raises(ValueError):
        _ = bad.issuer  # what escaped before
    with pytest.raises(PkiError, match="malformed"):
        verify_member_certificate(bad, ca.certificate, now=NOW)
    # The same record, as another member hands it over, is refused the same way.
    doc = json.loads(record.to_json())
    doc["certificate"] = bad.public_bytes(serialization.Encoding.PEM).decode()
    (tmp_path / "enrolment.json").write_text(json.dumps(doc))
    with pytest.raises(PkiError):
        load_enrolment(tmp_path / "enrolment.json").verify(ca.certificate, now=NOW)
    assert member_id_of(good) == "bank-a"


def _gov(kind: str, body: dict[str, Any], state: Any, height: int = 1) -> None:
    net = make_net()
    ctx = TxContext(bytes(32), kind, "m1", "member", 2, T0, body, height, T0)
    net.registry.apply(Overlay(state), ctx)


def _genesis_state(directory: Path) -> Any:
    net = make_net()
    store = Store(directory / "ledger.sqlite")
    Replica(store, net.registry).apply(net.genesis.raw)
    return store.state()


@pytest.mark.parametrize(
    "body",
    [
        propose_body("admit", {**founder("m9").to_row(), "role": {}}),  # unhashable role
        propose_body("set_list_type", {"name": "x", "id_types": [{}], "retention_days": 1}),
        {"action": {}, "args": {}},  # unhashable action
        {"action": ["remove"], "args": {"id": "m2"}},
    ],
)
def test_governance_bodies_with_unhashable_values_are_refused(
    tmp_path: Path, body: dict[str, Any]
) -> None:
    state = _genesis_state(tmp_path)
    with pytest.raises(ContractError):
        _gov("gov.propose", body, state)


def test_genesis_founder_with_an_unhashable_role_is_refused() -> None:
    row = {**founder("m1").to_row(), "role": {"member": True}}
    config = encode(
        "genesis",
        1,
        {
            "consortium": "c",
            "time": T0,
            "normaliser_version": "v1",
            "founders": [row],
            "list_types": {},
            "id_types": {},
            "params": {},
        },
    )
    body = {"config": config, "signatures": {"m1": key_for("m1").sign(config)}}
    with pytest.raises(ContractError, match="role"):
        _gov("gov.genesis", body, MemoryState(), height=0)
