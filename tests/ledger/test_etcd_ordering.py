"""Ordering on a real 3-member etcd cluster: contention, and an etcd member SIGKILLed.

Three proposers (one per member gateway) share one etcd log; each also follows it.
During a write load one etcd member is killed with SIGKILL and later restarted. Every
transaction a proposer accepted must end up committed exactly once, and every replica
— the proposers and a replica that only watches the log — must reach the same head
hash and state digest.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import (
    EtcdLog,
    LocalEtcdCluster,
    LogOrderer,
    Orderer,
    Replica,
    Store,
    Submission,
    add_oprf_key_body,
    verify_chain,
)

from .helpers import T0, Net, key_for, make_net

MEMBERS = ("m1", "m2", "m3")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEtcdCluster]:
    with LocalEtcdCluster(tmp_path_factory.mktemp("etcd"), size=3) as c:
        yield c


def _proposers(net: Net, cluster: LocalEtcdCluster, base: Path, ns: str) -> list[Orderer]:
    orderers: list[Orderer] = []
    for member in MEMBERS:
        log = EtcdLog(cluster.endpoints, ns)
        orderers.append(
            LogOrderer(
                Store(base / f"{member}.sqlite"),
                net.registry,
                log,
                member=member,
                key=key_for(member),
                clock=lambda: T0,
                block_interval=0.05,
            )
        )
    return orderers


class _Load:
    """One proposer's submissions, with milestones the test waits on (not clocks)."""

    def __init__(self, net: Net, orderer: Orderer, count: int) -> None:
        self.orderer = orderer
        self.txs = [
            net.tx(
                orderer.member,
                "pub.add_oprf_key",
                add_oprf_key_body(f"k{i}", bytes(32)),
                seq=i + 2,
            ).raw
            for i in range(count)
        ]
        self.answers: list[Submission] = []
        self.third = threading.Event()  # a third submitted: the test kills a member
        self.two_thirds = threading.Event()  # two thirds, with it down: the test restarts it
        self.resume = threading.Event()  # set by the test once the member is killed

    def run(self) -> None:
        rng = random.Random(self.orderer.member)
        count = len(self.txs)
        i = 0
        while i < count:
            if i >= count // 3:
                self.third.set()
                self.resume.wait()
            if i >= 2 * count // 3:
                self.two_thirds.set()
            size = rng.randint(1, 8)
            answers = self.orderer.submit_many(self.txs[i : i + size])
            # A client submits again what the orderer could not take while etcd was down.
            retry = next((k for k, a in enumerate(answers) if "submit again" in a.reason), None)
            kept = answers if retry is None else answers[:retry]
            self.answers.extend(kept)
            i += len(kept)
            time.sleep(0.01)
        self.two_thirds.set()


@pytest.mark.parametrize("victim", [0, 1, 2])
def test_proposers_survive_an_etcd_member_sigkill(
    cluster: LocalEtcdCluster, tmp_path: Path, victim: int
) -> None:
    """Whichever member dies — the Raft leader is one of the three — nothing is lost."""
    cluster.wait_healthy(30)
    net = make_net(MEMBERS)
    ns = "t-" + uuid.uuid4().hex[:12]
    with EtcdLog(cluster.endpoints, ns) as log:
        assert log.append(0, net.genesis.raw)
    orderers = _proposers(net, cluster, tmp_path, ns)
    for o in orderers:
        o.start()
    loads = [_Load(net, o, 300) for o in orderers]
    threads = [threading.Thread(target=load.run) for load in loads]
    for t in threads:
        t.start()
    for load in loads:
        assert load.third.wait(60)
    cluster.kill(victim)  # SIGKILL, mid-load: every proposer is a third of the way in
    for load in loads:
        load.resume.set()
    for load in loads:
        assert load.two_thirds.wait(120)  # progress made while the member was down
    cluster.restart(victim)
    for t in threads:
        t.join()
    for load in loads:
        for answer in load.answers:
            assert answer.accepted, answer.reason
            commit = load.orderer.wait(answer.tx_id, timeout=60)
            assert commit.ok and commit.height is not None, commit
    for o in orderers:
        o.stop()
        assert o.error is None
    with EtcdLog(cluster.endpoints, ns) as log:
        last = log.last_height()
        watcher = Replica(Store(tmp_path / "watcher.sqlite"), net.registry)
        stop = threading.Event()
        for height, raw in log.watch(0, stop):
            watcher.apply(raw)
            if height == last:
                stop.set()
    stores = [o.store for o in orderers] + [watcher.store]
    for store in stores:
        assert store.height == last
    assert len({s.head().hash for s in stores}) == 1  # type: ignore[union-attr]
    assert len({s.head().state_digest for s in stores}) == 1  # type: ignore[union-attr]
    for member in MEMBERS:
        mine = watcher.store.txs(member=member, kind="pub.add_oprf_key")
        assert len(mine) == 300 and all(r.ok for r in mine)  # none lost, none twice
    verify_chain(watcher.store, net.registry)
    for store in stores:
        store.close()
