"""A local consortium under test: real gateway processes that can be killed and restarted.

Built with the same functions as ``riskshare demo`` (``gateway._localnet``): a CA, an
orderer and members enrolled, a genesis every founder signed, one ``member.toml`` per
gateway, each member's list imported through the adapters. Every gateway runs as
``riskshare gateway serve`` in its own process (supervisor plus worker processes),
started through :mod:`tests.reliability._inject` so the storage fault can be switched on
and off from outside.

``kill`` is SIGKILL of the gateway's whole process tree at once — the supervisor, its
workers and their evaluation processes — the way a host crash or an OOM kill of the
service's cgroup ends it: no handler runs, nothing is flushed. ``restart`` starts the
same configuration on the same data directory and waits until it serves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway._client import AdminClient
from gateway._demo import Samples, sample_lists
from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._processes import GatewayProcess
from ledger import Store
from ledger.etcd import LocalEtcdCluster

__all__ = ["ROOT", "Consortium", "descendants", "kill_tree"]

ROOT = Path(__file__).resolve().parents[2]
ORDERER = "orderer"

# Credits: the campaign measures faults, not the credit policy, so members may run a
# deep overdraft; everything else is the genesis default.
PARAMS: Mapping[str, Any] = {"credits.overdraft": 10**12}


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc), children before grandchildren."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ')'.
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    frontier = [pid]
    while frontier:
        children = [c for p in frontier for c in parents.get(p, [])]
        found.extend(children)
        frontier = children
    return found


def kill_tree(process: subprocess.Popen[str]) -> list[int]:
    """SIGKILL ``process`` and all its descendants; reap it; the pids killed."""
    tree = [process.pid, *descendants(process.pid)]
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()
    return tree


@dataclass
class Consortium:
    """The gateways of one local consortium, by member id (``orderer`` included)."""

    root: Path
    net: LocalConsortium
    samples: Samples
    etcd: LocalEtcdCluster | None = None
    running: dict[str, GatewayProcess] = field(default_factory=dict)
    # Fault history, for the report: (what, member, wall time in ms).
    events: list[tuple[str, str, int]] = field(default_factory=list)

    def event(self, what: str, who: str) -> None:
        self.events.append((what, who, time.time_ns() // 1_000_000))

    @property
    def kills(self) -> list[tuple[str, int]]:
        return [(who, at) for what, who, at in self.events if what == "kill"]

    @classmethod
    def create(
        cls,
        root: Path,
        members: Sequence[str],
        *,
        listed: int,
        etcd: LocalEtcdCluster | None = None,
        block_interval: float = 0.1,
    ) -> Consortium:
        ledger: dict[str, Any] = {"block_interval": block_interval}
        if etcd is not None:
            ledger.update(ordering="etcd", etcd_endpoints=etcd.endpoints)
        net = create_local_consortium(
            root,
            list(members),
            workers=1,
            name="reliability campaign",
            params=PARAMS,
            overrides={
                "ledger": ledger,
                # Several load threads per querier share each responder's port.
                "limits": {"requests_per_second": 1000.0},
                "query": {"deadline_ms": 5000, "retries": 2, "snapshot_sync_seconds": 5.0},
                "dashboard": {"enabled": False},
            },
        )
        samples = sample_lists(list(members), listed, seed=f"campaign-{root.name}")
        for member_id in members:
            load_list(net.members[member_id], samples.lists[member_id])
        return cls(root=root, net=net, samples=samples, etcd=etcd)

    # -- addresses and files -------------------------------------------------------------

    @property
    def members(self) -> list[str]:
        return list(self.net.members)

    @property
    def parties(self) -> list[str]:
        return [ORDERER, *self.net.members]

    def data_dir(self, member_id: str) -> Path:
        return self.net.member(member_id).data_dir

    def ledger_path(self, member_id: str) -> Path:
        return self.data_dir(member_id) / "ledger.sqlite"

    def admin_socket(self, member_id: str) -> Path:
        return self.data_dir(member_id) / "admin.sock"

    def control(self, member_id: str) -> Path:
        return self.data_dir(member_id) / "fault.control"

    def admin(self, member_id: str) -> AdminClient:
        return AdminClient(self.admin_socket(member_id))

    # -- processes -----------------------------------------------------------------------

    def _spawn(self, member_id: str) -> GatewayProcess:
        config = self.net.member(member_id).config_path
        control = self.control(member_id)
        control.write_text("")
        env = dict(os.environ)
        env.setdefault("GRPC_VERBOSITY", "ERROR")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability._inject",
                "--control",
                str(control),
                "gateway",
                "serve",
                "--config",
                str(config),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
        )
        return GatewayProcess(member_id, config, process)

    def start(self, timeout: float = 180.0) -> None:
        """The orderer first, then every member at once; wait until all serve."""
        try:
            self.running[ORDERER] = self._spawn(ORDERER)
            self.running[ORDERER].wait_serving(timeout)
            for member_id in self.members:
                self.running[member_id] = self._spawn(member_id)
            for member_id in self.members:
                self.running[member_id].wait_serving(timeout)
        except BaseException:
            self.stop()
            raise

    def kill(self, member_id: str) -> list[int]:
        """SIGKILL the gateway's whole process tree."""
        gateway = self.running.pop(member_id)
        killed = kill_tree(gateway.process)
        # After the kill: every request it signed is older than this.
        self.event("kill", member_id)
        return killed

    def restart(self, member_id: str, timeout: float = 180.0) -> float:
        """Start the gateway again on its data; seconds until it served."""
        started = time.monotonic()
        gateway = self._spawn(member_id)
        self.running[member_id] = gateway
        gateway.wait_serving(timeout)
        self.event("restart", member_id)
        return time.monotonic() - started

    def fill_storage(self, member_id: str, full: bool) -> None:
        self.control(member_id).write_text("full" if full else "")
        self.event("storage full" if full else "storage freed", member_id)

    def stop(self, timeout: float = 60.0) -> dict[str, int]:
        """SIGTERM the members, then the orderer; their exit codes."""
        codes: dict[str, int] = {}
        order = [m for m in self.running if m != ORDERER] + (
            [ORDERER] if ORDERER in self.running else []
        )
        for phase in ([m for m in order if m != ORDERER], [m for m in order if m == ORDERER]):
            for member_id in phase:
                self.running[member_id].stop()
            for member_id in phase:
                process = self.running[member_id].process
                try:
                    codes[member_id] = process.wait(timeout)
                except subprocess.TimeoutExpired:
                    kill_tree(process)
                    codes[member_id] = -9
        self.running.clear()
        return codes

    def output(self, member_id: str) -> str:
        gateway = self.running.get(member_id)
        return "".join(gateway.output[-20:]) if gateway is not None else ""

    # -- waiting -------------------------------------------------------------------------

    def heads(self) -> dict[str, tuple[int, bytes]]:
        out = {}
        for member_id in self.parties:
            with Store(self.ledger_path(member_id), create=False) as store:
                head = store.head()
                out[member_id] = (head.height, head.hash) if head is not None else (-1, b"")
        return out

    def wait_published(self, timeout: float = 120.0) -> None:
        """Until every member's list epoch is committed and its peers hold snapshots."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = True
            for member_id in self.members:
                with self.admin(member_id) as client:
                    status = client.status()
                if not status.own_lists or not all(row.verified for row in status.own_lists):
                    ready = False
            if ready:
                for member_id in self.members:
                    with self.admin(member_id) as client:
                        client.sync()
                return
            time.sleep(0.25)
        raise TimeoutError("members' lists did not reach the ledger in time")
