"""The campaign: a consortium under load, faults one at a time, an audit after each.

Two consortia of three members and an orderer gateway each, on loopback:

- **embedded** ordering: a member gateway is SIGKILLed and restarted, then the orderer
  gateway, then a member's replica runs out of storage and gets it back, then a member
  rotates its OPRF key while the others keep querying it;
- **etcd** ordering, on a real 3-member etcd cluster: the etcd leader is SIGKILLed and
  restarted.

Each phase runs the bounded load generator, injects its fault under that load, waits
until the network settled (every served answer recorded, every replica on one head),
then audits every replica (``_audit``). The summary is one JSON-able dict.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ledger.etcd import LocalEtcdCluster
from tests.reliability._audit import audit, read_replica, responder_books
from tests.reliability._cluster import Consortium
from tests.reliability._faults import (
    FaultPlan,
    fill_storage,
    kill_etcd_member,
    kill_gateway,
    kill_orderer,
)
from tests.reliability._load import LoadGenerator, QueryRecord, stats
from tests.reliability._rotation import rotate_under_load

__all__ = ["LONG", "SHORT", "Plan", "run_campaign", "run_consortium", "settle"]

MEMBERS = ("bank-a", "bank-b", "bank-c")


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    queries: int  # per phase, at most
    seconds: float  # per phase, at most
    threads: int  # per querying member
    listed: int  # entries per member's list
    fault: FaultPlan
    verify_chains: bool = True
    # A phase without a fault first (the load the network holds undisturbed), and a
    # rotation phase that waits for the old key's retirement.
    baseline: bool = False


SHORT = Plan(
    name="short",
    queries=150,
    seconds=60.0,
    threads=1,
    listed=40,
    fault=FaultPlan(warmup=12, down=2.0, recover_timeout=90.0),
)
LONG = Plan(
    name="long",
    queries=1500,
    seconds=300.0,
    threads=2,
    listed=400,
    fault=FaultPlan(warmup=150, down=8.0, recover_timeout=180.0),
    baseline=True,
)

Phase = Callable[[Consortium, LoadGenerator, FaultPlan], dict[str, Any]]


# Gateways write on their own every 2 s (index epochs, hit reports, settlements): the
# network is quiet only when nothing changed for longer than that.
QUIET_SECONDS = 2.5


def settle(cons: Consortium, timeout: float) -> float:
    """Until every stored answer is on the ledger and all replicas rest on one head."""
    started = time.monotonic()
    data_dirs = {m: cons.data_dir(m) for m in cons.members}
    quiet_since: float | None = None
    last: Any = None
    while True:
        books = responder_books(data_dirs)
        busy = sum(n for b in books.values() for s, n in b.items() if s in {"pending", "submitted"})
        heads = cons.heads()
        now = time.monotonic()
        if busy or len(set(heads.values())) != 1 or (heads, books) != last:
            quiet_since, last = None, (heads, books)
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= QUIET_SECONDS:
            return now - started
        if now - started > timeout:
            raise TimeoutError(f"not settled after {timeout} s: {busy} answers pending, {heads}")
        time.sleep(0.25)


def audit_settled(
    cons: Consortium, plan: Plan, history: list[QueryRecord]
) -> tuple[float, dict[str, Any]]:
    """Settle, read every replica, and check nothing moved while reading."""
    settle_s = 0.0
    for _ in range(5):
        settle_s += settle(cons, plan.fault.recover_timeout)
        heads = cons.heads()
        views = [
            read_replica(p, cons.ledger_path(p), verify=plan.verify_chains) for p in cons.parties
        ]
        books = responder_books({m: cons.data_dir(m) for m in cons.members})
        if cons.heads() == heads:
            checked = audit(views, history, books, cons.members, kills=cons.kills)
            return settle_s, checked.as_dict()
    raise TimeoutError("the ledger kept moving while the replicas were read")


def run_phase(
    cons: Consortium, name: str, fault: Phase | None, plan: Plan, history: list[QueryRecord]
) -> dict[str, Any]:
    sockets = {m: cons.admin_socket(m) for m in cons.members}
    load = LoadGenerator(
        sockets,
        cons.samples,
        queries=plan.queries,
        seconds=plan.seconds,
        threads=plan.threads,
        seed=len(history) + 1,
    )
    load.start()
    info: dict[str, Any] = {"fault": "none"}
    try:
        if fault is not None:
            info = fault(cons, load, plan.fault)
    finally:
        load.join()
    # The load's own span (a fault may keep the phase open after the load ended).
    records = load.records
    seconds = max((r.started + r.ms / 1000 for r in records), default=load.started) - min(
        (r.started for r in records), default=load.started
    )
    history.extend(load.records)
    settle_s, checked = audit_settled(cons, plan, history)
    return {
        "phase": name,
        **info,
        "load": stats(load.records, seconds).as_dict(),
        "settle_s": round(settle_s, 2),
        "audit": checked,
    }


def run_consortium(
    root: Path,
    plan: Plan,
    phases: Sequence[tuple[str, Phase | None]],
    *,
    etcd: LocalEtcdCluster | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    started = time.monotonic()
    cons = Consortium.create(root, MEMBERS, listed=plan.listed, etcd=etcd)
    results: list[dict[str, Any]] = []
    history: list[QueryRecord] = []
    codes: dict[str, int] = {}
    try:
        cons.start()
        cons.wait_published()
        setup_s = time.monotonic() - started
        say(f"{root.name}: consortium serving after {setup_s:.1f} s")
        for name, phase in phases:
            result = run_phase(cons, name, phase, plan, history)
            say(f"{root.name}/{name}: {_line(result)}")
            results.append(result)
    except BaseException:
        for party in cons.running:
            say(f"--- {party} output:\n{cons.output(party)}")
        raise
    finally:
        codes = cons.stop()
    return {
        "ordering": "etcd (3-member cluster)" if etcd is not None else "embedded",
        "members": list(MEMBERS),
        "setup_s": round(setup_s, 1),
        "phases": results,
        "exit_codes": codes,
        "events": [(what, who) for what, who, _ in cons.events],
    }


def _line(result: dict[str, Any]) -> str:
    load, check = result["load"], result["audit"]
    return (
        f"{load['queries']} queries ({load['failed']} failed: {load['failures']}),"
        f" {load['queries_per_second']}/s, p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms,"
        f" max {load['max_ms']} ms;"
        f" back in service: {result.get('back_in_service', '-')};"
        f" audit {'ok' if check['ok'] else check['problems']}"
    )


def embedded_phases(plan: Plan = SHORT) -> list[tuple[str, Phase | None]]:
    baseline: list[tuple[str, Phase | None]] = [("baseline", None)] if plan.baseline else []
    return [
        *baseline,
        ("gateway", kill_gateway("bank-b")),
        ("orderer", kill_orderer),
        ("storage", fill_storage("bank-c")),
        ("rotation", rotate_under_load("bank-a", wait_retired=plan.baseline)),
    ]


def etcd_phases(plan: Plan = SHORT) -> list[tuple[str, Phase | None]]:
    baseline: list[tuple[str, Phase | None]] = [("baseline", None)] if plan.baseline else []
    return [*baseline, ("etcd", kill_etcd_member), ("orderer", kill_orderer)]


def run_campaign(
    plan: Plan, workdir: Path | None = None, *, say: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Both consortia, every fault; the one summary (``summary["ok"]`` says if all held)."""
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="riskshare-campaign-")) if workdir is None else workdir
    started = time.monotonic()
    load_before = os.getloadavg()
    consortia = []
    try:
        consortia.append(run_consortium(root / "embedded", plan, embedded_phases(plan), say=say))
        with LocalEtcdCluster(root / "etcd", size=3) as etcd:
            consortia.append(
                run_consortium(root / "etcd-ordered", plan, etcd_phases(plan), etcd=etcd, say=say)
            )
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
    summary = summarise(plan, consortia)
    summary["machine"] = {
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    summary["wall_s"] = round(time.monotonic() - started, 1)
    return summary


def summarise(plan: Plan, consortia: list[dict[str, Any]]) -> dict[str, Any]:
    phases = [p for c in consortia for p in c["phases"]]
    loads = [p["load"] for p in phases]
    queries = sum(x["queries"] for x in loads)
    seconds = sum(x["seconds"] for x in loads)
    ok = all(p["audit"]["ok"] for p in phases) and all(
        p.get("back_in_service", True) for p in phases
    )
    return {
        "mode": plan.name,
        "ok": ok,
        "queries": queries,
        "queries_ok": sum(x["ok"] for x in loads),
        "queries_failed": sum(x["failed"] for x in loads),
        "answers_failed": sum(x["answers_failed"] for x in loads),
        "wrong_verdicts": sum(x["wrong_verdicts"] for x in loads),
        "load_seconds": round(seconds, 1),
        "queries_per_second": round(queries / seconds, 2) if seconds else 0.0,
        "p50_ms_worst_phase": max(x["p50_ms"] for x in loads),
        "p99_ms_worst_phase": max(x["p99_ms"] for x in loads),
        "max_ms": max(x["max_ms"] for x in loads),
        "faults_injected": sum(1 for p in phases if p.get("fault", "none") != "none"),
        "faults_survived": sum(
            1
            for p in phases
            if p.get("fault", "none") != "none" and p.get("back_in_service") and p["audit"]["ok"]
        ),
        "records_checked": sum(p["audit"]["records_checked"] for p in phases),
        "lost": sum(p["audit"]["lost"] for p in phases),
        "duplicated": sum(p["audit"]["duplicated"] for p in phases),
        "charged_without_answer": max(
            (p["audit"]["charged_without_answer"] for p in phases), default=0
        ),
        "consortia": consortia,
    }


def with_plan(plan: Plan, **changes: Any) -> Plan:
    return replace(plan, **changes)
