"""A real etcd cluster on loopback, for tests, benchmarks, the reliability campaign and the demo.

Rules this module keeps:

- Members listen on 127.0.0.1 only (client and peer URLs), on ports picked free at
  start; data directories and logs live under `base_dir`.
- `start` returns only once every member answers and agrees on a leader; a member that
  dies while starting (for instance because another process took its port between our
  probe and its bind) makes the start retry on fresh ports.
- `kill(i)` is a SIGKILL; `restart(i)` starts the same member on its old data directory
  and ports and waits until it serves linearizable reads again.
- Nothing outlives its owner: `stop` (also on `with` exit) terminates every member; an
  atexit hook stops clusters left running; and every member runs under
  `setpriv --pdeathsig SIGKILL`, spawned from a thread the cluster owns, so even a
  SIGKILLed test runner takes its etcd members with it.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ledger._etcd_client import EtcdClient, EtcdTLS
from ledger._etcd_errors import EtcdLogError, OrderingRejected, OrderingUnavailable
from ledger._etcdpb import rpc_pb2

__all__ = ["EtcdServerTLS", "LocalEtcdCluster", "find_etcd"]

_LIVE: set[LocalEtcdCluster] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all_at_exit() -> None:
    with _LIVE_LOCK:
        clusters = list(_LIVE)
    for cluster in clusters:
        cluster.stop()


atexit.register(_stop_all_at_exit)


def find_etcd(binary: str | None = None) -> str:
    """The etcd binary to run; a missing etcd is an error, never a reason to skip."""
    path = shutil.which(binary or os.environ.get("RISKSHARE_ETCD", "etcd"))
    if path is None:
        raise EtcdLogError(
            "etcd not found: install Debian's etcd-server (tools/sysdeps.sh does) "
            "or set RISKSHARE_ETCD to the binary"
        )
    return path


@dataclass(frozen=True, slots=True)
class EtcdServerTLS:
    """Files for client-facing TLS on the members, with client certificate auth."""

    cert_file: Path
    key_file: Path
    trusted_ca_file: Path


@dataclass(slots=True)
class _Member:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    probe: EtcdClient | None = field(default=None, repr=False)


def _free_ports(count: int) -> list[int]:
    # Hold every socket open until all are bound, so the ports are distinct.
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class LocalEtcdCluster:
    """`size` etcd members on 127.0.0.1 with data under `base_dir`."""

    def __init__(
        self,
        base_dir: str | Path,
        size: int = 3,
        *,
        etcd_binary: str | None = None,
        server_tls: EtcdServerTLS | None = None,
        client_tls: EtcdTLS | None = None,
        heartbeat_ms: int = 100,
        election_ms: int = 1000,
        startup_timeout: float = 30.0,
    ) -> None:
        if size < 1:
            raise EtcdLogError("a cluster needs at least one member")
        if (server_tls is None) != (client_tls is None):
            raise EtcdLogError("server_tls and client_tls go together")
        self.base_dir = Path(base_dir)
        self.size = size
        self._binary = find_etcd(etcd_binary)
        self._setpriv = shutil.which("setpriv")
        self._server_tls = server_tls
        self._client_tls = client_tls
        self._heartbeat_ms = heartbeat_ms
        self._election_ms = election_ms
        self._startup_timeout = startup_timeout
        self._members: list[_Member] = []
        self._token = ""
        self._spawner: ThreadPoolExecutor | None = None
        self._lock = threading.RLock()

    # -- addresses ---------------------------------------------------------------------

    @property
    def _scheme(self) -> str:
        return "https" if self._server_tls else "http"

    @property
    def endpoints(self) -> list[str]:
        """Client URLs of every member, in member order (`http://127.0.0.1:port`)."""
        return [f"{self._scheme}://127.0.0.1:{m.client_port}" for m in self._members]

    def endpoint(self, index: int) -> str:
        return self.endpoints[index]

    def pid(self, index: int) -> int | None:
        proc = self._members[index].process
        return proc.pid if proc is not None and proc.poll() is None else None

    def is_running(self, index: int) -> bool:
        return self.pid(index) is not None

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> LocalEtcdCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> LocalEtcdCluster:
        """Start every member and wait until the cluster is healthy."""
        with self._lock:
            if self._members:
                raise EtcdLogError("cluster already started")
            with _LIVE_LOCK:
                _LIVE.add(self)
            self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="etcd-spawn")
            last: Exception | None = None
            for _ in range(3):
                try:
                    self._start_once()
                    return self
                except _PortClash as exc:
                    last = exc
                    self._halt_members()
            self.stop()
            raise EtcdLogError(f"could not start etcd on free ports: {last}")

    def _start_once(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        ports = _free_ports(2 * self.size)
        self._token = "riskshare-" + secrets.token_hex(8)
        self._members = []
        for i in range(self.size):
            name = f"m{i}"
            data_dir = self.base_dir / f"{name}.etcd"
            if data_dir.exists():
                shutil.rmtree(data_dir)
            self._members.append(
                _Member(
                    name, ports[2 * i], ports[2 * i + 1], data_dir, self.base_dir / f"{name}.log"
                )
            )
        for i in range(self.size):
            self._spawn(i, state="new")
        self.wait_healthy(self._startup_timeout)

    def _command(self, member: _Member, state: str) -> list[str]:
        initial = ",".join(f"{m.name}=http://127.0.0.1:{m.peer_port}" for m in self._members)
        client_url = f"{self._scheme}://127.0.0.1:{member.client_port}"
        peer_url = f"http://127.0.0.1:{member.peer_port}"
        cmd = [
            self._binary,
            "--name", member.name,
            "--data-dir", str(member.data_dir),
            "--listen-client-urls", client_url,
            "--advertise-client-urls", client_url,
            "--listen-peer-urls", peer_url,
            "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", initial,
            "--initial-cluster-token", self._token,
            "--initial-cluster-state", state,
            "--heartbeat-interval", str(self._heartbeat_ms),
            "--election-timeout", str(self._election_ms),
            # A block is capped at 1 MiB; leave room for the Txn around it.
            "--max-request-bytes", str(2 * 1024 * 1024),
            "--logger", "zap",
            "--log-outputs", "stderr",
        ]  # fmt: skip
        if self._server_tls is not None:
            cmd += [
                "--cert-file", str(self._server_tls.cert_file),
                "--key-file", str(self._server_tls.key_file),
                "--trusted-ca-file", str(self._server_tls.trusted_ca_file),
                "--client-cert-auth",
            ]  # fmt: skip
        if self._setpriv is not None:
            cmd = [self._setpriv, "--pdeathsig", "SIGKILL", "--", *cmd]
        return cmd

    def _spawn(self, index: int, *, state: str) -> None:
        member = self._members[index]
        cmd = self._command(member, state)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
        assert self._spawner is not None
        with member.log_path.open("ab") as log:
            # Spawned on the cluster's own long-lived thread: the parent-death signal
            # fires when the spawning thread ends, which must not be a short-lived caller.
            member.process = self._spawner.submit(
                subprocess.Popen,
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            ).result()
        if member.probe is None:
            member.probe = EtcdClient(
                [f"{self._scheme}://127.0.0.1:{member.client_port}"],
                tls=self._client_tls,
                call_timeout=1.0,
                op_timeout=1.0,
            )

    def kill(self, index: int) -> None:
        """SIGKILL member `index` and reap it."""
        with self._lock:
            proc = self._members[index].process
            if proc is None or proc.poll() is not None:
                raise EtcdLogError(f"member {index} is not running")
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def restart(self, index: int, *, timeout: float = 30.0) -> None:
        """Start member `index` again on its data directory; wait until it serves reads."""
        with self._lock:
            if self.is_running(index):
                raise EtcdLogError(f"member {index} is still running")
            self._spawn(index, state="existing")
        self.wait_member_ready(index, timeout)

    def stop(self) -> None:
        """Terminate every member (SIGTERM, then SIGKILL after 5 s each). Idempotent."""
        with self._lock:
            self._halt_members()
            for m in self._members:
                if m.probe is not None:
                    m.probe.close()
                    m.probe = None
            if self._spawner is not None:
                self._spawner.shutdown(wait=True)
                self._spawner = None
            with _LIVE_LOCK:
                _LIVE.discard(self)

    def _halt_members(self) -> None:
        # One at a time: a leader given SIGTERM hands leadership to a live follower first,
        # which is quick only while that follower is not shutting down too (otherwise it
        # waits out a 7 s transfer timeout).
        for m in self._members:
            proc = m.process
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    # -- health ------------------------------------------------------------------------

    def _status(self, index: int) -> rpc_pb2.StatusResponse | None:
        probe = self._members[index].probe
        if probe is None or not self.is_running(index):
            return None
        try:
            return probe.status(0, timeout=1.0)
        except (OrderingUnavailable, OrderingRejected):
            return None

    def _serves_reads(self, index: int) -> bool:
        probe = self._members[index].probe
        assert probe is not None
        try:
            # A linearizable read goes through the leader's read index and waits until
            # this member has applied up to it, so success means it has caught up.
            probe.range(rpc_pb2.RangeRequest(key=b"/riskshare/health"), probe.deadline())
        except (OrderingUnavailable, OrderingRejected):
            return False
        return True

    def _check_alive(self, indices: Sequence[int]) -> None:
        for i in indices:
            proc = self._members[i].process
            if proc is not None and proc.poll() is not None:
                tail = self._log_tail(i)
                if "address already in use" in tail:
                    raise _PortClash(f"member {i}: {tail[-300:]}")
                raise EtcdLogError(f"etcd member {i} exited with {proc.returncode}:\n{tail}")

    def _log_tail(self, index: int) -> str:
        try:
            return self._members[index].log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def wait_member_ready(self, index: int, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self._check_alive([index])
            status = self._status(index)
            if status is not None and status.leader != 0 and self._serves_reads(index):
                return
            time.sleep(0.05)
        raise EtcdLogError(
            f"etcd member {index} not ready after {timeout} s:\n{self._log_tail(index)}"
        )

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Wait until every running member answers, agrees on one leader and serves reads."""
        end = time.monotonic() + timeout
        running = [i for i in range(self.size) if self._members[i].process is not None]
        while time.monotonic() < end:
            self._check_alive(running)
            statuses = [self._status(i) for i in running]
            leaders = {s.leader for s in statuses if s is not None}
            agreed = None not in statuses and len(leaders) == 1 and 0 not in leaders
            if agreed and all(self._serves_reads(i) for i in running):
                return
            time.sleep(0.05)
        raise EtcdLogError(f"etcd cluster not healthy after {timeout} s")

    def leader_index(self, timeout: float = 10.0) -> int:
        """Index of the current leader, waiting (up to `timeout`) for one to be elected."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ids: dict[int, int] = {}
            leader = 0
            for i in range(self.size):
                status = self._status(i)
                if status is not None:
                    ids[status.header.member_id] = i
                    leader = leader or status.leader
            if leader in ids:
                return ids[leader]
            time.sleep(0.05)
        raise EtcdLogError(f"no etcd leader elected within {timeout} s")


class _PortClash(EtcdLogError):
    """A member could not bind its port: start again on other ports."""
