"""A private network of Linux network namespaces: one per party, joined by a bridge.

Layout: a hub namespace holds a bridge; each party gets its own namespace with one
veth whose other end is a port of that bridge, an address ``10.200.0.<n>/24`` and its
own loopback. Nothing touches the machine's own (root) namespace: every interface is
created inside the hub or a party's namespace, so parallel runs (two engineers, or the
suite next to the long campaign) cannot collide, whatever addresses they use.

Rules this module keeps:

- Names carry the owner's pid (``rswan-<pid>-<n>-<label>``). A network whose owner
  died (a SIGKILLed test runner) is swept by the next one: its processes are killed by
  pid (``ip netns pids``) and its namespaces deleted.
- Every process started in a namespace runs under ``setpriv --pdeathsig SIGKILL``,
  spawned from one long-lived thread the network owns, so a runner that dies takes
  them along.
- :meth:`Network.close` (also on ``with`` exit, and at interpreter exit) kills every
  process left in the namespaces, by pid, and deletes every namespace. Fixtures call it
  in their finalisers, so nothing is left behind on failure.
- A partition is a link set down on the hub's side (the switch port of that party):
  the party's own stack sees its carrier go and its packets go nowhere, as when a cable
  is pulled. :meth:`Network.heal` sets it up again.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = ["PREFIX", "Host", "Network", "sweep_stale"]

PREFIX = "rswan-"
SUBNET = "10.200.0"
_IP = "ip"
_ROOT = Path(__file__).resolve().parents[2]
_LIVE: set[Network] = set()
_LIVE_LOCK = threading.Lock()
_COUNTER = itertools.count()


def _run(*args: str) -> str:
    done = subprocess.run([_IP, *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _namespaces() -> list[str]:
    return [line.split()[0] for line in _run("netns", "list").splitlines() if line.strip()]


def _pids(namespace: str) -> list[int]:
    try:
        return [int(p) for p in _run("netns", "pids", namespace).split()]
    except RuntimeError:
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete(namespace: str, timeout: float = 20.0) -> None:
    """Kill every process in ``namespace`` by pid, then delete it."""
    deadline = time.monotonic() + timeout
    while True:
        pids = _pids(namespace)
        if not pids or time.monotonic() > deadline:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    with contextlib.suppress(RuntimeError):
        _run("netns", "delete", namespace)


def sweep_stale() -> list[str]:
    """Delete the namespaces of networks whose owner process is gone; their names."""
    swept = []
    for name in _namespaces():
        if not name.startswith(PREFIX):
            continue
        owner = name[len(PREFIX) :].split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)) and int(owner) != os.getpid():
            _delete(name)
            swept.append(name)
    return swept


@dataclass(frozen=True, slots=True)
class Host:
    """One party's namespace: its name, its address on the bridge, its bridge port."""

    label: str
    namespace: str
    address: str
    port_name: str  # the veth end on the hub's bridge


