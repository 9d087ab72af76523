"""The transaction engine: a transaction of legs, applied all or nothing.

The rules, in the order :meth:`Engine.run` applies them:

1. Every co-signature is checked against the exact transaction message (``_tx``):
   a co-signer signs the whole transaction, every leg of it.
2. Each leg is judged by its own machine, in order, on the state the earlier legs left:
   the transition exists and is in force under the contract version at this height;
   the payload fits its schema; the object is at the version the leg names (a version
   is consumed once: no forks) and in one of the transition's from-states; the member
   taking the leg holds an allowed role (in a one-leg step, the submitter; in a
   multi-leg transaction, any signer, so each party authorises its own leg). Any
   fingerprints in the payload consume one of the actor's recorded evaluations, and a
   screening receipt one item of the actor's recorded query (``_screening``).
3. The effect returns primitives (``_primitives``), which the engine applies: to the
   object, to holdings, to fingerprint registries; a :class:`Spawn` becomes one more
   leg, judged the same way by its own machine (an ``internal`` transition takes its
   authority from the leg that spawned it). The new state must be one the transition
   may lead to; the version is bumped; parties it names must be active members.
4. When every leg has run: each co-signer must be a party to an object of the
   transaction; every leg's rules and its machine's invariants hold on the post-state;
   rule parameters changed only where every party of the object signs; every
   instrument written is conserved (``Holdings.audit_writes``: from the before and
   after of every holdings and instruments row the transaction wrote, whoever wrote
   it); and the signatures required
   — the union over the legs of each required role's party set reaching its quorum,
   plus the owner of every member account debited and the issuer of every mint or
   burn — are present. A preview (``strict=False``) instead reports whose are missing.
5. Every object changed gets its event (``<id>@<version>``), and the contract's feed
   (``_feed``) one row per event, for subscriptions.

All writes go to one overlay; a refusal at any point drops it, so a refused
transaction changes nothing, whichever leg refused it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ledger import (
    ContractError,
    EncodingError,
    Overlay,
    State,
    TxContext,
    encode,
    require_member_signature,
)
from scenarios._errors import ScenarioError
from scenarios.kit._effects import Tally, apply_effects, check_new_parties
from scenarios.kit._feed import write_feed
from scenarios.kit._fpservice import use_receipt
from scenarios.kit._holdings import Holdings
from scenarios.kit._machine import ANYONE, NEW, Machine, Transition, View
from scenarios.kit._objects import Event, Obj
from scenarios.kit._parties import PartySet, Quorum
from scenarios.kit._primitives import (
    Primitive,
    Spawn,
)
from scenarios.kit._rules import Post, evaluate
from scenarios.kit._schema import ID_PATTERN
from scenarios.kit._screening import use_screening
from scenarios.kit._tx import Leg, chain_id, tx_message
from scenarios.kit._types import Documents, Fingerprints
from scenarios.kit._versions import contract_version

__all__ = ["MAX_OBJECTS", "Engine", "Outcome"]

# One transaction changes at most this many objects, spawned legs included.
MAX_OBJECTS = 64
_MAX_DEPTH = 4
# "At least one of them": a leg in a multi-leg transaction needs one signer holding
# an allowed role; a preview asks them.
_ANY_ONE = Quorum(0, 1, strict=True)


def _payload_hash(kind: str, payload: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(
        encode("scenario-payload", 1, {"kind": kind, "payload": dict(payload)})
    ).digest()


@dataclass(frozen=True, slots=True)
class Outcome:
    """A transaction run on an overlay of the state, not yet kept.

    ``objects`` are the submitted legs' objects after the transaction (in leg order),
    ``required`` the members whose signatures it needs (the submitter's included),
    ``missing`` those not given yet; ``overlay`` holds its writes.
    """

    overlay: Overlay
    objects: tuple[Obj, ...]
    required: tuple[str, ...]
    missing: tuple[str, ...]
    signers: tuple[str, ...]


@dataclass
class _Record:
    machine: Machine
    transition: Transition
    before: Obj
    after: Obj
    payload: Mapping[str, Any]
    actor: str
    top: _Record | None
    rules_changed: bool = False
    review: list[str] = field(default_factory=list)


@dataclass
class _Requirement:
    label: str
    what: str
    party_set: PartySet


class Engine:
    """Applies transactions of legs over the machines of one contract."""

    def __init__(self, contract: str, machines: Sequence[Machine]) -> None:
        self.contract = contract
        self.machines: dict[str, Machine] = {}
        self._by_transition: dict[str, Machine] = {}
        for machine in machines:
            if machine.contract != contract:
                raise ScenarioError(f"machine {machine.type!r} belongs to {machine.contract!r}")
            if machine.type in self.machines:
                raise ScenarioError(f"machine {machine.type!r} defined twice")
            self.machines[machine.type] = machine
            for name in machine.transitions:
                if name in self._by_transition:
                    raise ScenarioError(f"transition {name!r} defined by two machines")
                self._by_transition[name] = machine
        self.holdings = Holdings(contract)
        self.counters = f"{contract}.counters"
        self.receipts = f"{contract}.fp_receipts"
        self.screenings = f"{contract}.screenings"
        self.feed = f"{contract}.feed"

    @property
    def tables(self) -> frozenset[str]:
        tables = set(self.holdings.tables) | {self.counters, self.receipts, self.feed}
        tables.add(self.screenings)
        for machine in self.machines.values():
            tables |= machine.tables
        return frozenset(tables)

    def machine(self, type_: str) -> Machine:
        found = self.machines.get(type_)
        if found is None:
            raise ContractError(f"{self.contract} has no machine {type_!r}")
        return found

    def machine_of(self, transition: str) -> Machine:
        found = self._by_transition.get(transition)
        if found is None:
            raise ContractError(f"{self.contract} has no transition {transition!r}")
        return found

    def leg(self, transition: str, object_id: str, version: int, payload: Mapping[str, Any]) -> Leg:
        """The leg a one-leg step ``<contract>.<transition>`` stands for."""
        return Leg(self.machine_of(transition).type, object_id, version, transition, payload)

    def run(
        self,
        state: State,
        ctx: TxContext,
        legs: Sequence[Leg],
        cosigs: Mapping[str, bytes],
        *,
        strict: bool,
        private: bool = False,
        single: bool = False,
        endorsers: frozenset[str] | None = None,
    ) -> Outcome:
        """Apply ``legs`` as one transaction on an overlay; raise to refuse.

        ``single`` marks a one-leg step (``<contract>.<transition>``), whose submitter
        must itself hold an allowed role; in a ``.tx`` any signer may. ``private`` runs
        a confidential object's step (``_private``) on state nobody keeps; its signers
        are then the ``endorsers``, whose signatures cover the commitment, not this
        transaction's message, and are checked by the ``.private`` contract."""
        if not legs:
            raise ContractError("a transaction has at least one leg")
        if private:
            if endorsers is None or cosigs:
                raise ContractError("a confidential step is signed by endorsements only")
            signers = frozenset({ctx.member, *endorsers})
        else:
            try:
                message = tx_message(chain_id(state), self.contract, legs)
            except EncodingError as exc:
                # A payload the codec cannot encode is a bad body like any other.
                raise ContractError(f"the transaction cannot be encoded: {exc}") from None
            for member_id, signature in sorted(cosigs.items()):
                if member_id == ctx.member:
                    raise ContractError("the submitter signs the transaction, not a co-signature")
                require_member_signature(state, member_id, message, signature)
            signers = frozenset({ctx.member, *cosigs})
        run = _Run(self, state, ctx, signers, strict, private)
        run.version = contract_version(state, self.contract, ctx.height)
        if single and len(legs) != 1:
            raise ContractError("a one-leg step has exactly one leg")
        tops = [run.top(leg, single) for leg in legs]
        return run.finish(cosigs, tops)


class _Run:
    """One transaction being applied (see the module docstring for the order)."""

    def __init__(
        self,
        engine: Engine,
        base: State,
        ctx: TxContext,
        signers: frozenset[str],
        strict: bool,
        private: bool,
    ) -> None:
        self.engine = engine
        # The state before the transaction, read by the conservation check.
        self.base = base
        self.overlay = Overlay(base)
        self.ctx = ctx
        self.signers = signers
        self.strict = strict
        self.private = private
        self.version = 1
        self.records: list[_Record] = []
        self.requirements: list[_Requirement] = []
        self.tally = Tally()

    # Legs ----------------------------------------------------------------------------

    def top(self, leg: Leg, single: bool) -> _Record:
        machine = self.engine.machine(leg.machine)
        t = machine.transition(leg.transition, self.version)
        if t.internal:
            raise ContractError(f"{machine.kind(t.name)} is only ever a consequence of a step")
        roles = t.consortium_roles
        if not single and roles is not None and self.ctx.role not in roles:
            raise ContractError(f"role {self.ctx.role} may not submit {machine.kind(t.name)}")
        return self.leg(machine, t, leg.object, leg.version, leg.payload, None, single)

    def leg(
        self,
        machine: Machine,
        t: Transition,
        object_id: str,
        version: int,
        payload: Mapping[str, Any],
        parent: _Record | None,
        single: bool = False,
        depth: int = 0,
    ) -> _Record:
        if len(self.records) >= MAX_OBJECTS:
            raise ContractError(f"a transaction changes at most {MAX_OBJECTS} objects")
        if machine.confidential is not None and not self.private:
            raise ContractError(
                f"{machine.type} objects are confidential: their steps go through "
                f"{machine.contract}.private"
            )
        if self.private and (
            t.fingerprint_fields or t.screening_fields or machine.confidential is None
        ):
            raise ContractError("a confidential step changes one confidential object only")
        checked = t.schema.check(payload)
        before = self._before(machine, object_id, version, t, chosen=parent is None)
        creating = before.version == 0
        top = parent.top or parent if parent is not None else None
        actor = (
            self._actor(before, t, parent, single)
            if not creating
            else (parent.actor if parent is not None else self.ctx.member)
        )
        for name in t.fingerprint_fields:
            spec = t.schema.fields[name]
            assert isinstance(spec, Fingerprints)
            value = checked[name]
            use_receipt(
                self.overlay,
                self.engine.receipts,
                value["receipt"],
                actor,
                spec.count(value),
                self.ctx.block_time,
            )
        for name in t.screening_fields:
            use_screening(
                self.overlay, self.engine.screenings, checked[name], actor, self.ctx.block_time
            )
        view = View(
            machine=machine,
            transition=t,
            before=before,
            payload=checked,
            ctx=self.ctx,
            actor=actor,
            state=self.overlay,
            holdings=self.engine.holdings,
            counters=self.engine.counters,
            version=self.version,
        )
        effects = list(t.effect(view))
        after, spawns, rules_changed = self._apply(machine, t, before, effects, actor)
        for prefix, count in view.reservations().items():
            current = self.overlay.get(self.engine.counters, prefix)
            start = current if isinstance(current, int) else 1
            self.overlay.put(self.engine.counters, prefix, start + count)
        for name, spec in t.schema.fields.items():
            if isinstance(spec, Documents) and name in checked:
                after = replace(after, data_hash=checked[name])
        if after.state == before.state and len(t.to_states) == 1:
            (only,) = t.to_states
            after = replace(after, state=only)
        if after.state not in t.to_states:
            raise ContractError(f"{t.name} may not lead to state {after.state!r}")
        after = replace(after, id=before.id, type=machine.type, version=before.version + 1)
        if creating:
            self._actor(after, t, parent, single, creator=actor)
        check_new_parties(self.overlay, before, after)
        machine.write(self.overlay, after)
        record = _Record(machine, t, before, after, checked, actor, top, rules_changed)
        self.records.append(record)
        if spawns and depth >= _MAX_DEPTH:
            raise ContractError("consequences nest too deep")
        for spawn in spawns:
            target = spawn.machine
            if target.contract != self.engine.contract:
                raise ContractError("a consequence stays within its contract")
            existing = target.get(self.overlay, spawn.object)
            spawned = target.transition(spawn.transition, self.version)
            self.leg(
                target,
                spawned,
                spawn.object,
                0 if existing is None else existing.version,
                spawn.payload,
                record,
                depth=depth + 1,
            )
        return record

    def _before(
        self, machine: Machine, object_id: str, version: int, t: Transition, *, chosen: bool
    ) -> Obj:
        current = machine.get(self.overlay, object_id)
        if current is None:
            if NEW not in t.from_states:
                raise ContractError(f"no {machine.type} {object_id!r}")
            if version != 0:
                raise ContractError(f"{machine.type} {object_id!r} does not exist; use version 0")
            # Ids a member chooses are plain; a consequence's id is derived by the
            # contract (``C1.2``, ``B-1~A-1``) and may use the separators it reserves.
            if chosen and ID_PATTERN.fullmatch(object_id) is None:
                raise ContractError(f"a new object id must match {ID_PATTERN.pattern}")
            return Obj(object_id, machine.type, NEW, 0, {}, b"", {})
        if t.from_states == {NEW}:
            raise ContractError(f"{machine.type} {object_id!r} already exists")
        if version != current.version:
            raise ContractError(
                f"stale step: {machine.type} {object_id!r} is at version {current.version}, "
                f"the step was built on version {version}"
            )
        if current.state not in t.from_states:
            raise ContractError(
                f"{t.name} is not allowed when {machine.type} {object_id!r} is {current.state}"
            )
        return current

    def _actor(
        self,
        obj: Obj,
        t: Transition,
        parent: _Record | None,
        single: bool,
        creator: str | None = None,
    ) -> str:
        """The member taking the leg; refuse when nobody allowed to take it does."""
        if ANYONE in t.allowed_roles:
            return creator or self.ctx.member
        if t.internal and parent is not None:
            return parent.actor
        holders = sorted(
            m for role in t.allowed_roles if (s := obj.party_set(role)) for m in s.members
        )
        refusal = ContractError(
            f"only the {' or '.join(sorted(t.allowed_roles))} of {obj.type} {obj.id!r} may {t.name}"
        )
        first = creator or self.ctx.member
        if first in holders:
            return first
        if single and parent is None:
            raise refusal
        signed = [m for m in holders if m in self.signers]
        if signed:
            return signed[0]
        if self.strict or not holders:
            raise refusal
        # A preview: someone holding the role must still sign (they are asked).
        self.requirements.append(
            _Requirement(
                t.name,
                f"a {' or '.join(sorted(t.allowed_roles))} of {obj.id!r}",
                PartySet.equal(holders, _ANY_ONE),
            )
        )
        return holders[0]

    # Primitives ----------------------------------------------------------------------

    def _apply(
        self,
        machine: Machine,
        t: Transition,
        before: Obj,
        effects: list[Primitive],
        actor: str,
    ) -> tuple[Obj, list[Spawn], bool]:
        applied = apply_effects(
            machine,
            before,
            effects,
            state=self.overlay,
            holdings=self.engine.holdings,
            actor=actor,
            tally=self.tally,
            private=self.private,
        )
        for member, what in self.tally.take_consents():
            self.requirements.append(_Requirement("the transaction", what, PartySet.of(member)))
        return applied

    # Finishing -----------------------------------------------------------------------

    def finish(self, cosigs: Mapping[str, bytes], tops: list[_Record]) -> Outcome:
        parties: set[str] = set()
        for rec in self.records:
            parties |= rec.before.members() | rec.after.members()
        for member_id in sorted(cosigs):
            if member_id not in parties:
                first = tops[0].after
                raise ContractError(f"{member_id!r} is not a party to {first.type} {first.id!r}")
        touched = {f"{r.after.type}:{r.after.id}" for r in self.records}
        for account in sorted(self.tally.debited_objects - touched):
            raise ContractError(f"{account}'s holding moves only in a step on that object")
        for rec in self.records:
            rules = (*(i.as_rule() for i in rec.machine.invariants), *rec.transition.rules)
            post = Post(
                rec.before, rec.after, rec.payload, self.ctx, self.overlay, rec.transition.name
            )
            rec.review = evaluate(rules, post, self.version)
            if rec.rules_changed:
                # A role signs if required, or if present among signers_if_present.
                signing = rec.transition.required_signers | rec.transition.signers_if_present
                unsigned = sorted(rec.before.roles - signing)
                if unsigned:
                    raise ContractError(
                        f"rule parameters change only with every party's signature; "
                        f"{rec.transition.name} does not require the {', '.join(unsigned)}"
                    )
        for rec in self.records:
            t = rec.transition
            for role in sorted(t.required_signers | t.signers_if_present):
                found = rec.after.party_set(role)
                if found is None:
                    if role in t.required_signers:
                        raise ContractError(f"{t.name} needs a {role} but none is named")
                    continue
                self.requirements.append(_Requirement(t.name, role, found))
        self.engine.holdings.audit_writes(self.base, self.overlay)
        required: dict[str, None] = dict.fromkeys([self.ctx.member])
        missing: dict[str, None] = {}
        unmet: list[_Requirement] = []
        for req in self.requirements:
            required.update(dict.fromkeys(req.party_set.members))
            if not req.party_set.reached(self.signers):
                unmet.append(req)
                missing.update(dict.fromkeys(req.party_set.unsigned(self.signers)))
        if self.strict and unmet:
            raise ContractError("; ".join(_unmet(r, self.signers) for r in unmet))
        signers = tuple(sorted(self.signers))
        self._events(signers)
        return Outcome(
            self.overlay,
            tuple(self.engine.machine(r.machine.type).load(self.overlay, r.after.id) for r in tops),
            tuple(required),
            tuple(missing),
            signers,
        )

    def _events(self, signers: tuple[str, ...]) -> None:
        feed: list[tuple[Obj, Event]] = []
        for rec in self.records:
            cause = rec.top.transition.name if rec.top is not None else rec.transition.name
            event = Event(
                tx_id=self.ctx.tx_id,
                object_id=rec.after.id,
                transition=cause,
                version_before=rec.before.version,
                version_after=rec.after.version,
                signers=signers,
                ts=self.ctx.block_time,
                payload_hash=_payload_hash(rec.machine.kind(rec.transition.name), rec.payload),
                review=tuple(rec.review),
                height=self.ctx.height,
                leg="" if cause == rec.transition.name else rec.transition.name,
            )
            key = f"{rec.after.id}@{rec.after.version:010d}"
            self.overlay.put(rec.machine.events_table, key, event.to_row())
            feed.append((rec.after, event))
        write_feed(self.overlay, self.engine.feed, self.ctx, feed)


def _unmet(req: _Requirement, signers: frozenset[str]) -> str:
    found = req.party_set
    if len(found.members) == 1:
        return f"{req.label} needs the signature of {req.what} {found.members[0]!r}"
    if found.quorum == _ANY_ONE:
        return f"{req.label} needs the signature of {req.what}"
    return f"quorum not reached: {req.label} needs {found.describe(signers)} as {req.what}"
