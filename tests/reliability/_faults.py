"""The faults, one at a time, each injected while the load runs.

Every fault function waits until the load has warmed up, injects the fault, holds it
for ``down`` seconds while queries keep coming, undoes it the way an operator or a
supervisor would (restart the process on the same data, free the space), and then
waits until the party is back in service: for a gateway, until it has both asked and
answered queries again; for the orderer, an etcd member or a replica, until blocks flow
again and its replica caught up. It returns what happened, for the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger import EtcdLog, Store
from ledger.etcd import LocalEtcdCluster
from tests.reliability._cluster import ORDERER, Consortium
from tests.reliability._load import LoadGenerator

__all__ = ["FAULTS", "FaultPlan", "wait_caught_up"]


@dataclass(frozen=True, slots=True)
class FaultPlan:
    warmup: int  # queries completed before the fault
    down: float  # seconds the fault is held
    recover_timeout: float  # seconds allowed to be back in service


Fault = Callable[[Consortium, LoadGenerator, FaultPlan], dict[str, Any]]


def _in_service(cons: Consortium, load: LoadGenerator, member_id: str, timeout: float) -> bool:
    """The member asks every publisher and is asked by another member, both answered."""
    other = next(m for m in cons.members if m != member_id)
    asked = load.probe(member_id, [], timeout)
    answered = load.probe(other, [member_id], timeout)
    return asked.ok and bool(asked.answers) and answered.ok and bool(answered.answers)


def _orders_again(cons: Consortium, load: LoadGenerator, height: int, timeout: float) -> bool:
    """A query is answered and a block above ``height`` reaches every replica."""
    probe = load.probe(cons.members[0], [], timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(h > height for h, _ in cons.heads().values()):
            return probe.ok
        time.sleep(0.1)
    return False


def wait_caught_up(cons: Consortium, timeout: float) -> float:
    """Until every replica holds the orderer's head of now; seconds taken."""
    started = time.monotonic()
    target = cons.heads()[ORDERER][0]
    while time.monotonic() - started < timeout:
        if all(height >= target for height, _ in cons.heads().values()):
            return time.monotonic() - started
        time.sleep(0.1)
    raise TimeoutError(f"replicas did not reach height {target} in {timeout} s")


def kill_gateway(member_id: str) -> Fault:
    def fault(cons: Consortium, load: LoadGenerator, plan: FaultPlan) -> dict[str, Any]:
        load.completed(plan.warmup, plan.recover_timeout)
        killed = cons.kill(member_id)
        time.sleep(plan.down)
        restart_s = cons.restart(member_id, timeout=plan.recover_timeout)
        back = _in_service(cons, load, member_id, plan.recover_timeout)
        return {
            "fault": "SIGKILL member gateway (supervisor, workers, evaluation processes)",
            "target": member_id,
            "processes_killed": len(killed),
            "down_s": round(plan.down, 1),
            "restart_to_serving_s": round(restart_s, 2),
            "back_in_service": back,
            "caught_up_s": round(wait_caught_up(cons, plan.recover_timeout), 2),
        }

    return fault


def kill_orderer(cons: Consortium, load: LoadGenerator, plan: FaultPlan) -> dict[str, Any]:
    load.completed(plan.warmup, plan.recover_timeout)
    height = cons.heads()[ORDERER][0]
    killed = cons.kill(ORDERER)
    time.sleep(plan.down)
    restart_s = cons.restart(ORDERER, timeout=plan.recover_timeout)
    back = _orders_again(cons, load, cons.heads()[ORDERER][0], plan.recover_timeout)
    caught_up = wait_caught_up(cons, plan.recover_timeout)
    return {
        "fault": "SIGKILL the ordering gateway"
        + (" (etcd-ordered: it catches up from etcd)" if cons.etcd else " (embedded orderer)"),
        "target": ORDERER,
        "processes_killed": len(killed),
        "height_at_kill": height,
        "down_s": round(plan.down, 1),
        "restart_to_serving_s": round(restart_s, 2),
        "back_in_service": back,
        "caught_up_s": round(caught_up, 2),
    }


def kill_etcd_member(cons: Consortium, load: LoadGenerator, plan: FaultPlan) -> dict[str, Any]:
    etcd = cons.etcd
    assert etcd is not None, "this consortium is not ordered by etcd"
    load.completed(plan.warmup, plan.recover_timeout)
    leader = etcd.leader_index()
    height = cons.heads()[ORDERER][0]
    etcd.kill(leader)
    cons.event("kill etcd", f"m{leader}")
    # Blocks must keep coming while the member is down (two of three keep a quorum).
    during = _orders_again(cons, load, height, plan.recover_timeout)
    time.sleep(plan.down)
    height_down = cons.heads()[ORDERER][0]
    started = time.monotonic()
    etcd.restart(leader, timeout=plan.recover_timeout)
    etcd.wait_healthy(plan.recover_timeout)
    cons.event("restart etcd", f"m{leader}")
    restart_s = time.monotonic() - started
    back = _orders_again(cons, load, cons.heads()[ORDERER][0], plan.recover_timeout)
    return {
        "fault": "SIGKILL the etcd leader (3-member cluster ordering the consortium)",
        "etcd_log_matches": _etcd_log_matches(cons, etcd),
        "target": f"etcd m{leader} (leader)",
        "height_at_kill": height,
        "height_while_down": height_down,
        "ordered_while_down": during,
        "down_s": round(plan.down, 1),
        "restart_to_healthy_s": round(restart_s, 2),
        "back_in_service": back,
        "caught_up_s": round(wait_caught_up(cons, plan.recover_timeout), 2),
    }


def _etcd_log_matches(cons: Consortium, etcd: LocalEtcdCluster) -> bool:
    """Every block of the ordering gateway's replica is the one etcd holds at its height."""
    with Store(cons.ledger_path(ORDERER), create=False) as store:
        chain = store.chain_id
        assert chain is not None
        blocks = [store.block(h) for h in range(store.height + 1)]
    with EtcdLog(etcd.endpoints, chain.hex()) as log:
        return all(log.get(h) == block for h, block in enumerate(blocks))


def fill_storage(member_id: str) -> Fault:
    def fault(cons: Consortium, load: LoadGenerator, plan: FaultPlan) -> dict[str, Any]:
        load.completed(plan.warmup, plan.recover_timeout)
        cons.fill_storage(member_id, True)
        height = cons.heads()[member_id][0]
        time.sleep(plan.down)
        heads = cons.heads()
        stalled_at = heads[member_id][0]
        behind = heads[ORDERER][0] - stalled_at
        cons.fill_storage(member_id, False)
        caught_up = wait_caught_up(cons, plan.recover_timeout)
        back = _in_service(cons, load, member_id, plan.recover_timeout)
        return {
            "fault": "replica storage full (SQLite max_page_count at its page count), then freed",
            "target": member_id,
            "height_at_fault": height,
            "replica_height_while_full": stalled_at,
            "blocks_behind_when_freed": behind,
            "down_s": round(plan.down, 1),
            "caught_up_s": round(caught_up, 2),
            "back_in_service": back and behind > 0,
        }

    return fault


FAULTS: dict[str, Callable[..., Any]] = {
    "gateway": kill_gateway,
    "orderer": lambda: kill_orderer,
    "etcd": lambda: kill_etcd_member,
    "storage": fill_storage,
}
