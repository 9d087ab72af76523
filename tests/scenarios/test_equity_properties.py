"""Every invariant of SCENARIOS.md §9, on random books, against a model from the spec.

- Atomicity: a batch settles every trade's both legs in one transaction, or none.
- Conservation per instrument: Σ holdings changes only by the issuer's issue or burn.
- No negative holdings; a locked holding is usable only by the instruction it is
  locked for (nothing else can spend it, and it cannot be allocated twice).
- Settlement only within [settlement date, cut-off]; settled trades are final.
- Transfer restrictions (eligible holders) checked at settlement.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ledger import ContractError
from scenarios.equity import INSTRUCTIONS, TRADES
from scenarios.kit import Holdings, Leg
from tests.scenarios._local_run import LocalRun

HOLD = Holdings("equity")
HOLDERS = ["founder-a", "founder-b", "fund-x"]
OUTSIDER = "bank-z"  # may hold cash, not the shares
MEMBERS = ["acme", "cashbank", "csd", *HOLDERS, OUTSIDER]
DAYS = ["2025-06-28", "2025-06-29", "2025-06-30", "2025-07-01", "2025-07-02"]


class Settlement(RuleBasedStateMachine):
    @initialize(
        shares=st.lists(st.integers(0, 1000), min_size=3, max_size=3),
        cash=st.lists(st.integers(0, 10**6), min_size=4, max_size=4),
    )
    def issue(self, shares: list[int], cash: list[int]) -> None:
        self.run = LocalRun(
            "equity", MEMBERS, today="2025-06-30", params={"equity.cash_banks": ["cashbank"]}
        )
        self.run.run("acme", "equity.create", "ACME", {"kind": "share", "eligible": HOLDERS})
        self.run.run("cashbank", "equity.create", "USD", {"kind": "cash"})
        self.free: dict[str, Counter[str]] = {"ACME": Counter(), "USD": Counter()}
        self.supply = Counter[str]()
        for holder, qty in zip(HOLDERS, shares, strict=True):
            if qty:
                self.run.run("acme", "equity.issue", "ACME", {"to": holder, "qty": qty})
                self.free["ACME"][holder] += qty
                self.supply["ACME"] += qty
        for holder, qty in zip([*HOLDERS, OUTSIDER], cash, strict=True):
            if qty:
                self.run.run("cashbank", "equity.issue", "USD", {"to": holder, "qty": qty})
                self.free["USD"][holder] += qty
                self.supply["USD"] += qty
        self.trades: dict[str, dict[str, Any]] = {}
        self.locked: dict[str, int] = {}  # instruction -> qty held in its account

    def _refused(self, fn: Any, *args: Any) -> str:
        before = self.run.net.snapshot()
        try:
            fn(*args)
        except ContractError as exc:
            assert self.run.net.snapshot() == before
            return str(exc)
        raise AssertionError("expected a refusal")

    @rule(
        seller=st.sampled_from(HOLDERS),
        buyer=st.sampled_from([*HOLDERS, OUTSIDER]),
        qty=st.integers(1, 600),
        price=st.integers(1, 2000),
        window=st.sampled_from([(0, 0), (0, 2), (1, 2), (-2, -1)]),
        allocate=st.tuples(st.booleans(), st.booleans()),
    )
    def trade(
        self,
        seller: str,
        buyer: str,
        qty: int,
        price: int,
        window: tuple[int, int],
        allocate: tuple[bool, bool],
    ) -> None:
        if seller == buyer:
            return
        tid = f"T{len(self.trades) + 1}"
        settle, cutoff = DAYS[2 + window[0]], DAYS[2 + window[1]]
        self.run.run(
            seller,
            "equity.propose",
            tid,
            {
                "buyer": buyer,
                "operator": "csd",
                "security": "ACME",
                "qty": qty,
                "cash": "USD",
                "price": price,
                "trade_date": "2025-06-27",
                "settle_date": settle,
                "cutoff": cutoff,
            },
        )
        self.run.run(buyer, "equity.confirm", tid, {})
        self.run.run("csd", "equity.instruct", tid, {})
        self.run.run(seller, "equity.approve", f"{tid}~P", {})
        self.run.run(buyer, "equity.approve", f"{tid}~D", {})
        legs = ((f"{tid}~D", seller, "ACME", qty), (f"{tid}~P", buyer, "USD", qty * price))
        for (instruction, sender, asset, amount), wanted in zip(legs, allocate, strict=True):
            if not wanted:
                continue
            if self.free[asset][sender] < amount:
                # No negative holding: more than is free is refused, and changes nothing.
                why = self._refused(self.run.run, sender, "equity.allocate", instruction, {})
                assert "free to move" in why
                continue
            self.run.run(sender, "equity.allocate", instruction, {})
            self.free[asset][sender] -= amount
            self.locked[instruction] = amount
            # A locked holding is usable by its instruction only: never allocated twice.
            why = self._refused(self.run.run, sender, "equity.allocate", instruction, {})
            assert "already allocated" in why or f"instruction '{instruction}' is READY" in why
        self.trades[tid] = {
            "seller": seller,
            "buyer": buyer,
            "qty": qty,
            "price": price,
            "settle": settle,
            "cutoff": cutoff,
            "state": "INSTRUCTED",
        }

    def _open(self) -> list[str]:
        return sorted(t for t, x in self.trades.items() if x["state"] == "INSTRUCTED")

    @precondition(lambda self: bool(self._open()))
    @rule(data=st.data())
    def settle_batch(self, data: st.DataObject) -> None:
        batch = data.draw(
            st.lists(st.sampled_from(self._open()), min_size=1, max_size=4, unique=True)
        )
        today = "2025-06-30"
        ok = all(
            f"{t}~D" in self.locked
            and f"{t}~P" in self.locked
            and self.trades[t]["settle"] <= today <= self.trades[t]["cutoff"]
            and self.trades[t]["buyer"] in HOLDERS
            for t in batch
        )
        legs = [Leg("trade", t, -1, "settle", {}) for t in batch]
        if not ok:
            self._refused(self.run.tx, "csd", legs)  # atomic: none of them moved
            return
        self.run.tx("csd", legs)
        for t in batch:
            x = self.trades[t]
            x["state"] = "SETTLED"
            self.free["ACME"][x["buyer"]] += self.locked.pop(f"{t}~D")
            self.free["USD"][x["seller"]] += self.locked.pop(f"{t}~P")

    @precondition(lambda self: bool(self._open()))
    @rule(data=st.data(), cancel=st.booleans())
    def unwind(self, data: st.DataObject, cancel: bool) -> None:
        t = data.draw(st.sampled_from(self._open()))
        x = self.trades[t]
        if cancel:
            self.run.run(x["seller"], "equity.cancel", t, {}, [x["buyer"]])
            x["state"] = "CANCELLED"
        elif x["cutoff"] < "2025-06-30":
            self.run.run(OUTSIDER, "equity.fail", t, {})
            x["state"] = "FAILED"
        else:
            self._refused(self.run.run, OUTSIDER, "equity.fail", t, {})
            return
        for leg, asset, sender in (("D", "ACME", x["seller"]), ("P", "USD", x["buyer"])):
            back = self.locked.pop(f"{t}~{leg}", 0)
            self.free[asset][sender] += back

    @precondition(lambda self: any(x["state"] == "SETTLED" for x in self.trades.values()))
    @rule(data=st.data())
    def settled_is_final(self, data: st.DataObject) -> None:
        t = data.draw(
            st.sampled_from(sorted(t for t, x in self.trades.items() if x["state"] == "SETTLED"))
        )
        self._refused(self.run.run, "csd", "equity.settle", t, {})
        self._refused(
            self.run.run,
            self.trades[t]["seller"],
            "equity.cancel",
            t,
            {},
            [self.trades[t]["buyer"]],
        )

    @rule(holder=st.sampled_from(HOLDERS), qty=st.integers(1, 500))
    def burn(self, holder: str, qty: int) -> None:
        if self.free["ACME"][holder] < qty:
            self._refused(self.run.run, holder, "equity.burn", "ACME", {"qty": qty}, ["acme"])
            return
        self.run.run(holder, "equity.burn", "ACME", {"qty": qty}, ["acme"])
        self.free["ACME"][holder] -= qty
        self.supply["ACME"] -= qty

    @invariant()
    def conserved(self) -> None:
        state = self.run.net.state
        for instrument in ("ACME", "USD"):
            if HOLD.instrument(state, instrument) is None:  # created on its first issue
                assert self.supply[instrument] == 0
                continue
            supply = HOLD.audit(state, instrument)
            assert supply.outstanding == self.supply[instrument]
            accounts = HOLD.accounts(state, instrument)
            for account, row in accounts.items():
                assert row["free"] > 0 and not row["locks"], account
            members = {a: r["free"] for a, r in accounts.items() if ":" not in a}
            assert members == {m: n for m, n in self.free[instrument].items() if n}
        for instruction, qty in self.locked.items():
            found = INSTRUCTIONS.load(state, instruction)
            assert HOLD.balance(state, found.attrs["asset"], f"instruction:{instruction}") == qty
        for t, x in self.trades.items():
            assert TRADES.load(state, t).state == x["state"]


TestSettlement = Settlement.TestCase
TestSettlement.settings = settings(
    max_examples=20,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
