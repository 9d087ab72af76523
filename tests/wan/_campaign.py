"""The WAN campaign: latency, throughput and partitions of a namespace consortium.

One consortium (``tests.wan._consortium``): an orderer and the members, each in its own
network namespace, ordered by a real etcd cluster whose members are in namespaces of
their own, every link one relayed round trip of ``rtt_ms``. In order:

1. **Latency**: from the first member, one-identifier queries to each other member in
   turn, one at a time, each beside a bare TCP round trip through the same relays
   (``tests.wan._ping``) measured in the same run; then the same queries broadcast to
   every other member at once.
2. **Commit**: for single queries, the time from the answer to its receipt on the
   querier's own replica (ordered through etcd, streamed across the WAN, verified and
   applied), and to that height being final there.
3. **Throughput**: a closed loop of every member's client threads for a bounded time.
4. **Partitions**, each under the reliability campaign's bounded load and followed by
   its settle-and-audit (``tests.reliability._campaign.audit_settled``): a member's link
   down, then healed; the orderer's link down, then healed; the etcd leader's link
   down, then healed.

Every wait is on a condition with a timeout; the load stops by itself.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway._demo import LIST
from ledger import Store, final_height
from tests.reliability._campaign import Plan, audit_settled
from tests.reliability._cluster import ORDERER, Consortium
from tests.reliability._faults import FaultPlan, wait_caught_up
from tests.reliability._load import Answer, LoadGenerator, QueryRecord, percentile, stats
from tests.wan._consortium import WanConsortium
from tests.wan._netns import Network

__all__ = ["LONG", "SHORT", "WanPlan", "run_wan"]


@dataclass(frozen=True, slots=True)
class WanPlan:
    name: str
    members: tuple[str, ...]
    rtt_ms: float
    listed: int
    latency_queries: int  # per responder, and broadcast
    commit_samples: int
    throughput_threads: int  # per member
    throughput_seconds: float
    throughput_queries: int
    load: Plan  # the bounded load under each partition, and its fault timings
    partitions: bool = True  # False: latency, commit and throughput only


SHORT = WanPlan(
    name="short",
    members=("bank-a", "bank-b"),
    rtt_ms=30.0,
    listed=40,
    latency_queries=6,
    commit_samples=3,
    throughput_threads=1,
    throughput_seconds=5.0,
    throughput_queries=60,
    load=Plan(
        name="short",
        queries=2_000,
        seconds=60.0,
        threads=1,
        listed=40,
        fault=FaultPlan(warmup=5, down=2.0, recover_timeout=90.0),
    ),
)
LONG = WanPlan(
    name="long",
    members=("bank-a", "bank-b", "bank-c", "bank-d", "bank-e", "bank-f"),
    rtt_ms=30.0,
    listed=400,
    latency_queries=50,
    commit_samples=20,
    throughput_threads=2,
    throughput_seconds=30.0,
    throughput_queries=20_000,
    load=Plan(
        name="long",
        queries=20_000,
        seconds=240.0,
        threads=1,
        listed=400,
        fault=FaultPlan(warmup=60, down=10.0, recover_timeout=180.0),
    ),
)


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(max(values, default=0.0), 1),
    }


def _one(
    cons: WanConsortium, querier: str, value: str, targets: list[str], history: list[QueryRecord]
) -> QueryRecord:
    """One query of one fresh (unlisted) phone number, recorded for the audit."""
    started = time.monotonic()
    with cons.admin(querier) as client:
        clock = time.perf_counter()
        reply = client.query(LIST, "phone", [value], members=targets)
        ms = (time.perf_counter() - clock) * 1000
    record = QueryRecord(
        querier,
        started,
        ms,
        tuple(
            Answer(
                responder=a.member_id,
                code=a.error_code,
                receipt=a.receipt.decode(),
                correct=bool(a.error_code) or not any(a.hits),
                attempts=a.attempts,
                refunded=a.refunded,
                epoch=a.epoch,
            )
            for a in reply.answers
        ),
    )
    history.append(record)
    return record


def _answered(record: QueryRecord, responders: list[str]) -> bool:
    return record.ok and sorted(a.responder for a in record.answers if a.correct) == sorted(
        responders
    )


def _round(
    cons: WanConsortium, plan: WanPlan, history: list[QueryRecord], offset: int
) -> tuple[dict[str, Any], int]:
    """Each responder alone, then all at once; per responder the bare round trip too."""
    querier, *responders = plan.members
    values = cons.samples.fresh
    per_responder: dict[str, Any] = {}
    wrong = 0
    for responder in responders:
        rtts = cons.ping(querier, responder, plan.latency_queries)
        spent = []
        for i in range(plan.latency_queries):
            record = _one(cons, querier, values[(offset + i) % len(values)], [responder], history)
            if _answered(record, [responder]):
                spent.append(record.ms)
            else:
                wrong += 1
        per_responder[responder] = {"query": _ms(spent), "bare_rtt": _ms(rtts)}
    broadcast = []
    for i in range(plan.latency_queries):
        record = _one(cons, querier, values[(offset + i) % len(values)], [], history)
        if _answered(record, responders):
            broadcast.append(record.ms)
        else:
            wrong += 1
    singles = [v["query"]["p50_ms"] for v in per_responder.values()]
    query_p50 = percentile(singles, 50)
    rtt_p50 = percentile([v["bare_rtt"]["p50_ms"] for v in per_responder.values()], 50)
    return {
        "per_responder": per_responder,
        "broadcast": {**_ms(broadcast), "responders": len(responders)},
        "single_p50_ms": query_p50,
        "bare_rtt_p50_ms": rtt_p50,
        "slowest_single_p50_ms": max(singles, default=0.0),
        "broadcast_over_slowest_single": round(
            percentile(broadcast, 50) / max(singles, default=1.0), 3
        ),
    }, wrong


def latency(cons: WanConsortium, plan: WanPlan, history: list[QueryRecord]) -> dict[str, Any]:
    """One-identifier queries beside the bare round trip, at the plan's RTT and at none.

    The second round sets every relay's delay to zero for its duration, on the same
    processes in the same run: what a query costs apart from the network (CPU, the
    relays' own hops) under the machine's load of the moment.
    """
    assert cons.network is not None
    wan, wrong = _round(cons, plan, history, 0)
    cons.network.set_delay(0.0)
    try:
        time.sleep(0.3)  # the relays read their control file every 0.1 s
        local, wrong_local = _round(cons, plan, history, plan.latency_queries)
    finally:
        cons.network.set_delay(None)
        time.sleep(0.3)
    # Every later step runs on the WAN again: the relays are back to their delay.
    restored = percentile(cons.ping(plan.members[0], plan.members[1], 5), 50)
    return {
        "bare_rtt_after_ms": restored,
        "querier": plan.members[0],
        "configured_rtt_ms": plan.rtt_ms,
        "wan": wan,
        "no_delay": local,
        "single_p50_over_rtt_ms": round(wan["single_p50_ms"] - wan["bare_rtt_p50_ms"], 1),
        "single_p50_without_delay_ms": local["single_p50_ms"],
        # What the network itself adds (same queries, same processes, delay on vs off):
        # one round trip for a single query, and no more for a broadcast, whose round
        # trips to every responder overlap; the rest is CPU on a shared machine.
        "network_share_single_ms": round(wan["single_p50_ms"] - local["single_p50_ms"], 1),
        "network_share_broadcast_ms": round(
            wan["broadcast"]["p50_ms"] - local["broadcast"]["p50_ms"], 1
        ),
        "failed_or_wrong": wrong + wrong_local,
    }


def _receipt_on(path: Path, receipt: str) -> bool:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute(
            "SELECT 1 FROM state WHERE tbl = 'credits.receipts' AND key = ?", (receipt,)
        ).fetchone()
    finally:
        conn.close()
    return row is not None


def commit_latency(
    cons: WanConsortium, plan: WanPlan, history: list[QueryRecord], timeout: float = 60.0
) -> dict[str, Any]:
    """Answer → receipt on the querier's replica → that height final there."""
    querier, responder = plan.members[0], plan.members[1]
    path = cons.ledger_path(querier)
    on_replica, final = [], []
    for i in range(plan.commit_samples):
        fresh = cons.samples.fresh
        record = _one(cons, querier, fresh[-1 - i % len(fresh)], [responder], history)
        answered = time.perf_counter()
        if not _answered(record, [responder]):
            raise AssertionError(f"query not answered: {record}")
        receipt = record.answers[0].receipt
        deadline = time.monotonic() + timeout
        while not _receipt_on(path, receipt):
            if time.monotonic() > deadline:
                raise TimeoutError(f"receipt {receipt} not on {querier}'s replica")
            time.sleep(0.005)
        on_replica.append((time.perf_counter() - answered) * 1000)
        with Store(path, create=False) as store:
            height = store.height
            while final_height(store) < height:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"height {height} not final on {querier}'s replica")
                time.sleep(0.01)
        final.append((time.perf_counter() - answered) * 1000)
    return {"receipt_on_querier_replica": _ms(on_replica), "final_on_querier_replica": _ms(final)}


