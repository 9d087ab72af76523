"""The financing registry as a state machine: any sequence of steps keeps §7's invariants.

The oracle for a registration's outcome is computed from the registrations themselves
(never from the contract's fingerprint index), so the index is checked too: a new
registration is ``REGISTERED`` exactly when no active registration shares an exact
fingerprint with it, whatever its partial matches. After every step: one active
registration per fingerprint, first wins (an active holder is never displaced), the
indexes agree with the registrations, disbursement follows registration, every flagged
registration has an open exact alert naming both financiers.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from scenarios.kit import Obj, day_of, parse_date
from scenarios.tf import (
    ACTIVE,
    ALERTS,
    CONTRACT,
    DUPLICATE_FLAGGED,
    EXACT,
    FINANCED,
    OPEN,
    REGISTERED,
    REGISTRATIONS,
    SETTLED,
    SIMILAR,
    alerts_of,
)
from tests.scenarios._net import Net, ms

BANKS = ["bank_a", "bank_b", "bank_c"]
ARBITER = "registry"
EVERYONE = [*BANKS, ARBITER]
START = date(2025, 1, 6)


def fp(n: int) -> bytes:
    return hashlib.sha256(f"exact-{n}".encode()).digest()


def sim(n: int) -> bytes:
    return hashlib.sha256(f"similar-{n}".encode()).digest()


class FinancingRegistry(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        members = dict.fromkeys(BANKS, "member") | {ARBITER: "observer"}
        self.net = Net(members, [CONTRACT])
        self.net.now = ms(START.isoformat())
        self.count = 0
        self.holders: dict[bytes, str] = {}

    def today(self) -> date:
        return day_of(self.net.now)

    def regs(self) -> list[Obj]:
        return list(REGISTRATIONS.scan(self.net.state))

    def pick(self, data: st.DataObject, states: set[str]) -> Obj | None:
        regs = [r for r in self.regs() if r.state in states]
        return data.draw(st.sampled_from(regs)) if regs else None

    def who(self, data: st.DataObject, likely: str) -> str:
        if data.draw(st.integers(0, 9)) < 7:
            return likely
        return data.draw(st.sampled_from(EVERYONE))

    def attempt(
        self,
        expected: bool,
        member: str,
        machine: Any,
        name: str,
        obj_id: str,
        payload: Any,
        cosigners: Any = (),
    ) -> bool:
        return self.net.attempt(expected, machine, member, name, obj_id, payload, cosigners)

    # Steps -----------------------------------------------------------------------------

    @rule(
        member=st.sampled_from(EVERYONE),
        exact=st.sets(st.integers(0, 5), min_size=1, max_size=3),
        similar=st.sets(st.integers(0, 3), max_size=2),
        expiry=st.integers(-1, 40),
    )
    def register(self, member: str, exact: set[int], similar: set[int], expiry: int) -> None:
        reg_id = f"R{self.count}"
        self.count += 1
        fps = [fp(n) for n in sorted(exact)]
        active = [r for r in self.regs() if r.state in ACTIVE and set(r.attrs["fps"]) & set(fps)]
        ok = member != ARBITER and expiry >= 0
        receipt = self.net.fp_receipt(member if member != ARBITER else BANKS[0], 8)
        payload = {
            "invoice": {
                "exact": fps,
                "similar": [sim(n) for n in sorted(similar)],
                "receipt": receipt,
            },
            "amount": 1000,
            "currency": "CNY",
            "expires_on": (self.today() + timedelta(days=expiry)).isoformat(),
            "doc_hash": fp(-1),
        }
        if not self.attempt(ok, member, REGISTRATIONS, "register", reg_id, payload):
            return
        new = REGISTRATIONS.load(self.net.state, reg_id)
        assert new.state == (DUPLICATE_FLAGGED if active else REGISTERED)  # partial never blocks
        exact_alerts = {
            a.attrs["existing"]
            for a in alerts_of(self.net.state, reg_id)
            if a.attrs["match"] == "exact"
        }
        assert exact_alerts == {r.id for r in active}

    @rule(data=st.data(), back=st.integers(0, 3))
    def disburse(self, data: st.DataObject, back: int) -> None:
        r = self.pick(data, {REGISTERED, DUPLICATE_FLAGGED})
        if r is None:
            return
        member = self.who(data, r.parties["financier"])
        on = self.today() - timedelta(days=back)
        ok = r.state == REGISTERED and member == r.parties["financier"]
        ok = ok and parse_date(r.attrs["registered_on"]) <= on
        ok = ok and self.today() <= parse_date(r.attrs["expires_on"])
        payload = {"disbursed_on": on.isoformat(), "bank_ref": "D"}
        self.attempt(ok, member, REGISTRATIONS, "confirm_disbursement", r.id, payload)

    @rule(data=st.data())
    def settle_or_archive(self, data: st.DataObject) -> None:
        r = self.pick(data, {FINANCED, SETTLED})
        if r is None:
            return
        member = self.who(data, r.parties["financier"])
        ok = member == r.parties["financier"]
        if r.state == FINANCED:
            payload = {"settled_on": self.today().isoformat(), "bank_ref": "S"}
            self.attempt(ok, member, REGISTRATIONS, "confirm_settlement", r.id, payload)
        else:
            self.attempt(ok, member, REGISTRATIONS, "archive", r.id, {})

    @rule(data=st.data(), lapse=st.booleans())
    def withdraw_or_lapse(self, data: st.DataObject, lapse: bool) -> None:
        r = self.pick(data, {REGISTERED, DUPLICATE_FLAGGED, FINANCED})
        if r is None:
            return
        leavable = r.state in {REGISTERED, DUPLICATE_FLAGGED}
        if lapse:
            ok = leavable and self.today() > parse_date(r.attrs["expires_on"])
            self.attempt(ok, data.draw(st.sampled_from(EVERYONE)), REGISTRATIONS, "lapse", r.id, {})
        else:
            member = self.who(data, r.parties["financier"])
            ok = leavable and member == r.parties["financier"]
            self.attempt(ok, member, REGISTRATIONS, "withdraw", r.id, {})

    @precondition(lambda self: any(a.state == OPEN for a in ALERTS.scan(self.net.state)))
    @rule(data=st.data(), clear=st.booleans(), both=st.booleans(), arbiter=st.booleans())
    def resolve(self, data: st.DataObject, clear: bool, both: bool, arbiter: bool) -> None:
        alert = data.draw(
            st.sampled_from([a for a in ALERTS.scan(self.net.state) if a.state == OPEN])
        )
        first, second = alert.parties["first"], alert.parties["second"]
        submitter = data.draw(st.sampled_from([first, second]))
        other = second if submitter == first else first
        cosigners = [m for m in {other} if m != submitter and both]
        payload: dict[str, Any] = {"outcome": "clear" if clear else "withdraw"}
        if arbiter:
            payload["arbiter"] = ARBITER
            cosigners.append(ARBITER)
        signed = both or first == second
        new = REGISTRATIONS.load(self.net.state, alert.attrs["new"])
        if clear:
            others_open = [
                a
                for a in alerts_of(self.net.state, new.id)
                if a.id != alert.id and a.state == OPEN and a.attrs["match"] == "exact"
            ]
            reinstating = (
                alert.attrs["match"] == "exact"
                and new.state == DUPLICATE_FLAGGED
                and not others_open
            )
            held = {
                r.id
                for r in self.regs()
                if r.state in ACTIVE
                and r.id != new.id
                and set(r.attrs["fps"]) & set(new.attrs["fps"])
            }
            ok = signed and not (reinstating and held)
        else:
            ok = signed and new.state in {REGISTERED, DUPLICATE_FLAGGED}
        self.attempt(ok, submitter, ALERTS, "resolve_alert", alert.id, payload, cosigners)

    @rule(days=st.integers(1, 15))
    def advance(self, days: int) -> None:
        self.net.now += days * 86_400_000

    # Invariants --------------------------------------------------------------------------

    @invariant()
    def one_active_registration_per_fingerprint_and_first_wins(self) -> None:
        regs = self.regs()
        for n in range(6):
            active = [r.id for r in regs if r.state in ACTIVE and fp(n) in r.attrs["fps"]]
            assert len(active) <= 1
            assert EXACT.holder(self.net.state, fp(n)) == (active[0] if active else None)
            previous = self.holders.get(fp(n))
            if (
                previous is not None
                and REGISTRATIONS.load(self.net.state, previous).state in ACTIVE
            ):
                assert active == [previous], "an active holder was displaced"
            if active:
                self.holders[fp(n)] = active[0]
            else:
                self.holders.pop(fp(n), None)

    @invariant()
    def similarity_index_matches_active_registrations(self) -> None:
        regs = self.regs()
        for n in range(4):
            expected = {r.id for r in regs if r.state in ACTIVE and sim(n) in r.attrs["sim_fps"]}
            assert set(SIMILAR.matches(self.net.state, [sim(n)], "")) == expected

    @invariant()
    def disbursement_follows_registration(self) -> None:
        for r in self.regs():
            if "disbursed_on" in r.attrs:
                assert r.attrs["registered_on"] <= r.attrs["disbursed_on"] <= r.attrs["expires_on"]
                names = [e.transition for e in REGISTRATIONS.events(self.net.state, r.id)]
                assert names.index("register") < names.index("confirm_disbursement")
            if "settled_on" in r.attrs:
                assert r.attrs["disbursed_on"] <= r.attrs["settled_on"]

    @invariant()
    def flagged_registrations_have_an_open_exact_alert_naming_both(self) -> None:
        regs = {r.id: r for r in self.regs()}
        for r in regs.values():
            alerts = alerts_of(self.net.state, r.id)
            for a in alerts:
                existing = regs[a.attrs["existing"]]
                assert a.parties["first"] == existing.parties["financier"]
                assert a.parties["second"] == r.parties["financier"]
            if r.state == DUPLICATE_FLAGGED:
                assert any(a.state == OPEN and a.attrs["match"] == "exact" for a in alerts)
                assert all(EXACT.holder(self.net.state, f) != r.id for f in r.attrs["fps"])


TestFinancingRegistry = FinancingRegistry.TestCase
TestFinancingRegistry.settings = settings(
    max_examples=80,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
