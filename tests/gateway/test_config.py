"""Gateway configuration: TOML, environment overrides, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import ConfigError, load_config, parse_config

GOOD = """
[member]
id = "bank-a"
dir = "members/bank-a"
data_dir = "data/bank-a"

[gateway]
listen = "127.0.0.1:7443"
workers = 2
metrics_listen = "127.0.0.1:9100"

[ledger]
orderer = "127.0.0.1:7000"

[limits]
requests_per_second = 20
"""


def test_good_config_resolves_paths_against_its_directory(tmp_path: Path) -> None:
    (tmp_path / "member.toml").write_text(GOOD)
    config = load_config(tmp_path / "member.toml", env={})
    assert config.member.id == "bank-a"
    assert config.member.dir == tmp_path / "members/bank-a"
    assert config.ledger_path == tmp_path / "data/bank-a/ledger.sqlite"
    assert config.admin_socket == tmp_path / "data/bank-a/admin.sock"
    assert config.gateway.workers == 2 and config.worker_count() == 2
    assert config.limits.requests_per_second == 20.0
    assert config.query.deadline_ms == 5000
    assert config.source == (tmp_path / "member.toml").resolve()


def test_environment_overrides_file(tmp_path: Path) -> None:
    (tmp_path / "member.toml").write_text(GOOD)
    env = {
        "RISKSHARE_GATEWAY_LISTEN": "0.0.0.0:9443",
        "RISKSHARE_GATEWAY_WORKERS": "4",
        "RISKSHARE_LEDGER_SERVE_ORDERER": "true",
        "RISKSHARE_LEDGER_ORDERER_LISTEN": "127.0.0.1:7001",
        "RISKSHARE_LEDGER_ETCD_ENDPOINTS": "a:2379, b:2379",
        "RISKSHARE_LIMITS_BURST_SECONDS": "0.5",
    }
    config = load_config(tmp_path / "member.toml", env=env)
    assert config.gateway.listen == "0.0.0.0:9443"
    assert config.gateway.workers == 4
    assert config.ledger.serve_orderer is True
    assert config.ledger.etcd_endpoints == ["a:2379", "b:2379"]
    assert config.limits.burst_seconds == 0.5


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        (GOOD + "\n[gatway]\nx = 1\n", {}, "unknown section"),
        (GOOD.replace("workers = 2", "wrkers = 2"), {}, "unknown key"),
        (GOOD.replace("workers = 2", 'workers = "two"'), {}, "gateway.workers: expected int"),
        (GOOD, {"RISKSHARE_GATEWAY_WORKERS": "many"}, "RISKSHARE_GATEWAY_WORKERS"),
        (GOOD, {"RISKSHARE_LEDGER_SERVE_ORDERER": "maybe"}, "SERVE_ORDERER"),
        (GOOD.replace('id = "bank-a"', ""), {}, "member.id is required"),
        (GOOD.replace('id = "bank-a"', 'id = "Bank A"'), {}, "member.id"),
        (GOOD.replace("127.0.0.1:7443", "localhost"), {}, "not host:port"),
        (GOOD.replace('orderer = "127.0.0.1:7000"', ""), {}, "ledger.orderer"),
        (GOOD, {"RISKSHARE_LEDGER_SERVE_ORDERER": "1"}, "ledger.orderer_listen"),
        (GOOD + "\n[log]\nlevel = 'loud'\n", {}, "log.level"),
        (GOOD.replace("workers = 2", "workers = -1"), {}, "gateway.workers"),
        ("[member\n", {}, "not valid TOML"),
    ],
)
def test_bad_config_is_refused_with_the_key_named(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    (tmp_path / "member.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "member.toml", env=env)


def test_missing_file_and_passphrase_env(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml", env={})
    raw = {
        "member": {"id": "a", "dir": "m", "data_dir": "d", "passphrase_env": "RS_TEST_PASS"},
        "gateway": {"listen": "127.0.0.1:1"},
        "ledger": {"serve_orderer": True, "orderer_listen": "127.0.0.1:1"},
    }
    config = parse_config(raw, base=tmp_path, env={})
    with pytest.raises(ConfigError, match="RS_TEST_PASS"):
        _ = config.passphrase
