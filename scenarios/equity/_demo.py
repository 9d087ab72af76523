"""The equity settlement demo (``riskshare demo --scenario equity``).

A private company issues shares to its founders and a cash bank deposits cash; three
trades settle in one atomic batch; a batch in which one payment was never allocated is
refused whole, with nothing moved; a transfer to a member the share class does not
allow is refused; a trade past its cut-off fails and its locks are released. The cap
table on the ledger is then printed against a computation from the flow's own figures.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from scenarios.kit import Demo, DemoRun, Holdings, Leg, format_minor

__all__ = ["DEMO", "FOUNDERS", "TRADES"]

ISSUER, CASH_BANK, OPERATOR = "acme", "cashbank", "csd"
SHARES, CASH = "ACME-A", "USD"
HOLDERS = ("founder-a", "founder-b", "fund-x")
FOUNDERS = {"founder-a": 1_000_000, "founder-b": 600_000}
DEPOSITS = {"fund-x": 5_000_000_00, "founder-b": 1_000_000_00, "cashbank": 10_000_00}
# (id, seller, buyer, shares, price per share in cents)
TRADES = (
    ("T1", "founder-a", "fund-x", 100_000, 250),
    ("T2", "founder-b", "fund-x", 50_000, 260),
    ("T3", "founder-a", "founder-b", 20_000, 255),
)


def _flow(run: DemoRun) -> None:
    today = run.today.isoformat()
    kind = "equity.{}".format
    eligible = {"kind": "share", "eligible": list(HOLDERS)}
    run.step(
        ISSUER,
        f"create share class {SHARES} (holders: {', '.join(HOLDERS)})",
        kind("create"),
        SHARES,
        eligible,
    )
    for founder, qty in FOUNDERS.items():
        run.step(
            ISSUER,
            f"issue {qty:,} shares to {founder}",
            kind("issue"),
            SHARES,
            {"to": founder, "qty": qty},
        )
    run.step(
        ISSUER,
        "create cash (not a cash bank)",
        kind("create"),
        "ACME-USD",
        {"kind": "cash"},
        refused=True,
    )
    run.step(CASH_BANK, f"create cash {CASH}", kind("create"), CASH, {"kind": "cash"})
    for holder, amount in DEPOSITS.items():
        run.step(
            CASH_BANK,
            f"deposit {format_minor(amount)} for {holder}",
            kind("issue"),
            CASH,
            {"to": holder, "qty": amount},
        )

    def trade(
        tid: str,
        seller: str,
        buyer: str,
        qty: int,
        price: int,
        *,
        dates: tuple[str, str, str] = (today, today, today),
        allocate_payment: bool = True,
    ) -> None:
        terms = {
            "buyer": buyer,
            "operator": OPERATOR,
            "security": SHARES,
            "qty": qty,
            "cash": CASH,
            "price": price,
            "trade_date": dates[0],
            "settle_date": dates[1],
            "cutoff": dates[2],
        }
        run.step(
            seller,
            f"{tid}: sell {qty:,} {SHARES} to {buyer} at {format_minor(price)}",
            kind("propose"),
            tid,
            terms,
        )
        run.step(buyer, f"{tid}: confirm", kind("confirm"), tid)
        run.step(OPERATOR, f"{tid}: instruct delivery and payment", kind("instruct"), tid)
        run.step(seller, f"{tid}: allocate the shares", kind("allocate"), f"{tid}~D")
        run.step(seller, f"{tid}: approve receiving the cash", kind("approve"), f"{tid}~P")
        run.step(buyer, f"{tid}: approve receiving the shares", kind("approve"), f"{tid}~D")
        if allocate_payment:
            run.step(buyer, f"{tid}: allocate the cash", kind("allocate"), f"{tid}~P")

    def batch(tids: list[str]) -> list[Leg]:
        return [Leg("trade", t, -1, "settle", {}) for t in tids]

    for t in TRADES:
        trade(*t)
    run.submit(OPERATOR, "settle T1, T2, T3 in one batch", batch(["T1", "T2", "T3"]))

    trade("T4", "founder-b", "fund-x", 10_000, 270)
    trade("T5", "founder-a", "fund-x", 5_000, 270, allocate_payment=False)
    before = _cap_table(run)
    run.submit(
        OPERATOR,
        "settle T4 and T5 (T5's payment never allocated)",
        batch(["T4", "T5"]),
        refused=True,
    )
    run.check("nothing moved by the refused batch", _cap_table(run), before)

    trade("T6", "founder-b", "cashbank", 1_000, 270)
    run.step(
        OPERATOR, "settle T6 (cashbank may not hold ACME-A)", kind("settle"), "T6", refused=True
    )
    past = (run.today - timedelta(days=3)).isoformat()
    late = (run.today - timedelta(days=2)).isoformat(), (run.today - timedelta(days=1)).isoformat()
    trade("T7", "founder-a", "fund-x", 7_000, 250, dates=(past, *late))
    run.step(OPERATOR, "settle T7 after its cut-off", kind("settle"), "T7", refused=True)
    run.step(OPERATOR, "fail T7: its locks are released", kind("fail"), "T7")

    # The cap table from the flow's own figures: issuance, then each settled trade.
    shares: Counter[str] = Counter(FOUNDERS)
    cash: Counter[str] = Counter(DEPOSITS)
    for _, seller, buyer, qty, price in TRADES:
        shares[seller] -= qty
        shares[buyer] += qty
        cash[buyer] -= qty * price
        cash[seller] += qty * price
    table = _cap_table(run)
    # T4, T5 and T6 stay instructed; their allocated amounts sit in their instructions.
    locked = {"T4~D": 10_000, "T5~D": 5_000, "T6~D": 1_000}
    for holder in sorted(set(shares) | {h for h in table[SHARES] if ":" not in h}):
        independent = shares[holder] - sum(
            q for i, q in locked.items() if TRADES_SELLERS.get(i) == holder
        )
        run.check(f"{SHARES} held by {holder}", table[SHARES].get(holder, 0), independent)
    for instruction, qty in locked.items():
        run.check(
            f"{SHARES} locked for {instruction}",
            table[SHARES].get(f"instruction:{instruction}", 0),
            qty,
        )
    run.check(f"{SHARES} issued", sum(table[SHARES].values()), sum(FOUNDERS.values()))
    for holder in sorted(cash):
        locked_cash = {"fund-x": 10_000 * 270, "cashbank": 1_000 * 270}.get(holder, 0)
        run.check(
            f"{CASH} held by {holder}", table[CASH].get(holder, 0), cash[holder] - locked_cash
        )
    run.check(f"{CASH} issued", sum(table[CASH].values()), sum(DEPOSITS.values()))


TRADES_SELLERS = {"T4~D": "founder-b", "T5~D": "founder-a", "T6~D": "founder-b"}


def _cap_table(run: DemoRun) -> dict[str, dict[str, int]]:
    """Every account's holding of each instrument, as the operator's replica holds it."""
    holdings = Holdings("equity")
    state = run.state(OPERATOR)
    out: dict[str, dict[str, int]] = {}
    for instrument in (SHARES, CASH):
        rows = holdings.accounts(state, instrument)
        out[instrument] = {
            account: row["free"] + sum(row["locks"].values()) for account, row in rows.items()
        }
        for account, qty in sorted(out[instrument].items()):
            run.say(f"cap table {instrument}: {account} {qty:,}")
    return out


DEMO = Demo(
    members=(ISSUER, CASH_BANK, OPERATOR, *HOLDERS),
    flow=_flow,
    params={"equity.cash_banks": [CASH_BANK]},
)
