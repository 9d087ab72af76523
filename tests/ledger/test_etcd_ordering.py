"""Ordering on a real 3-member etcd cluster: an etcd member SIGKILLed under write load.

Three proposers (one per member gateway) share one etcd log; each also follows it, and
each prefers a different etcd member, so whichever member dies one proposer loses its
connection. The submitters never pause: the kill is triggered by a progress milestone
(a third of the load submitted) and lands while a submission is in flight; the member
is restarted at a later milestone (another third submitted while it was down). Every
transaction a proposer accepted must end up committed exactly once, and every replica
— the proposers and a replica that only watches the log — must reach the same head
hash and state digest, and a chain that verifies.
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
    Orderer,
    Replica,
    Store,
    Submission,
    add_oprf_key_body,
    verify_chain,
)
from ledger.etcd import LocalEtcdCluster

from .helpers import Net, log_orderer, make_net, point

MEMBERS = ("m1", "m2", "m3")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEtcdCluster]:
    with LocalEtcdCluster(tmp_path_factory.mktemp("etcd"), size=3) as c:
        yield c


def _proposers(net: Net, cluster: LocalEtcdCluster, base: Path, ns: str) -> list[Orderer]:
    orderers: list[Orderer] = []
    for i, member in enumerate(MEMBERS):
        # Proposer i talks to etcd member i first: every member's death cuts one off.
        endpoints = cluster.endpoints[i:] + cluster.endpoints[:i]
        log = EtcdLog(endpoints, ns)
        orderers.append(
            log_orderer(base / f"{member}.sqlite", net, log, member, block_interval=0.05)
        )
    return orderers


class _Progress:
    """Submissions of every load, counted under one condition the test waits on."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.submitted = 0  # answers kept (accepted or refused for good)
        self.in_flight = 0  # submit_many calls under way
        self.errors: list[BaseException] = []


class _Load:
    """One proposer's submissions, back to back until all are in (never paused)."""

    def __init__(self, net: Net, orderer: Orderer, count: int, progress: _Progress) -> None:
        self.orderer = orderer
        self.progress = progress
        self.txs = [
            net.tx(
                orderer.member,
                "pub.add_oprf_key",
                add_oprf_key_body(f"k{i}", point(orderer.member, i)),
                seq=i + 2,
            ).raw
            for i in range(count)
        ]
        self.answers: list[Submission] = []

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            with self.progress.cond:
                self.progress.errors.append(exc)
                self.progress.cond.notify_all()
            raise

    def _run(self) -> None:
        rng = random.Random(self.orderer.member)
        progress = self.progress
        count = len(self.txs)
        i = 0
        while i < count:
            size = rng.randint(1, 8)
            with progress.cond:
                progress.in_flight += 1
                progress.cond.notify_all()
            try:
                answers = self.orderer.submit_many(self.txs[i : i + size])
            finally:
                with progress.cond:
                    progress.in_flight -= 1
            # A client submits again what the orderer could not take while etcd was down.
            retry = next((k for k, a in enumerate(answers) if "submit again" in a.reason), None)
            kept = answers if retry is None else answers[:retry]
            self.answers.extend(kept)
            i += len(kept)
            with progress.cond:
                progress.submitted += len(kept)
                progress.cond.notify_all()
            time.sleep(0.01)


COUNT = 300  # transactions per proposer
WAIT = 300.0  # generous: the machine is shared; every wait still ends by itself


@pytest.mark.parametrize("victim_role", ["leader", "follower"])
def test_proposers_survive_an_etcd_member_sigkill_mid_submission(
    cluster: LocalEtcdCluster, tmp_path: Path, victim_role: str
) -> None:
    """The Raft leader or a follower dies while submitters submit; nothing is lost."""
    cluster.wait_healthy(60)
    net = make_net(MEMBERS)
    ns = "t-" + uuid.uuid4().hex[:12]
    with EtcdLog(cluster.endpoints, ns) as log:
        assert log.append(0, net.genesis.raw)
    orderers = _proposers(net, cluster, tmp_path, ns)
    for o in orderers:
        o.start()
    progress = _Progress()
    loads = [_Load(net, o, COUNT, progress) for o in orderers]
    threads = [threading.Thread(target=load.run) for load in loads]
    total = COUNT * len(loads)
    for t in threads:
        t.start()
    victim: int | None = None
    try:
        with progress.cond:
            assert progress.cond.wait_for(
                lambda: progress.errors or progress.submitted >= total // 3, WAIT
            ), "a third of the load was never submitted"
        assert not progress.errors, progress.errors
        leader = cluster.leader_index(timeout=60)
        victim = leader if victim_role == "leader" else (leader + 1) % cluster.size
        with progress.cond:
            # Killed while holding the condition: a submit_many under way at this moment
            # cannot even report back until the member is dead.
            assert progress.cond.wait_for(lambda: progress.in_flight > 0, WAIT)
            in_flight_at_kill = progress.in_flight
            cluster.kill(victim)
            submitted_at_kill = progress.submitted
        height_at_kill = max(o.store.height for o in orderers)
        assert in_flight_at_kill > 0 and submitted_at_kill < total
        with progress.cond:
            # Progress while the member is down: another third of the load goes in ...
            assert progress.cond.wait_for(
                lambda: progress.errors or progress.submitted >= submitted_at_kill + total // 3,
                WAIT,
            ), "no progress while an etcd member was down"
        assert not progress.errors, progress.errors
        for o in orderers:
            # ... and blocks go through the two members left, to every proposer.
            assert o.store.wait_for_height(height_at_kill + 2, WAIT), o.member
        cluster.restart(victim, timeout=120)
        victim = None
        for t in threads:
            t.join(WAIT)
            assert not t.is_alive()
    finally:
        if victim is not None and not cluster.is_running(victim):
            cluster.restart(victim, timeout=120)
    assert not progress.errors, progress.errors
    for load in loads:
        assert len(load.answers) == COUNT
        for answer in load.answers:
            assert answer.accepted, answer.reason
            commit = load.orderer.wait(answer.tx_id, timeout=120)
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
        # None lost, none twice (a second copy would be recorded, refused as a replay).
        assert len(mine) == COUNT and all(r.ok for r in mine)
        assert len({r.tx_id for r in mine}) == COUNT
    for store in stores:
        verify_chain(store, net.registry)
        store.close()
