"""``riskshare demo``: a local consortium of real gateways answering real queries.

What runs: an embedded orderer and N member gateways, each a separate
``riskshare gateway serve`` process (with its own worker processes) on loopback, over
mutual TLS 1.3 with certificates from a fresh consortium CA, on a ledger founded by a
genesis every founder signed. Each member imports its own sample blacklist through the
adapters (CSV + mapping, normaliser v1) and its gateway commits it on the ledger.

Then members query each other — a single identifier, a file, a broadcast to every
holder, one chosen member — through their own gateways' admin sockets, the way
``riskshare query`` does. Every answer is compared with the lists the demo wrote
(ground truth); every receipt must reach every replica; every replica must end on the
same head. Identifiers are printed masked.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from adapters import mask
from gateway._client import AdminClient
from gateway._errors import GatewayError
from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._processes import start_gateways, stop_gateways
from ledger import Store
from token_incentive import balance_of, recorded_receipts

__all__ = ["DemoQuery", "DemoReport", "run_demo", "sample_lists", "wait_published"]

LIST = "transaction_fraud"
_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


class _Det:
    """Deterministic bytes from a seed (SHA-256 in counter mode), for repeatable samples."""

    def __init__(self, seed: str) -> None:
        self._seed = seed.encode()
        self._counter = 0

    def int(self, bound: int) -> int:
        self._counter += 1
        block = hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
        return int.from_bytes(block, "big") % bound

    def phone(self) -> str:
        return f"1{3 + self.int(7)}{self.int(10**9):09d}"

    def cn_id(self) -> str:
        year, month, day = 1950 + self.int(50), 1 + self.int(12), 1 + self.int(28)
        body = f"110105{year:04d}{month:02d}{day:02d}{self.int(1000):03d}"
        check = "10X98765432"[sum(int(c) * w for c, w in zip(body, _CN_WEIGHTS, strict=True)) % 11]
        return body + check


@dataclass(frozen=True, slots=True)
class Samples:
    lists: dict[str, list[tuple[str, str, str, int]]]
    unique: dict[str, list[str]]
    shared: list[str]
    fresh: list[str]
    cn_ids: dict[str, str]

    def holders(self, id_type: str, value: str) -> set[str]:
        return {
            m for m, rows in self.lists.items() if any(r[1:3] == (id_type, value) for r in rows)
        }


def sample_lists(members: Sequence[str], listed: int, seed: str = "riskshare-demo") -> Samples:
    """Per member: ``listed`` phones of its own, shared phones, one cn_id; fresh phones."""
    det = _Det(seed)
    unique = {m: [det.phone() for _ in range(listed)] for m in members}
    shared = [det.phone() for _ in range(len(members) * 2)]
    fresh = [det.phone() for _ in range(12)]
    cn_ids = {m: det.cn_id() for m in members}
    lists: dict[str, list[tuple[str, str, str, int]]] = {}
    for i, member in enumerate(members):
        rows = [(LIST, "phone", v, 1 + k % 5) for k, v in enumerate(unique[member])]
        # Shared identifier k is on every list except member k mod N's.
        rows += [(LIST, "phone", v, 7) for k, v in enumerate(shared) if k % len(members) != i]
        rows.append((LIST, "cn_id", cn_ids[member], 9))
        lists[member] = rows
    return Samples(lists, unique, shared, fresh, cn_ids)


@dataclass(frozen=True, slots=True)
class DemoQuery:
    kind: str
    querier: str
    id_type: str
    asked: list[str]
    values: list[str]
    expected: dict[str, list[bool]]
    actual: dict[str, list[bool]]
    rejected: list[int]
    errors: dict[str, str]
    receipts: list[str]
    ms: float

    @property
    def correct(self) -> bool:
        return not self.errors and self.expected == self.actual


@dataclass
class DemoReport:
    members: list[str]
    workdir: str
    queries: list[DemoQuery] = field(default_factory=list)
    receipts: int = 0
    receipts_per_replica: dict[str, int] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    exit_codes: dict[str, int] = field(default_factory=dict)
    setup_s: float = 0.0

    @property
    def heads_equal(self) -> bool:
        return len(set(self.heads.values())) == 1 and len(self.heads) == len(self.members) + 1

    @property
    def correct(self) -> bool:
        return (
            all(q.correct for q in self.queries)
            and self.heads_equal
            and all(n == self.receipts for n in self.receipts_per_replica.values())
            and all(code == 0 for code in self.exit_codes.values())
        )

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for query, row in zip(self.queries, out["queries"], strict=True):
            row["correct"] = query.correct
        out["heads_equal"] = self.heads_equal
        out["correct"] = self.correct
        return out


def _plan(members: list[str], samples: Samples) -> list[tuple[str, str, str, list[str], list[str]]]:
    """(kind, querier, id_type, values, members asked — empty means all)."""
    a, b, c = members[0], members[1], members[2]
    file_values = (
        samples.unique[a][:3]
        + samples.unique[c][:3]
        + samples.shared[:4]
        + samples.fresh[2:8]
        + ["12345", "not-a-phone"]
    )
    return [
        ("single", a, "phone", [samples.unique[b][0]], []),
        ("single", a, "phone", [samples.fresh[0]], []),
        ("file", b, "phone", file_values, []),
        ("broadcast", c, "phone", [samples.shared[2]], []),
        ("one member", a, "phone", [samples.unique[b][1]], [c]),
        ("single", c, "cn_id", [samples.cn_ids[a]], []),
    ]


def _ask(
    net: LocalConsortium,
    samples: Samples,
    members: list[str],
    kind: str,
    querier: str,
    id_type: str,
    values: list[str],
    asked: list[str],
) -> DemoQuery:
    from adapters import Rejected, normalise

    socket = net.members[querier].data_dir / "admin.sock"
    started = time.perf_counter()
    with AdminClient(socket) as client:
        reply = client.query(LIST, id_type, values, members=asked)
    elapsed = (time.perf_counter() - started) * 1000
    valid = []
    for value in values:
        try:
            valid.append(normalise(id_type, value))
        except Rejected:
            continue
    targets = asked or [m for m in members if m != querier]
    expected = {m: [m in samples.holders(id_type, v) for v in valid] for m in targets}
    actual = {a.member_id: list(a.hits) for a in reply.answers if not a.error_code}
    errors = {a.member_id: f"{a.error_code}: {a.error}" for a in reply.answers if a.error_code}
    return DemoQuery(
        kind=kind,
        querier=querier,
        id_type=id_type,
        asked=sorted(targets),
        values=values,
        expected=expected,
        actual=actual,
        rejected=sorted(r.index for r in reply.rejected),
        errors=errors,
        receipts=[a.receipt.decode() for a in reply.answers if not a.error_code],
        ms=round(elapsed, 1),
    )


def _views(
    net: LocalConsortium, ids: list[str]
) -> tuple[dict[str, Any], dict[str, str], dict[str, int]]:
    views: dict[str, Any] = {}
    heads: dict[str, str] = {}
    counts: dict[str, int] = {}
    for member_id in ["orderer", *ids]:
        with Store(net.member(member_id).data_dir / "ledger.sqlite", create=False) as store:
            state = store.state()
            head = store.head()
            heads[member_id] = head.hash.hex() if head else ""
            receipts = list(recorded_receipts(state))
            counts[member_id] = len(receipts)
            if member_id == "orderer":
                continue
            made = [r for r in receipts if r.querier == member_id]
            served = [r for r in receipts if r.responder == member_id]
            views[member_id] = {
                "height": store.height,
                "head": heads[member_id][:16],
                "queries_made": len(made),
                "items_asked": sum(r.items for r in made),
                "queries_served": len(served),
                "items_served": sum(r.items for r in served),
                "balance_mcredits": balance_of(state, member_id).balance,
            }
    return views, heads, counts


def _settle(
    net: LocalConsortium, ids: list[str], expected: int, timeout: float = 60.0
) -> tuple[dict[str, Any], dict[str, str], dict[str, int]]:
    """The replicas' views once every replica holds every receipt and all heads agree
    (or, after ``timeout``, as they are: the report then says the heads differ).

    The views returned are the ones that agreed: gateways keep committing blocks after
    the queries (hit reports, for one), so a second read could catch one replica ahead.
    """
    deadline = time.monotonic() + timeout
    while True:
        views, heads, counts = _views(net, ids)
        settled = all(n >= expected for n in counts.values()) and len(set(heads.values())) == 1
        if settled or time.monotonic() >= deadline:
            return views, heads, counts
        time.sleep(0.25)


def wait_published(net: LocalConsortium, ids: list[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = True
        for member_id in ids:
            with AdminClient(net.members[member_id].data_dir / "admin.sock") as client:
                status = client.status()
            if not status.own_lists or not all(row.verified for row in status.own_lists):
                ready = False
        if ready:
            return
        time.sleep(0.25)
    raise GatewayError("members' lists did not reach the ledger in time")


def run_demo(
    members: int = 3,
    *,
    listed: int = 200,
    workdir: Path | None = None,
    workers: int = 1,
    say: Callable[[str], None] = lambda _: None,
) -> DemoReport:
    """Run the whole consortium demo; the report says whether every answer was right."""
    if members < 3:
        raise GatewayError("the demo needs at least three members")
    ids = [f"bank-{chr(ord('a') + i)}" if i < 26 else f"bank-{i}" for i in range(members)]
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="riskshare-demo-")) if workdir is None else workdir
    report = DemoReport(members=ids, workdir=str(root))
    started = time.perf_counter()
    running: dict[str, Any] = {}
    try:
        say(f"creating a consortium of {members} members and an orderer in {root}")
        net = create_local_consortium(root, ids, workers=workers, name="riskshare demo")
        samples = sample_lists(ids, listed)
        for member_id in ids:
            summary = load_list(net.members[member_id], samples.lists[member_id])
            say(f"{member_id}: imported {summary.accepted} entries into its index")
        say("starting the gateways (separate processes, mutual TLS 1.3 on loopback)")
        running = start_gateways(net)
        wait_published(net, ids)
        report.setup_s = round(time.perf_counter() - started, 2)
        say("every member's list is committed on the ledger; querying")
        for kind, querier, id_type, values, asked in _plan(ids, samples):
            query = _ask(net, samples, ids, kind, querier, id_type, values, asked)
            query = DemoQuery(**{**asdict(query), "values": [mask(v) for v in values]})
            report.queries.append(query)
        report.receipts = sum(len(q.receipts) for q in report.queries)
        report.views, report.heads, report.receipts_per_replica = _settle(net, ids, report.receipts)
    finally:
        report.exit_codes = stop_gateways(running) if running else {}
        if own and report.correct:
            shutil.rmtree(root, ignore_errors=True)
    return report