def throughput(cons: WanConsortium, plan: WanPlan, history: list[QueryRecord]) -> dict[str, Any]:
    load = LoadGenerator(
        {m: cons.admin_socket(m) for m in cons.members},
        cons.samples,
        queries=plan.throughput_queries,
        seconds=plan.throughput_seconds,
        threads=plan.throughput_threads,
        seed=7,
    )
    records = load.run()
    history.extend(records)
    seconds = max((r.started + r.ms / 1000 for r in records), default=load.started) - min(
        (r.started for r in records), default=load.started
    )
    return {
        "threads": plan.throughput_threads * len(cons.members),
        **stats(records, seconds).as_dict(),
    }


# -- partitions ---------------------------------------------------------------------------

Fault = Callable[[Consortium, LoadGenerator, FaultPlan], dict[str, Any]]

# Between two queries, each load thread rests this long: the load runs through the
# whole partition without taking both cores from the gateways it measures.
_PAUSE_S = 0.05


def _phase(
    cons: Consortium, name: str, fault: Fault, plan: Plan, history: list[QueryRecord]
) -> dict[str, Any]:
    """The load runs from before the partition until the fault has seen the party back."""
    load = LoadGenerator(
        {m: cons.admin_socket(m) for m in cons.members},
        cons.samples,
        queries=plan.queries,
        seconds=plan.seconds,
        threads=plan.threads,
        seed=len(history) + 1,
        pause=_PAUSE_S,
    )
    load.start()
    try:
        info = fault(cons, load, plan.fault)
    finally:
        load.stop()
        load.join()
    records = load.records
    seconds = max((r.started + r.ms / 1000 for r in records), default=load.started) - min(
        (r.started for r in records), default=load.started
    )
    history.extend(records)
    settle_s, checked = audit_settled(cons, plan, history)
    return {
        "phase": name,
        **info,
        "load": stats(records, seconds).as_dict(),
        "settle_s": round(settle_s, 2),
        "audit": checked,
    }


