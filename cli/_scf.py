"""``riskshare scf``: supply-chain finance: receivable certificates (SCENARIOS.md §3).

Every command goes through the member's own gateway (its admin socket), which collects
co-signatures from the other gateways, has the registry fingerprint the invoice, and
submits the step to the ledger; ``show`` and ``quote`` read locally. This hand-written
group replaces the generic one ``cli._scenario`` would make from the scenario's machines
(issuing needs the invoice fingerprinted; amounts are typed in currency units).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cli._scenario import ConfigOption, JsonOption, echo_step, run_demo

__all__ = ["app", "invoice_of"]

app = typer.Typer(help="Supply-chain finance: receivable certificates.", no_args_is_help=True)

Cert = Annotated[str, typer.Argument(help="Certificate id (a root, or a child like C1.2).")]
_DEFAULT = Path("member.toml")


def invoice_of(seller: str, buyer: str, number: str, date: str, amount: str, currency: str) -> Any:
    from scenarios.kit import Invoice, parse_minor

    return Invoice(seller, buyer, number, date, parse_minor(amount), currency)


def _step(
    config: Path,
    name: str,
    cert: str,
    payload: dict[str, Any],
    as_json: bool,
    cosigners: list[str] | None = None,
) -> None:
    from gateway._scenario_client import step

    echo_step(step(config, f"scf.{name}", cert, payload, cosigners or []), as_json)


@app.command("issue")
def issue_cmd(
    cert: Cert,
    holder: Annotated[str, typer.Option(help="The supplier the certificate is issued to.")],
    face: Annotated[str, typer.Option(help="Face amount, e.g. 1,000,000.00.")],
    maturity: Annotated[str, typer.Option(help="Maturity date YYYY-MM-DD (at most a year).")],
    seller: Annotated[str, typer.Option(help="Invoice seller id (tax id / USCC).")],
    buyer: Annotated[str, typer.Option(help="Invoice buyer id.")],
    invoice_number: Annotated[str, typer.Option(help="Invoice number.")],
    invoice_date: Annotated[str, typer.Option(help="Invoice date YYYY-MM-DD.")],
    doc: Annotated[list[Path], typer.Option(help="A trade document to hash (repeatable).")],
    invoice_amount: Annotated[
        str | None, typer.Option(help="Invoice amount (default: face).")
    ] = None,
    currency: Annotated[str, typer.Option(help="ISO 4217 currency.")] = "CNY",
    config: ConfigOption = _DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Issue a receivable certificate (DRAFT until the supplier accepts); the invoice is
    fingerprinted by the registry, so it cannot back a second certificate.

    Example:

    \b
    riskshare scf issue C1 --holder supplier --face 1000000.00
      --maturity 2025-07-06 --seller 91310000MA1FL00001
      --buyer 91110000CORE00002 --invoice-number INV-42
      --invoice-date 2025-01-02 --doc invoice.pdf
    """
    from gateway._scenario_client import scf_issue
    from scenarios.kit import parse_minor

    invoice = invoice_of(
        seller, buyer, invoice_number, invoice_date, invoice_amount or face, currency
    )
    result = scf_issue(
        config,
        cert,
        holder=holder,
        face=parse_minor(face),
        maturity=maturity,
        invoice=invoice,
        documents=doc,
    )
    echo_step(result, as_json)


@app.command("accept")
def accept_cmd(cert: Cert, config: ConfigOption = _DEFAULT, as_json: JsonOption = False) -> None:
    """Accept a certificate issued to you (DRAFT → ACTIVE).

    Example: riskshare scf accept C1
    """
    _step(config, "accept", cert, {}, as_json)


@app.command("cancel")
def cancel_cmd(cert: Cert, config: ConfigOption = _DEFAULT, as_json: JsonOption = False) -> None:
    """Cancel a certificate you issued that was not accepted yet.

    Example: riskshare scf cancel C1
    """
    _step(config, "cancel", cert, {}, as_json)


