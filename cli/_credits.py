"""``riskshare credits``: balances, history, statements, the quality ranking, parameters.

Every command reads the local replica (``<data-dir>/ledger.sqlite``) and wraps a public
function of :mod:`token_incentive`. Amounts are printed in credits with three decimals
(the ledger keeps integer milli-credits). ``statement --verify`` first replays the whole
chain (``riskshare ledger verify``), so the statement it prints is reproduced from the
ledger's transactions alone.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cli._ledger import DataDir, contract_registry, open_ledger

__all__ = ["credits_text", "register"]

app = typer.Typer(
    help="Query credits: balances, statements, ranking, parameters.", no_args_is_help=True
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
MemberArg = Annotated[str, typer.Argument(help="The member id.")]


def credits_text(milli: int) -> str:
    """Milli-credits as credits with three decimals, exactly (no floats)."""
    sign = "-" if milli < 0 else ""
    whole, frac = divmod(abs(milli), 1000)
    return f"{sign}{whole:,}.{frac:03d}"


def _jsonable(value: Any) -> Any:
    from dataclasses import asdict, is_dataclass
    from fractions import Fraction

    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Fraction):
        return [value.numerator, value.denominator]
    return value


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(_jsonable(value), indent=2, sort_keys=True, ensure_ascii=False))


@app.command("balance")
def balance_cmd(
    member: Annotated[
        str | None, typer.Argument(help="The member id (default: every member).")
    ] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Show live balances, what admission still allows, and the credit supply.

    Example: riskshare credits balance bank-a --data-dir ./node1
    """
    from ledger import active_members
    from token_incentive import balance_of, supply

    with open_ledger(data_dir) as store:
        state = store.state()
        ids = [member] if member else [m.id for m in active_members(state, "member")]
        views = [balance_of(state, m) for m in ids]
        totals = supply(state)
    if as_json:
        _echo_json({"balances": views, "supply": totals})
        return
    for v in views:
        typer.echo(
            f"{v.member:<16} balance {credits_text(v.balance):>14}"
            f"  available {credits_text(v.available):>14}"
            f"  pending charges {credits_text(v.pending_charges):>12}"
        )
    if not member:
        typer.echo(
            f"supply {credits_text(totals['supply'])} = minted {credits_text(totals['minted'])}"
            f" - burned {credits_text(totals['burned'])}"
            f" - penalties {credits_text(totals['penalties'])}"
        )


def _line_text(line: Any) -> str:
    what = line.kind if line.kind != "settle" else f"settle epoch {int(line.ref)}"
    ref = "" if line.kind == "settle" else f" {line.ref[:16]}"
    return (
        f"{line.height:>8}  {line.tx.hex()[:16]}  {what + ref:<34}"
        f" {credits_text(line.amount):>14}  = {credits_text(line.balance):>14}"
    )


@app.command("history")
def history_cmd(
    member: MemberArg,
    data_dir: DataDir = None,
    count: Annotated[int | None, typer.Option("-n", "--count", help="Only the last N.")] = None,
    as_json: AsJson = False,
) -> None:
    """List every movement of a member's balance, with the transaction behind it.

    Example: riskshare credits history bank-a -n 20 --data-dir ./node1
    """
    from token_incentive import history

    with open_ledger(data_dir) as store:
        lines = history(store.state(), member, count)
    if as_json:
        _echo_json(lines)
        return
    for line in lines:
        typer.echo(_line_text(line))


@app.command("statement")
def statement_cmd(
    member: MemberArg,
    data_dir: DataDir = None,
    from_epoch: Annotated[int, typer.Option("--from-epoch", help="First epoch.")] = 0,
    to_epoch: Annotated[
        int | None, typer.Option("--to-epoch", help="Last epoch (default: up to now).")
    ] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Replay the whole chain first (slower).")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """A member's statement: opening, every movement, totals by cause, closing.

    Example: riskshare credits statement bank-a --from-epoch 3 --to-epoch 5 --verify
    """
    from ledger import verify_chain
    from token_incentive import CreditsError, statement

    with open_ledger(data_dir) as store:
        if verify:
            report = verify_chain(store, contract_registry())
            if not as_json:
                typer.echo(f"chain verified by replay: {report.blocks} blocks, {report.txs} txs")
        st = statement(store.state(), member, from_epoch, to_epoch)
    if not st.consistent:
        raise CreditsError(f"the journal of {member} does not add up")
    if as_json:
        _echo_json(st)
        return
    last = "now" if to_epoch is None else f"epoch {to_epoch}"
    typer.echo(f"statement of {member}, epoch {from_epoch} to {last}")
    typer.echo(f"opening balance {credits_text(st.opening):>40}")
    for line in st.lines:
        typer.echo(_line_text(line))
    typer.echo(f"closing balance {credits_text(st.closing):>40}")
    for name, value in sorted(st.totals.items()):
        typer.echo(f"  {name:<10} {credits_text(value):>14}")


@app.command("ranking")
def ranking_cmd(
    data_dir: DataDir = None,
    epoch: Annotated[
        int | None, typer.Option("--epoch", help="A settled epoch (default: the last).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The quality ranking published with an epoch's settlement (去伪存真).

    Example: riskshare credits ranking --epoch 12 --data-dir ./node1
    """
    from token_incentive import ranking

    with open_ledger(data_dir) as store:
        settled, rows = ranking(store.state(), epoch)
    if as_json:
        _echo_json({"epoch": settled, "ranking": rows})
        return
    typer.echo(f"ranking after epoch {settled}  (q = (TP + a0) / (TP + FP + a0 + b0))")
    for r in rows:
        q = r.quality
        typer.echo(
            f"{r.rank:>3}. {r.member:<16} q {q.numerator}/{q.denominator}"
            f" ({credits_text(q.numerator * 1000 // q.denominator)})  TP {r.tp}  FP {r.fp}"
        )


@app.command("params")
def params_cmd(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Show the credit parameters in force, with their units.

    Example: riskshare credits params --data-dir ./node1
    """
    from token_incentive import params_from_state

    with open_ledger(data_dir) as store:
        p = params_from_state(store.state())
    if as_json:
        _echo_json(p)
        return
    rows = [
        *(
            (f"price {lt} (c_L)", f"{credits_text(c)} credits per item")
            for lt, c in sorted(p.price.items())
        ),
        *((f"hit weight {lt} (w_L)", f"{w} per mille") for lt, w in sorted(p.hit_weight.items())),
        ("grant per list type (g0)", f"{credits_text(p.grant)} credits per epoch"),
        ("serve reward (α)", f"{credits_text(p.serve_reward)} credits per item"),
        ("per-counterparty cap (m)", f"{p.serve_cap} items per epoch"),
        ("hit reward (β)", f"{credits_text(p.hit_reward)} credits per hit"),
        ("decay (λ)", f"{p.decay_num}/{p.decay_den} of a positive balance kept"),
        ("cap", f"{credits_text(p.cap)} credits"),
        ("overdraft (OD)", f"{credits_text(p.overdraft)} credits"),
        ("penalty (γ)", f"{credits_text(p.penalty)} credits per false positive"),
        ("quality prior (a0, b0)", f"{p.prior_a}, {p.prior_b}"),
        ("epoch", f"{p.epoch_ms} ms"),
        ("feedback window", f"{p.feedback_window_ms} ms"),
        ("request freshness", f"{p.request_ttl_ms} ms"),
        ("evidence deadline", f"{p.dispute_open_ms} ms"),
        ("max items per query", f"{p.max_items}"),
    ]
    for name, value in rows:
        typer.echo(f"{name:<34} {value}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="credits")