def _network(cons: Consortium) -> Network:
    assert isinstance(cons, WanConsortium) and cons.network is not None
    return cons.network


def _failures(records: list[QueryRecord], since: float, until: float) -> dict[str, Any]:
    """The queries in flight at any moment of [since, until]: how many, how they ended."""
    window = [r for r in records if r.started <= until and r.started + r.ms / 1000 >= since]
    summary = stats(window, until - since)
    return {
        "queries": len(window),
        "answered": summary.ok,
        "failed": summary.failures,
        "max_ms": round(max((r.ms for r in window), default=0.0), 1),
    }


def _answered_again(load: LoadGenerator, querier: str, targets: list[str], timeout: float) -> float:
    """Seconds until ``querier``'s query to ``targets`` is answered by them all."""
    started = time.monotonic()
    record = load.probe(querier, targets, timeout)
    if not (record.ok and record.answers):
        raise TimeoutError(f"{querier} -> {targets or 'all'} not answered in {timeout} s")
    return time.monotonic() - started


def cut_member(member_id: str) -> Fault:
    def fault(cons: Consortium, load: LoadGenerator, plan: FaultPlan) -> dict[str, Any]:
        network = _network(cons)
        load.completed(plan.warmup, plan.recover_timeout)
        height = cons.heads()[member_id][0]
        cut_at = time.monotonic()
        network.cut(member_id)
        time.sleep(plan.down)
        stalled = cons.heads()[member_id][0]
        network.heal(member_id)
        healed_at = time.monotonic()
        other = next(m for m in cons.members if m != member_id)
        asked = _answered_again(load, member_id, [], plan.recover_timeout)
        answered = _answered_again(load, other, [member_id], plan.recover_timeout)
        caught_up = wait_caught_up(cons, plan.recover_timeout)
        return {
            "fault": "member's link down (partitioned from every other party), then up",
            "target": member_id,
            "down_s": round(healed_at - cut_at, 2),
            "replica_height_at_cut": height,
            "replica_height_when_healed": stalled,
            "orderer_height_when_healed": cons.heads()[ORDERER][0],
            "clients_saw_while_cut": _failures(load.records, cut_at, healed_at),
            "asks_again_after_s": round(asked, 2),
            "answers_again_after_s": round(asked + answered, 2),
            "caught_up_after_s": round(caught_up, 2),
            "back_in_service": True,
        }

    return fault


