"""EtcdLog against a real 3-member etcd cluster: compare-and-put, reads, watch."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ledger._etcd import EtcdLog
from ledger._etcd_errors import EtcdLogError, HeightGap, OrderingRejected
from ledger._etcd_local import LocalEtcdCluster
from ledger._etcdpb import kv_pb2, rpc_pb2
from ledger._ordering import OrderingLog, OrderingLogError
from tests.etcd._load import Race


def raw_kvs(log: EtcdLog) -> list[kv_pb2.KeyValue]:
    """Every height key of the log as etcd holds it (key, value, version, revisions)."""
    client = log._client
    request = rpc_pb2.RangeRequest(key=log.layout.heights_start, range_end=log.layout.heights_end)
    return list(client.range(request, client.deadline()).kvs)


def take(it: Iterator[tuple[int, bytes]], n: int) -> list[tuple[int, bytes]]:
    return [next(it) for _ in range(n)]


def test_empty_log(log: EtcdLog) -> None:
    assert log.last_height() == -1
    assert log.get(0) is None
    assert log.floor() == 0


def test_append_get_last_height(log: EtcdLog) -> None:
    assert log.append(0, b"genesis")
    assert log.append(1, b"one")
    assert log.get(0) == b"genesis"
    assert log.get(1) == b"one"
    assert log.get(2) is None
    assert log.last_height() == 1
    # An empty block is a value like any other, distinct from "absent".
    assert log.append(2, b"")
    assert log.get(2) == b""
    assert log.last_height() == 2


def test_height_is_written_once(log: EtcdLog) -> None:
    assert log.append(0, b"first")
    before = raw_kvs(log)
    assert log.append(0, b"second") is False
    # Even the same bytes again: this call did not write them.
    assert log.append(0, b"first") is False
    assert log.get(0) == b"first"
    assert raw_kvs(log) == before  # nothing changed, not even the key's version


def test_bad_input_changes_nothing(log: EtcdLog) -> None:
    assert log.append(0, b"a")
    before = raw_kvs(log)
    for height, block in [(-1, b"x"), (2**63, b"x"), (True, b"x"), (1, "text"), (1, None)]:
        with pytest.raises(EtcdLogError):
            log.append(height, block)  # type: ignore[arg-type]
    with pytest.raises(EtcdLogError):
        log.get(-1)
    assert raw_kvs(log) == before


def test_gap_is_refused_and_changes_nothing(log: EtcdLog) -> None:
    with pytest.raises(HeightGap):
        log.append(1, b"no genesis yet")
    assert raw_kvs(log) == []
    assert log.append(0, b"b0")
    before = raw_kvs(log)
    with pytest.raises(HeightGap):
        log.append(2, b"skips one")
    assert raw_kvs(log) == before
    assert log.last_height() == 0
    assert log.append(1, b"b1")
    assert log.last_height() == 1


def test_full_size_block(log: EtcdLog) -> None:
    block = bytes(range(256)) * 4096  # 1 MiB, the block cap
    assert log.append(0, block)
    assert log.get(0) == block


def test_concurrent_appenders_exactly_one_wins(cluster: LocalEtcdCluster, namespace: str) -> None:
    # Two writers on different members race for every height, in lock step.
    a = EtcdLog(cluster.endpoints, namespace)
    b = EtcdLog(cluster.endpoints[1:] + cluster.endpoints[:1], namespace)
    heights = 40
    results: dict[str, list[bool]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def run(name: str, log: EtcdLog) -> None:
        for h in range(heights):
            barrier.wait()
            results[name].append(log.append(h, b"%s-%d" % (name.encode(), h)))

    threads = [threading.Thread(target=run, args=(n, lg)) for n, lg in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for h in range(heights):
        won_a, won_b = results["a"][h], results["b"][h]
        assert won_a != won_b, f"height {h}: a={won_a} b={won_b}"
        assert a.get(h) == (b"a-%d" % h if won_a else b"b-%d" % h)
    assert all(kv.version == 1 for kv in raw_kvs(a))
    a.close()
    b.close()


def test_free_running_proposers(cluster: LocalEtcdCluster, namespace: str) -> None:
    race = Race(150)
    logs = [EtcdLog(cluster.endpoints[i:] + cluster.endpoints[:i], namespace) for i in range(3)]
    threads = [threading.Thread(target=race.run, args=(f"w{i}", logs[i])) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    race.check(logs[0])
    for lg in logs:
        lg.close()


def test_watch_from_start_catches_up_then_follows(log: EtcdLog) -> None:
    for h in range(50):
        assert log.append(h, b"b%d" % h)
    stop = threading.Event()
    it = log.watch(0, stop)
    assert take(it, 50) == [(h, b"b%d" % h) for h in range(50)]
    later = threading.Timer(0.2, lambda: [log.append(h, b"b%d" % h) for h in range(50, 60)])
    later.start()
    assert take(it, 10) == [(h, b"b%d" % h) for h in range(50, 60)]
    stop.set()
    assert list(it) == []
    # The watch may see the last append before its Txn answers: the fixture must not
    # close the log under it.
    later.join()


def test_watch_from_any_height(log: EtcdLog) -> None:
    for h in range(100):  # more than one range page (32)
        assert log.append(h, b"b%d" % h)
    for start in (0, 31, 32, 33, 64, 99):
        stop = threading.Event()
        got = take(log.watch(start, stop), 100 - start)
        stop.set()
        assert got == [(h, b"b%d" % h) for h in range(start, 100)]


def test_watch_from_future_height_waits(log: EtcdLog) -> None:
    stop = threading.Event()
    it = log.watch(3, stop)
    later = threading.Timer(0.3, lambda: [log.append(h, b"b%d" % h) for h in range(5)])
    later.start()
    assert take(it, 2) == [(3, b"b3"), (4, b"b4")]
    stop.set()
    later.join()


def test_watch_stops_promptly_when_idle(log: EtcdLog) -> None:
    stop = threading.Event()
    got: list[tuple[int, bytes]] = []
    t = threading.Thread(target=lambda: got.extend(log.watch(0, stop)))
    t.start()
    threading.Timer(0.3, stop.set).start()
    t.join(timeout=5)
    assert not t.is_alive()
    assert got == []


def test_watchers_on_every_member_agree_with_the_writers(
    cluster: LocalEtcdCluster, namespace: str
) -> None:
    race = Race(120)
    stop = threading.Event()
    seen: list[list[tuple[int, bytes]]] = [[] for _ in range(3)]
    logs = [EtcdLog(cluster.endpoints[i:] + cluster.endpoints[:i], namespace) for i in range(3)]

    def watcher(i: int) -> None:
        for item in logs[i].watch(0, stop):
            seen[i].append(item)
            if len(seen[i]) == race.n:
                return

    watchers = [threading.Thread(target=watcher, args=(i,)) for i in range(3)]
    writers = [threading.Thread(target=race.run, args=(f"w{i}", logs[i])) for i in range(3)]
    for t in watchers + writers:
        t.start()
    for t in writers + watchers:
        t.join(timeout=60)
    stop.set()
    race.check(logs[0])
    assert seen == [race.expected()] * 3
    for lg in logs:
        lg.close()


def test_is_an_ordering_log(log: EtcdLog) -> None:
    # Checked by mypy: EtcdLog satisfies the ledger's OrderingLog protocol.
    ordering: OrderingLog = log
    assert ordering.last_height() == -1
    assert issubclass(EtcdLogError, OrderingLogError)


def test_oversized_request_is_rejected_and_changes_nothing(log: EtcdLog) -> None:
    assert log.append(0, b"b0")
    before = raw_kvs(log)
    # The members accept requests up to 2 MiB; a block is capped at 1 MiB.
    with pytest.raises(OrderingRejected, match=r"larger than max|too large"):
        log.append(1, bytes(3 * 1024 * 1024))
    assert raw_kvs(log) == before
