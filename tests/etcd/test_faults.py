"""Members dying, answers lost, quorum gone: nothing appended is lost or duplicated."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from ledger._etcd import EtcdLog
from ledger._etcd_errors import OrderingUnavailable
from ledger._etcd_local import LocalEtcdCluster
from tests.etcd._load import Race
from tests.etcd._proxy import BLACKHOLE, DROP_RESPONSES, FaultProxy
from tests.etcd.test_log import raw_kvs


def first(endpoints: list[str], index: int) -> list[str]:
    return [endpoints[index]] + [e for i, e in enumerate(endpoints) if i != index]


@pytest.mark.parametrize("victim_role", ["follower", "leader"])
def test_member_killed_during_append_load(
    cluster: LocalEtcdCluster, namespace: str, victim_role: str
) -> None:
    leader = cluster.leader_index()
    victim = leader if victim_role == "leader" else (leader + 1) % cluster.size
    # Proposers and the watcher all talk to the victim first, so all must fail over.
    endpoints = first(cluster.endpoints, victim)
    race = Race(300)
    logs = [EtcdLog(endpoints, namespace, call_timeout=1.0, op_timeout=30) for _ in range(3)]
    watcher_log = EtcdLog(endpoints, namespace, call_timeout=1.0, op_timeout=30)
    seen: list[tuple[int, bytes]] = []
    stop = threading.Event()

    def watch() -> None:
        for item in watcher_log.watch(0, stop):
            seen.append(item)
            if len(seen) == race.n:
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    writers = [threading.Thread(target=race.run, args=(f"w{i}", lg)) for i, lg in enumerate(logs)]
    for t in writers:
        t.start()

    def wait_for(height: int) -> None:
        while race.progress < height and any(t.is_alive() for t in writers):
            time.sleep(0.005)

    wait_for(race.n // 3)
    cluster.kill(victim)
    killed_at = race.progress
    wait_for(2 * race.n // 3)
    cluster.restart(victim)
    for t in writers:
        t.join(timeout=60)
    watcher.join(timeout=60)
    stop.set()

    assert killed_at < race.n, "the load ended before the kill; the test proved nothing"
    race.check(watcher_log)
    assert seen == race.expected()
    assert watcher_log.stats.watch_reconnects >= 1
    # Every proposer's next call to the victim failed, so each went through the read-back.
    assert all(lg.stats.ambiguous_appends >= 1 for lg in logs)
    for lg in [*logs, watcher_log]:
        lg.close()


def _proxy_to(cluster: LocalEtcdCluster, index: int) -> FaultProxy:
    url = urlsplit(cluster.endpoint(index))
    assert url.hostname is not None and url.port is not None
    return FaultProxy(url.hostname, url.port)


def test_lost_answer_after_the_request_was_sent(cluster: LocalEtcdCluster, namespace: str) -> None:
    proxy = _proxy_to(cluster, 0)
    log = EtcdLog([proxy.endpoint, *cluster.endpoints[1:]], namespace, call_timeout=0.5)
    try:
        assert log.append(0, b"zero")  # through the proxy: the connection is up
        assert log.stats.ambiguous_appends == 0
        proxy.set_mode(DROP_RESPONSES)
        assert log.append(1, b"one") is True
        # The request went out and etcd applied it; only the answer was lost.
        assert proxy.requests_bytes_while_faulty > 0
        assert log.stats.ambiguous_appends == 1
        kvs = raw_kvs(log)
        assert [(kv.value, kv.version) for kv in kvs] == [(b"zero", 1), (b"one", 1)]
    finally:
        log.close()
        proxy.close()


def test_lost_request_is_sent_again(cluster: LocalEtcdCluster, namespace: str) -> None:
    proxy = _proxy_to(cluster, 0)
    log = EtcdLog([proxy.endpoint, *cluster.endpoints[1:]], namespace, call_timeout=0.5)
    try:
        assert log.append(0, b"zero")
        proxy.set_mode(BLACKHOLE)
        # Nothing reached etcd; the read-back finds the height empty and the
        # compare-and-put goes again, to another member.
        assert log.append(1, b"one") is True
        assert log.stats.ambiguous_appends == 1
        assert [(kv.value, kv.version) for kv in raw_kvs(log)] == [(b"zero", 1), (b"one", 1)]
    finally:
        log.close()
        proxy.close()


def test_lost_request_while_another_writer_wins(cluster: LocalEtcdCluster, namespace: str) -> None:
    proxy = _proxy_to(cluster, 0)
    ours = EtcdLog([proxy.endpoint, *cluster.endpoints[1:]], namespace, call_timeout=0.5)
    theirs = EtcdLog(cluster.endpoints[1:], namespace)
    try:
        assert ours.append(0, b"zero")
        proxy.set_mode(BLACKHOLE)
        result: list[bool] = []
        t = threading.Thread(target=lambda: result.append(ours.append(1, b"ours")))
        t.start()
        time.sleep(0.1)  # our request is stuck in the black hole now
        assert theirs.append(1, b"theirs") is True
        t.join(timeout=15)
        assert result == [False]
        assert ours.stats.ambiguous_appends == 1
        assert [(kv.value, kv.version) for kv in raw_kvs(theirs)] == [(b"zero", 1), (b"theirs", 1)]
    finally:
        ours.close()
        theirs.close()
        proxy.close()


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_member_reachable_raises_ordering_unavailable(namespace: str) -> None:
    log = EtcdLog([f"127.0.0.1:{_dead_port()}", f"127.0.0.1:{_dead_port()}"], namespace,
                  call_timeout=0.2, op_timeout=0.6)  # fmt: skip
    started = time.monotonic()
    for call in (lambda: log.append(0, b"x"), lambda: log.get(0), log.last_height):
        with pytest.raises(OrderingUnavailable):
            call()
    with pytest.raises(OrderingUnavailable):
        next(log.watch(0, threading.Event()))
    assert time.monotonic() - started < 15  # bounded by the deadlines, not hanging
    log.close()


def test_quorum_lost_then_regained(cluster: LocalEtcdCluster, namespace: str) -> None:
    log = EtcdLog(cluster.endpoints, namespace, call_timeout=0.5, op_timeout=2.0)
    assert log.append(0, b"zero")
    cluster.kill(1)
    cluster.kill(2)
    # One member of three cannot commit: the append must give up, not hang or lie.
    with pytest.raises(OrderingUnavailable):
        log.append(1, b"one")
    cluster.restart(1)
    cluster.restart(2)
    # The outcome of the failed append was unknown; it is either absent or ours.
    assert log.get(1) in (None, b"one")
    if log.get(1) is None:
        assert log.append(1, b"one")
    assert log.append(2, b"two")
    assert [kv.version for kv in raw_kvs(log)] == [1, 1, 1]
    log.close()
