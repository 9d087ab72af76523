"""A gateway that orders through etcd (``ledger.ordering = "etcd"``), in one process.

The ordering gateway runs ``ledger.LogOrderer`` over ``ledger.EtcdLog`` instead of the
embedded orderer: every block is written once to the consortium's etcd log (genesis
first), members follow the ordering gateway as before, and a restarted ordering
gateway continues from what etcd holds. A real etcd cluster is started; a missing
etcd binary fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway import load_config, load_member_credentials
from gateway._config import parse_config
from gateway._errors import ConfigError
from gateway._node import Node
from ledger import EtcdLog, LogOrderer
from ledger.etcd import LocalEtcdCluster
from tests.reliability._inprocess import LIST, Net, in_process_net, wait


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEtcdCluster]:
    with LocalEtcdCluster(tmp_path_factory.mktemp("etcd"), size=1) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory, etcd: LocalEtcdCluster) -> Iterator[Net]:
    ledger = {"ordering": "etcd", "etcd_endpoints": etcd.endpoints}
    with in_process_net(tmp_path_factory.mktemp("etcd-net"), ledger=ledger) as running:
        yield running


def _in_etcd(net: Net, etcd: LocalEtcdCluster) -> None:
    """Every block of the ordering gateway's replica is in etcd, byte for byte."""
    store = net.nodes["orderer"].store
    chain = store.chain_id
    assert chain is not None
    with EtcdLog(etcd.endpoints, chain.hex()) as log:
        assert log.last_height() == store.height
        for height in range(store.height + 1):
            assert log.get(height) == store.block(height)


def _query_recorded(net: Net) -> str:
    result = net.nodes["bank-a"].querier.query(LIST, "phone", ["13800138000"])
    assert all(a.ok for a in result.answers), result.answers
    net.quiet()
    receipts = {a.receipt_id for a in result.answers}
    for party in net.nodes:
        assert receipts <= set(net.receipts(party))
    return next(iter(receipts))


def test_the_ordering_gateway_writes_every_block_to_etcd(net: Net, etcd: LocalEtcdCluster) -> None:
    assert isinstance(net.nodes["orderer"].orderer, LogOrderer)
    _query_recorded(net)
    _in_etcd(net, etcd)


def test_a_restarted_ordering_gateway_continues_from_etcd(net: Net, etcd: LocalEtcdCluster) -> None:
    _query_recorded(net)
    config = load_config(net.consortium.orderer.config_path)
    net.nodes["orderer"].stop(0)
    node = Node(config, load_member_credentials(config.member.dir))
    node.start(admin=False)
    net.nodes["orderer"] = node
    _query_recorded(net)
    _in_etcd(net, etcd)
    head = node.store.block_info(node.store.height)
    wait(lambda: all(n.store.head() == head for n in net.nodes.values()), what="equal heads")


GOOD: dict[str, Any] = {
    "member": {"id": "orderer", "dir": "keys", "data_dir": "data"},
    "gateway": {"listen": "127.0.0.1:0"},
    "ledger": {
        "serve_orderer": True,
        "orderer_listen": "127.0.0.1:0",
        "ordering": "etcd",
        "etcd_endpoints": ["https://10.0.0.1:2379"],
    },
}


def _with(**ledger: Any) -> dict[str, Any]:
    return {**GOOD, "ledger": {**GOOD["ledger"], **ledger}}


def test_etcd_settings_are_checked(tmp_path: Path) -> None:
    config = parse_config(
        _with(etcd_namespace="consortium-1", etcd_ca="ca.crt", etcd_cert="gw.crt", etcd_key="k"),
        base=tmp_path,
        env={},
    )
    assert config.ledger.etcd_namespace == "consortium-1"
    assert config.ledger.etcd_ca == tmp_path / "ca.crt"
    with pytest.raises(ConfigError, match=r"etcd_cert and ledger\.etcd_key go together"):
        parse_config(_with(etcd_ca="ca.crt", etcd_cert="gw.crt"), base=tmp_path, env={})
    with pytest.raises(ConfigError, match=r"needs ledger\.etcd_ca"):
        parse_config(_with(etcd_cert="gw.crt", etcd_key="k"), base=tmp_path, env={})
    with pytest.raises(ConfigError, match="etcd_endpoints is required"):
        parse_config(_with(etcd_endpoints=[]), base=tmp_path, env={})
