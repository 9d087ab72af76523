"""A real etcd cluster across namespaces: one member per namespace, every link relayed.

Each member listens on its namespace's loopback (client port 12379, peer port 12380)
and advertises its namespace address (2379, 2380), where that namespace's relay
forwards with the link's delay: Raft's messages between members and the orderer's
calls to the cluster all cross one delayed link, and a member whose link is set down
is cut off from its peers and its clients alike.

The driver cannot reach those addresses from the root namespace; it asks each member
about itself from inside that member's namespace (``tests.wan._etcdprobe``).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ledger._etcd_local import find_etcd
from tests.wan._netns import Network

__all__ = ["CLIENT_PORT", "PEER_PORT", "NetnsEtcd"]

CLIENT_PORT, PEER_PORT = 2379, 2380
_LOCAL_CLIENT, _LOCAL_PEER = 12379, 12380
_ROOT = Path(__file__).resolve().parents[2]


_STATUS = f"""
import urllib.request
request = urllib.request.Request(
    "http://127.0.0.1:{_LOCAL_CLIENT}/v3/maintenance/status", data=b"{{}}", method="POST"
)
print(urllib.request.urlopen(request, timeout=1.0).read().decode())
"""


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GRPC_VERBOSITY", "ERROR")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    return env


class NetnsEtcd:
    """``size`` etcd members, member ``i`` in namespace ``etcd<i>`` of ``net``."""

    def __init__(
        self,
        net: Network,
        base_dir: Path,
        *,
        size: int = 3,
        one_way_ms: float,
        heartbeat_ms: int = 100,
        election_ms: int = 1000,
    ) -> None:
        self.net = net
        self.base_dir = base_dir
        self.size = size
        self.labels = [f"etcd{i}" for i in range(size)]
        self._one_way_ms = one_way_ms
        self._heartbeat_ms = heartbeat_ms
        self._election_ms = election_ms
        self._binary = find_etcd()
        self._processes: dict[int, subprocess.Popen[str]] = {}
        self._ids: dict[int, int] = {}  # etcd member id -> index

    @property
    def endpoints(self) -> list[str]:
        """What clients dial: each member's namespace address, through its relay."""
        return [f"http://{self.net.hosts[label].address}:{CLIENT_PORT}" for label in self.labels]

    def start(self, timeout: float = 60.0) -> NetnsEtcd:
        for label in self.labels:
            self.net.add(label)
            self.net.relay(
                label, {CLIENT_PORT: _LOCAL_CLIENT, PEER_PORT: _LOCAL_PEER}, self._one_way_ms
            )
        token = "riskshare-wan-" + secrets.token_hex(6)
        initial = ",".join(
            f"m{i}=http://{self.net.hosts[label].address}:{PEER_PORT}"
            for i, label in enumerate(self.labels)
        )
        self.base_dir.mkdir(parents=True, exist_ok=True)
        for i, label in enumerate(self.labels):
            address = self.net.hosts[label].address
            argv = [
                self._binary,
                "--name", f"m{i}",
                "--data-dir", str(self.base_dir / f"m{i}.etcd"),
                "--listen-client-urls", f"http://127.0.0.1:{_LOCAL_CLIENT}",
                "--advertise-client-urls", f"http://{address}:{CLIENT_PORT}",
                "--listen-peer-urls", f"http://127.0.0.1:{_LOCAL_PEER}",
                "--initial-advertise-peer-urls", f"http://{address}:{PEER_PORT}",
                "--initial-cluster", initial,
                "--initial-cluster-token", token,
                "--initial-cluster-state", "new",
                "--heartbeat-interval", str(self._heartbeat_ms),
                "--election-timeout", str(self._election_ms),
                "--max-request-bytes", str(2 * 1024 * 1024),
                "--logger", "zap",
                "--log-outputs", "stderr",
            ]  # fmt: skip
            env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
            with (self.base_dir / f"m{i}.log").open("a") as log:
                self._processes[i] = self.net.spawn(label, argv, env=env, stdout=log)
        self.wait_healthy(timeout)
        return self

    # -- questions, asked inside each member's namespace ----------------------------------

    def status(self, index: int) -> dict[str, Any] | None:
        """The member's own view (id, leader, term, index), or None if it does not answer.

        Asked through etcd's JSON gateway (``/v3/maintenance/status``) by a bare Python
        started in the member's namespace: a probe costs tens of milliseconds, not the
        second that importing gRPC would, so the time to elect is measured, not the probe.
        """
        done = subprocess.run(
            self.net.command(self.labels[index], [sys.executable, "-I", "-S", "-c", _STATUS]),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0 or not done.stdout.strip():
            return None
        raw = json.loads(done.stdout)
        return {
            "member": int(raw["header"]["member_id"]),
            "leader": int(raw.get("leader", 0)),
            "term": int(raw.get("raftTerm", 0)),
            "index": int(raw.get("raftIndex", 0)),
        }

    def statuses(self) -> list[dict[str, Any] | None]:
        return [self.status(i) for i in range(self.size)]

    def leader_index(
        self, among: list[int] | None = None, *, exclude: int = -1, timeout: float = 60.0
    ) -> int:
        """The member every member in ``among`` (all by default) names as leader.

        ``exclude``: wait for another leader than that member (one just cut off).
        """
        among = list(range(self.size)) if among is None else among
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            views = [self.status(i) for i in among]
            for i, view in zip(among, views, strict=True):
                if view is not None:
                    self._ids[view["member"]] = i
            leaders = {view["leader"] if view is not None else 0 for view in views}
            leader = leaders.pop() if len(leaders) == 1 else 0
            if leader in self._ids and self._ids[leader] != exclude:
                return self._ids[leader]
            time.sleep(0.2)
        raise TimeoutError(f"etcd members {among} agreed on no leader in {timeout} s")

    def wait_healthy(self, timeout: float = 60.0) -> int:
        """Until every member answers and all name one leader; its index."""
        for i, process in self._processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"etcd m{i} exited: {self.log_tail(i)}")
        return self.leader_index(timeout=timeout)

    def log_tail(self, index: int) -> str:
        path = self.base_dir / f"m{index}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def matches(self, ledger: Path, namespace: str, *, via: int = 0) -> bool:
        """Every block of the replica at ``ledger`` is the block etcd holds at its height."""
        argv = [
            sys.executable, "-m", "tests.wan._etcdprobe", "matches",
            "--ledger", str(ledger), "--namespace", namespace,
            f"http://127.0.0.1:{_LOCAL_CLIENT}",
        ]  # fmt: skip
        done = subprocess.run(
            self.net.command(self.labels[via], argv),
            capture_output=True,
            text=True,
            env=python_env(),
            cwd=_ROOT,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"etcd probe failed: {done.stderr[-500:]}")
        return bool(json.loads(done.stdout))
