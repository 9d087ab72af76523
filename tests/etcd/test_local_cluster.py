"""The loopback cluster launcher: it fails loudly, keeps data across restarts, and leaves
no etcd running however its owner ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ledger._etcd import EtcdLog
from ledger._etcd_errors import EtcdLogError
from ledger._etcd_local import LocalEtcdCluster

ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int, within: float = 10.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A zombie still answers kill(0); its state in /proc says it is dead.
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def test_missing_etcd_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EtcdLogError, match="etcd not found"):
        LocalEtcdCluster(tmp_path, etcd_binary="no-such-etcd-binary")


def test_members_listen_on_loopback_and_stop_on_exit(tmp_path: Path) -> None:
    with LocalEtcdCluster(tmp_path, size=1) as cluster:
        assert cluster.endpoints[0].startswith("http://127.0.0.1:")
        pid = cluster.pid(0)
        assert pid is not None
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        for flag in (b"--listen-client-urls", b"--listen-peer-urls"):
            assert cmdline[cmdline.index(flag) + 1].startswith(b"http://127.0.0.1:")
        assert (tmp_path / "m0.etcd").is_dir()
    assert _gone(pid)
    assert not cluster.is_running(0)


def test_restarted_member_keeps_its_data_and_catches_up(
    cluster: LocalEtcdCluster, namespace: str
) -> None:
    with EtcdLog(cluster.endpoints, namespace) as log:
        assert log.append(0, b"before")
        cluster.kill(2)
        with pytest.raises(EtcdLogError):
            cluster.kill(2)
        assert log.append(1, b"while down")
        cluster.restart(2)
    with EtcdLog([cluster.endpoint(2)], namespace) as only_member_2:
        assert only_member_2.get(0) == b"before"
        assert only_member_2.get(1) == b"while down"


@pytest.mark.parametrize("ending", ["exit", "sigkill"])
def test_no_etcd_outlives_its_owner(tmp_path: Path, ending: str) -> None:
    # The owner never calls stop(): on a normal exit the atexit hook stops the members;
    # on SIGKILL the members' parent-death signal takes them down.
    script = textwrap.dedent(
        f"""
        import sys, time
        from ledger._etcd_local import LocalEtcdCluster
        cluster = LocalEtcdCluster({str(tmp_path)!r}, size=1).start()
        print(cluster.pid(0), flush=True)
        sys.stdin.readline()
        if {ending!r} == "sigkill":
            time.sleep(60)
        """
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdin is not None and owner.stdout is not None
    pid = int(owner.stdout.readline())
    assert not _gone(pid, within=0.2)
    owner.stdin.write("go\n")
    owner.stdin.flush()
    if ending == "sigkill":
        owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=30)
    assert _gone(pid)