@app.command("split")
def split_cmd(
    cert: Cert,
    amounts: Annotated[str, typer.Option(help="Parts summing to the face, e.g. 100.00;200.00.")],
    config: ConfigOption = _DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Split a certificate you hold into parts (all yours).

    Example: riskshare scf split C1 --amounts "400000.00;600000.00"
    """
    from scenarios.kit import parse_minor

    _step(config, "split", cert, {"amounts": [parse_minor(a) for a in amounts.split(";")]}, as_json)


@app.command("transfer")
def transfer_cmd(
    cert: Cert,
    to: Annotated[str, typer.Option(help="The member receiving the part.")],
    amount: Annotated[str, typer.Option(help="Amount to transfer (≤ face).")],
    config: ConfigOption = _DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Transfer part or all of a certificate you hold; the remainder stays yours.

    Example: riskshare scf transfer C1 --to sub-supplier --amount 300000.00
    """
    from scenarios.kit import parse_minor

    _step(config, "transfer", cert, {"to": to, "amount": parse_minor(amount)}, as_json)


@app.command("apply-financing")
def apply_financing_cmd(
    cert: Cert,
    financier: Annotated[str, typer.Option(help="The bank or factor asked to finance.")],
    rate: Annotated[str, typer.Option(help="Annual discount rate, e.g. 4.35%.")],
    fee: Annotated[str, typer.Option(help="Fee in currency units.")] = "0",
    config: ConfigOption = _DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Apply for non-recourse financing; the certificate is locked until decided.

    Example: riskshare scf apply-financing C1.2 --financier bank-a --rate 4.35% --fee 50.00
    """
    from scenarios.kit import parse_minor, parse_rate_ppm

    payload = {"financier": financier, "rate_ppm": parse_rate_ppm(rate), "fee": parse_minor(fee)}
    _step(config, "apply_financing", cert, payload, as_json)


@app.command("approve-financing")
def approve_financing_cmd(
    cert: Cert,
    bank_ref: Annotated[str, typer.Option(help="Reference of the proceeds payment.")],
    config: ConfigOption = _DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Approve a financing you were asked for: you become the holder; proceeds are
    face × (1 − r × days/360) − fee, exact in minor units.

    Example: riskshare scf approve-financing C1.2 --bank-ref PAY-7781
    """
    _step(config, "approve_financing", cert, {"bank_ref": bank_ref}, as_json)


@app.command("reject-financing")
def reject_financing_cmd(
    cert: Cert, config: ConfigOption = _DEFAULT, as_json: JsonOption = False
) -> None:
    """Reject a financing you were asked for (the certificate is unlocked).

    Example: riskshare scf reject-financing C1.2
    """
    _step(config, "reject_financing", cert, {}, as_json)


@app.command("mark-due")
def mark_due_cmd(cert: Cert, config: ConfigOption = _DEFAULT, as_json: JsonOption = False) -> None:
    """Mark a certificate due (from its maturity day; anyone may).

    Example: riskshare scf mark-due C1.2
    """
    _step(config, "mark_due", cert, {}, as_json)


@app.command("mark-overdue")
def mark_overdue_cmd(
    cert: Cert, config: ConfigOption = _DEFAULT, as_json: JsonOption = False
) -> None:
    """Mark an unpaid certificate overdue (from the day after maturity; anyone may).

    Example: riskshare scf mark-overdue C1.2
    """
    _step(config, "mark_overdue", cert, {}, as_json)


@app.command("redeem")
def redeem_cmd(
    cert: Cert,
    paying_bank: Annotated[str, typer.Option(help="The bank paying the holder; it co-signs.")],
    bank_ref: Annotated[str, typer.Option(help="Reference of the payment.")],
    config: ConfigOption = _DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Redeem a certificate you issued for its face amount, at or after maturity; the
    paying bank's gateway co-signs once its operator authorised it.

    Example: riskshare scf redeem C1.2 --paying-bank bank-b --bank-ref R-1
    """
    from gateway._scenario_client import scf_redeem

    echo_step(scf_redeem(config, cert, paying_bank=paying_bank, bank_ref=bank_ref), as_json)


@app.command("authorize")
def authorize_cmd(
    action: Annotated[str, typer.Argument(help="The step to co-sign, e.g. redeem.")],
    cert: Cert,
    ttl: Annotated[int, typer.Option(help="Seconds the authorisation lasts.")] = 3600,
    config: ConfigOption = _DEFAULT,
) -> None:
    """Authorise your gateway to co-sign one kind of step on one certificate.

    Example: riskshare scf authorize redeem C1.2 --ttl 600
    """
    from gateway._scenario_client import ScenarioClient

    with ScenarioClient.from_config(config) as client:
        expires = client.authorize(f"scf.{action.replace('-', '_')}", cert, ttl)
    typer.echo(f"authorised scf.{action} on {cert} until {expires} (ms since epoch)")


@app.command("show")
def show_cmd(cert: Cert, config: ConfigOption = _DEFAULT) -> None:
    """Show a certificate, its event log and its root's conservation check (JSON).

    Example: riskshare scf show C1.2
    """
    from gateway._scenario_client import load_object

    typer.echo(json.dumps(load_object(config, "scf", cert), indent=2, sort_keys=True))


@app.command("quote")
def quote_cmd(
    face: Annotated[str, typer.Option(help="Face amount.")],
    rate: Annotated[str, typer.Option(help="Annual discount rate, e.g. 4.35%.")],
    days: Annotated[int, typer.Option(help="Days to maturity.")],
    fee: Annotated[str, typer.Option(help="Fee.")] = "0",
) -> None:
    """Compute financing proceeds exactly, as approve-financing will.

    Example: riskshare scf quote --face 100000.00 --rate 4.35% --days 120 --fee 50.00
    """
    from scenarios.kit import format_minor, parse_minor, parse_rate_ppm
    from scenarios.scf import price

    p = price(parse_minor(face), parse_rate_ppm(rate), days, parse_minor(fee))
    typer.echo(f"discount {format_minor(p.discount)}  fee {format_minor(p.fee)}")
    typer.echo(f"proceeds {format_minor(p.proceeds)}")


@app.command("demo")
def demo_cmd(as_json: JsonOption = False) -> None:
    """Run the supply-chain finance flow across a local consortium of gateway processes.

    Example: riskshare scf demo
    """
    run_demo("scf", as_json)
