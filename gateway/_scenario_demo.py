"""``riskshare demo --scenario <name>``: a scenario's flow across a local consortium.

Any registered scenario with a :class:`scenarios.kit.Demo` has one: the scenario says
which members take part and what each does (its flow); this module runs it. What runs:
an embedded orderer and the demo's member gateways, each its own ``riskshare gateway
serve`` process, over mutual TLS 1.3 on loopback. If the flow fingerprints documents,
the registry member commits its OPRF key first. Then the flow runs step by step through
each member's own gateway, the way ``riskshare <name> ...`` runs them (co-signatures
collected from whoever the step needs), including steps the ledger must refuse. Each
step's outcome is compared with the expected one; at the end every replica must hold
the same head.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway._client import AdminClient
from gateway._demo import wait_published
from gateway._errors import GatewayError
from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._processes import start_gateways, stop_gateways
from gateway._scenario_client import (
    ScenarioClient,
    StepResult,
    documents_hash,
    read_replica,
    step,
    submit_tx,
)
from ledger import State, Store
from scenarios import Scenario, ScenarioError, all_scenarios, get_scenario
from scenarios.kit import Leg, Obj, format_minor
from token_incentive import recorded_receipt

__all__ = ["DemoCheck", "DemoStep", "ScenarioDemoReport", "run_all_demos", "run_scenario_demo"]


@dataclass(frozen=True, slots=True)
class DemoStep:
    actor: str
    action: str
    expected: str  # "applied" or "refused"
    outcome: str  # "applied" or "refused"
    detail: str
    ms: float

    @property
    def correct(self) -> bool:
        return self.expected == self.outcome


@dataclass(frozen=True, slots=True)
class DemoCheck:
    """A figure on the ledger against the flow's independent computation of it."""

    what: str
    ledger: Any
    independent: Any

    @property
    def correct(self) -> bool:
        return bool(self.ledger == self.independent)


