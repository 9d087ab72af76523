"""End to end: both scenario flows across separate gateway processes over mutual TLS.

The consortium: an embedded orderer, a core enterprise, a supplier, two banks and the
registry (the member the ``fpreg.registry`` parameter names, holding the fingerprint
OPRF key), each ``riskshare gateway serve`` in its own process, started once for the
module. Every step goes through the member's own gateway (its admin socket), which
collects co-signatures from the other gateways (each previews the step on its own
replica and checks its operator's authorisation) and has the registry evaluate
fingerprints. Most flows run through the ``riskshare scf ...`` / ``riskshare tf ...``
commands, as an operator types them (``Running.cli``). Checked:

- supply-chain finance: issue (invoice fingerprinted by the registry), accept, cancel
  (face voided, invoice freed), transfer, split, apply for financing and have it
  rejected or approved (exact proceeds), mark due, redeem with the paying bank's
  co-signature, mark overdue, conservation of every root;
- trade finance: registration, a cross-bank exact duplicate flagged to both banks, a
  partial match that alerts but does not block, disbursement, settlement, archive,
  lapse, alerts resolved by both banks (``withdraw``, and ``clear`` once the first
  registration settled, re-financing allowed), the pre-check;
- one registry across both: a certificate's invoice registered for trade finance is
  flagged to the issuer; an invoice a bank registered backs no certificate;
- refused steps with a clear reason and no change on any replica: a wrong signer, a
  locked certificate, double financing, the same invoice twice, redemption before
  maturity (the paying bank's own replica refuses to co-sign), a co-signer that did not
  authorise, or authorised another payload, disbursement against a flagged
  registration, clearing while the invoice is held, archiving before settlement, parts
  that do not sum to the face;
- dates: every process of the consortium lives on one wall clock that the test moves
  forward (libfaketime, ``_clock.py``); on the maturity day a certificate is marked due
  and redeemed, a registration past its expiry lapses; the day after, transfer, split
  and financing are refused as past maturity on every replica and marking overdue is
  accepted;
- every replica ends on the same head, and no invoice field appears in any ledger.

Tests read "today" from the shared clock, so the clock's move does not disturb them;
``test_the_cli_against_the_running_gateways`` reads what the first two tests made.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import app
from gateway import GatewayError
from gateway._localnet import LocalConsortium, create_local_consortium
from gateway._processes import GatewayProcess, start_gateways, stop_gateways
from gateway._scenario_client import ScenarioClient, step
from ledger import Store
from scenarios import ScenarioError, all_contracts
from scenarios.kit import Invoice, format_minor
from scenarios.scf import CERTIFICATES, SUPPLY, price
from scenarios.tf import ALERTS, REGISTRATIONS
from tests.scenarios._clock import SharedClock
from tests.scenarios._harness import invoke

MEMBERS = ["core", "supplier", "bank-a", "bank-b", "registry"]
SCENARIO_TABLES = sorted(t for c in all_contracts() if c.name != "fpreg" for t in c.tables)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


@dataclass
class Running:
    net: LocalConsortium
    gateways: dict[str, GatewayProcess]
    docs: Path
    clock: SharedClock

    def today(self) -> dt.date:
        """The consortium's day: the gateways' clock, which the maturity test moves."""
        return self.clock.today()

    def invoice(self, seller: str, number: str, amount: int, currency: str = "CNY") -> Invoice:
        return Invoice(
            seller, "91110000CORE00002", number, self.today().isoformat(), amount, currency
        )

    def cli(self, member: str, *args: str) -> Any:
        """``riskshare <args> --config <member>.toml``, as the member's operator runs it:
        its JSON when it prints JSON, else its text (``_harness.invoke``)."""
        return invoke(app, self.config(member), *args)

    def config(self, member: str) -> Path:
        return self.net.members[member].config_path

    def client(self, member: str) -> ScenarioClient:
        return ScenarioClient(self.net.members[member].data_dir / "admin.sock")

    def store(self, member: str) -> Store:
        return Store(self.net.member(member).data_dir / "ledger.sqlite", create=False)

    def heads(self) -> dict[str, tuple[int, bytes]]:
        out = {}
        for member in ["orderer", *MEMBERS]:
            with self.store(member) as store:
                head = store.head()
                assert head is not None
                out[member] = (head.height, head.hash)
        return out

    def settled(self) -> int:
        """Wait until every replica has the same head; return its height."""
        deadline = time.monotonic() + 30
        while len(set(self.heads().values())) != 1:
            assert time.monotonic() < deadline, self.heads()
            time.sleep(0.1)
        return next(iter(self.heads().values()))[0]

    def everywhere(self, machine: Any, object_id: str) -> Any:
        """The object as every replica holds it (they must agree)."""
        self.settled()
        seen = []
        for member in ["orderer", *MEMBERS]:
            with self.store(member) as store:
                seen.append(machine.get(store.state(), object_id))
        assert all(s == seen[0] for s in seen)
        return seen[0]

    def scenario_tables(self) -> list[dict[str, list[Any]]]:
        """Every scenario table on every replica (fingerprint receipts excluded)."""
        self.settled()
        out = []
        for member in ["orderer", *MEMBERS]:
            with self.store(member) as store:
                state = store.state()
                out.append({t: list(state.scan(t)) for t in sorted(SCENARIO_TABLES)})
        return out

    def refused(
        self, match: str, fn: Any, *args: Any, evaluates: bool = False, **kwargs: Any
    ) -> str:
        """``fn`` must fail with ``match`` in its message and change no scenario state on
        any replica. A flow that first has the registry evaluate fingerprints
        (``evaluates``) leaves that (metered) evaluation's receipt, and nothing else."""
        height = self.settled()
        before = self.scenario_tables()
        with pytest.raises((GatewayError, ScenarioError), match=match) as info:
            fn(*args, **kwargs)
        assert self.scenario_tables() == before
        if not evaluates:
            assert self.settled() == height
        return str(info.value)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root: Path = tmp_path_factory.mktemp("scenarios-e2e")
    # The registry is a member gateway named by the consortium's fpreg.registry parameter
    # (an observer runs no consortium port to serve evaluations from).
    net = create_local_consortium(root, MEMBERS, params={"fpreg.registry": "registry"})
    docs = root / "documents"
    docs.mkdir()
    (docs / "invoice.pdf").write_bytes(b"%PDF-1.7 invoice INV-0042 from the supplier")
    (docs / "contract.pdf").write_bytes(b"%PDF-1.7 purchase contract")
    # Every process lives on one wall clock the maturity test moves forward.
    clock = SharedClock(root / "clock")
    gateways = start_gateways(net, env=clock.env())
    running = Running(net, gateways, docs, clock)
    try:
        with running.client("registry") as client:
            public, _ = client.init_registry()
        assert len(public) == 32
        # Each member's gateway looks the registry key up in its own replica.
        running.settled()
        yield running
    finally:
        codes = stop_gateways(gateways)
        assert all(code == 0 for code in codes.values()), codes


