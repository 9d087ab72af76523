"""The per-transaction conservation check agrees with the full audit, transaction by
transaction.

A ``RuleBasedStateMachine`` builds random transactions on an overlay of one committed
state: one to three holdings operations (mint, move, lock, allocate, release, burn, on
two instruments and five accounts; an operation the holdings rules refuse drops the
transaction, as the engine would), then, most of the time, one corruption written
straight into a table the way a bug would write it (a balance or a lock changed, value
moved between accounts, a row deleted, the supply changed, an instrument deleted, a
holding of an instrument nobody minted). For each it checks:

- ``Holdings.audit_writes`` (the engine's check, which reads only the rows written)
  accepts exactly when ``Holdings.audit`` (which sums every account) passes for every
  instrument the state knows before or after — an instrument, once minted, is never
  deleted, so the full audit of one that disappeared fails for want of it;
- an accepted transaction is committed, so every later transaction starts from a
  state both checks hold conserved: the induction the per-transaction check rests on.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ledger import ContractError, MemoryState, Overlay, State
from scenarios.kit import Holdings

INSTRUMENTS = ["ACME", "USD"]
ACCOUNTS = ["alice", "bob", "carol", "issuer", "instruction:I1"]
INSTRUCTIONS = ["I1", "I2"]
OPERATIONS = ["mint", "move", "lock", "allocate", "release", "burn"]
CORRUPTIONS = [
    "none",
    "free",
    "lock",
    "swap",
    "delete row",
    "minted",
    "burned",
    "delete instrument",
    "ghost",
]
QTY = st.integers(1, 200)


def known(holdings: Holdings, state: State) -> set[str]:
    """Every instrument named in either table."""
    names = {key for key, _ in state.scan(holdings.instruments)}
    return names | {key.partition("|")[0] for key, _ in state.scan(holdings.holdings)}


def full_audit_passes(holdings: Holdings, before: State, after: State) -> bool:
    try:
        for instrument in sorted(known(holdings, before) | known(holdings, after)):
            holdings.audit(after, instrument)
    except ContractError:
        return False
    return True


class Agreement(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.holdings = Holdings("t")
        self.state = MemoryState()

    def _operate(self, data: st.DataObject, overlay: Overlay) -> None:
        h, draw = self.holdings, data.draw
        name = draw(st.sampled_from(OPERATIONS))
        instrument = draw(st.sampled_from(INSTRUMENTS))
        src, dst = draw(st.permutations(ACCOUNTS))[:2]
        instruction = draw(st.sampled_from(INSTRUCTIONS))
        if name == "mint":
            h.mint(overlay, "issuer", draw(QTY), instrument, dst)
        elif name == "move":
            h.move(
                overlay, draw(QTY), instrument, src, dst, draw(st.sampled_from(["", instruction]))
            )
        elif name == "lock":
            h.lock(overlay, draw(QTY), instrument, src, instruction)
        elif name == "allocate":
            weights = [(a, draw(st.integers(0, 5))) for a in ACCOUNTS if a != src]
            h.allocate(overlay, draw(QTY), instrument, src, weights)
        elif name == "release":
            h.release(overlay, draw(st.none() | QTY), instrument, src, instruction)
        else:
            h.burn(overlay, draw(QTY), instrument, src, draw(st.sampled_from(["redeemed", "x"])))

    def _corrupt(self, data: st.DataObject, overlay: Overlay) -> str:
        h, draw = self.holdings, data.draw
        kind = draw(st.sampled_from(CORRUPTIONS))
        instrument = draw(st.sampled_from(INSTRUMENTS))
        src, dst = draw(st.permutations(ACCOUNTS))[:2]
        delta = draw(st.integers(-3, 3))
        row = h._row(overlay, instrument, src)
        supply = h.instrument(overlay, instrument) or {"issuer": "x", "minted": 0, "burned": {}}
        if kind == "free":
            row["free"] += delta
            overlay.put(h.holdings, f"{instrument}|{src}", row)
        elif kind == "lock":
            lock = draw(st.sampled_from(INSTRUCTIONS))
            row["locks"][lock] = row["locks"].get(lock, 0) + delta
            overlay.put(h.holdings, f"{instrument}|{src}", row)
        elif kind == "swap":
            # Value moved without a debit check: conserved, unless it overdraws.
            other = h._row(overlay, instrument, dst)
            row["free"] -= abs(delta)
            other["free"] += abs(delta)
            overlay.put(h.holdings, f"{instrument}|{src}", row)
            overlay.put(h.holdings, f"{instrument}|{dst}", other)
        elif kind == "delete row":
            overlay.delete(h.holdings, f"{instrument}|{src}")
        elif kind == "minted":
            overlay.put(h.instruments, instrument, {**supply, "minted": supply["minted"] + delta})
        elif kind == "burned":
            burned = {**supply["burned"], "x": supply["burned"].get("x", 0) + delta}
            overlay.put(h.instruments, instrument, {**supply, "burned": burned})
        elif kind == "delete instrument":
            overlay.delete(h.instruments, instrument)
        elif kind == "ghost":
            overlay.put(h.holdings, f"GHOST|{src}", {"free": abs(delta), "locks": {}})
        return kind

    @rule(data=st.data(), size=st.integers(1, 3))
    def transaction(self, data: st.DataObject, size: int) -> None:
        overlay = Overlay(self.state)
        try:
            for _ in range(size):
                self._operate(data, overlay)
        except ContractError:
            event("refused by the holdings rules")
            return
        kind = self._corrupt(data, overlay)
        expected = full_audit_passes(self.holdings, self.state, overlay)
        try:
            self.holdings.audit_writes(self.state, overlay)
        except ContractError as exc:
            assert not expected, f"refused, but the full audit passes ({kind}): {exc.reason}"
            event(f"{kind}: refused")
            return
        assert expected, f"accepted, but the full audit fails ({kind})"
        event(f"{kind}: accepted")
        overlay.commit()

    @invariant()
    def committed_state_is_conserved(self) -> None:
        for instrument in known(self.holdings, self.state):
            self.holdings.audit(self.state, instrument)


TestAgreement = Agreement.TestCase
TestAgreement.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    # The explain phase replays a failure hundreds of times; the shrunk case suffices.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)
