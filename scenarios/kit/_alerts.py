"""Duplicate alerts: the notice a fingerprint registry gives when two parties register
the same thing, and the bookkeeping a registration keeps with it.

A scenario with a fingerprint registry (trade finance's invoices, insurance's claims)
declares its registrations machine and one :class:`DuplicateAlerts` over it. The rules
it keeps, the same in every such scenario:

- A registration that shares an exact fingerprint with an active one is
  ``DUPLICATE_FLAGGED`` and holds none of its fingerprints; one that shares only a
  similar fingerprint is registered all the same. Either match raises an alert, a leg
  of the registering transaction, with id ``<new>~<existing>``: "~" never appears in a
  registration id, so alert ids cannot collide with them.
- An alert names both registering members (``first`` holds, ``second`` registered
  later; member ids only), the match and the existing registration's status.
- An alert is resolved by both members. ``withdraw`` withdraws the new registration;
  ``clear`` reinstates a flagged one when its last open exact alert is cleared, and
  reinstatement is refused while another registration still holds its fingerprints.
  A scenario may add outcomes that, on a flagged exact duplicate only, take a
  transition of the registration at once (insurance's co-insurance).
- A registration that leaves for good (withdrawn, denied, lapsed) releases what it
  holds and moots its open alerts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger import ContractError, State, get_member
from scenarios.kit._declare import Listing
from scenarios.kit._fingerprints import Describe, FingerprintRegistry, SimilarityIndex
from scenarios.kit._machine import NEW, Machine, Transition, View
from scenarios.kit._objects import Obj
from scenarios.kit._primitives import (
    ClaimFp,
    Primitive,
    ReleaseFp,
    SetAttr,
    SetParty,
    SetState,
    Spawn,
)
from scenarios.kit._rules import Post
from scenarios.kit._schema import Enum, Schema, Str
from scenarios.kit._types import Member

__all__ = [
    "CLEARED",
    "DUPLICATE_FLAGGED",
    "OPEN",
    "REGISTERED",
    "REGISTRATION_REF",
    "WITHDRAWN",
    "DuplicateAlerts",
    "TakeOver",
    "registered_by",
]

# A registration's states the alerts act on.
REGISTERED = "REGISTERED"
DUPLICATE_FLAGGED = "DUPLICATE_FLAGGED"
WITHDRAWN = "WITHDRAWN"
# An alert's states (a mooted or withdrawn alert is WITHDRAWN).
OPEN = "OPEN"
CLEARED = "CLEARED"

# The existing side of an alert may be another scenario's registration (``scf:C1``).
REGISTRATION_REF = Str(re.compile(r"[A-Za-z0-9_.:~-]{1,200}"))
_MEMBERS = frozenset({"member"})


@dataclass(frozen=True, slots=True)
class TakeOver:
    """An outcome besides clear and withdraw: it clears an exact alert on a flagged
    registration and takes ``transition`` of the registration at once, with the
    existing registration as ``with``; on any other alert it is refused with
    ``refusal``."""

    transition: str
    refusal: str


class DuplicateAlerts:
    """The alert machine of one registry, and the registration side of its rules.

    ``owner`` is the registrations' role that registers; ``active`` the states in which
    a registration holds its fingerprints; ``kept`` the similar fingerprints a
    registration keeps in the index of those it was registered with (all unless told);
    ``still_held`` refuses a reinstatement while others hold the fingerprints (with
    ``{held}`` for their references); ``arbiter``, when given, lets the members name an
    observer who co-signs a resolution, and is the word for the two members in the
    refusal of an arbiter who is one of them.
    """

    __slots__ = (
        "_arbiter",
        "_kept",
        "_take_overs",
        "active",
        "exact",
        "machine",
        "owner",
        "registrations",
        "similar",
        "still_held",
    )

    def __init__(
        self,
        registrations: Machine,
        exact: FingerprintRegistry,
        similar: SimilarityIndex,
        *,
        owner: str,
        active: frozenset[str],
        still_held: str,
        resolve_help: str,
        outcome_help: str,
        take_overs: Mapping[str, TakeOver] | None = None,
        arbiter: str | None = None,
        kept: Callable[[Sequence[bytes]], Sequence[bytes]] | None = None,
    ) -> None:
        self.registrations = registrations
        self.exact = exact
        self.similar = similar
        self.owner = owner
        self.active = active
        self.still_held = still_held
        self._take_overs = dict(take_overs or {})
        self._arbiter = arbiter
        self._kept = kept or (lambda sim_fps: sim_fps)
        resolve_fields: dict[str, Str | Enum | Member] = {
            "outcome": Enum(frozenset({"clear", "withdraw", *self._take_overs}), help=outcome_help),
        }
        if arbiter is not None:
            resolve_fields["arbiter"] = Member(required=False, help="An observer who co-signs.")
        both = frozenset({"first", "second"})
        self.machine = Machine(
            registrations.contract,
            "alert",
            (
                Transition(
                    "raise",
                    frozenset({NEW}),
                    frozenset({OPEN}),
                    frozenset({"second"}),
                    Schema(
                        {
                            "new": Str(),
                            "existing": REGISTRATION_REF,
                            "match": Enum(frozenset({"exact", "similar"})),
                            "existing_status": Str(re.compile(r"[A-Z_]{1,32}")),
                            "first": Member(),
                            "second": Member(),
                        }
                    ),
                    _raise,
                    internal=True,
                ),
                Transition(
                    "moot",
                    frozenset({OPEN}),
                    frozenset({WITHDRAWN}),
                    both,
                    effect=_moot,
                    internal=True,
                ),
                Transition(
                    "resolve_alert",
                    frozenset({OPEN}),
                    frozenset({CLEARED, WITHDRAWN}),
                    both,
                    Schema(resolve_fields),
                    self._resolve,
                    required_signers=both,
                    signers_if_present=frozenset() if arbiter is None else frozenset({"arbiter"}),
                    consortium_roles=_MEMBERS,
                    command="resolve",
                    help=resolve_help,
                ),
            ),
        )

    # Reading -----------------------------------------------------------------------

    def alerts_of(self, state: State, reg_id: str) -> list[Obj]:
        """The alerts registration ``reg_id`` raised (it is the newer side of each)."""
        return list(self.machine.scan(state, reg_id + "~"))

    def raised_none(self, p: Post, match: str) -> bool:
        """A rule's test: the registration raised no alert of ``match``."""
        return not any(a.attrs["match"] == match for a in self.alerts_of(p.state, p.after.id))

    def listing(self, help: str) -> Listing:
        """``alerts``: the alerts the member is a party to."""
        return Listing(
            "alerts",
            self.machine,
            help,
            key="alert",
            flags={"open": frozenset({OPEN})},
            columns={
                "state": lambda a: a.state,
                "match": lambda a: a.attrs["match"],
                "new": lambda a: a.attrs["new"],
                "existing": lambda a: a.attrs["existing"],
                "existing_status": lambda a: a.attrs["existing_status"],
                "first": lambda a: a.parties["first"],
                "second": lambda a: a.parties["second"],
            },
        )

    # The registration's effects ------------------------------------------------------

    def claim(self, reg: Obj) -> ClaimFp:
        return self._claim(reg.id, reg.attrs)

    def release(self, reg: Obj) -> ReleaseFp:
        a = reg.attrs
        return ReleaseFp(self.exact, tuple(a["fps"]), reg.id, self._kept_of(a), self.similar)

    def _claim(self, ref: str, a: Mapping[str, Any]) -> ClaimFp:
        return ClaimFp(self.exact, tuple(a["fps"]), ref, self._kept_of(a), self.similar)

    def _kept_of(self, a: Mapping[str, Any]) -> tuple[bytes, ...]:
        return tuple(self._kept(a["sim_fps"]))

    def register(self, v: View, attrs: Mapping[str, Any]) -> Iterator[Primitive]:
        """A new registration: its state and owner, ``attrs`` (with its ``fps`` and
        ``sim_fps``), its claim if it is the first, and its alerts."""
        fps, sim_fps = attrs["fps"], attrs["sim_fps"]
        conflicts = self.exact.conflicts(v.state, fps, v.id)
        yield SetState(REGISTERED if conflicts.first else DUPLICATE_FLAGGED)
        yield SetParty(self.owner, v.actor)
        for key, value in attrs.items():
            yield SetAttr(key, value)
        if conflicts.first:
            yield self._claim(v.id, attrs)
        similar = [
            r for r in self.similar.matches(v.state, sim_fps, v.id) if r not in conflicts.holders
        ]
        for match, others in (("exact", conflicts.holders), ("similar", tuple(similar))):
            for other_ref in others:
                # An exact holder may be another scenario's (``scf:C1``, a certificate
                # the invoice backs): its registering member is told like any other.
                other = self.exact.describe(v.state, other_ref)
                yield Spawn(
                    self.machine,
                    f"{v.id}~{other_ref}",
                    "raise",
                    {
                        "new": v.id,
                        "existing": other_ref,
                        "match": match,
                        "existing_status": other.status,
                        "first": other.member,
                        "second": v.actor,
                    },
                )

    def leave(self, v: View) -> Iterator[Primitive]:
        """Withdraw, deny or lapse: release what an active registration holds and moot
        its open alerts."""
        if v.before.state in self.active:
            yield self.release(v.before)
        for alert in self.alerts_of(v.state, v.id):
            if alert.state == OPEN:
                yield Spawn(self.machine, alert.id, "moot")

    def reinstate(self, v: View) -> Iterator[Primitive]:
        """A flagged registration takes its fingerprints, once nobody else holds them."""
        conflicts = self.exact.conflicts(v.state, v.before.attrs["fps"], v.id)
        if not conflicts.first:
            held = ", ".join(repr(h) for h in conflicts.holders)
            raise ContractError(self.still_held.format(held=held))
        yield self.claim(v.before)

    # The alert's resolution --------------------------------------------------------

    def _resolve(self, v: View) -> Iterable[Primitive]:
        alert = v.before
        new = v.load(self.registrations, alert.attrs["new"])
        arbiter = v.payload.get("arbiter")
        if arbiter is not None:
            member = get_member(v.state, arbiter)
            if member is None or member.role != "observer":
                raise ContractError("an arbiter must be an observer member")
            if arbiter in alert.parties.values():
                raise ContractError(f"an arbiter cannot be one of the two {self._arbiter}")
            yield SetParty("arbiter", arbiter)
        outcome = v.payload["outcome"]
        yield SetAttr("outcome", outcome)
        yield SetAttr("resolved_on", v.today.isoformat())
        if outcome == "withdraw":
            if new.state not in {REGISTERED, DUPLICATE_FLAGGED}:
                raise ContractError(
                    f"registration {new.id!r} is {new.state} and cannot be withdrawn"
                )
            yield SetState(WITHDRAWN)
            yield Spawn(self.registrations, new.id, "withdraw")
            return
        yield SetState(CLEARED)
        take_over = self._take_overs.get(outcome)
        if alert.attrs["match"] != "exact" or new.state != DUPLICATE_FLAGGED:
            if take_over is not None:
                raise ContractError(take_over.refusal)
            return
        if take_over is not None:
            payload = {"with": alert.attrs["existing"]}
            yield Spawn(self.registrations, new.id, take_over.transition, payload)
            return
        pending = [
            a.id
            for a in self.alerts_of(v.state, new.id)
            if a.id != alert.id and a.state == OPEN and a.attrs["match"] == "exact"
        ]
        if not pending:  # Reinstated when the last exact alert is cleared.
            yield Spawn(self.registrations, new.id, "reinstate")


def registered_by(machine: Machine, role: str) -> Describe:
    """A registry's ``describe`` for registrations of ``machine``: the member in
    ``role`` and the registration's state."""

    def describe(state: State, reg_id: str) -> tuple[str, str]:
        reg = machine.load(state, reg_id)
        return reg.parties[role], reg.state

    return describe


def _raise(v: View) -> Iterable[Primitive]:
    p = v.payload
    yield SetParty("first", p["first"])
    yield SetParty("second", p["second"])
    for key in ("new", "existing", "match", "existing_status"):
        yield SetAttr(key, p[key])


def _moot(v: View) -> Iterable[Primitive]:
    yield SetAttr("outcome", "moot")