def test_supply_chain_finance(run: Running) -> None:
    invoice = run.invoice("91310000MA1FL00001", "INV-0042", 100_000_000)
    maturity = (run.today() + days(120)).isoformat()
    documents = [run.docs / "invoice.pdf", run.docs / "contract.pdf"]
    issue = {
        "holder": "supplier",
        "face": 1_000_000_00,
        "maturity": maturity,
        "invoice": invoice,
        "doc_hash": documents,
    }
    issued = step(run.config("core"), "scf.issue", "CRRC-001", issue)
    assert issued.obj is not None and issued.obj.state == "DRAFT"
    # The same invoice cannot back a second certificate (the registry's fingerprint).
    run.refused(
        "already backs certificate 'CRRC-001'",
        step,
        run.config("core"),
        "scf.issue",
        "CRRC-002",
        {**issue, "face": 5_00, "invoice": dataclasses.replace(invoice, number="inv 0042")},
        evaluates=True,
    )
    assert run.everywhere(CERTIFICATES, "CRRC-002") is None

    step(run.config("supplier"), "scf.accept", "CRRC-001")
    step(run.config("supplier"), "scf.transfer", "CRRC-001", {"to": "bank-b", "amount": 300_000_00})
    # Wrong signer: the core enterprise does not hold the remainder.
    run.refused(
        "only the holder",
        step,
        run.config("core"),
        "scf.transfer",
        "CRRC-001.2",
        {"to": "bank-b", "amount": 1},
    )

    terms = {"financier": "bank-a", "rate_ppm": 43_500, "fee": 50_00}
    step(run.config("supplier"), "scf.apply_financing", "CRRC-001.2", terms)
    # Locked while financing is pending.
    run.refused(
        "FINANCING_PENDING",
        step,
        run.config("supplier"),
        "scf.transfer",
        "CRRC-001.2",
        {"to": "bank-b", "amount": 1},
    )
    financed = step(
        run.config("bank-a"), "scf.approve_financing", "CRRC-001.2", {"bank_ref": "PAY-7781"}
    )
    assert financed.obj is not None and financed.obj.parties["holder"] == "bank-a"
    term = (
        dt.date.fromisoformat(maturity)
        - dt.date.fromisoformat(financed.obj.attrs["financing"]["on"])
    ).days
    assert (
        financed.obj.attrs["financing"]["proceeds"]
        == price(700_000_00, 43_500, term, 50_00).proceeds
    )
    # Financed once.
    run.refused(
        "FINANCED",
        step,
        run.config("bank-a"),
        "scf.apply_financing",
        "CRRC-001.2",
        {**terms, "financier": "bank-b"},
    )

    # Redemption before maturity: the paying bank's own replica refuses to co-sign.
    pay = {"paying_bank": "bank-b", "amount": 700_000_00, "bank_ref": "R-1"}
    with run.client("bank-b") as client:
        client.authorize("scf.redeem", "CRRC-001.2", pay)
    run.refused(
        "bank-b refused: at_or_after_maturity",
        step,
        run.config("core"),
        "scf.redeem",
        "CRRC-001.2",
        pay,
        ["bank-b"],
    )

    cert = run.everywhere(CERTIFICATES, "CRRC-001.2")
    assert (cert.state, cert.version) == ("FINANCED", 3)
    with run.store("supplier") as store:
        supply = SUPPLY.audit(store.state(), "CRRC-001")
    assert (supply["issued"], supply["live"], supply["redeemed"]) == (1_000_000_00,) * 2 + (0,)


