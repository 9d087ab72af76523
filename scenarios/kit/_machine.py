"""Machines: the objects of one type, and the transitions that move them.

Rules this module declares, and the engine (``_engine``) keeps for every scenario:

- An object (``Obj``) has an id, a type, a state, a version, parties (a member or a
  :class:`PartySet` per role), a data hash committing to documents kept behind the
  gateways, and attributes.
- A :class:`Transition` declares the states it leaves from and may lead to, the roles
  allowed to take it (:data:`ANYONE` for deterministic housekeeping), the roles whose
  signatures it needs (each role's party set must reach its quorum), a payload
  :class:`Schema`, an effect and its rules. The effect only *reads* (through a
  :class:`View`) and returns primitive instructions (``_primitives``); the engine
  applies them.
- A transition may be ``internal``: a consequence only (a split's child, an alert a
  registration raises), never a leg a member submits; its authority is the leg that
  spawned it.
- A transition, like a rule, may be in force from one contract version to another
  (``since``/``until``, ``_versions``).
- A machine may declare whole-machine invariants, the schema of its objects' rule
  parameters (``_catalogue``), and that its objects are confidential (``_private``).

Tables: ``<contract>.<type>`` (id → object row) and ``<contract>.<type>.events``
(``<id>@<version after, 10 digits>`` → event row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from ledger import ContractError, State, TxContext, Value
from scenarios._errors import ScenarioError
from scenarios.kit._dates import day_of
from scenarios.kit._holdings import Holdings
from scenarios.kit._objects import Event, Obj
from scenarios.kit._primitives import Primitive
from scenarios.kit._rules import Invariant, Rule, in_force
from scenarios.kit._schema import Schema
from scenarios.kit._types import Fingerprints, Member, Screening

if TYPE_CHECKING:
    from scenarios.kit._oracle import Observation
    from scenarios.kit._private import Confidential

__all__ = ["ANYONE", "NEW", "Effect", "Machine", "Transition", "View"]

# The state of an object that does not exist yet; a transition from NEW creates one.
NEW = ""
# In ``allowed_roles``: any active member may submit (deterministic housekeeping such
# as marking a certificate overdue, which every replica can check from state alone).
ANYONE = "*"


class _ReadOnly:
    """The state as an effect sees it: every table readable, nothing writable."""

    __slots__ = ("_inner",)

    def __init__(self, inner: State) -> None:
        self._inner = inner

    def get(self, table: str, key: str) -> Value | None:
        return self._inner.get(table, key)

    def put(self, table: str, key: str, value: Value) -> None:
        raise ContractError("an effect returns primitives; it does not write")

    def delete(self, table: str, key: str) -> None:
        raise ContractError("an effect returns primitives; it does not write")

    def scan(self, table: str, prefix: str = "") -> Iterator[tuple[str, Value]]:
        return self._inner.scan(table, prefix)


class View:
    """What an effect reads: the object before its step, the payload, the state.

    ``actor`` is the member taking the step (the submitter, or in a multi-leg
    transaction the signer who holds an allowed role); ``next_ids`` reserves
    deterministic child ids (``<prefix>.<n>``), the one piece of bookkeeping an effect
    may ask of the engine besides its primitives.
    """

    __slots__ = (
        "_counters",
        "_holdings",
        "_reserved",
        "_state",
        "actor",
        "before",
        "ctx",
        "machine",
        "payload",
        "transition",
        "version",
    )

    def __init__(
        self,
        *,
        machine: Machine,
        transition: Transition,
        before: Obj,
        payload: Mapping[str, Any],
        ctx: TxContext,
        actor: str,
        state: State,
        holdings: Holdings,
        counters: str,
        version: int,
    ) -> None:
        self.machine = machine
        self.transition = transition
        self.before = before
        self.payload = payload
        self.ctx = ctx
        self.actor = actor
        self.version = version
        self._state = state
        self._holdings = holdings
        self._counters = counters
        self._reserved: dict[str, int] = {}

    @property
    def state(self) -> State:
        return _ReadOnly(self._state)

    @property
    def id(self) -> str:
        return self.before.id

    @property
    def today(self) -> date:
        return day_of(self.ctx.block_time)

    @property
    def params(self) -> Mapping[str, Any]:
        rules = self.before.attrs.get("rules")
        return rules["params"] if isinstance(rules, Mapping) else {}

    def get(self, machine: Machine, object_id: str) -> Obj | None:
        return machine.get(self._state, object_id)

    def load(self, machine: Machine, object_id: str) -> Obj:
        return machine.load(self._state, object_id)

    def balance(self, instrument: str, account: str) -> int:
        return self._holdings.balance(self._state, instrument, account)

    def locked(self, instrument: str, account: str, instruction: str) -> int:
        return self._holdings.locked(self._state, instrument, account, instruction)

    def issuer(self, instrument: str) -> str | None:
        return self._holdings.issuer(self._state, instrument)

    def observation(self, series: str, as_of: str) -> Observation | None:
        from scenarios.kit._oracle import observation

        return observation(self._state, self.machine.contract, series, as_of)

    def next_ids(self, prefix: str, count: int) -> list[str]:
        row = self._state.get(self._counters, prefix)
        first = (row if isinstance(row, int) else 1) + self._reserved.get(prefix, 0)
        self._reserved[prefix] = self._reserved.get(prefix, 0) + count
        return [f"{prefix}.{first + i}" for i in range(count)]

    def reservations(self) -> dict[str, int]:
        return dict(self._reserved)


Effect = Callable[[View], Iterable[Primitive]]


def _nothing(view: View) -> Iterable[Primitive]:
    return ()


@dataclass(frozen=True, slots=True)
class Transition:
    """Who may move an object from which states to which, with what, under which rules."""

    name: str
    from_states: frozenset[str]
    to_states: frozenset[str]
    allowed_roles: frozenset[str]
    schema: Schema = field(default_factory=Schema)
    effect: Effect = _nothing
    rules: tuple[Rule, ...] = ()
    required_signers: frozenset[str] = frozenset()
    signers_if_present: frozenset[str] = frozenset()
    consortium_roles: frozenset[str] | None = None
    internal: bool = False
    command: str = ""
    help: str = ""
    since: int = 1
    until: int = 0

    def __post_init__(self) -> None:
        if not self.to_states or not self.allowed_roles:
            raise ScenarioError(f"transition {self.name!r} needs to_states and allowed_roles")

    def in_force(self, version: int) -> bool:
        return in_force(self.since, self.until, version)

    @property
    def member_fields(self) -> tuple[str, ...]:
        """Payload fields naming members: the ledger indexes them with the co-signers."""
        return tuple(n for n, f in self.schema.fields.items() if isinstance(f, Member))

    @property
    def screening_fields(self) -> tuple[str, ...]:
        return tuple(n for n, f in self.schema.fields.items() if isinstance(f, Screening))

    @property
    def fingerprint_fields(self) -> tuple[str, ...]:
        return tuple(n for n, f in self.schema.fields.items() if isinstance(f, Fingerprints))

    @property
    def cli_name(self) -> str:
        return self.command or self.name.replace("_", "-")


class Machine:
    """The objects of one type in one contract, and the transitions that move them."""

    def __init__(
        self,
        contract: str,
        type_: str,
        transitions: Iterable[Transition],
        *,
        invariants: Iterable[Invariant] = (),
        rules_schema: Schema | None = None,
        confidential: Confidential | None = None,
    ) -> None:
        self.contract = contract
        self.type = type_
        self.objects_table = f"{contract}.{type_}"
        self.events_table = f"{contract}.{type_}.events"
        self.invariants = tuple(invariants)
        self.rules_schema = rules_schema
        self.confidential = confidential
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

    def transition(self, name: str, version: int = 1) -> Transition:
        t = self.transitions.get(name)
        if t is None:
            raise ContractError(f"{self.type} has no transition {name!r}")
        if not t.in_force(version):
            raise ContractError(
                f"{self.kind(name)} is not in force under {self.contract} contract "
                f"version {version}"
            )
        return t

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

    def write(self, state: State, obj: Obj) -> None:
        state.put(self.objects_table, obj.id, obj.to_row())
