"""The signed multi-party state machine with versioned objects.

Rules this module keeps, for every scenario built on it:

- An object is ``Obj{id, type, state, version, parties{role→member}, data_hash, attrs}``.
  Business documents stay behind the members' gateways; ``data_hash`` commits to them.
- A step names the object and the version it was built on. The version must be the
  current one, and applying the step bumps it: a version is consumed exactly once, so
  two steps built on the same version can never both apply (no forks).
- A transition declares the states it leaves from, the states it may lead to, the
  party roles allowed to submit it, the party roles that must sign it (the submitter
  by the transaction signature, the others by co-signatures over the canonical step
  message, see ``_cosign``), a payload schema, an effect and its rule-engine guards.
- Submitters are checked against the parties *before* the step (for a creation, the
  parties it creates); required signers against the parties *after* it, so a step that
  names a new party (a paying bank) needs that party's consent.
- The effect runs on a write overlay; guards run on the hypothetical post-state; only
  when every blocking guard holds are the writes folded into the transaction's state.
  A refused step therefore changes nothing, even for a caller that forgets the overlay.
- Every object a step creates or changes gets an ``Event{tx_id, object_id, transition,
  version_before, version_after, signers, ts, payload_hash, review}``: an append-only
  log, keyed so each object's history reads in order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ledger import (
    Contract,
    ContractError,
    Handler,
    Overlay,
    State,
    TxContext,
    Value,
    encode,
    get_member,
    require_member_signature,
)
from scenarios._errors import ScenarioError
from scenarios.kit._cosign import chain_id, cosign_message
from scenarios.kit._objects import Event, Obj
from scenarios.kit._rules import Post, Rule, evaluate
from scenarios.kit._schema import ID_PATTERN, Schema

__all__ = [
    "ANYONE",
    "NEW",
    "Effect",
    "Event",
    "Machine",
    "Obj",
    "Preview",
    "Step",
    "Transition",
    "build_contract",
    "parse_body",
]

# The state of an object that does not exist yet; a transition from NEW creates one.
NEW = ""
# In ``allowed_roles``: any active member may submit (deterministic housekeeping such
# as marking a certificate overdue, which every replica can check from state alone).
ANYONE = "*"

_BODY_KEYS = frozenset({"object", "version", "payload", "cosigs"})
_MAX_COSIGS = 8


class Step:
    """The context an effect runs in: the pre-object, the payload, the post-state overlay.

    Effects may create or change other objects in the same transaction through
    :meth:`create` and :meth:`update`; those get their own events, with the same
    signers, so an atomic multi-object step (a split) is one ledger transaction.
    """

    __slots__ = ("_events", "before", "ctx", "kind", "payload", "signers", "state")

    def __init__(
        self,
        kind: str,
        ctx: TxContext,
        state: State,
        before: Obj,
        payload: Mapping[str, Any],
    ) -> None:
        self.kind = kind
        self.ctx = ctx
        self.state = state
        self.before = before
        self.payload = payload
        self.signers: tuple[str, ...] = ()
        self._events: list[tuple[Machine, Obj, int]] = []

    def create(self, machine: Machine, obj: Obj) -> Obj:
        """Create ``obj`` (any id not yet used) at version 1 as part of this step."""
        if machine.get(self.state, obj.id) is not None:
            raise ContractError(f"{machine.type} {obj.id!r} already exists")
        made = replace(obj, type=machine.type, version=1)
        _check_new_parties(self.state, {}, made)
        machine._write(self.state, made)
        self._events.append((machine, made, 0))
        return made

    def update(self, machine: Machine, before: Obj, after: Obj) -> Obj:
        """Change another object as part of this step (its version is bumped too)."""
        current = machine.load(self.state, before.id)
        if current.version != before.version:
            raise ContractError(f"{machine.type} {before.id!r} changed during the step")
        made = replace(after, id=before.id, type=machine.type, version=before.version + 1)
        _check_new_parties(self.state, current.parties, made)
        machine._write(self.state, made)
        self._events.append((machine, made, before.version))
        return made


Effect = Callable[[Step], Obj]


def _same(step: Step) -> Obj:
    return step.before


@dataclass(frozen=True, slots=True)
class Transition:
    """Who may move an object from which states to which, with what, under which rules."""

    name: str
    from_states: frozenset[str]
    to_states: frozenset[str]
    allowed_roles: frozenset[str]
    schema: Schema = field(default_factory=Schema)
    effect: Effect = _same
    rules: tuple[Rule, ...] = ()
    required_signers: frozenset[str] = frozenset()
    signers_if_present: frozenset[str] = frozenset()
    consortium_roles: frozenset[str] | None = None
    # Payload fields that name members (a transfer's ``to``): the ledger indexes them,
    # with the co-signers, as the members a transaction is about.
    member_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.to_states or not self.allowed_roles:
            raise ScenarioError(f"transition {self.name!r} needs to_states and allowed_roles")


def _payload_hash(kind: str, payload: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(
        encode("scenario-payload", 1, {"kind": kind, "payload": payload})
    ).digest()


def _check_new_parties(state: State, before: Mapping[str, str], after: Obj) -> None:
    # A party named by this step must be an active member now; parties already on the
    # object are not re-checked, so a later removal cannot freeze others' steps.
    for role, member_id in after.parties.items():
        if before.get(role) == member_id:
            continue
        member = get_member(state, member_id)
        if member is None or not member.active:
            raise ContractError(f"{role} {member_id!r} is not an active member")


@dataclass(frozen=True, slots=True)
class Preview:
    """A step run on an overlay of the state, not yet kept.

    ``required`` lists the members whose signatures the step needs (the submitter's
    included), ``missing`` those not given yet; ``overlay`` holds its writes.
    """

    overlay: Overlay
    after: Obj
    required: tuple[str, ...]
    missing: tuple[str, ...]


class Machine:
    """The objects of one type in one contract, and the transitions that move them.

    Tables: ``<contract>.<type>`` (id → object row) and ``<contract>.<type>.events``
    (``<id>@<version after, 10 digits>`` → event row).
    """

    def __init__(self, contract: str, type_: str, transitions: Iterable[Transition]) -> None:
        self.contract = contract
        self.type = type_
        self.objects_table = f"{contract}.{type_}"
        self.events_table = f"{contract}.{type_}.events"
        self.transitions: dict[str, Transition] = {}
        for transition in transitions:
            if transition.name in self.transitions:
                raise ScenarioError(f"transition {transition.name!r} defined twice")
            self.transitions[transition.name] = transition

    @property
    def tables(self) -> frozenset[str]:
        return frozenset({self.objects_table, self.events_table})

    def kind(self, name: str) -> str:
        return f"{self.contract}.{name}"

    # Reading -----------------------------------------------------------------------

    def get(self, state: State, object_id: str) -> Obj | None:
        row = state.get(self.objects_table, object_id)
        return None if row is None else Obj.from_row(row)  # type: ignore[arg-type]

    def load(self, state: State, object_id: str) -> Obj:
        obj = self.get(state, object_id)
        if obj is None:
            raise ContractError(f"no {self.type} {object_id!r}")
        return obj

    def scan(self, state: State, prefix: str = "") -> Iterator[Obj]:
        for _, row in state.scan(self.objects_table, prefix):
            yield Obj.from_row(row)  # type: ignore[arg-type]

    def events(self, state: State, object_id: str) -> list[Event]:
        return [
            Event.from_row(row)  # type: ignore[arg-type]
            for _, row in state.scan(self.events_table, object_id + "@")
        ]

    def _write(self, state: State, obj: Obj) -> None:
        state.put(self.objects_table, obj.id, obj.to_row())

    # Applying ----------------------------------------------------------------------

    def apply(
        self,
        state: State,
        ctx: TxContext,
        name: str,
        object_id: str,
        version: int,
        payload: Mapping[str, Any],
        cosigs: Mapping[str, bytes] | None = None,
    ) -> Obj:
        """Apply transition ``name`` to ``object_id`` at ``version``; raise to refuse."""
        preview = self._run(state, ctx, name, object_id, version, payload, cosigs, strict=True)
        preview.overlay.commit()
        return preview.after

    def preview(
        self,
        state: State,
        ctx: TxContext,
        name: str,
        object_id: str,
        version: int,
        payload: Mapping[str, Any],
        cosigs: Mapping[str, bytes] | None = None,
    ) -> Preview:
        """Run a step without keeping it, tolerating signatures still to be collected.

        A gateway asked to co-sign uses this: every other rule must hold on its own
        replica, and the preview says whose signatures the step needs and lacks.
        """
        return self._run(state, ctx, name, object_id, version, payload, cosigs, strict=False)

    def _run(
        self,
        state: State,
        ctx: TxContext,
        name: str,
        object_id: str,
        version: int,
        payload: Mapping[str, Any],
        cosigs: Mapping[str, bytes] | None,
        *,
        strict: bool,
    ) -> Preview:
        transition = self.transitions.get(name)
        if transition is None:
            raise ContractError(f"{self.type} has no transition {name!r}")
        kind = self.kind(name)
        checked = transition.schema.check(payload)
        before = self._before(state, object_id, version, transition)

        creating = before.version == 0
        if not creating:
            self._authorise(before, transition, ctx)

        overlay = Overlay(state)
        step = Step(kind, ctx, overlay, before, checked)
        after = transition.effect(step)
        if after.id != before.id or after.type != before.type:
            raise ContractError("an effect may not change an object's id or type")
        if after.state == before.state and len(transition.to_states) == 1:
            (only,) = transition.to_states
            after = replace(after, state=only)
        if after.state not in transition.to_states:
            raise ContractError(f"{name} may not lead to state {after.state!r}")
        after = replace(after, version=before.version + 1)
        if creating:
            self._authorise(after, transition, ctx)
        _check_new_parties(overlay, before.parties, after)

        signers = self._signers(overlay, ctx, kind, before, after, checked, cosigs or {})
        required, missing = self._require_signers(transition, after, signers, strict=strict)
        step.signers = signers

        self._write(overlay, after)
        review = evaluate(transition.rules, Post(before, after, checked, ctx, overlay))
        payload_hash = _payload_hash(kind, checked)
        written = [(self, after, before.version), *step._events]
        for machine, obj, version_before in written:
            event = Event(
                tx_id=ctx.tx_id,
                object_id=obj.id,
                transition=name,
                version_before=version_before,
                version_after=obj.version,
                signers=signers,
                ts=ctx.block_time,
                payload_hash=payload_hash,
                review=tuple(review) if obj is after else (),
            )
            overlay.put(machine.events_table, f"{obj.id}@{obj.version:010d}", event.to_row())
        return Preview(overlay, after, required, missing)

    def _before(self, state: State, object_id: str, version: int, t: Transition) -> Obj:
        current = self.get(state, object_id)
        if current is None:
            if NEW not in t.from_states:
                raise ContractError(f"no {self.type} {object_id!r}")
            if version != 0:
                raise ContractError(f"{self.type} {object_id!r} does not exist; use version 0")
            if ID_PATTERN.fullmatch(object_id) is None:
                raise ContractError(f"a new object id must match {ID_PATTERN.pattern}")
            return Obj(object_id, self.type, NEW, 0, {}, b"", {})
        if t.from_states == {NEW}:
            raise ContractError(f"{self.type} {object_id!r} already exists")
        if version != current.version:
            raise ContractError(
                f"stale step: {self.type} {object_id!r} is at version {current.version}, "
                f"the step was built on version {version}"
            )
        if current.state not in t.from_states:
            raise ContractError(
                f"{t.name} is not allowed when {self.type} {object_id!r} is {current.state}"
            )
        return current

    @staticmethod
    def _authorise(obj: Obj, t: Transition, ctx: TxContext) -> None:
        if ANYONE in t.allowed_roles:
            return
        allowed = {obj.parties[r] for r in t.allowed_roles if r in obj.parties}
        if ctx.member not in allowed:
            roles = " or ".join(sorted(t.allowed_roles))
            raise ContractError(f"only the {roles} of {obj.type} {obj.id!r} may {t.name}")

    def _signers(
        self,
        state: State,
        ctx: TxContext,
        kind: str,
        before: Obj,
        after: Obj,
        payload: Mapping[str, Any],
        cosigs: Mapping[str, bytes],
    ) -> tuple[str, ...]:
        parties = set(before.parties.values()) | set(after.parties.values())
        if cosigs:
            message = cosign_message(chain_id(state), kind, before.id, before.version, payload)
        for member_id, signature in sorted(cosigs.items()):
            if member_id == ctx.member:
                raise ContractError("the submitter signs the transaction, not a co-signature")
            if member_id not in parties:
                raise ContractError(f"{member_id!r} is not a party to {after.type} {after.id!r}")
            require_member_signature(state, member_id, message, signature)
        return tuple(sorted({ctx.member, *cosigs}))

    @staticmethod
    def _require_signers(
        t: Transition, after: Obj, signers: tuple[str, ...], *, strict: bool
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The members whose signatures the step needs, and those it lacks."""
        required: dict[str, str] = {}
        for role in sorted(t.required_signers | t.signers_if_present):
            member_id = after.parties.get(role)
            if member_id is None:
                if role in t.required_signers:
                    raise ContractError(f"{t.name} needs a {role} but none is named")
                continue
            required.setdefault(member_id, role)
        missing = {m: r for m, r in required.items() if m not in signers}
        if strict and missing:
            named = ", ".join(f"{role} {member!r}" for member, role in missing.items())
            raise ContractError(f"{t.name} needs the signature of {named}")
        return tuple(required), tuple(missing)

    def handler(self, name: str) -> Handler:
        """The contract handler for ``<contract>.<name>``: parses the body and applies."""

        def handle(state: State, ctx: TxContext) -> None:
            object_id, version, payload, cosigs = parse_body(ctx.body)
            self.apply(state, ctx, name, object_id, version, payload, cosigs)

        handle.__name__ = f"{self.contract}_{name}"
        return handle


