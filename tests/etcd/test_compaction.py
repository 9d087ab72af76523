"""The sliding window: compaction keeps recent heights, refuses rewrites of old ones, and
watchers whose revision was compacted carry on from range reads."""

from __future__ import annotations

import threading

import pytest

from ledger._etcd import EtcdLog
from ledger._etcd_client import _Compacted
from ledger._etcd_errors import EtcdLogError, HeightCompacted
from ledger._etcd_local import LocalEtcdCluster
from ledger._etcdpb import rpc_pb2
from tests.etcd.test_log import raw_kvs, take


def fill(log: EtcdLog, heights: range) -> None:
    for h in heights:
        assert log.append(h, b"b%d" % h)


def test_compaction_keeps_the_window(log: EtcdLog) -> None:
    fill(log, range(30))
    log.compact(20)
    assert log.floor() == 20
    assert [log.get(h) for h in (0, 19)] == [None, None]
    assert log.get(20) == b"b20"
    assert log.last_height() == 29
    assert [log.layout.height_of(kv.key) for kv in raw_kvs(log)] == list(range(20, 30))
    # A compacted height was written once already: it cannot be written again.
    before = raw_kvs(log)
    assert log.append(10, b"rewrite") is False
    assert log.get(10) is None
    assert raw_kvs(log) == before
    assert log.append(30, b"b30")


def test_compaction_history_is_gone(log: EtcdLog) -> None:
    fill(log, range(10))
    old_revision = raw_kvs(log)[0].mod_revision
    log.compact(5)
    client = log._client
    request = rpc_pb2.RangeRequest(key=log.layout.height_key(0), revision=old_revision)
    # etcd answers OUT_OF_RANGE "compacted" for the old revision; the client maps it to
    # its internal signal and never lets a grpc error out.
    with pytest.raises(_Compacted):
        client.range(request, client.deadline())


def test_compaction_never_drops_the_head_or_lowers_the_floor(log: EtcdLog) -> None:
    log.compact(5)  # empty log: nothing to do
    assert log.floor() == 0
    fill(log, range(10))
    log.compact(1000)
    assert log.floor() == 9
    assert log.last_height() == 9
    assert log.get(9) == b"b9"
    log.compact(3)  # an older window: the floor stays where it is
    assert log.floor() == 9
    with pytest.raises(EtcdLogError):
        log.compact(-1)


def test_watch_below_the_window_raises(log: EtcdLog) -> None:
    fill(log, range(30))
    log.compact(20)
    stop = threading.Event()
    with pytest.raises(HeightCompacted) as info:
        next(log.watch(10, stop))
    assert (info.value.height, info.value.floor) == (10, 20)
    assert take(log.watch(20, stop), 10) == [(h, b"b%d" % h) for h in range(20, 30)]
    stop.set()


def test_watch_resumes_from_range_reads_when_its_revision_was_compacted(
    cluster: LocalEtcdCluster, namespace: str
) -> None:
    watcher = EtcdLog(cluster.endpoints, namespace, call_timeout=1.0)
    writer = EtcdLog(cluster.endpoints[1:], namespace)
    fill(writer, range(5))
    stop = threading.Event()
    it = watcher.watch(0, stop)
    assert take(it, 5) == [(h, b"b%d" % h) for h in range(5)]  # range reads
    later = threading.Timer(0.2, fill, (writer, range(5, 10)))
    later.start()
    assert take(it, 5) == [(h, b"b%d" % h) for h in range(5, 10)]  # the Watch on member 0
    later.join()  # the watch can see an append before its Txn answers
    # While the consumer pauses: its member dies, the log moves on and etcd compacts the
    # revision history past everything the watcher saw.
    cluster.kill(0)
    fill(writer, range(10, 40))
    writer.compact(10)
    assert take(it, 30) == [(h, b"b%d" % h) for h in range(10, 40)]
    assert watcher.stats.watch_reconnects >= 1
    assert watcher.stats.watch_compacted_fallbacks >= 1
    later = threading.Timer(0.2, fill, (writer, range(40, 41)))
    later.start()
    assert next(it) == (40, b"b40")  # and it follows again
    stop.set()
    later.join()
    watcher.close()
    writer.close()


def test_seed_starts_an_empty_log_at_a_height(log: EtcdLog) -> None:
    assert log.seed(1000, b"head from a replica")
    assert (log.floor(), log.last_height()) == (1000, 1000)
    assert log.seed(1000, b"head from a replica")  # repeating it is harmless
    assert log.append(1001, b"next")
    assert log.append(999, b"older") is False  # below the floor
    before = raw_kvs(log)
    assert log.seed(5, b"another start") is False  # not empty any more
    assert raw_kvs(log) == before
    assert (log.floor(), log.last_height()) == (1000, 1001)
    stop = threading.Event()
    assert take(log.watch(1000, stop), 2) == [(1000, b"head from a replica"), (1001, b"next")]
    stop.set()


def test_seed_refused_on_a_used_log(log: EtcdLog) -> None:
    fill(log, range(3))
    before = raw_kvs(log)
    # Nothing is written either way; the answer says whether the log starts so.
    assert log.seed(0, b"b0") is True
    assert log.seed(1, b"b1") is False
    assert log.seed(10, b"x") is False
    assert raw_kvs(log) == before
