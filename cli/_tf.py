"""``riskshare tf``: trade finance: the financing registry (SCENARIOS.md §7).

Register an invoice before disbursing against it; the registry's OPRF fingerprints
let every bank see a duplicate without anyone seeing the invoice. Every command goes
through the member's own gateway; ``alerts`` and ``show`` read the local replica. This
hand-written group replaces the generic one ``cli._scenario`` would make.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cli._scenario import ConfigOption, JsonOption, echo_step, run_demo
from cli._scf import invoice_of

__all__ = ["app"]

app = typer.Typer(help="Trade finance: the financing registry.", no_args_is_help=True)

Reg = Annotated[str, typer.Argument(help="Registration id.")]
_DEFAULT = Path("member.toml")
Seller = Annotated[str, typer.Option(help="Invoice seller id (tax id / USCC).")]
Buyer = Annotated[str, typer.Option(help="Invoice buyer id.")]
Number = Annotated[str, typer.Option(help="Invoice number.")]
InvoiceDate = Annotated[str, typer.Option(help="Invoice date YYYY-MM-DD.")]
Amount = Annotated[str, typer.Option(help="Invoice amount, e.g. 250,000.00.")]
Currency = Annotated[str, typer.Option(help="ISO 4217 currency.")]
BillOfLading = Annotated[
    list[str] | None,
    typer.Option("--bl", help="A bill of lading CARRIER:NUMBER in the set (repeatable)."),
]


def _others(bls: list[str] | None) -> list[Any]:
    from scenarios.kit import Document

    out = []
    for bl in bls or []:
        carrier, sep, number = bl.partition(":")
        if not sep:
            raise typer.BadParameter("--bl takes CARRIER:NUMBER")
        out.append(Document("bill_of_lading", carrier, number))
    return out


def _step(config: Path, name: str, reg: str, payload: dict[str, Any], as_json: bool) -> None:
    from gateway._scenario_client import step

    echo_step(step(config, f"tf.{name}", reg, payload), as_json)


@app.command("registry-init")
def registry_init_cmd(config: ConfigOption = _DEFAULT) -> None:
    """On the registry member: create the fingerprint OPRF key and commit it.

    Example: riskshare tf registry-init --config registry.toml
    """
    from gateway._scenario_client import ScenarioClient

    with ScenarioClient.from_config(config) as client:
        public, kid = client.init_registry()
    typer.echo(f"registry key {kid.hex()[:16]} committed (public {public.hex()})")


@app.command("register")
def register_cmd(
    reg: Reg,
    seller: Seller,
    buyer: Buyer,
    invoice_number: Number,
    invoice_date: InvoiceDate,
    amount: Amount,
    expires: Annotated[str, typer.Option(help="Expiry YYYY-MM-DD if not disbursed by then.")],
    doc: Annotated[list[Path], typer.Option(help="A document of the set to hash (repeatable).")],
    currency: Currency = "CNY",
    bl: BillOfLading = None,
    config: ConfigOption = _DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Register an invoice (and its bills of lading) before disbursing against it. An
    exact duplicate of an active registration is flagged to both banks; a partial match
    raises a review alert and never blocks.

    Example:

    \b
    riskshare tf register A-1 --seller 91440300EXPORT0003 --buyer SG-77
      --invoice-number "EX 2025/118" --invoice-date 2025-01-02
      --amount 250000.00 --currency USD --expires 2025-02-01 --doc inv.pdf
    """
    from gateway._scenario_client import tf_register

    invoice = invoice_of(seller, buyer, invoice_number, invoice_date, amount, currency)
    result = tf_register(
        config, reg, invoice=invoice, others=_others(bl), expires_on=expires, documents=doc
    )
    echo_step(result, as_json)


@app.command("check")
def check_cmd(
    seller: Seller,
    buyer: Buyer,
    invoice_number: Number,
    invoice_date: InvoiceDate,
    amount: Amount,
    currency: Currency = "CNY",
    bl: BillOfLading = None,
    config: ConfigOption = _DEFAULT,
) -> None:
    """Pre-check an invoice: which registrations hold it exactly or partly (one metered
    registry evaluation; nothing is registered).

    Example:

    \b
    riskshare tf check --seller 91440300EXPORT0003 --buyer SG-77
      --invoice-number "EX 2025/118" --invoice-date 2025-01-02 --amount 250000.00
    """
    from gateway._scenario_client import tf_check

    invoice = invoice_of(seller, buyer, invoice_number, invoice_date, amount, currency)
    typer.echo(json.dumps(tf_check(config, invoice, _others(bl)), indent=2))