def test_trade_finance_duplicates_across_banks(run: Running) -> None:
    trade = Invoice(
        "91440300EXPORT0003",
        "SG-IMPORTER-77",
        "EX 2025/118",
        run.today().isoformat(),
        25_000_000,
        "USD",
    )
    expires = (run.today() + days(30)).isoformat()
    documents = [run.docs / "invoice.pdf"]
    register = {"invoice": trade, "expires_on": expires, "doc_hash": documents}
    first = step(run.config("bank-a"), "tf.register", "A-1", register)
    assert first.obj is not None and first.obj.state == "REGISTERED"
    # bank-b holds the same invoice, typed its own way: flagged, and both banks see it.
    retyped = dataclasses.replace(trade, seller="91440300 export 0003", number="EX-2025-118")
    second = step(run.config("bank-b"), "tf.register", "B-1", {**register, "invoice": retyped})
    assert second.obj is not None and second.obj.state == "DUPLICATE_FLAGGED"
    alert = run.everywhere(ALERTS, "B-1~A-1")
    assert alert.parties == {"first": "bank-a", "second": "bank-b"}
    assert (alert.attrs["match"], alert.attrs["existing_status"]) == ("exact", "REGISTERED")
    run.refused(
        "DUPLICATE_FLAGGED",
        step,
        run.config("bank-b"),
        "tf.confirm_disbursement",
        "B-1",
        {"disbursed_on": run.today().isoformat(), "bank_ref": "D"},
    )
    # An altered copy (another amount) only partly matches: alerted, not blocked.
    altered = dataclasses.replace(trade, amount=26_000_000)
    third = step(run.config("bank-b"), "tf.register", "B-2", {**register, "invoice": altered})
    assert third.obj is not None and third.obj.state == "REGISTERED"
    assert run.everywhere(ALERTS, "B-2~A-1").attrs["match"] == "similar"

    step(
        run.config("bank-a"),
        "tf.confirm_disbursement",
        "A-1",
        {"disbursed_on": run.today().isoformat(), "bank_ref": "D-1"},
    )
    run.refused(
        "only the financier",
        step,
        run.config("bank-b"),
        "tf.confirm_settlement",
        "A-1",
        {"settled_on": run.today().isoformat(), "bank_ref": "S"},
    )

    # Resolving needs both banks; bank-a has not authorised it yet.
    run.refused(
        "bank-a has not authorised",
        step,
        run.config("bank-b"),
        "tf.resolve_alert",
        "B-1~A-1",
        {"outcome": "withdraw"},
        ["bank-a"],
    )
    with run.client("bank-a") as client:
        client.authorize("tf.resolve_alert", "B-1~A-1", {"outcome": "withdraw"})
    resolved = step(
        run.config("bank-b"), "tf.resolve_alert", "B-1~A-1", {"outcome": "withdraw"}, ["bank-a"]
    )
    assert resolved.signers == ("bank-a", "bank-b")
    assert run.everywhere(REGISTRATIONS, "B-1").state == "WITHDRAWN"


