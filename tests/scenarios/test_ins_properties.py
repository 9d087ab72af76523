"""Insurance invariants (SCENARIOS.md §2) as properties, each against an oracle written
from the spec, never from the contract's own indexes.

- The claim registry, as a state machine over any sequence of registrations, payments,
  denials, withdrawals and alert resolutions by two insurers: a registration is flagged
  exactly when an active registration holds the same exact loss; at most one ``PAID``
  registration per exact loss unless both insurers marked co-insurance; a flagged
  registration is never paid; a similar loss (same object within ±7 days) raises a
  review alert and never changes the outcome; only the registering insurer moves its
  entry.
- A policy: any sequence of approvals pays each claim at most ``min(assessed, limit −
  deductible, sum insured − Σ paid before)``, exactly those, and Σ paid ≤ sum insured.
- The sale-time check: a policy is issued exactly when its screening is at most N days
  old at both check and issue; a hit always goes to review, never to refusal.
- A treaty layer binds exactly when the signed lines sum to the order, and a firm order
  stands exactly when its instalments sum to the premium.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger import ContractError
from scenarios.ins import ALERTS, LAYERS, POLICIES, REGISTRATIONS, SCREENING_DAYS
from scenarios.kit import MS_PER_DAY, Loss
from tests.scenarios._ins import Insurance
from tests.scenarios._net import ms
from tests.scenarios.test_ins import LAYER, terms

START = date(2025, 3, 1)
INSURERS = ("insurer-a", "insurer-b")
OBJECTS = ("1HGCM82633A004352", "2FTRX18W1XCA12345")
TYPES = ("collision", "theft")
_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fp(x: bytes) -> bytes:
    return hashlib.sha256(x).digest()


class ClaimRegistry(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ins = Insurance()
        self.ins.net.now = ms(START.isoformat())
        self.n = 0
        # The model: each registration's insurer, exact key, day and object; who holds
        # each exact key; which registrations are indexed for similarity.
        self.regs: dict[str, dict[str, Any]] = {}
        self.holder: dict[tuple[str, int, str], str] = {}

    def _state(self, ref: str) -> str:
        return REGISTRATIONS.load(self.ins.net.state, ref).state

    @rule(
        insurer=st.sampled_from(INSURERS),
        obj=st.sampled_from(OBJECTS),
        day=st.integers(0, 20),
        loss_type=st.sampled_from(TYPES),
    )
    def register(self, insurer: str, obj: str, day: int, loss_type: str) -> None:
        self.n += 1
        ref = f"C-{self.n}"
        loss = Loss("vin", obj, (START - timedelta(days=day)).isoformat(), loss_type)
        inputs = loss.fingerprint_inputs()
        value = self.ins.net.fingerprints(
            insurer, [_fp(x) for x in inputs.exact], [_fp(x) for x in inputs.similar]
        )
        key = (obj, day, loss_type)
        first = self.holder.get(key)
        similar = {
            r
            for r, m in self.regs.items()
            if m["indexed"] and m["obj"] == obj and abs(m["day"] - day) <= 7 and r != first
        }
        self.ins.step(REGISTRATIONS, insurer, "register", ref, {"loss": value})
        expected = "REGISTERED" if first is None else "DUPLICATE_FLAGGED"
        assert self._state(ref) == expected  # similar matches never decide the outcome
        alerts = {
            a.attrs["existing"]: a.attrs["match"]
            for a in ALERTS.scan(self.ins.net.state, ref + "~")
        }
        assert alerts == ({first: "exact"} if first else {}) | dict.fromkeys(similar, "similar")
        self.regs[ref] = {
            "insurer": insurer,
            "key": key,
            "obj": obj,
            "day": day,
            "indexed": first is None,
            "co": False,
        }
        if first is None:
            self.holder[key] = ref

    def _pick(self, data: Any, states: set[str]) -> str | None:
        refs = [r for r in sorted(self.regs) if self._state(r) in states]
        return data.draw(st.sampled_from(refs)) if refs else None

    @precondition(lambda self: self.regs)
    @rule(data=st.data(), by_owner=st.booleans())
    def mark_paid(self, data: Any, by_owner: bool) -> None:
        ref = data.draw(st.sampled_from(sorted(self.regs)))
        owner = self.regs[ref]["insurer"]
        member = owner if by_owner else next(i for i in INSURERS if i != owner)
        state = self._state(ref)
        try:
            self.ins.step(REGISTRATIONS, member, "mark_paid", ref)
        except ContractError:
            assert not by_owner or state != "REGISTERED"
            return
        assert by_owner and state == "REGISTERED"

    @precondition(lambda self: self.regs)
    @rule(data=st.data(), how=st.sampled_from(["withdraw", "mark_denied"]))
    def leave(self, data: Any, how: str) -> None:
        ref = self._pick(data, {"REGISTERED", "DUPLICATE_FLAGGED"})
        if ref is None:
            return
        self.ins.step(REGISTRATIONS, self.regs[ref]["insurer"], how, ref)
        model = self.regs[ref]
        if self.holder.get(model["key"]) == ref:
            del self.holder[model["key"]]
        model["indexed"] = False

    @precondition(lambda self: self.regs)
    @rule(data=st.data(), outcome=st.sampled_from(["clear", "withdraw", "coinsurance"]))
    def resolve(self, data: Any, outcome: str) -> None:
        open_ = sorted(a.id for a in ALERTS.scan(self.ins.net.state) if a.state == "OPEN")
        if not open_:
            return
        alert = ALERTS.load(self.ins.net.state, data.draw(st.sampled_from(open_)))
        new, match = alert.attrs["new"], alert.attrs["match"]
        model = self.regs[new]
        flagged = self._state(new) == "DUPLICATE_FLAGGED"
        try:
            self.ins.step(
                ALERTS,
                alert.parties["second"],
                "resolve_alert",
                alert.id,
                {"outcome": outcome},
                [p for p in (alert.parties["first"],) if p != alert.parties["second"]],
            )
        except ContractError:
            free = self.holder.get(model["key"]) is None
            assert (
                (outcome == "coinsurance" and not (match == "exact" and flagged))
                or (outcome == "clear" and match == "exact" and flagged and not free)
                or (
                    outcome == "withdraw"
                    and self._state(new) not in {"REGISTERED", "DUPLICATE_FLAGGED"}
                )
            )
            return
        if outcome == "withdraw":
            assert self._state(new) == "WITHDRAWN"
            if self.holder.get(model["key"]) == new:
                del self.holder[model["key"]]
            model["indexed"] = False
        elif outcome == "coinsurance":
            assert self._state(new) == "REGISTERED"
            model["co"] = True
        elif match == "exact" and flagged and self._state(new) == "REGISTERED":
            self.holder[model["key"]] = new
            model["indexed"] = True

    @invariant()
    def at_most_one_paid_per_loss_unless_coinsured(self) -> None:
        paid: dict[tuple[str, int, str], list[str]] = {}
        for ref, model in self.regs.items():
            if self._state(ref) == "PAID":
                paid.setdefault(model["key"], []).append(ref)
        for refs in paid.values():
            assert len([r for r in refs if not self.regs[r]["co"]]) <= 1

    @invariant()
    def flagged_ones_have_an_open_exact_alert(self) -> None:
        for ref in self.regs:
            if self._state(ref) == "DUPLICATE_FLAGGED":
                alerts = ALERTS.scan(self.ins.net.state, ref + "~")
                assert any(a.state == "OPEN" and a.attrs["match"] == "exact" for a in alerts)


TestClaimRegistry = ClaimRegistry.TestCase
TestClaimRegistry.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# A policy's payments --------------------------------------------------------------------


@_SETTINGS
@given(
    limit=st.integers(1_000, 50_000),
    deductible=st.integers(0, 999),
    sum_insured=st.integers(1, 80_000),
    claims=st.lists(
        st.tuples(st.integers(0, 60_000), st.integers(1, 60_000)), min_size=1, max_size=4
    ),
)
def test_every_payment_is_capped(
    limit: int, deductible: int, sum_insured: int, claims: list[tuple[int, int]]
) -> None:
    ins = Insurance()
    ins.private(
        POLICIES,
        "insurer-a",
        "quote",
        "P-1",
        terms(limit=limit, deductible=deductible, sum_insured=sum_insured),
    )
    receipt = ins.screening("insurer-a")
    ins.private(POLICIES, "insurer-a", "check", "P-1", {"receipt": receipt, "result": "clear"})
    ins.private(POLICIES, "insurer-a", "issue", "P-1")
    paid = 0
    for n, (assessed, amount) in enumerate(claims):
        claim = f"C-{n}"
        ins.private(
            POLICIES,
            "insurer-a",
            "fnol",
            "P-1",
            {"claim": claim, "loss_date": "2025-01-02", "claimed": amount},
        )
        loss = Loss("person", f"P{n}", "2025-01-02", "injury").fingerprint_inputs()
        value = ins.net.fingerprints(
            "insurer-a", [_fp(x) for x in loss.exact], [_fp(x) for x in loss.similar]
        )
        ins.step(REGISTRATIONS, "insurer-a", "register", claim, {"loss": value})
        ins.private(POLICIES, "insurer-a", "assess", "P-1", {"claim": claim, "amount": assessed})
        allowed = amount <= min(assessed, limit - deductible, sum_insured - paid)
        try:
            ins.private(
                POLICIES, "insurer-a", "approve_claim", "P-1", {"claim": claim, "amount": amount}
            )
        except ContractError:
            assert not allowed
            continue
        assert allowed
        ins.step(REGISTRATIONS, "insurer-a", "mark_paid", claim)
        after = ins.private(POLICIES, "insurer-a", "pay_claim", "P-1", {"claim": claim})
        paid += amount
        assert after.attrs["claims"][claim]["paid"] == amount
        total = sum(c["paid"] for c in after.attrs["claims"].values())
        assert total == paid <= sum_insured


# The sale-time check --------------------------------------------------------------------


@_SETTINGS
@given(age=st.integers(0, 40), wait=st.integers(0, 40), hit=st.booleans())
def test_a_policy_is_issued_only_on_a_fresh_screening(age: int, wait: int, hit: bool) -> None:
    ins = Insurance()
    ins.private(POLICIES, "insurer-a", "quote", "P-1", terms())
    receipt = ins.screening("insurer-a", at=ins.net.now - age * MS_PER_DAY)
    check = {"receipt": receipt, "result": "hit" if hit else "clear"}
    try:
        checked = ins.private(POLICIES, "insurer-a", "check", "P-1", check)
    except ContractError:
        assert age > SCREENING_DAYS
        return
    assert age <= SCREENING_DAYS
    assert checked.state == ("REVIEW" if hit else "CHECKED")  # never refused for a hit
    if hit:
        ins.private(POLICIES, "insurer-a", "review", "P-1", {"reviewer": "u-1", "notes": bytes(32)})
    ins.net.now += wait * MS_PER_DAY
    try:
        ins.private(POLICIES, "insurer-a", "issue", "P-1")
    except ContractError:
        assert age + wait > SCREENING_DAYS
        return
    assert age + wait <= SCREENING_DAYS


# The treaty -----------------------------------------------------------------------------


@_SETTINGS
@given(
    lines=st.lists(st.integers(1, 600_000), min_size=3, max_size=3),
    order=st.integers(1, 1_000_000),
    instalments=st.lists(st.integers(1, 10**9), min_size=1, max_size=4),
    premium=st.integers(1, 4 * 10**9),
)
def test_binding_needs_lines_summing_to_the_order(
    lines: list[int], order: int, instalments: list[int], premium: int
) -> None:
    ins = Insurance()
    parties = ("insurer-a", "re-1", "re-2", "re-3")
    ins.private(LAYERS, "broker", "draft_layer", "L-1", LAYER, parties)
    ins.private(LAYERS, "insurer-a", "submit_layer", "L-1")
    for r in ("re-1", "re-2", "re-3"):
        ins.private(LAYERS, r, "quote_layer", "L-1", {"rate": 100_000, "capacity": 600_000})
    plan = [{"due": "2025-06-01", "amount": a} for a in instalments]
    order_ = {"order": order, "premium": premium, "instalments": plan}
    try:
        ins.private(LAYERS, "insurer-a", "firm_order", "L-1", order_)
    except ContractError:
        assert sum(instalments) != premium
        return
    assert sum(instalments) == premium
    signed = 0
    for r, line in zip(("re-1", "re-2", "re-3"), lines, strict=True):
        try:
            ins.private(LAYERS, r, "sign_line", "L-1", {"line": line})
        except ContractError:
            assert signed + line > order
            continue
        signed += line
        assert signed <= order
    try:
        bound = ins.private(LAYERS, "broker", "bind", "L-1")
    except ContractError:
        assert signed != order
        return
    assert signed == order == sum(bound.attrs["lines"].values())