@app.command("disburse")
def disburse_cmd(
    reg: Reg,
    on: Annotated[str, typer.Option(help="Disbursement date YYYY-MM-DD.")],
    bank_ref: Annotated[str, typer.Option(help="Payment reference.")],
    config: ConfigOption = _DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Confirm the disbursement against a registration of yours (REGISTERED → FINANCED).

    Example: riskshare tf disburse A-1 --on 2025-01-06 --bank-ref D-1
    """
    _step(config, "confirm_disbursement", reg, {"disbursed_on": on, "bank_ref": bank_ref}, as_json)


@app.command("settle")
def settle_cmd(
    reg: Reg,
    on: Annotated[str, typer.Option(help="Settlement date YYYY-MM-DD.")],
    bank_ref: Annotated[str, typer.Option(help="Repayment reference.")],
    config: ConfigOption = _DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Confirm repayment (FINANCED → SETTLED); the fingerprints are released.

    Example: riskshare tf settle A-1 --on 2025-03-01 --bank-ref S-1
    """
    _step(config, "confirm_settlement", reg, {"settled_on": on, "bank_ref": bank_ref}, as_json)


@app.command("archive")
def archive_cmd(reg: Reg, config: ConfigOption = _DEFAULT, as_json: JsonOption = False) -> None:
    """Archive a settled registration of yours.

    Example: riskshare tf archive A-1
    """
    _step(config, "archive", reg, {}, as_json)


@app.command("withdraw")
def withdraw_cmd(reg: Reg, config: ConfigOption = _DEFAULT, as_json: JsonOption = False) -> None:
    """Withdraw a registration of yours that was not disbursed.

    Example: riskshare tf withdraw B-1
    """
    _step(config, "withdraw", reg, {}, as_json)


@app.command("lapse")
def lapse_cmd(reg: Reg, config: ConfigOption = _DEFAULT, as_json: JsonOption = False) -> None:
    """Lapse a registration past its expiry that was never disbursed (anyone may).

    Example: riskshare tf lapse A-1
    """
    _step(config, "lapse", reg, {}, as_json)


@app.command("alerts")
def alerts_cmd(
    open_only: Annotated[bool, typer.Option("--open", help="Only open alerts.")] = False,
    config: ConfigOption = _DEFAULT,
) -> None:
    """List the duplicate alerts you are a party to (member ids and status only).

    Example: riskshare tf alerts --open
    """
    from gateway._scenario_client import tf_alerts

    typer.echo(json.dumps(tf_alerts(config, open_only=open_only), indent=2))


@app.command("resolve")
def resolve_cmd(
    alert: Annotated[str, typer.Argument(help="Alert id, NEW~EXISTING.")],
    outcome: Annotated[str, typer.Option(help="clear or withdraw.")],
    arbiter: Annotated[str | None, typer.Option(help="An observer who co-signs.")] = None,
    config: ConfigOption = _DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Resolve an alert; the other bank (and the arbiter, if named) co-sign.

    Example: riskshare tf resolve B-1~A-1 --outcome withdraw
    """
    from gateway._scenario_client import tf_resolve

    echo_step(tf_resolve(config, alert, outcome=outcome, arbiter=arbiter), as_json)


@app.command("authorize")
def authorize_cmd(
    alert: Annotated[str, typer.Argument(help="The alert you agree to resolve.")],
    ttl: Annotated[int, typer.Option(help="Seconds the authorisation lasts.")] = 3600,
    config: ConfigOption = _DEFAULT,
) -> None:
    """Authorise your gateway to co-sign the resolution of one alert.

    Example: riskshare tf authorize B-1~A-1
    """
    from gateway._scenario_client import ScenarioClient

    with ScenarioClient.from_config(config) as client:
        expires = client.authorize("tf.resolve_alert", alert, ttl)
    typer.echo(f"authorised tf.resolve_alert on {alert} until {expires} (ms since epoch)")


@app.command("show")
def show_cmd(
    object_id: Annotated[str, typer.Argument(help="A registration or alert id.")],
    config: ConfigOption = _DEFAULT,
) -> None:
    """Show a registration or alert and its event log (JSON).

    Example: riskshare tf show A-1
    """
    from gateway._scenario_client import load_object

    typer.echo(json.dumps(load_object(config, "tf", object_id), indent=2, sort_keys=True))


@app.command("demo")
def demo_cmd(as_json: JsonOption = False) -> None:
    """Run the trade-finance flow across a local consortium of gateway processes.

    Example: riskshare tf demo
    """
    run_demo("tf", as_json)
