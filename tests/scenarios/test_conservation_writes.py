"""The engine's conservation check reads the rows a transaction wrote, not its code.

``Holdings.audit_writes`` judges each transaction from the before and after of every
holdings and instruments row in its overlay. These tests break the holdings code the
way a bug would (a debit that takes nothing, a mint that records no supply, a credit
that overwrites a balance, a row for an instrument nobody minted, an overdraft) and
check that each transaction is refused with a ContractError naming what broke, and
that it changes nothing. The full from-state audit (``Holdings.audit``, which views
and queries use) is checked to catch a broken instrument on its own.
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger import ContractError, MemoryState, Overlay, State
from scenarios.kit import Holdings
from tests.scenarios import dvp_example as dvp
from tests.scenarios._net import Net

HOLDINGS = "dvp.holdings"


@pytest.fixture
def net() -> Net:
    net = Net(dict.fromkeys(["issuer", "alice", "bob"], "member"), [dvp.SCENARIO.contract])
    net.step(dvp.INSTRUMENTS, "issuer", "create", "ACME")
    net.step(dvp.INSTRUMENTS, "issuer", "issue", "ACME", {"to": "alice", "qty": 100})
    return net


def instruct(net: Net, ident: str, qty: int) -> None:
    payload = {"receiver": "bob", "instrument": "ACME", "qty": qty, "trade": "T"}
    net.step(dvp.INSTRUCTIONS, "alice", "instruct", ident, payload)


def test_a_lock_that_debits_nothing_is_refused(net: Net, monkeypatch: Any) -> None:
    instruct(net, "I1", 40)

    def debit_nothing(*args: Any) -> None:
        pass

    monkeypatch.setattr(Holdings, "_debit", debit_nothing)
    net.refused(
        r"instrument 'ACME' is not conserved: this transaction changes its holdings by "
        r"\+40 and its supply by \+0",
        net.step,
        dvp.INSTRUCTIONS,
        "alice",
        "allocate",
        "I1",
    )


def test_a_mint_that_records_no_supply_is_refused(net: Net, monkeypatch: Any) -> None:
    def credit_only(
        self: Holdings, state: State, actor: str, qty: int, instrument: str, dst: str
    ) -> str:
        self._credit(state, qty, instrument, dst)
        return actor

    monkeypatch.setattr(Holdings, "mint", credit_only)
    _refused_issue(net, r"changes its holdings by \+5 and its supply by \+0")


def test_a_credit_that_overwrites_a_balance_is_refused(net: Net, monkeypatch: Any) -> None:
    # A credit that writes the row directly, forgetting what the account held: value
    # is destroyed, though the mint itself recorded the right supply.
    def overwrite(self: Holdings, state: State, qty: int, instrument: str, account: str) -> None:
        state.put(self.holdings, f"{instrument}|{account}", {"free": qty, "locks": {}})

    monkeypatch.setattr(Holdings, "_credit", overwrite)
    _refused_issue(net, r"changes its holdings by -95 and its supply by \+5")


def test_a_holding_of_an_instrument_nobody_minted_is_refused(net: Net, monkeypatch: Any) -> None:
    credit = Holdings._credit

    def and_a_ghost(self: Holdings, state: State, qty: int, instrument: str, account: str) -> None:
        credit(self, state, qty, instrument, account)
        state.put(self.holdings, "GHOST|bob", {"free": qty, "locks": {}})

    monkeypatch.setattr(Holdings, "_credit", and_a_ghost)
    _refused_issue(net, "no instrument 'GHOST'")


def test_an_overdraft_is_refused_though_the_sums_agree(net: Net, monkeypatch: Any) -> None:
    instruct(net, "I1", 400)

    def overdraw(
        self: Holdings, state: State, qty: int, instrument: str, account: str, lock: str
    ) -> None:
        row = self._row(state, instrument, account)
        row["free"] -= qty
        self._put(state, instrument, account, row)

    monkeypatch.setattr(Holdings, "_debit", overdraw)
    net.refused(
        "alice holds a negative or malformed amount of ACME",
        net.step,
        dvp.INSTRUCTIONS,
        "alice",
        "allocate",
        "I1",
    )


def test_the_same_steps_unbroken_are_applied(net: Net) -> None:
    # The control for the tests above: the steps they break apply as written.
    instruct(net, "I1", 40)
    net.step(dvp.INSTRUCTIONS, "alice", "allocate", "I1")
    net.step(dvp.INSTRUMENTS, "issuer", "issue", "ACME", {"to": "alice", "qty": 5})
    supply = Holdings("dvp").audit(net.state, "ACME")
    assert (supply.minted, supply.outstanding) == (105, 105)


# The checks on their own ---------------------------------------------------------------


def conserved() -> tuple[Holdings, MemoryState]:
    holdings, state = Holdings("t"), MemoryState()
    holdings.mint(state, "issuer", 100, "ACME", "alice")
    holdings.lock(state, 30, "ACME", "alice", "I1")
    return holdings, state


def test_audit_writes_accepts_a_conserved_transaction_and_names_what_it_checked() -> None:
    holdings, state = conserved()
    overlay = Overlay(state)
    holdings.move(overlay, 30, "ACME", "alice", "bob", "I1")
    holdings.mint(overlay, "issuer", 7, "USD", "bob")
    holdings.burn(overlay, 10, "ACME", "alice", "redeemed")
    assert holdings.audit_writes(state, overlay) == ("ACME", "USD")
    assert holdings.audit_writes(state, Overlay(state)) == ()


@pytest.mark.parametrize(
    ("key", "row", "match"),
    [
        ("ACME|alice", {"free": "70", "locks": {"I1": 30}}, "malformed amount of ACME"),
        ("ACME|alice", {"free": True, "locks": {"I1": 29}}, "malformed amount of ACME"),
        ("ACME|alice", {"free": 71, "locks": {"I1": -1}}, "negative or malformed"),
        ("ACME|alice", {"free": 70}, "malformed amount of ACME"),
        ("ACME|alice", 100, "malformed amount of ACME"),
        ("ACME", {"free": 0, "locks": {}}, "holdings row 'ACME' names no account"),
    ],
)
def test_audit_writes_refuses_a_malformed_row(key: str, row: Any, match: str) -> None:
    holdings, state = conserved()
    overlay = Overlay(state)
    overlay.put(holdings.holdings, key, row)
    with pytest.raises(ContractError, match=match):
        holdings.audit_writes(state, overlay)


def test_audit_writes_refuses_deleting_an_instrument_still_held() -> None:
    holdings, state = conserved()
    overlay = Overlay(state)
    overlay.delete(holdings.instruments, "ACME")
    with pytest.raises(ContractError, match="no instrument 'ACME'"):
        holdings.audit_writes(state, overlay)


def test_audit_writes_refuses_a_supply_changed_without_holdings() -> None:
    holdings, state = conserved()
    overlay = Overlay(state)
    row = holdings.instrument(state, "ACME")
    assert row is not None
    overlay.put(holdings.instruments, "ACME", {**row, "burned": {"voided": 1}})
    with pytest.raises(ContractError, match=r"holdings by \+0 and its supply by -1"):
        holdings.audit_writes(state, overlay)


def test_the_full_audit_catches_a_broken_instrument() -> None:
    holdings, state = conserved()
    assert holdings.audit(state, "ACME").outstanding == 100
    state.put(holdings.holdings, "ACME|bob", {"free": 1, "locks": {}})
    with pytest.raises(ContractError, match="instrument 'ACME' is not conserved"):
        holdings.audit(state, "ACME")
    state.put(holdings.holdings, "ACME|bob", {"free": -1, "locks": {"I2": 1}})
    with pytest.raises(ContractError, match="bob holds a negative amount of ACME"):
        holdings.audit(state, "ACME")


def _refused_issue(net: Net, reason: str) -> None:
    """The issuer's ``issue`` of 5 ACME to alice, refused for ``reason``; nothing changes."""
    net.refused(
        reason, net.step, dvp.INSTRUMENTS, "issuer", "issue", "ACME", {"to": "alice", "qty": 5}
    )