def parse_body(body: Mapping[str, Any]) -> tuple[str, int, Mapping[str, Any], dict[str, bytes]]:
    """Split a step body ``{object, version, payload, cosigs?}``; refuse anything else."""
    unknown = sorted(set(body) - _BODY_KEYS)
    if unknown:
        raise ContractError(f"unknown body fields: {unknown}")
    object_id = body.get("object")
    version = body.get("version")
    payload = body.get("payload", {})
    cosigs = body.get("cosigs", {})
    if not isinstance(object_id, str) or not 0 < len(object_id) <= 200:
        raise ContractError("body.object must be an object id")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ContractError("body.version must be a non-negative integer")
    if not isinstance(payload, Mapping):
        raise ContractError("body.payload must be a map")
    if not isinstance(cosigs, Mapping) or len(cosigs) > _MAX_COSIGS:
        raise ContractError(f"body.cosigs must map at most {_MAX_COSIGS} members to signatures")
    for member_id, signature in cosigs.items():
        if not isinstance(member_id, str) or not isinstance(signature, bytes):
            raise ContractError("body.cosigs must map member ids to signature bytes")
    return object_id, version, payload, dict(cosigs)


def build_contract(
    name: str,
    machines: Iterable[Machine],
    extra_tables: Iterable[str] = (),
    param_check: Callable[[Mapping[str, Value]], None] | None = None,
) -> Contract:
    """A :class:`ledger.Contract` with one kind per transition of every machine."""
    handlers: dict[str, Handler] = {}
    roles: dict[str, frozenset[str]] = {}
    fields: dict[str, tuple[str, ...]] = {}
    tables: set[str] = set(extra_tables)
    for machine in machines:
        if machine.contract != name:
            raise ScenarioError(f"machine {machine.type!r} belongs to {machine.contract!r}")
        tables |= machine.tables
        for t in machine.transitions.values():
            kind = machine.kind(t.name)
            if kind in handlers:
                raise ScenarioError(f"kind {kind!r} defined by two machines")
            handlers[kind] = machine.handler(t.name)
            fields[kind] = t.member_fields
            if t.consortium_roles is not None:
                roles[kind] = t.consortium_roles

    def parties(kind: str, body: Mapping[str, Any]) -> list[str]:
        payload = body.get("payload", {})
        named = [payload.get(f) for f in fields.get(kind, ()) if isinstance(payload, Mapping)]
        cosigs = body.get("cosigs", {})
        found = {m for m in named if isinstance(m, str)}
        if isinstance(cosigs, Mapping):
            found |= {m for m in cosigs if isinstance(m, str)}
        return sorted(found)

    return Contract(name, frozenset(tables), handlers, roles, param_check, parties=parties)