def test_the_cli_against_the_running_gateways(run: Running) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["tf", "alerts", "--open", "--config", str(run.config("bank-b"))])
    assert result.exit_code == 0, result.output
    assert {a["alert"] for a in json.loads(result.output)} == {"B-2~A-1"}
    result = runner.invoke(
        app, ["scf", "show", "CRRC-001.2", "--config", str(run.config("bank-a"))]
    )
    shown = json.loads(result.output)
    assert shown["state"] == "FINANCED" and shown["root_supply"]["live"] == 1_000_000_00
    assert [e["transition"] for e in shown["events"]] == [
        "transfer",
        "apply_financing",
        "approve_financing",
    ]
    result = runner.invoke(app, ["tf", "withdraw", "B-2", "--config", str(run.config("bank-b"))])
    assert result.exit_code == 0 and result.output.startswith("B-2  WITHDRAWN  v2"), result.output
    # A refused step through the real entry point: one line on stderr, exit code 2.
    entry = "import sys; from cli import main; sys.argv[0] = 'riskshare'; main()"
    argv = ["scf", "transfer", "CRRC-001.1", "--to", "core", "--amount", "1"]
    proc = subprocess.run(
        [sys.executable, "-c", entry, *argv, "--config", str(run.config("supplier"))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "only the holder" in proc.stderr and proc.stdout == ""


def issue_args(
    run: Running, cert: str, face: str, maturity: dt.date, invoice: Invoice
) -> list[str]:
    """``riskshare scf issue`` to the supplier, backed by ``invoice``."""
    return [
        "scf",
        "issue",
        cert,
        "--holder",
        "supplier",
        "--face",
        face,
        "--maturity",
        maturity.isoformat(),
        "--seller",
        invoice.seller,
        "--buyer",
        invoice.buyer,
        "--invoice-number",
        invoice.number,
        "--invoice-date",
        invoice.issued_on,
        "--doc",
        str(run.docs / "invoice.pdf"),
        "--json",
    ]


def register_args(run: Running, reg: str, invoice: Invoice, expires: dt.date) -> list[str]:
    """``riskshare tf register`` of ``invoice``."""
    return [
        "tf",
        "register",
        reg,
        "--seller",
        invoice.seller,
        "--buyer",
        invoice.buyer,
        "--invoice-number",
        invoice.number,
        "--invoice-date",
        invoice.issued_on,
        "--amount",
        format_minor(invoice.amount),
        "--currency",
        invoice.currency,
        "--expires",
        expires.isoformat(),
        "--doc",
        str(run.docs / "invoice.pdf"),
        "--json",
    ]


def obj(reply: dict[str, Any]) -> dict[str, Any]:
    """The object a ``--json`` step printed."""
    out: dict[str, Any] = reply["object"]
    return out


def test_scf_cancel_transfer_reject_and_split_through_the_cli(run: Running) -> None:
    maturity = run.today() + days(60)
    seller = "91340000REJECT0006"
    first = run.invoice(seller, "INV-0201", 200_000_00)
    second = run.invoice(seller, "INV-0202", 80_000_00)
    run.cli("core", *issue_args(run, "R-1", "200,000.00", maturity, first))
    run.cli("core", *issue_args(run, "R-2", "80,000.00", maturity, second))

    # Cancel: only the issuer, only before acceptance; the face is voided, the invoice freed.
    run.refused("only the issuer", run.cli, "supplier", "scf", "cancel", "R-2")
    cancelled = obj(run.cli("core", "scf", "cancel", "R-2", "--json"))
    assert cancelled["state"] == "CANCELLED"
    run.refused("CANCELLED", run.cli, "supplier", "scf", "accept", "R-2")
    assert run.cli("core", "scf", "show", "R-2")["root_supply"] == {
        "issued": 80_000_00,
        "live": 0,
        "redeemed": 0,
        "voided": 80_000_00,
    }
    reissued = run.cli("core", *issue_args(run, "R-3", "80,000.00", maturity, second))
    assert obj(reissued)["state"] == "DRAFT"

    run.cli("supplier", "scf", "accept", "R-1")
    moved = run.cli(
        "supplier", "scf", "transfer", "R-1", "--to", "bank-b", "--amount", "50,000.00", "--json"
    )
    assert obj(moved)["state"] == "SPLIT" and obj(moved)["attrs"]["children"] == ["R-1.1", "R-1.2"]
    assert run.everywhere(CERTIFICATES, "R-1.1").parties["holder"] == "bank-b"
    assert run.everywhere(CERTIFICATES, "R-1.2").attrs["face"] == 150_000_00

    # Financing applied for, then rejected by the financier (and by nobody else).
    run.cli(
        "supplier",
        "scf",
        "apply-financing",
        "R-1.2",
        "--financier",
        "bank-a",
        "--rate",
        "4.35%",
        "--fee",
        "10.00",
    )
    run.refused("only the financier", run.cli, "bank-b", "scf", "reject-financing", "R-1.2")
    rejected = obj(run.cli("bank-a", "scf", "reject-financing", "R-1.2", "--json"))
    assert rejected["state"] == "ACTIVE" and rejected["parties"] == {
        "issuer": "core",
        "holder": "supplier",
    }
    assert "terms" not in rejected["attrs"]
    # Unlocked: the holder splits it; parts that do not sum to the face are refused.
    run.refused(
        "parts sum to 300, not the face amount 15000000",
        run.cli,
        "supplier",
        "scf",
        "split",
        "R-1.2",
        "--amounts",
        "1.00;2.00",
    )
    split = obj(
        run.cli("supplier", "scf", "split", "R-1.2", "--amounts", "100,000.00;50,000.00", "--json")
    )
    assert split["attrs"]["children"] == ["R-1.3", "R-1.4"]
    # bank-a reads its own replica: wait until the supplier's split block reached it.
    run.settled()
    shown = run.cli("bank-a", "scf", "show", "R-1.2")
    assert [e["transition"] for e in shown["events"]] == [
        "transfer",
        "apply_financing",
        "reject_financing",
        "split",
    ]
    assert shown["root_supply"] == {
        "issued": 200_000_00,
        "live": 200_000_00,
        "redeemed": 0,
        "voided": 0,
    }


def test_tf_disburse_settle_clear_and_archive_through_the_cli(run: Running) -> None:
    invoice = run.invoice("91350000SETTLE0007", "INV-0401", 64_000_00, "USD")
    expires = run.today() + days(20)
    today = run.today().isoformat()
    assert obj(run.cli("bank-a", *register_args(run, "S-A", invoice, expires)))["state"] == (
        "REGISTERED"
    )
    flagged = run.cli("bank-b", *register_args(run, "S-B", invoice, expires))
    assert obj(flagged)["state"] == "DUPLICATE_FLAGGED"
    run.cli("bank-a", "tf", "disburse", "S-A", "--on", today, "--bank-ref", "D-1")

    # Clearing is refused (by bank-a's own replica) while S-A holds the invoice.
    run.cli("bank-a", "tf", "authorize", "S-B~S-A", "--outcome", "clear")
    run.refused(
        "bank-a refused: .*still held by active registration 'S-A'",
        run.cli,
        "bank-b",
        "tf",
        "resolve",
        "S-B~S-A",
        "--outcome",
        "clear",
        # Asked even though bank-b's own replica would refuse: bank-a's refuses too.
        "--cosigner",
        "bank-a",
    )
    run.refused("FINANCED", run.cli, "bank-a", "tf", "archive", "S-A")
    run.refused(
        "only the financier",
        run.cli,
        "bank-b",
        "tf",
        "settle",
        "S-A",
        "--on",
        today,
        "--bank-ref",
        "S-9",
    )
    settled = run.cli("bank-a", "tf", "settle", "S-A", "--on", today, "--bank-ref", "S-1", "--json")
    assert obj(settled)["state"] == "SETTLED"
    assert obj(settled)["attrs"]["settlement_ref"] == "S-1"

    # Repaid: the duplicate is a legitimate re-financing, cleared by both banks.
    cleared = run.cli("bank-b", "tf", "resolve", "S-B~S-A", "--outcome", "clear", "--json")
    assert cleared["signers"] == ["bank-a", "bank-b"]
    assert obj(cleared)["state"] == "CLEARED"
    assert run.everywhere(REGISTRATIONS, "S-B").state == "REGISTERED"
    archived = obj(run.cli("bank-a", "tf", "archive", "S-A", "--json"))
    assert archived["state"] == "ARCHIVED"
    refinanced = run.cli(
        "bank-b", "tf", "disburse", "S-B", "--on", today, "--bank-ref", "D-2", "--json"
    )
    assert obj(refinanced)["state"] == "FINANCED"
    alerts = {a["alert"]: a for a in run.cli("bank-b", "tf", "alerts")}
    assert alerts["S-B~S-A"]["state"] == "CLEARED"
    shown = run.cli("bank-b", "tf", "show", "S-B")
    assert [e["transition"] for e in shown["events"]] == [
        "register",
        "resolve_alert",
        "confirm_disbursement",
    ]


def test_one_invoice_is_financed_once_across_scenarios(run: Running) -> None:
    behind = run.invoice("91330000CROSS00005", "INV-0501", 120_000_00)
    maturity = run.today() + days(90)
    run.cli("core", *issue_args(run, "X-1", "120,000.00", maturity, behind))
    # bank-a's trade-finance registry sees the certificate's invoice: flagged, and the
    # core enterprise (who registered it) is the alert's first party.
    flagged = run.cli("bank-a", *register_args(run, "A-9", behind, run.today() + days(30)))
    assert obj(flagged)["state"] == "DUPLICATE_FLAGGED"
    alert = run.everywhere(ALERTS, "A-9~scf:X-1")
    assert alert.parties == {"first": "core", "second": "bank-a"}
    assert (alert.attrs["match"], alert.attrs["existing_status"]) == ("exact", "DRAFT")
    checked = run.cli(
        "bank-a",
        "tf",
        "check",
        "--seller",
        behind.seller,
        "--buyer",
        behind.buyer,
        "--invoice-number",
        behind.number,
        "--invoice-date",
        behind.issued_on,
        "--amount",
        "120,000.00",
    )
    assert checked["duplicate_of"] == [
        {"registration": "scf:X-1", "financier": "core", "status": "DRAFT"}
    ]
    # Clearing needs the invoice free; withdrawing needs both parties, across scenarios.
    run.cli("core", "tf", "authorize", "A-9~scf:X-1", "--outcome", "withdraw")
    run.refused(
        "still held by active registration 'scf:X-1'",
        run.cli,
        "bank-a",
        "tf",
        "resolve",
        "A-9~scf:X-1",
        "--outcome",
        "clear",
    )
    resolved = run.cli("bank-a", "tf", "resolve", "A-9~scf:X-1", "--outcome", "withdraw", "--json")
    assert resolved["signers"] == ["bank-a", "core"]
    assert run.everywhere(REGISTRATIONS, "A-9").state == "WITHDRAWN"

    # The other way: an invoice a bank registered cannot back a certificate.
    registered = run.invoice("91330000CROSS00005", "INV-0502", 80_000_00)
    run.cli("bank-b", *register_args(run, "B-9", registered, run.today() + days(30)))
    run.refused(
        "the invoice is already registered as 'tf:B-9' by bank-b \\(REGISTERED\\)",
        run.cli,
        "core",
        *issue_args(run, "X-2", "80,000.00", maturity, registered),
        evaluates=True,
    )
    assert run.everywhere(CERTIFICATES, "X-2") is None


def test_maturity_due_redeem_overdue_and_lapse_on_a_moved_clock(run: Running) -> None:
    day0 = run.today()
    maturity = day0 + days(1)
    invoice = run.invoice("91320000MATURE0004", "INV-0301", 900_000_00)
    issued = run.cli("core", *issue_args(run, "M-1", "900,000.00", maturity, invoice))
    assert obj(issued)["state"] == "DRAFT"
    run.cli("supplier", "scf", "accept", "M-1", "--json")
    split = run.cli(
        "supplier", "scf", "split", "M-1", "--amounts", "300,000.00;300,000.00;300,000.00", "--json"
    )
    assert obj(split)["attrs"]["children"] == ["M-1.1", "M-1.2", "M-1.3"]
    run.cli(
        "supplier", "scf", "apply-financing", "M-1.2", "--financier", "bank-a", "--rate", "3.65%"
    )
    financed = obj(
        run.cli("bank-a", "scf", "approve-financing", "M-1.2", "--bank-ref", "P-9", "--json")
    )
    assert financed["parties"]["holder"] == "bank-a"
    assert financed["attrs"]["financing"]["proceeds"] == price(300_000_00, 36_500, 1, 0).proceeds
    lapsing = run.invoice("91320000MATURE0004", "INV-0302", 42_000_00)
    registered = run.cli("bank-b", *register_args(run, "L-1", lapsing, day0))
    assert obj(registered)["state"] == "REGISTERED"

    # Before maturity: not due, not overdue, not redeemable; the registration not expired.
    run.refused("has not reached maturity", run.cli, "bank-b", "scf", "mark-due", "M-1.1")
    run.refused("overdue only from the day after", run.cli, "core", "scf", "mark-overdue", "M-1.1")
    pay = ["--paying-bank", "bank-b", "--bank-ref"]
    run.cli("bank-b", "scf", "authorize", "redeem", "M-1.2", *pay, "R-1")
    run.refused(
        "bank-b refused: at_or_after_maturity",
        run.cli,
        "core",
        "scf",
        "redeem",
        "M-1.2",
        "--paying-bank",
        "bank-b",
        "--bank-ref",
        "R-1",
        # Asked even though core's own replica would refuse: the bank's refuses too.
        "--cosigner",
        "bank-b",
    )
    run.refused("has not expired", run.cli, "bank-a", "tf", "lapse", "L-1")

    # The maturity day, on every process's clock at once.
    run.clock.advance(1)
    due = obj(run.cli("bank-b", "scf", "mark-due", "M-1.1", "--json"))
    assert due["state"] == "DUE" and due["parties"]["holder"] == "supplier"
    run.refused(
        "at or past maturity",
        run.cli,
        "supplier",
        "scf",
        "transfer",
        "M-1.3",
        "--to",
        "bank-b",
        "--amount",
        "1",
    )
    run.refused("overdue only from the day after", run.cli, "core", "scf", "mark-overdue", "M-1.3")
    # The paying bank's own replica now agrees: it approves this redemption, and
    # it co-signs that one only: an approval covers one transaction's exact digest.
    run.cli("bank-b", "scf", "authorize", "redeem", "M-1.2", *pay, "R-2")
    run.refused(
        "bank-b authorised scf.redeem on M-1.2 for another transaction",
        run.cli,
        "core",
        *("scf", "redeem", "M-1.2", *pay, "R-9"),
    )
    redeemed = run.cli(
        "core", "scf", "redeem", "M-1.2", "--paying-bank", "bank-b", "--bank-ref", "R-2", "--json"
    )
    assert redeemed["signers"] == ["bank-b", "core"]
    assert obj(redeemed)["state"] == "REDEEMED"
    assert obj(redeemed)["attrs"]["redemption"] == {
        "paid": 300_000_00,
        "paid_to": "bank-a",
        "on": maturity.isoformat(),
        "bank_ref": "R-2",
    }
    lapsed = obj(run.cli("bank-a", "tf", "lapse", "L-1", "--json"))
    assert lapsed["state"] == "LAPSED" and lapsed["parties"] == {"financier": "bank-b"}

    # The day after maturity: nothing moves the certificate but overdue and redemption.
    run.clock.advance(1)
    for args in (
        ["transfer", "M-1.3", "--to", "bank-b", "--amount", "1"],
        ["split", "M-1.3", "--amounts", "100,000.00;200,000.00"],
        ["apply-financing", "M-1.3", "--financier", "bank-a", "--rate", "3%"],
    ):
        detail = run.refused("at or past maturity", run.cli, "supplier", "scf", *args)
        assert (
            detail == "FAILED_PRECONDITION: before_maturity: the certificate is at or past maturity"
        )
    for cert in ("M-1.3", "M-1.1"):
        overdue = obj(run.cli("core", "scf", "mark-overdue", cert, "--json"))
        assert overdue["state"] == "OVERDUE" and overdue["parties"]["holder"] == "supplier"
    run.cli("bank-b", "scf", "authorize", "redeem", "M-1.1", *pay, "R-3")
    late = run.cli(
        "core", "scf", "redeem", "M-1.1", "--paying-bank", "bank-b", "--bank-ref", "R-3", "--json"
    )
    assert obj(late)["state"] == "REDEEMED"
    assert obj(late)["attrs"]["redemption"]["on"] == (maturity + days(1)).isoformat()

    for cert, state in (("M-1.1", "REDEEMED"), ("M-1.2", "REDEEMED"), ("M-1.3", "OVERDUE")):
        assert run.everywhere(CERTIFICATES, cert).state == state
    shown = run.cli("supplier", "scf", "show", "M-1.3")
    assert [e["transition"] for e in shown["events"]] == ["split", "mark_overdue"]
    assert shown["root_supply"] == {
        "issued": 900_000_00,
        "live": 300_000_00,
        "redeemed": 600_000_00,
        "voided": 0,
    }


def test_every_replica_agrees_and_no_invoice_field_is_on_the_ledger(run: Running) -> None:
    run.settled()
    secrets = [
        b"INV-0042",
        b"INV0042",
        b"91310000MA1FL00001",
        b"EX 2025/118",
        b"91440300EXPORT0003",
        b"SG-IMPORTER-77",
    ]
    for member in ["orderer", *MEMBERS]:
        data = (run.net.member(member).data_dir / "ledger.sqlite").read_bytes()
        for secret in secrets:
            assert secret not in data, (member, secret)