class Network:
    """Namespaces joined by a bridge; processes started in them; partitions."""

    def __init__(self) -> None:
        if shutil.which(_IP) is None or shutil.which("setpriv") is None:
            raise RuntimeError("ip (iproute2) and setpriv (util-linux) are needed")
        sweep_stale()
        self._id = f"{PREFIX}{os.getpid()}-{next(_COUNTER)}"
        self.hub = f"{self._id}-hub"
        self.hosts: dict[str, Host] = {}
        self._namespaces: list[str] = []
        self._processes: list[subprocess.Popen[str]] = []
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netns-spawn")
        self._lock = threading.Lock()
        self._closed = False
        self._control_dir = Path(tempfile.mkdtemp(prefix=f"{self._id}-"))
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self._add_namespace(self.hub)
            _run("-n", self.hub, "link", "add", "br0", "type", "bridge")
            _run("-n", self.hub, "link", "set", "br0", "up")
            _run("-n", self.hub, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Network:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _add_namespace(self, name: str) -> None:
        _run("netns", "add", name)
        self._namespaces.append(name)

    def add(self, label: str) -> Host:
        """A new party namespace on the bridge, with its loopback up."""
        index = len(self.hosts) + 10
        if index > 250:
            raise RuntimeError("at most 240 parties on one bridge")
        namespace = f"{self._id}-{label}"
        port = f"p{index}"
        self._add_namespace(namespace)
        # Both ends are created inside the hub; one is then moved into the party's
        # namespace, so no interface ever exists in the root namespace.
        _run("-n", self.hub, "link", "add", port, "type", "veth", "peer", "name", "eth0")
        _run("-n", self.hub, "link", "set", "eth0", "netns", namespace)
        _run("-n", self.hub, "link", "set", port, "master", "br0", "up")
        address = f"{SUBNET}.{index}"
        _run("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
        _run("-n", namespace, "link", "set", "eth0", "up")
        _run("-n", namespace, "link", "set", "lo", "up")
        host = Host(label, namespace, address, port)
        self.hosts[label] = host
        return host

    def set_delay(self, one_way_ms: float | None) -> None:
        """Every relay's one-way delay from now on (None: back to its own)."""
        for control in self._control_dir.glob("*.delay"):
            control.write_text("" if one_way_ms is None else str(one_way_ms))

    # -- partitions ----------------------------------------------------------------------

    def cut(self, label: str) -> None:
        """Pull ``label``'s cable: its bridge port goes down."""
        _run("-n", self.hub, "link", "set", self.hosts[label].port_name, "down")

    def heal(self, label: str) -> None:
        _run("-n", self.hub, "link", "set", self.hosts[label].port_name, "up")

    # -- processes -----------------------------------------------------------------------

    def command(self, label: str, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside ``label``'s namespace, killed if its parent dies."""
        return [
            _IP, "netns", "exec", self.hosts[label].namespace,
            "setpriv", "--pdeathsig", "SIGKILL", "--", *argv,
        ]  # fmt: skip

    def spawn(
        self,
        label: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdout: IO[str] | int | None = subprocess.PIPE,
    ) -> subprocess.Popen[str]:
        """Start ``argv`` in ``label``'s namespace (from the network's own thread)."""
        environment = dict(os.environ if env is None else env)
        with self._lock:
            if self._closed:
                raise RuntimeError("network closed")
            process: subprocess.Popen[str] = self._spawner.submit(
                subprocess.Popen,
                self.command(label, argv),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                text=True,
                env=environment,
                cwd=_ROOT,
            ).result()
            self._processes.append(process)
        return process

    def relay(
        self,
        label: str,
        ports: Mapping[int, int],
        one_way_ms: float,
        *,
        echo: int = 0,
        timeout: float = 60.0,
    ) -> subprocess.Popen[str]:
        """A delaying relay in ``label``'s namespace: its address:port → 127.0.0.1:target.

        ``echo``: the relay also runs an echo service on that loopback port (map it).
        """
        address = self.hosts[label].address
        argv = [sys.executable, "-m", "tests.wan._relay", "--delay-ms", str(one_way_ms)]
        for listen, target in ports.items():
            argv += ["--map", f"{address}:{listen}=127.0.0.1:{target}"]
        if echo:
            argv += ["--echo-port", str(echo)]
        control = self._control_dir / f"{label}.delay"
        control.write_text("")
        argv += ["--delay-file", str(control)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
        process = self.spawn(label, argv, env=env)
        assert process.stdout is not None
        line = _readline(process, timeout)
        if line.strip() != "ready":
            process.kill()
            raise RuntimeError(f"relay in {label} did not start: {line!r}")
        return process

    def close(self) -> None:
        """Kill every process in every namespace (by pid) and delete the namespaces."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for process in self._processes:
            if process.poll() is None:
                process.kill()
        for namespace in reversed(self._namespaces):
            _delete(namespace)
        for process in self._processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        self._spawner.shutdown(wait=False)
        shutil.rmtree(self._control_dir, ignore_errors=True)
        with _LIVE_LOCK:
            _LIVE.discard(self)


def _readline(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line ``process`` prints, or '' after ``timeout`` or its exit."""
    result: list[str] = []
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else ""


def _close_all_at_exit() -> None:
    with _LIVE_LOCK:
        networks = list(_LIVE)
    for network in networks:
        network.close()


atexit.register(_close_all_at_exit)
