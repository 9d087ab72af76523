"""Custody invariants (SCENARIOS.md §5) over any sequence of steps by any role, each
against an oracle written from the spec:

- the custodian settles only an instruction the manager submitted and that passed its
  check; only the manager submits, only the custodian accepts and settles;
- a settled instruction passed the check under the rules version in force when it was
  submitted, recorded on it; cash and positions never go negative;
- the rules change only by an amendment every one of the five signs;
- every one of the five is a party: the auditor and the entrustor hold every version.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ledger import ContractError
from scenarios.cust import FUNDS, violations
from scenarios.cust._demo import BONDS, RULES_V1
from scenarios.kit import party_set_of
from tests.scenarios.test_cust import FIVE, active

INSTRUMENTS = sorted(BONDS)
DAY = date(2025, 1, 6)


class Custody(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = active()
        self.n = 0
        self.version = 1
        self.submitted_by: dict[str, str] = {}

    def _entry(self, iid: str) -> dict[str, Any]:
        return dict(self.book.obj("F-1").attrs["instructions"][iid])

    def _pick(self, data: Any) -> str | None:
        ids = sorted(self.book.obj("F-1").attrs["instructions"])
        return data.draw(st.sampled_from(ids)) if ids else None

    @rule(
        instrument=st.sampled_from(INSTRUMENTS),
        qty=st.integers(1, 200_000),
        side=st.sampled_from(["buy", "sell"]),
        counterparty=st.sampled_from(["BROKER-A", "SHADY-BROKER"]),
    )
    def propose(self, instrument: str, qty: int, side: str, counterparty: str) -> None:
        self.n += 1
        price = BONDS[instrument][3]
        self.book.step("adviser", "propose", "F-1", {"instruction": f"I-{self.n}", "side": side,
                       "instrument": instrument, "qty": qty, "price": price,
                       "counterparty": counterparty})  # fmt: skip

    @rule(data=st.data(), by=st.sampled_from(FIVE))
    def submit(self, data: Any, by: str) -> None:
        iid = self._pick(data)
        if iid is None:
            return
        before = self._entry(iid)
        try:
            after = self.book.step(by, "submit", "F-1", {"instruction": iid})
        except ContractError:
            assert by != "manager" or before["state"] not in {"PROPOSED", "CHECKED_FAIL"}
            return
        assert by == "manager"
        entry = after.attrs["instructions"][iid]
        assert entry["rules_version"] == self.version
        assert (entry["state"] == "CHECKED_PASS") == (entry["violations"] == [])
        self.submitted_by[iid] = by

    @rule(data=st.data(), by=st.sampled_from(FIVE))
    def accept(self, data: Any, by: str) -> None:
        iid = self._pick(data)
        if iid is None:
            return
        state = self._entry(iid)["state"]
        try:
            self.book.step(by, "accept", "F-1", {"instruction": iid})
        except ContractError:
            assert by != "custodian" or state != "CHECKED_PASS"
            return
        assert by == "custodian" and state == "CHECKED_PASS"

    @rule(data=st.data(), by=st.sampled_from(FIVE))
    def settle(self, data: Any, by: str) -> None:
        iid = self._pick(data)
        if iid is None:
            return
        state = self._entry(iid)["state"]
        try:
            self.book.step(by, "settle", "F-1", {"instruction": iid, "bank_ref": "R"})
        except ContractError:
            assert by != "custodian" or state != "ACCEPTED" or self._overdraws(iid)
            return
        assert by == "custodian" and state == "ACCEPTED"
        entry = self._entry(iid)
        assert self.submitted_by[iid] == "manager" and entry["violations"] == []

    def _overdraws(self, iid: str) -> bool:
        # With no rule in force the check finds exactly an overdraft or a short sale.
        obj = self.book.obj("F-1")
        return bool(violations({}, obj.attrs, obj.attrs["securities"], self._entry(iid), DAY))

    @rule(limit=st.integers(50_000, 300_000), everyone=st.booleans())
    def amend(self, limit: int, everyone: bool) -> None:
        params = {"params": RULES_V1 | {"max_issuer": limit}}
        signers = FIVE if everyone else FIVE[:-1]
        try:
            self.book.step("manager", "amend_rules", "F-1", params, signers)
        except ContractError:
            assert not everyone
            return
        assert everyone
        self.version += 1

    @invariant()
    def holdings_and_parties(self) -> None:
        obj = self.book.obj("F-1")
        assert obj.attrs["cash"] >= 0 and all(q >= 0 for q in obj.attrs["positions"].values())
        assert obj.attrs["rules"]["version"] == self.version
        parties, observers = party_set_of(obj, FUNDS.confidential)  # type: ignore[arg-type]
        assert set(parties.members) == set(FIVE) and observers == []


TestCustody = Custody.TestCase
TestCustody.settings = settings(
    max_examples=15, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