def cut_orderer(cons: Consortium, load: LoadGenerator, plan: FaultPlan) -> dict[str, Any]:
    """No new blocks while the orderer is cut off; what it had ordered reaches every
    member and becomes final through the members' own gateways."""
    network = _network(cons)
    load.completed(plan.warmup, plan.recover_timeout)
    cut_at = time.monotonic()
    network.cut(ORDERER)
    # Blocks the orderer cut before its link went down may still be on their way to
    # some members; after a second nothing new can come from it.
    time.sleep(1.0)
    heads = {m: h for m, (h, _) in cons.heads().items()}
    # The highest block any member holds. The orderer may hold one more that none
    # received before the cut: it reaches them after the heal.
    top = max(heads[m] for m in cons.members)
    # The members hand each other the blocks they hold and their checkpoints
    # (tests/reliability/test_peer_catchup.py): wait until every member holds the top
    # block and sees it final, or the timeout.
    final = _final_heights(cons)
    while time.monotonic() - cut_at < plan.recover_timeout:
        members_heads = [cons.heads()[m][0] for m in cons.members]
        final = _final_heights(cons)
        if min(members_heads) >= top and min(final.values()) >= top:
            break
        time.sleep(0.2)
    through_peers = time.monotonic() - cut_at
    while time.monotonic() - cut_at < plan.down:
        time.sleep(0.25)
    after = {m: h for m, (h, _) in cons.heads().items()}
    answered_while_cut = [
        r for r in load.records if cut_at <= r.started <= time.monotonic() and r.ok and r.answers
    ]
    network.heal(ORDERER)
    healed_at = time.monotonic()
    # Ordering resumes: a block above any ordered before reaches every replica.
    deadline = time.monotonic() + plan.recover_timeout
    while not all(h > max(after.values()) for h, _ in cons.heads().values()):
        if time.monotonic() > deadline:
            raise TimeoutError("no new block reached every replica after the orderer came back")
        time.sleep(0.1)
    resumed = time.monotonic() - healed_at
    caught_up = wait_caught_up(cons, plan.recover_timeout)
    return {
        "fault": "orderer's link down (no party can reach it, nor it them), then up",
        "target": ORDERER,
        "down_s": round(healed_at - cut_at, 2),
        "heads_1s_after_cut": heads,
        "heads_when_healed": after,
        "no_new_blocks_while_cut": max(after.values()) == max(heads.values()),
        "final_heights_while_cut": final,
        "every_member_at_top_and_final": min(after[m] for m in cons.members) >= top
        and min(final.values()) >= top,
        "at_top_and_final_after_s": round(through_peers, 2),
        "queries_answered_while_cut": len(answered_while_cut),
        "clients_saw_while_cut": _failures(load.records, cut_at, healed_at),
        "blocks_again_after_s": round(resumed, 2),
        "caught_up_after_s": round(caught_up, 2),
        "back_in_service": True,
    }


def _final_heights(cons: Consortium) -> dict[str, int]:
    final = {}
    for member_id in cons.members:
        with Store(cons.ledger_path(member_id), create=False) as store:
            final[member_id] = final_height(store)
    return final


