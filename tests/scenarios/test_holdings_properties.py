"""Conservation per instrument under random transactions of legs (the DvP example).

A ``RuleBasedStateMachine`` submits random transactions of one to four legs — mints,
instructions, allocations (locks), settlements (moves from a lock) and cancellations
(releases), on two instruments and four owners, many of them impossible (an unlocked
instruction settled, more locked than held, a leg on a stale version) — and checks
each outcome against a model written from the rules, not from the code:

- a transaction applies exactly when every one of its legs is valid in turn, and a
  refused one changes nothing (any leg refusing refuses the whole);
- after every step, per instrument: minted = Σ free + Σ locked over all accounts (the
  kit's own audit agrees), no balance is negative, and every balance is the model's;
- what is locked for an instruction is only ever spent by that instruction.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ledger import ContractError
from scenarios.kit import Holdings, Leg
from tests.scenarios import dvp_example as dvp
from tests.scenarios._net import Net

OWNERS = ["alice", "bob", "carol", "dave"]
ISSUERS = {"ACME": "issuer", "USD": "cashbank"}


@dataclass
class Instruction:
    sender: str
    receiver: str
    instrument: str
    qty: int
    state: str = "PENDING"
    version: int = 1


@dataclass
class Model:
    free: dict[tuple[str, str], int] = field(default_factory=dict)
    locked: dict[tuple[str, str, str], int] = field(default_factory=dict)
    minted: dict[str, int] = field(default_factory=dict)
    instructions: dict[str, Instruction] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)


class Legs(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        members = dict.fromkeys([*OWNERS, *ISSUERS.values()], "member")
        self.net = Net(members, [dvp.SCENARIO.contract])
        self.model = Model()
        self.holdings = Holdings("dvp")
        self.count = 0

    @initialize()
    def instruments(self) -> None:
        for instrument, issuer in ISSUERS.items():
            self.net.step(dvp.INSTRUMENTS, issuer, "create", instrument)
            self.model.versions[instrument] = 1
            self.model.minted[instrument] = 0

    # Leg builders: each returns (leg, apply-to-model or None when the leg is invalid) --

    def _issue(self, data: st.DataObject, m: Model) -> tuple[Leg, Any]:
        instrument = data.draw(st.sampled_from(sorted(ISSUERS)))
        to = data.draw(st.sampled_from(OWNERS))
        qty = data.draw(st.integers(1, 500))
        leg = Leg("instrument", instrument, m.versions[instrument], "issue", {"to": to, "qty": qty})

        def apply() -> None:
            m.minted[instrument] += qty
            m.free[(instrument, to)] = m.free.get((instrument, to), 0) + qty
            m.versions[instrument] += 1

        return leg, apply

    def _on_instruction(self, data: st.DataObject, m: Model, name: str) -> tuple[Leg, Any] | None:
        if not m.instructions:
            return None
        ident = data.draw(st.sampled_from(sorted(m.instructions)))
        ins = m.instructions[ident]
        # Now and then, a leg built on a stale version.
        stale = data.draw(st.integers(0, 9)) == 0
        leg = Leg("instruction", ident, ins.version - (1 if stale else 0), name, {})
        key = (ins.instrument, ins.sender)
        lock = (ins.instrument, ins.sender, ident)
        if stale or ins.version == 0:
            return leg, None
        if name == "allocate":
            if ins.state != "PENDING" or m.free.get(key, 0) < ins.qty:
                return leg, None

            def locking() -> None:
                m.free[key] -= ins.qty
                m.locked[lock] = m.locked.get(lock, 0) + ins.qty
                ins.state, ins.version = "ALLOCATED", ins.version + 1

            return leg, locking
        if name == "settle_instruction":
            if ins.state != "ALLOCATED" or m.locked.get(lock, 0) < ins.qty:
                return leg, None

            def move() -> None:
                m.locked[lock] -= ins.qty
                receiver = (ins.instrument, ins.receiver)
                m.free[receiver] = m.free.get(receiver, 0) + ins.qty
                ins.state, ins.version = "SETTLED", ins.version + 1

            return leg, move
        if ins.state not in {"PENDING", "ALLOCATED"}:
            return leg, None

        def release() -> None:
            m.free[key] = m.free.get(key, 0) + m.locked.pop(lock, 0)
            ins.state, ins.version = "CANCELLED", ins.version + 1

        return leg, release

    # Rules ---------------------------------------------------------------------------

    @rule(data=st.data())
    def instruct(self, data: st.DataObject) -> None:
        sender, receiver = data.draw(st.permutations(OWNERS))[:2]
        instrument = data.draw(st.sampled_from(sorted(ISSUERS)))
        qty = data.draw(st.integers(1, 300))
        ident = f"I{self.count}"
        self.count += 1
        payload = {"receiver": receiver, "instrument": instrument, "qty": qty, "trade": "T"}
        self.net.step(dvp.INSTRUCTIONS, sender, "instruct", ident, payload)
        self.model.instructions[ident] = Instruction(sender, receiver, instrument, qty)

    @rule(data=st.data(), size=st.integers(1, 4))
    def transaction(self, data: st.DataObject, size: int) -> None:
        trial = copy.deepcopy(self.model)
        legs: list[Leg] = []
        valid = True
        for _ in range(size):
            kind = data.draw(st.sampled_from(["issue", "allocate", "settle_instruction", "cancel"]))
            built = (
                self._issue(data, trial)
                if kind == "issue"
                else self._on_instruction(data, trial, kind)
            )
            if built is None:
                continue
            leg, apply = built
            legs.append(leg)
            if apply is None:
                valid = False
            elif valid:
                apply()
        if not legs:
            return
        signers = {ISSUERS[leg.object] for leg in legs if leg.machine == "instrument"}
        for leg in legs:
            if leg.machine == "instruction":
                ins = self.model.instructions[leg.object]
                signers |= {ins.sender, ins.receiver}
        submitter, *cosigners = sorted(signers)
        before = copy.deepcopy(self.net.state.tables())
        try:
            self.net.tx("dvp", submitter, legs, cosigners)
        except ContractError as exc:
            assert self.net.state.tables() == before, "a refused transaction changed state"
            assert not valid, f"refused, but every leg was valid: {exc.reason}"
            event("refused")
            return
        assert valid, f"applied, but a leg was invalid: {legs}"
        event(f"applied {len(legs)} legs")
        self.model = trial

    # Invariants ----------------------------------------------------------------------

    @invariant()
    def conserved_and_as_modelled(self) -> None:
        state = self.net.state
        for instrument in ISSUERS:
            if self.model.minted[instrument] == 0:
                # An instrument exists on the ledger from its first mint.
                assert self.holdings.instrument(state, instrument) is None
                continue
            supply = self.holdings.audit(state, instrument)
            assert supply.minted == self.model.minted[instrument] == supply.outstanding
            for owner in OWNERS:
                free = self.holdings.balance(state, instrument, owner)
                assert free == self.model.free.get((instrument, owner), 0) >= 0
        for ident, ins in self.model.instructions.items():
            held = self.holdings.locked(state, ins.instrument, ins.sender, ident)
            assert held == self.model.locked.get((ins.instrument, ins.sender, ident), 0)
            obj = dvp.INSTRUCTIONS.load(state, ident)
            assert (obj.state, obj.version) == (ins.state, ins.version)


TestLegs = Legs.TestCase
TestLegs.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