@dataclass
class ScenarioDemoReport:
    scenario: str
    setup_s: float = 0.0
    steps: list[DemoStep] = field(default_factory=list)
    checks: list[DemoCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    heads: dict[str, str] = field(default_factory=dict)

    @property
    def heads_equal(self) -> bool:
        return len(set(self.heads.values())) == 1

    @property
    def correct(self) -> bool:
        return (
            bool(self.steps)
            and all(s.correct for s in self.steps)
            and all(c.correct for c in self.checks)
            and self.heads_equal
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "setup_s": round(self.setup_s, 2),
            "steps": [dataclasses.asdict(s) | {"correct": s.correct} for s in self.steps],
            "checks": [dataclasses.asdict(c) | {"correct": c.correct} for c in self.checks],
            "heads": self.heads,
            "heads_equal": self.heads_equal,
            "notes": self.notes,
            "correct": self.correct,
        }


class _Runner:
    """The consortium a scenario's :class:`scenarios.kit.Demo` flow runs on."""

    def __init__(
        self,
        net: LocalConsortium,
        scenario: Scenario,
        report: ScenarioDemoReport,
        document: Path,
        say: Callable[[str], None],
    ) -> None:
        self.net = net
        self.scenario = scenario
        self.report = report
        self.document = document
        self._say = say
        self._today = dt.datetime.now(dt.UTC).date()
        self._stores: dict[str, Store] = {}

    @property
    def today(self) -> dt.date:
        return self._today

    def _config(self, member: str) -> Path:
        return self.net.members[member].config_path

    def _client(self, member: str) -> ScenarioClient:
        return ScenarioClient(self.net.members[member].data_dir / "admin.sock")

    def step(
        self,
        actor: str,
        say: str,
        kind: str,
        object_id: str,
        payload: Mapping[str, Any] | None = None,
        *,
        cosigners: Sequence[str] = (),
        refused: bool = False,
    ) -> Obj | None:
        config = self._config(actor)
        return self._run(
            actor,
            say,
            refused,
            lambda: step(config, kind, object_id, dict(payload or {}), cosigners),
        )

    def _record(
        self, actor: str, say: str, expected: str, outcome: str, detail: str, start: float
    ) -> None:
        ms = (time.perf_counter() - start) * 1000
        self.report.steps.append(DemoStep(actor, say, expected, outcome, detail, ms))
        mark = "" if outcome == expected else "  <-- UNEXPECTED"
        self._say(f"{actor:<9} {say}: {outcome} — {detail} [{ms:.0f} ms]{mark}")

    def submit(
        self, actor: str, say: str, legs: Sequence[Leg], *, refused: bool = False
    ) -> Obj | None:
        config = self._config(actor)
        return self._run(actor, say, refused, lambda: submit_tx(config, self.scenario.name, legs))

    def _run(self, actor: str, say: str, refused: bool, call: Callable[[], Any]) -> Obj | None:
        """Run one step and record it; a refusal is a result here, the one expected or not."""
        start = time.perf_counter()
        try:
            result = call()
        except (GatewayError, ScenarioError) as exc:
            outcome, detail, obj = "refused", str(exc), None
        else:
            outcome, detail, obj = "applied", self._describe(result), result.obj
        self._record(actor, say, "refused" if refused else "applied", outcome, detail, start)
        return obj

    def authorize(
        self, member: str, kind: str, object_id: str, payload: Mapping[str, Any] | None = None
    ) -> None:
        with self._client(member) as client:
            client.authorize(kind, object_id, payload)

    def authorize_tx(self, member: str, legs: Sequence[Leg]) -> None:
        with self._client(member) as client:
            client.authorize(f"{self.scenario.name}.tx", legs=legs)

    def fingerprint(
        self, actor: str, family: str, inputs: Sequence[bytes]
    ) -> tuple[list[bytes], str]:
        with self._client(actor) as client:
            return client.fingerprint(family, inputs)

    def observe(self, series: str, as_of: str, value: int, scale: int) -> None:
        oracle = self.scenario.demo.oracle if self.scenario.demo else None
        if oracle is None:
            raise ScenarioError(f"the {self.scenario.name} demo names no oracle")
        start = time.perf_counter()
        with self._client(oracle) as client:
            result = client.observe(self.scenario.name, series, as_of, value, scale)
        ms = (time.perf_counter() - start) * 1000
        say = f"observe {series} on {as_of}: {format_minor(value, scale)}"
        detail = f"height {result.height}, signed by the oracle"
        self.report.steps.append(DemoStep(oracle, say, "applied", "applied", detail, ms))
        self._say(f"{oracle:<9} {say}: applied — {detail} [{ms:.0f} ms]")

    def screen(self, actor: str, id_type: str, value: str) -> tuple[str, bool]:
        receipt, (hit,) = self._query(actor, id_type, [value])
        self._say(
            f"{actor:<9} screen a {id_type} ({'hit' if hit else 'no hit'}): receipt "
            f"{receipt[:16]}… recorded"
        )
        return receipt, hit

    def screen_batch(
        self, actor: str, id_type: str, values: Sequence[str]
    ) -> tuple[str, list[bool]]:
        start = time.perf_counter()
        receipt, hits = self._query(actor, id_type, values)
        ms = (time.perf_counter() - start) * 1000
        self._say(
            f"{actor:<9} screen {len(values)} {id_type}s in one query ({sum(hits)} hits): "
            f"receipt {receipt[:16]}… recorded [{ms:.0f} ms]"
        )
        return receipt, hits

    def _query(self, actor: str, id_type: str, values: Sequence[str]) -> tuple[str, list[bool]]:
        """One query of ``values`` against every other member's list: the first
        answer's receipt, once recorded on ``actor``'s replica, and the hits per value."""
        with AdminClient(self.net.members[actor].data_dir / "admin.sock") as client:
            reply = client.query(self._list_type(), id_type, list(values))
        if reply.rejected:
            raise ScenarioError(f"{actor}'s screening query rejected {len(reply.rejected)} values")
        answers = [a for a in reply.answers if not a.error_code]
        if not answers:
            raise ScenarioError(f"{actor}'s screening query was answered by nobody")
        receipt = answers[0].receipt.decode()
        hits = [any(a.hits[i] for a in answers) for i in range(len(values))]
        deadline = time.monotonic() + 120
        while recorded_receipt(self.state(actor), receipt) is None:
            if time.monotonic() > deadline:
                raise ScenarioError(f"screening receipt {receipt} was not recorded in time")
            time.sleep(0.1)
        return receipt, hits

    def _list_type(self) -> str:
        demo = self.scenario.demo
        types = {row[0] for rows in (demo.lists if demo else {}).values() for row in rows}
        if len(types) != 1:
            raise ScenarioError("a demo that screens loads lists of exactly one list type")
        return types.pop()

    def held(self, member: str, object_id: str) -> Obj:
        with self._client(member) as client:
            row = client.private_state(self.scenario.name, object_id)
        row.pop("confidential", None)
        return Obj.from_row(row)

    def document_hash(self) -> bytes:
        return documents_hash([self.document])

    def state(self, member: str) -> State:
        if member not in self._stores:
            self._stores[member] = read_replica(self._config(member))
        return self._stores[member].state()

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()

    def say(self, line: str) -> None:
        self.report.notes.append(line)
        self._say(f"          {line}")

    def check(self, what: str, ledger: Any, independent: Any) -> None:
        found = DemoCheck(what, ledger, independent)
        self.report.checks.append(found)
        verdict = "= independent" if found.correct else f"<-- UNEXPECTED: independent {independent}"
        self._say(f"          {what}: {ledger} {verdict}")

    def _describe(self, result: StepResult) -> str:
        where = f"height {result.height}, signed {'+'.join(result.signers)}"
        obj = result.obj
        if obj is None:
            return where
        amount = ""
        for supply in self.scenario.supplies:
            value = obj.attrs.get(supply.amount_attr)
            if supply.machine.type == obj.type and isinstance(value, int):
                amount = f" {format_minor(value)}"
        parties = " ".join(f"{role}={member}" for role, member in sorted(obj.parties.items()))
        return f"{obj.id} {obj.state} v{obj.version}{amount} {parties} ({where})"


def run_scenario_demo(
    scenario: str, *, workdir: Path | None = None, say: Callable[[str], None] = lambda _: None
) -> ScenarioDemoReport:
    """Run a registered scenario's demo flow across a fresh local consortium; the report."""
    registered = get_scenario(scenario)
    demo = registered.demo
    if demo is None:
        with_demo = [s.name for s in all_scenarios() if s.demo is not None]
        raise ScenarioError(f"scenario {scenario!r} has no demo; choose one of {with_demo}")
    root = Path(tempfile.mkdtemp(prefix="riskshare-scenario-")) if workdir is None else workdir
    report = ScenarioDemoReport(scenario)
    started = time.perf_counter()
    params: dict[str, Any] = dict(demo.params)
    if demo.registry is not None:
        params["fpreg.registry"] = demo.registry
    if demo.oracle is not None:
        params[f"{scenario}.oracle"] = demo.oracle
    net = create_local_consortium(root, list(demo.members), params=params)
    for member, rows in demo.lists.items():
        load_list(net.members[member], [(*row, 1) for row in rows])
    docs = root / "documents"
    docs.mkdir(exist_ok=True)
    document = docs / "document.pdf"
    document.write_bytes(b"%PDF-1.7 sample trade document, kept behind the gateway")
    say(f"starting {len(demo.members)} member gateways and the orderer in {root}")
    # Generous: on a loaded machine eight Python processes take a while to come up.
    gateways = start_gateways(net, timeout=600)
    try:
        if demo.lists:
            wait_published(net, list(demo.lists))
        if demo.registry is not None:
            with ScenarioClient(net.members[demo.registry].data_dir / "admin.sock") as client:
                client.init_registry()
            say("registry key committed")
        report.setup_s = time.perf_counter() - started
        say(f"set-up took {report.setup_s:.1f} s")
        runner = _Runner(net, registered, report, document, say)
        try:
            demo.flow(runner)
        finally:
            runner.close()
        report.heads = _heads(net)
    finally:
        stop_gateways(gateways, timeout=120)
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return report


def _heads(net: LocalConsortium) -> dict[str, str]:
    # A bound, not an expectation: on a loaded machine a replica may take a while to
    # apply the last blocks, and unequal heads fail the demo.
    deadline = time.monotonic() + 180
    while True:
        heads: dict[str, str] = {}
        for member in ["orderer", *net.members]:
            with Store(net.member(member).data_dir / "ledger.sqlite", create=False) as store:
                head = store.head()
                heads[member] = "" if head is None else f"{head.height}:{head.hash.hex()}"
        if len(set(heads.values())) == 1 or time.monotonic() > deadline:
            return heads
        time.sleep(0.1)


def run_all_demos(*, say: Callable[[str], None] = lambda _: None) -> list[ScenarioDemoReport]:
    """Every registered scenario's demo, one after another, each on its own fresh
    consortium (one consortium of every demo's members would be some two dozen gateway
    processes at once); the reports in registration order."""
    reports = []
    for registered in all_scenarios():
        if registered.demo is None:
            continue
        say(f"== {registered.name}: {registered.title}")
        reports.append(run_scenario_demo(registered.name, say=say))
    return reports
