"""``riskshare demo --scenario scf|tf``: a scenario flow across a local consortium.

What runs: an embedded orderer and five member gateways — a core enterprise, a
supplier, two banks and the fingerprint registry — each its own ``riskshare gateway
serve`` process, over mutual TLS 1.3 on loopback. The registry commits its OPRF key;
then the chosen flow runs step by step through each member's own gateway, the way
``riskshare scf ...`` / ``riskshare tf ...`` run them, including steps the ledger must
refuse. Each step's outcome is compared with what the spec says it must be; at the end
every replica must hold the same head.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway._errors import GatewayError
from gateway._localnet import LocalConsortium, create_local_consortium
from gateway._processes import start_gateways, stop_gateways
from gateway._scenario_client import (
    ScenarioClient,
    StepResult,
    scf_issue,
    scf_redeem,
    step,
    tf_alerts,
    tf_register,
    tf_resolve,
)
from ledger import Store
from scenarios import ScenarioError
from scenarios.kit import Invoice, format_minor

__all__ = ["DEMO_MEMBERS", "DemoStep", "ScenarioDemoReport", "run_scenario_demo"]

DEMO_MEMBERS = ["core", "supplier", "bank-a", "bank-b", "registry"]


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


@dataclass
class ScenarioDemoReport:
    scenario: str
    setup_s: float = 0.0
    steps: list[DemoStep] = field(default_factory=list)
    heads: dict[str, str] = field(default_factory=dict)

    @property
    def heads_equal(self) -> bool:
        return len(set(self.heads.values())) == 1

    @property
    def correct(self) -> bool:
        return bool(self.steps) and all(s.correct for s in self.steps) and self.heads_equal

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "setup_s": round(self.setup_s, 2),
            "steps": [dataclasses.asdict(s) | {"correct": s.correct} for s in self.steps],
            "heads": self.heads,
            "heads_equal": self.heads_equal,
            "correct": self.correct,
        }


class _Runner:
    def __init__(
        self, net: LocalConsortium, report: ScenarioDemoReport, say: Callable[[str], None]
    ):
        self.net = net
        self.report = report
        self.say = say

    def config(self, member: str) -> Path:
        return self.net.members[member].config_path

    def do(
        self, actor: str, action: str, fn: Callable[[], StepResult | Any], *, refused: bool = False
    ) -> Any:
        start = time.perf_counter()
        try:
            result = fn()
        except (GatewayError, ScenarioError) as exc:
            outcome, detail, result = "refused", str(exc), None
        else:
            outcome, detail = "applied", _describe(result)
        ms = (time.perf_counter() - start) * 1000
        expected = "refused" if refused else "applied"
        self.report.steps.append(DemoStep(actor, action, expected, outcome, detail, ms))
        mark = "" if outcome == expected else "  <-- UNEXPECTED"
        self.say(f"{actor:<9} {action}: {outcome} — {detail} [{ms:.0f} ms]{mark}")
        return result


def _describe(result: Any) -> str:
    if isinstance(result, StepResult) and result.obj is not None:
        obj = result.obj
        holder = obj.parties.get("holder") or obj.parties.get("financier") or ""
        if obj.type == "alert":
            holder = f"{obj.attrs['match']} {obj.parties['first']}/{obj.parties['second']}"
        face = obj.attrs.get("face")
        amount = f" {format_minor(face)}" if isinstance(face, int) else ""
        signed = "+".join(result.signers)
        where = f"height {result.height}, signed {signed}"
        return f"{obj.id} {obj.state} v{obj.version}{amount} {holder} ({where})"
    return str(result)


def _scf(run: _Runner, today: dt.date, docs: list[Path]) -> None:
    invoice = Invoice(
        "91310000MA1FL00001",
        "91110000CORE00002",
        "INV-0042",
        today.isoformat(),
        1_000_000_00,
        "CNY",
    )
    maturity = (today + dt.timedelta(days=120)).isoformat()
    cert = "CRRC-001"
    run.do(
        "core",
        f"issue {cert} for 1,000,000.00 to supplier, maturity {maturity}",
        lambda: scf_issue(
            run.config("core"),
            cert,
            holder="supplier",
            face=1_000_000_00,
            maturity=maturity,
            invoice=invoice,
            documents=docs,
        ),
    )
    run.do(
        "core",
        "issue CRRC-002 on the same invoice",
        lambda: scf_issue(
            run.config("core"),
            "CRRC-002",
            holder="supplier",
            face=1_000_00,
            maturity=maturity,
            invoice=dataclasses.replace(invoice, number="inv 0042"),
            documents=docs,
        ),
        refused=True,
    )
    run.do("supplier", f"accept {cert}", lambda: step(run.config("supplier"), "scf.accept", cert))
    run.do(
        "supplier",
        "transfer 300,000.00 to bank-b",
        lambda: step(
            run.config("supplier"), "scf.transfer", cert, {"to": "bank-b", "amount": 300_000_00}
        ),
    )
    run.do(
        "core",
        f"transfer {cert}.2 (not its holder)",
        lambda: step(
            run.config("core"), "scf.transfer", f"{cert}.2", {"to": "bank-b", "amount": 1}
        ),
        refused=True,
    )
    terms = {"financier": "bank-a", "rate_ppm": 43_500, "fee": 50_00}
    run.do(
        "supplier",
        f"apply for financing of {cert}.2 at 4.35% + 50.00",
        lambda: step(run.config("supplier"), "scf.apply_financing", f"{cert}.2", terms),
    )
    run.do(
        "supplier",
        f"transfer {cert}.2 while it is locked",
        lambda: step(
            run.config("supplier"), "scf.transfer", f"{cert}.2", {"to": "bank-b", "amount": 1}
        ),
        refused=True,
    )
    result = run.do(
        "bank-a",
        f"approve financing of {cert}.2",
        lambda: step(
            run.config("bank-a"), "scf.approve_financing", f"{cert}.2", {"bank_ref": "PAY-7781"}
        ),
    )
    if isinstance(result, StepResult) and result.obj is not None:
        f = result.obj.attrs["financing"]
        run.say(
            f"          proceeds {format_minor(f['proceeds'])} = 700,000.00 − discount "
            f"{format_minor(f['discount'])} ({f['days']} days at 4.35%/360) − fee 50.00"
        )
    run.do(
        "bank-a",
        f"finance {cert}.2 a second time",
        lambda: step(
            run.config("bank-a"),
            "scf.apply_financing",
            f"{cert}.2",
            {**terms, "financier": "bank-b"},
        ),
        refused=True,
    )
    with ScenarioClient(run.net.members["bank-b"].data_dir / "admin.sock") as client:
        client.authorize("scf.redeem", f"{cert}.2")
    run.do(
        "core",
        f"redeem {cert}.2 before maturity (bank-b co-signs)",
        lambda: scf_redeem(run.config("core"), f"{cert}.2", paying_bank="bank-b", bank_ref="R-1"),
        refused=True,
    )


def _tf(run: _Runner, today: dt.date, docs: list[Path]) -> None:
    invoice = Invoice(
        "91440300EXPORT0003", "SG-IMPORTER-77", "EX 2025/118", today.isoformat(), 250_000_00, "USD"
    )
    expires = (today + dt.timedelta(days=30)).isoformat()
    run.do(
        "bank-a",
        "register invoice EX 2025/118 as A-1",
        lambda: tf_register(
            run.config("bank-a"), "A-1", invoice=invoice, expires_on=expires, documents=docs
        ),
    )
    retyped = dataclasses.replace(invoice, seller="91440300 export 0003", number="EX-2025-118")
    run.do(
        "bank-b",
        "register the same invoice (typed differently) as B-1",
        lambda: tf_register(
            run.config("bank-b"), "B-1", invoice=retyped, expires_on=expires, documents=docs
        ),
    )
    run.do(
        "bank-b",
        "disburse against the flagged B-1",
        lambda: step(
            run.config("bank-b"),
            "tf.confirm_disbursement",
            "B-1",
            {"disbursed_on": today.isoformat(), "bank_ref": "D-9"},
        ),
        refused=True,
    )
    altered = dataclasses.replace(invoice, amount=260_000_00)
    run.do(
        "bank-b",
        "register an altered copy (another amount) as B-2",
        lambda: tf_register(
            run.config("bank-b"), "B-2", invoice=altered, expires_on=expires, documents=docs
        ),
    )
    for alert in tf_alerts(run.config("bank-b")):
        run.say(
            f"          alert {alert['alert']}: {alert['match']} match, {alert['second']} is told "
            f"{alert['first']} holds it ({alert['existing_status']}); both see member ids only"
        )
    run.do(
        "bank-a",
        "confirm disbursement of A-1",
        lambda: step(
            run.config("bank-a"),
            "tf.confirm_disbursement",
            "A-1",
            {"disbursed_on": today.isoformat(), "bank_ref": "D-1"},
        ),
    )
    run.do(
        "bank-b",
        "resolve alert B-1~A-1 before bank-a authorised it",
        lambda: tf_resolve(run.config("bank-b"), "B-1~A-1", outcome="withdraw"),
        refused=True,
    )
    with ScenarioClient(run.net.members["bank-a"].data_dir / "admin.sock") as client:
        client.authorize("tf.resolve_alert", "B-1~A-1")
    run.do(
        "bank-b",
        "withdraw B-1 by resolving the alert with bank-a",
        lambda: tf_resolve(run.config("bank-b"), "B-1~A-1", outcome="withdraw"),
    )


def run_scenario_demo(
    scenario: str, *, workdir: Path | None = None, say: Callable[[str], None] = lambda _: None
) -> ScenarioDemoReport:
    """Run the ``scf`` or ``tf`` flow across a fresh local consortium; the report."""
    flows = {"scf": _scf, "tf": _tf}
    if scenario not in flows:
        raise ScenarioError(f"no demo for scenario {scenario!r}; choose scf or tf")
    root = Path(tempfile.mkdtemp(prefix="riskshare-scenario-")) if workdir is None else workdir
    report = ScenarioDemoReport(scenario)
    started = time.perf_counter()
    net = create_local_consortium(root, DEMO_MEMBERS, params={"fpreg.registry": "registry"})
    docs = root / "documents"
    docs.mkdir(exist_ok=True)
    (docs / "invoice.pdf").write_bytes(b"%PDF-1.7 sample invoice, kept behind the gateway")
    say(f"starting {len(DEMO_MEMBERS)} member gateways and the orderer in {root}")
    gateways = start_gateways(net)
    try:
        with ScenarioClient(net.members["registry"].data_dir / "admin.sock") as client:
            client.init_registry()
        report.setup_s = time.perf_counter() - started
        say(f"registry key committed; set-up took {report.setup_s:.1f} s")
        flows[scenario](
            _Runner(net, report, say), dt.datetime.now(dt.UTC).date(), [docs / "invoice.pdf"]
        )
        report.heads = _heads(net)
    finally:
        stop_gateways(gateways)
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return report


def _heads(net: LocalConsortium) -> dict[str, str]:
    deadline = time.monotonic() + 30
    while True:
        heads: dict[str, str] = {}
        for member in ["orderer", *net.members]:
            with Store(net.member(member).data_dir / "ledger.sqlite", create=False) as store:
                head = store.head()
                heads[member] = "" if head is None else f"{head.height}:{head.hash.hex()}"
        if len(set(heads.values())) == 1 or time.monotonic() > deadline:
            return heads
        time.sleep(0.1)
