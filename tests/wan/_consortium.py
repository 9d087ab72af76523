"""A consortium whose every party lives in its own network namespace, behind a WAN link.

The orderer and each member run ``riskshare gateway serve`` in their own namespace; with
etcd ordering, each etcd member runs in its own namespace too (``tests.wan._etcd``).
A party's gateway binds its namespace's loopback (``127.0.0.1:17400``); the address
its certificate and the genesis block name, ``10.200.0.<n>:7400``, belongs to the
party's relay, which forwards with the link's one-way delay. Every gRPC call between
two parties (mutual TLS 1.3) therefore crosses a veth, a bridge and one delayed round
trip, and setting a party's link down partitions it for real.

The driver (a test, or ``tools/wan_campaign.py``) stays in the root namespace: it
talks to each gateway over its admin socket (a path in the data directory, which
network namespaces do not separate) and reads replicas from their SQLite files, as
the loopback campaign does (``tests/reliability``), whose load generator, settling and
audit are reused unchanged.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway._demo import sample_lists
from gateway._localnet import create_local_consortium, load_list
from gateway._processes import GatewayProcess
from tests.reliability._cluster import ORDERER, PARAMS, ROOT, Consortium
from tests.wan._etcd import NetnsEtcd, python_env
from tests.wan._netns import Network

__all__ = ["ECHO_PORT", "GATEWAY_PORT", "WanConsortium"]

GATEWAY_PORT, ECHO_PORT = 7400, 7499
_LOCAL_GATEWAY, _LOCAL_ECHO = 17400, 17499


@dataclass
class WanConsortium(Consortium):
    """:class:`tests.reliability._cluster.Consortium`, each gateway in its namespace."""

    network: Network | None = None
    cluster: NetnsEtcd | None = None
    rtt_ms: float = 0.0

    @classmethod
    def build(
        cls,
        root: Path,
        network: Network,
        members: Sequence[str],
        *,
        rtt_ms: float,
        listed: int,
        etcd_size: int = 3,
        block_interval: float = 0.1,
    ) -> WanConsortium:
        """Namespaces, relays and etcd started; keys, genesis, configs and lists made.

        ``etcd_size`` 0 orders with the embedded orderer; otherwise a real cluster of
        that many members, each in its own namespace, orders the consortium.
        """
        one_way = rtt_ms / 2
        cluster = None
        if etcd_size:
            cluster = NetnsEtcd(network, root / "etcd", size=etcd_size, one_way_ms=one_way)
            cluster.start()
        addresses, listen = {}, {}
        for party in (ORDERER, *members):
            host = network.add(party)
            network.relay(
                party,
                {GATEWAY_PORT: _LOCAL_GATEWAY, ECHO_PORT: _LOCAL_ECHO},
                one_way,
                echo=_LOCAL_ECHO,
            )
            addresses[party] = f"{host.address}:{GATEWAY_PORT}"
            listen[party] = f"127.0.0.1:{_LOCAL_GATEWAY}"
        ledger: dict[str, Any] = {"block_interval": block_interval}
        if cluster is not None:
            ledger.update(ordering="etcd", etcd_endpoints=cluster.endpoints)
        net = create_local_consortium(
            root / "consortium-files",
            list(members),
            workers=1,
            name="wan consortium",
            params=PARAMS,
            addresses=addresses,
            listen=listen,
            overrides={
                "ledger": ledger,
                "limits": {"requests_per_second": 1000.0},
                "query": {"deadline_ms": 5000, "retries": 2, "snapshot_sync_seconds": 5.0},
                "dashboard": {"enabled": False},
            },
        )
        samples = sample_lists(list(members), listed, seed=f"wan-{root.name}")
        for member_id in members:
            load_list(net.members[member_id], samples.lists[member_id])
        return cls(
            root=root, net=net, samples=samples, network=network, cluster=cluster, rtt_ms=rtt_ms
        )

    def _spawn(self, member_id: str) -> GatewayProcess:
        assert self.network is not None
        config = self.net.member(member_id).config_path
        control = self.control(member_id)
        control.write_text("")
        argv = [
            sys.executable, "-m", "tests.reliability._inject", "--control", str(control),
            "gateway", "serve", "--config", str(config),
        ]  # fmt: skip
        process = self.network.spawn(member_id, argv, env=python_env())
        return GatewayProcess(member_id, config, process)

    def address(self, party: str) -> str:
        assert self.network is not None
        return self.network.hosts[party].address

    def ping(self, source: str, target: str, count: int = 20) -> list[float]:
        """Bare TCP round trips (ms) from ``source``'s namespace through ``target``'s relay."""
        assert self.network is not None
        argv = [
            sys.executable, "-m", "tests.wan._ping",
            f"{self.address(target)}:{ECHO_PORT}", "--count", str(count),
        ]  # fmt: skip
        done = subprocess.run(
            self.network.command(source, argv),
            capture_output=True,
            text=True,
            env=python_env(),
            cwd=ROOT,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"ping {source} -> {target} failed: {done.stderr[-500:]}")
        rtts: list[float] = json.loads(done.stdout)
        return rtts
