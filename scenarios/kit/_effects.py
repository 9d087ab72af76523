"""Applying a leg's primitives: the only writes a transition's effect causes.

:func:`apply_effects` takes the primitives an effect returned (``_primitives``) and
applies them, in order: to the leg's object (state, parties, attributes, rule
parameters, accruals), to the contract's holdings, to fingerprint registries. It
decides nothing about signatures; it records, in a :class:`Tally`, what the engine must
still check when every leg has run: whose consent each debit, mint and burn needs, and
which object accounts were debited (each must be an object of the same transaction).
Conservation is not tallied here: the engine checks it from the rows the transaction
actually wrote (``Holdings.audit_writes``), whatever wrote them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ledger import ContractError, State, check_value, get_member
from ledger import EncodingError as _EncodingError
from scenarios.kit._arith import accrue
from scenarios.kit._dates import parse_date
from scenarios.kit._holdings import Holdings, is_member_account
from scenarios.kit._machine import Machine
from scenarios.kit._objects import Obj
from scenarios.kit._primitives import (
    Accrue,
    Allocate,
    Burn,
    ClaimFp,
    Lock,
    Mint,
    Move,
    Primitive,
    Release,
    ReleaseFp,
    SetAttr,
    SetParty,
    SetRules,
    SetState,
    Spawn,
)

__all__ = ["Tally", "apply_effects", "check_new_parties"]


class Tally:
    """What applying primitives leaves for the end of the transaction to check."""

    __slots__ = ("_consents", "debited_objects")

    def __init__(self) -> None:
        self.debited_objects: set[str] = set()
        self._consents: list[tuple[str, str]] = []

    def debit(self, account: str) -> None:
        if is_member_account(account):
            self.consent(account, f"{account}, whose holding it debits")
        else:
            self.debited_objects.add(account)

    def consent(self, member: str, what: str) -> None:
        self._consents.append((member, what))

    def take_consents(self) -> list[tuple[str, str]]:
        taken, self._consents = self._consents, []
        return taken


def apply_effects(
    machine: Machine,
    before: Obj,
    effects: list[Primitive],
    *,
    state: State,
    holdings: Holdings,
    actor: str,
    tally: Tally,
    private: bool = False,
) -> tuple[Obj, list[Spawn], bool]:
    """The object after ``effects``, the consequence legs to run, and whether its rule
    parameters changed. A confidential object's step (``private``) may change that
    object only: anything written to a shared table would escape the commitment."""
    obj = before
    spawns: list[Spawn] = []
    rules_changed = False
    for p in effects:
        if isinstance(p, SetState):
            obj = replace(obj, state=p.state)
        elif isinstance(p, SetParty):
            obj = _set_party(obj, p)
        elif isinstance(p, SetAttr):
            obj = _set_attr(obj, p)
        elif isinstance(p, SetRules):
            obj = _set_rules(machine, obj, p)
            rules_changed = True
        elif isinstance(p, Accrue):
            amount = accrue(p.principal, p.rate, p.daycount, parse_date(p.start), parse_date(p.end))
            obj = obj.evolve(attrs={p.attr: amount})
        elif private:
            raise ContractError(
                f"{type(p).__name__}: a confidential step changes its own object only"
            )
        elif isinstance(p, Spawn):
            spawns.append(p)
        elif isinstance(p, ClaimFp | ReleaseFp):
            _fingerprints(state, p)
        else:
            obj = _holdings(state, holdings, actor, tally, obj, p)
    return obj, spawns, rules_changed


def _holdings(
    state: State, holdings: Holdings, actor: str, tally: Tally, obj: Obj, p: Primitive
) -> Obj:
    if isinstance(p, Move):
        tally.debit(p.src)
        holdings.move(state, p.qty, p.instrument, p.src, p.dst, p.instruction)
    elif isinstance(p, Mint):
        issuer = holdings.mint(state, actor, p.qty, p.instrument, p.dst)
        tally.consent(issuer, f"the issuer of {p.instrument}")
    elif isinstance(p, Burn):
        tally.debit(p.src)
        issuer = holdings.burn(state, p.qty, p.instrument, p.src, p.reason)
        tally.consent(issuer, f"the issuer of {p.instrument}")
    elif isinstance(p, Lock):
        tally.debit(p.owner)
        holdings.lock(state, p.qty, p.instrument, p.owner, p.instruction)
    elif isinstance(p, Release):
        if not holdings.release(state, p.qty, p.instrument, p.owner, p.instruction):
            return obj
    elif isinstance(p, Allocate):
        tally.debit(p.src)
        parts = holdings.allocate(state, p.qty, p.instrument, p.src, p.weights)
        if p.attr:
            obj = obj.evolve(attrs={p.attr: parts})
    else:
        raise ContractError(f"{type(p).__name__} is not a primitive of the kit")
    return obj


def _fingerprints(state: State, p: ClaimFp | ReleaseFp) -> None:
    if isinstance(p, ClaimFp):
        claim = p.registry.claim(state, p.fps, p.ref)
        if not claim.first:
            held = ", ".join(repr(h) for h in claim.holders)
            raise ContractError(f"fingerprints already held by {held} (first wins)")
        if p.index is not None:
            p.index.add(state, p.similar, p.ref)
    else:
        p.registry.release(state, p.fps, p.ref)
        if p.index is not None:
            p.index.remove(state, p.similar, p.ref)


def _value(key: str, value: Any) -> Any:
    if value is None:
        return None
    try:
        check_value(value)
    except _EncodingError as exc:
        raise ContractError(f"attribute {key!r}: {exc}") from None
    return value


def _set_attr(obj: Obj, p: SetAttr) -> Obj:
    if p.key == "rules":
        raise ContractError("rule parameters change only through SetRules")
    if p.key == "data_hash":
        # The object's commitment to its documents (a split's children keep their
        # parent's); a Documents field in the payload sets it too.
        if not isinstance(p.value, bytes) or len(p.value) > 64:
            raise ContractError("data_hash is at most 64 bytes")
        return replace(obj, data_hash=p.value)
    return obj.evolve(attrs={p.key: _value(p.key, p.value)})


def _set_party(obj: Obj, p: SetParty) -> Obj:
    if p.party is None:
        return obj.evolve(parties={p.role: None}, sets={p.role: None})
    if isinstance(p.party, str):
        return obj.evolve(parties={p.role: p.party}, sets={p.role: None})
    return obj.evolve(parties={p.role: None}, sets={p.role: p.party})


def _set_rules(machine: Machine, obj: Obj, p: SetRules) -> Obj:
    if machine.rules_schema is None:
        raise ContractError(f"{machine.type} objects carry no rule parameters")
    params = machine.rules_schema.check(p.params)
    current = obj.attrs.get("rules")
    version = current["version"] + 1 if isinstance(current, Mapping) else 1
    return obj.evolve(attrs={"rules": {"version": version, "params": params}})


def check_new_parties(state: State, before: Obj, after: Obj) -> None:
    # A party named by this step must be an active member now; parties already on the
    # object are not re-checked, so a later removal cannot freeze others' steps.
    old = before.members()
    for member_id in sorted(after.members() - old):
        member = get_member(state, member_id)
        if member is None or not member.active:
            role = next(
                (r for r in sorted(after.roles) if member_id in after.party_set(r).members),  # type: ignore[union-attr]
                "party",
            )
            raise ContractError(f"{role} {member_id!r} is not an active member")