def cut_etcd_leader(cons: Consortium, load: LoadGenerator, plan: FaultPlan) -> dict[str, Any]:
    assert isinstance(cons, WanConsortium) and cons.cluster is not None
    cluster, network = cons.cluster, _network(cons)
    load.completed(plan.warmup, plan.recover_timeout)
    leader = cluster.leader_index()
    label = cluster.labels[leader]
    others = [i for i in range(cluster.size) if i != leader]
    height = cons.heads()[ORDERER][0]
    cut_at = time.monotonic()
    network.cut(label)
    new_leader = cluster.leader_index(among=others, exclude=leader, timeout=plan.recover_timeout)
    elected = time.monotonic() - cut_at
    # Blocks keep coming through the new leader: every replica passes the cut height.
    deadline = time.monotonic() + plan.recover_timeout
    while not all(h > height for h, _ in cons.heads().values()):
        if time.monotonic() > deadline:
            raise TimeoutError("no block ordered after the etcd leader was cut off")
        time.sleep(0.1)
    ordered = time.monotonic() - cut_at
    while time.monotonic() - cut_at < plan.down:
        time.sleep(0.25)
    height_healed = cons.heads()[ORDERER][0]
    network.heal(label)
    healed_at = time.monotonic()
    cluster.wait_healthy(plan.recover_timeout)
    rejoined = time.monotonic() - healed_at
    caught_up = wait_caught_up(cons, plan.recover_timeout)
    chain = _chain_namespace(cons)
    return {
        "fault": "etcd leader's link down (cut from its followers and its clients), then up",
        "target": f"etcd m{leader} (leader)",
        "down_s": round(healed_at - cut_at, 2),
        "new_leader": f"m{new_leader}",
        "new_leader_after_s": round(elected, 2),
        "blocks_again_after_s": round(ordered, 2),
        "orderer_height_at_cut": height,
        "orderer_height_when_healed": height_healed,
        "clients_saw_while_cut": _failures(load.records, cut_at, healed_at),
        "rejoined_after_s": round(rejoined, 2),
        "caught_up_after_s": round(caught_up, 2),
        "etcd_log_matches": cluster.matches(cons.ledger_path(ORDERER), chain, via=leader),
        "back_in_service": new_leader != leader,
    }


def _chain_namespace(cons: Consortium) -> str:
    with Store(cons.ledger_path(ORDERER), create=False) as store:
        chain = store.chain_id
        assert chain is not None
        return chain.hex()


def run_wan(
    plan: WanPlan,
    root: Path,
    network: Network,
    *,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Build the consortium in ``network``, measure, partition, audit; the summary.

    The caller owns ``network`` and closes it (a fixture's finaliser, or ``with``):
    that kills whatever is left in the namespaces and deletes them.
    """
    started = time.monotonic()
    load_before = os.getloadavg()
    report: dict[str, Any] = {
        "mode": plan.name,
        "members": list(plan.members),
        "rtt_ms": plan.rtt_ms,
        "etcd_members": 3,
    }
    cons = WanConsortium.build(
        root, network, plan.members, rtt_ms=plan.rtt_ms, listed=plan.load.listed
    )
    history: list[QueryRecord] = []
    try:
        cons.start()
        cons.wait_published()
        report["setup_s"] = round(time.monotonic() - started, 1)
        say(f"wan: {len(plan.members)} members serving after {report['setup_s']} s")
        steps: dict[str, float] = {}
        clock = time.monotonic()
        report["latency"] = latency(cons, plan, history)
        say(f"wan: latency {report['latency']}")
        steps["latency"], clock = round(time.monotonic() - clock, 1), time.monotonic()
        report["commit"] = commit_latency(cons, plan, history)
        say(f"wan: commit {report['commit']}")
        steps["commit"], clock = round(time.monotonic() - clock, 1), time.monotonic()
        report["throughput"] = throughput(cons, plan, history)
        say(f"wan: throughput {report['throughput']}")
        steps["throughput"], clock = round(time.monotonic() - clock, 1), time.monotonic()
        report["step_s"] = steps
        phases = []
        faults = (
            ("member partition", cut_member(plan.members[-1])),
            ("orderer partition", cut_orderer),
            ("etcd leader partition", cut_etcd_leader),
        )
        for name, fault in faults if plan.partitions else ():
            phase = _phase(cons, name, fault, plan.load, history)
            say(f"wan: {name}: {phase}")
            phases.append(phase)
            steps[name], clock = round(time.monotonic() - clock, 1), time.monotonic()
        report["phases"] = phases
    except BaseException:
        for party in cons.running:
            say(f"--- {party} output:\n{cons.output(party)}")
        raise
    finally:
        report["exit_codes"] = cons.stop()
    report["ok"] = report["latency"]["failed_or_wrong"] == 0 and all(
        p["audit"]["ok"] and p.get("back_in_service", False) for p in report["phases"]
    )
    report["machine"] = {
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    report["wall_s"] = round(time.monotonic() - started, 1)
    return report
